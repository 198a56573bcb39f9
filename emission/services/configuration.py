"""The store's emission settings, its OpenFactura client and the issuer data the DTE engine needs."""

from __future__ import annotations

import logging
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.utils import timezone

from emission.client import (
    OpenFacturaClient,
    OpenFacturaError,
)
from emission.dte import (
    StoreDteSettings,
)
from emission.models import (
    EmissionSettings,
)
from emission.services.state import DEMO_API_KEY

logger = logging.getLogger(__name__)


def emission_settings_for(*, store_id: int) -> EmissionSettings:
    """The store's emission settings; the first call creates them: demo company, mode 2, demo documents
    emailed to the store's own address (from its Jumpseller info) and not attached in Jumpseller."""
    row = EmissionSettings.objects.filter(store_id=store_id).first()
    if row is None:
        row, _ = EmissionSettings.objects.get_or_create(
            store_id=store_id, defaults={"demo_recipient_email": store_email_for(store_id=store_id)}
        )
    return row


def store_email_for(*, store_id: int) -> str:
    """The store's address as Jumpseller gave it at install (``/store/info.json`` ``email``), if valid."""
    from integration.models import Store

    email = (Store.objects.filter(pk=store_id).values_list("email", flat=True).first() or "").strip()
    try:
        validate_email(email)
    except ValidationError:
        return ""
    return email


# Recorded on a demo document (or self-service notice) that nobody was emailed (after "No enviado:").
DEMO_NO_RECIPIENT = (
    "documento de prueba (modo demo) y no hay un correo para recibir las pruebas: indícalo en "
    "Configuración. Los documentos de prueba nunca se envían al cliente."
)


def email_recipient_for(*, cfg: EmissionSettings, demo: bool, customer_email: str) -> str:
    """Who gets an email meant for the customer: the customer, or for demo documents the merchant's demo
    address, never the customer ("" when none is set: nobody is emailed)."""
    return cfg.demo_recipient_email if demo else customer_email


class ApiKeyMissing(OpenFacturaError):
    """A store that issues real documents has no OpenFactura API key (deleted at Desconectar): nothing is
    sent until the merchant enters one. Never a silent fallback to the demo company."""

    def __init__(self) -> None:
        super().__init__(API_KEY_MISSING)


API_KEY_MISSING = (
    "La tienda emite documentos reales pero no tiene API key de OpenFactura: ingrésala en Configuración "
    "y reanuda la cola. No se envió nada."
)


def openfactura_client_for(
    cfg: EmissionSettings, *, demo: bool | None = None, budget_wait: float = 0.0
) -> OpenFacturaClient:
    """The client of an environment: OpenFactura's demo one with its public demo key, or production with
    the store's key. ``demo`` is the document's own environment (a document is always sent, fetched and
    annulled where it was born); ``None`` means the store's current mode. Production without a key raises
    ``ApiKeyMissing``. ``budget_wait``: seconds a web request may wait for the key's budget (workers: 0,
    they defer)."""
    from functools import partial

    from core.ratelimit import throttle_openfactura

    demo = cfg.demo_mode if demo is None else demo
    if not demo and not cfg.api_key:
        raise ApiKeyMissing()
    return OpenFacturaClient(
        api_key=DEMO_API_KEY if demo else cfg.api_key,
        base_url=settings.OPENFACTURA_DEMO_URL if demo else settings.OPENFACTURA_URL,
        timeout=settings.OPENFACTURA_TIMEOUT,
        throttle=partial(throttle_openfactura, max_wait=budget_wait),
    )


def openfactura_budget_key_for(cfg: EmissionSettings) -> str:
    """The request budget the store's documents spend: its API key's (the demo key's in demo mode, shared
    by every store in demo mode, as OpenFactura counts it)."""
    from core.ratelimit import openfactura_budget_key

    return openfactura_budget_key(DEMO_API_KEY if cfg.demo_mode else cfg.api_key)


def organization_refresh(*, cfg: EmissionSettings) -> dict[str, Any]:
    """Re-read the issuer (``GET /v2/dte/organization``) and keep it for building documents."""
    organization = openfactura_client_for(cfg).organization()
    cfg.organization = organization
    cfg.organization_fetched_at = timezone.now()
    cfg.save(update_fields=["organization", "organization_fetched_at", "updated_at"])
    return organization


# A store that issues real documents and lost its key at Desconectar waits, paused, for a new one.
API_KEY_FORGOTTEN = (
    "Se borró la API key de OpenFactura al desconectar la aplicación: ingrésala de nuevo en Configuración "
    "y reanuda la cola."
)


def emission_settings_forget_api_key(*, store_id: int) -> bool:
    """The merchant disconnected the app (``integration.services.store_disconnect``): the store's
    OpenFactura API key is deleted, as its Jumpseller tokens are; a store out of demo mode also gets its
    queue paused (``API_KEY_FORGOTTEN``) until the merchant enters a key again and resumes it. The other
    settings stay for a reinstall. Returns whether a key was stored."""
    rows = EmissionSettings.objects.filter(store_id=store_id)
    had_key = rows.exclude(api_key="").exists()
    rows.filter(demo_mode=False, queue_paused=False).update(
        queue_paused=True, queue_paused_reason=API_KEY_FORGOTTEN, queue_paused_at=timezone.now()
    )
    rows.update(api_key="", updated_at=timezone.now())
    if had_key:
        logger.info("store %s: OpenFactura API key deleted on disconnect", store_id)
    return had_key


def dte_settings_for(cfg: EmissionSettings) -> StoreDteSettings:
    if not cfg.organization:
        organization_refresh(cfg=cfg)
    return StoreDteSettings(
        organization=cfg.organization,
        acteco=cfg.acteco or None,
        sucursal=cfg.sucursal or None,
        untaxed_items=cfg.untaxed_items,
    )
