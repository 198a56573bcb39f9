"""Merchant-initiated changes: settings (validated, audited) and the issuer's choices.

Views call these; the emission pipeline's own state changes stay in ``emission.services``.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from core.ratelimit import WEB_MAX_WAIT, throttle_openfactura
from emission import services as emission_services
from emission.client import OpenFacturaClient
from emission.models import EmissionMode, EmissionSettings, UntaxedItems

from .models import AuditEntry

SETTING_LABELS = {
    "demo_mode": "Empresa de demostración en ambiente de pruebas",
    "demo_recipient_email": "Correo que recibe los documentos de prueba",
    "demo_attach_documents": "Adjuntar los documentos de prueba en Jumpseller",
    "mode": "Modo de emisión",
    "untaxed_items": "Productos sin impuesto",
    "factura_directa": "Emitir factura directamente con datos de empresa del checkout",
    "email_customer": "Enviar el documento por correo al cliente",
    "email_copy_merchant": "Enviar copia al comercio",
    "merchant_email": "Correo del comercio para la copia",
    "acteco": "Actividad económica",
    "sucursal": "Sucursal",
}


def api_key_mask(api_key: str) -> str:
    """Only the last 4 characters are ever shown."""
    return f"••••••••{api_key[-4:]}" if api_key else ""


def api_key_validate(*, api_key: str, demo: bool) -> dict[str, Any]:
    """``GET /v2/dte/organization`` with the new key (openfactura-api §5.1), against production unless the
    store is in demo mode. Raises ``OpenFacturaUnauthorized`` for a key OpenFactura refuses."""
    client = OpenFacturaClient(
        api_key=api_key,
        base_url=settings.OPENFACTURA_DEMO_URL if demo else settings.OPENFACTURA_URL,
        timeout=settings.OPENFACTURA_TIMEOUT,
        throttle=partial(throttle_openfactura, max_wait=WEB_MAX_WAIT),  # a merchant's form: may wait
    )
    return client.organization()


def _display(field: str, value: Any) -> str:
    if field == "mode":
        return EmissionMode(value).label
    if field == "untaxed_items":
        return UntaxedItems(value).label
    if isinstance(value, bool):
        return "sí" if value else "no"
    return str(value) if value not in ("", None) else "(vacío)"


def audit_record(*, store_id: int, who: str, what: str) -> AuditEntry:
    return AuditEntry.objects.create(store_id=store_id, who=who[:200], what=what)


@dataclass
class SettingsChange:
    changed: list[str]
    entry: AuditEntry | None


def emission_settings_update(
    *,
    store_id: int,
    who: str,
    values: dict[str, Any],
    new_api_key: str = "",
    organization: dict[str, Any] | None = None,
) -> SettingsChange:
    """Save the merchant's settings as one explicit change and audit it (field → old → new; the API key
    only as "reemplazada"). ``organization`` is the issuer read while validating ``new_api_key``.

    A different company (new key or demo toggled) resets actividad and sucursal to OpenFactura's
    defaults and drops the cached issuer so the next document re-reads it."""
    with transaction.atomic():
        emission_services.emission_settings_for(store_id=store_id)
        cfg = EmissionSettings.objects.select_for_update().get(store_id=store_id)
        changed: list[str] = []
        lines: list[str] = []
        for field, value in values.items():
            old = getattr(cfg, field)
            if old != value:
                setattr(cfg, field, value)
                changed.append(field)
                lines.append(f"{SETTING_LABELS[field]}: {_display(field, old)} → {_display(field, value)}")
        if new_api_key and new_api_key != cfg.api_key:
            cfg.api_key = new_api_key
            changed.append("api_key")
            lines.append("API key de OpenFactura: reemplazada")
        if "api_key" in changed or "demo_mode" in changed:
            fresh = organization if (organization and not cfg.demo_mode) else {}
            cfg.organization = fresh
            cfg.organization_fetched_at = timezone.now() if fresh else None
            cfg.acteco = ""
            cfg.sucursal = ""
            changed += ["organization"]
        if not lines:
            return SettingsChange(changed=[], entry=None)
        cfg.save()
        entry = audit_record(store_id=store_id, who=who, what="\n".join(lines))
    return SettingsChange(changed=changed, entry=entry)
