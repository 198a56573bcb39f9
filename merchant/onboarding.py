"""The "Primeros pasos" checklist a merchant lands on after installing, read from real settings."""

from __future__ import annotations

from dataclasses import dataclass

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from emission import services as emission_services
from emission.models import EmissionMode, EmissionSettings
from integration.decorators import merchant_required

from . import selectors


@dataclass(frozen=True)
class Step:
    key: str
    title: str
    state: str  # "done", "pending", "demo" (staying in demo mode is a valid choice) or "unknown"
    detail: str
    url: str
    action: str

    @property
    def done(self) -> bool:
        return self.state in ("done", "demo")


def _openfactura_step(cfg: EmissionSettings) -> Step:
    url, action = reverse("merchant:configuration"), "Ir a Configuración"
    rejected = cfg.queue_paused and cfg.queue_paused_reason == emission_services.AUTH_ERROR_REASON
    if cfg.api_key and rejected:
        state, detail = "pending", "OpenFactura rechazó tu API key: ingrésala de nuevo."
    elif cfg.api_key:
        state, detail = "done", "OpenFactura aceptó la API key de tu empresa."
    elif cfg.demo_mode:
        state = "demo"
        detail = (
            "Por ahora pruebas con la empresa de demostración de OpenFactura, sin API key. Cuando quieras "
            "emitir con tu empresa, ingresa su API key (OpenFactura → Configuración → API)."
        )
    else:
        state, detail = "pending", "Tu tienda emite documentos reales y no tiene API key: ingrésala."
    return Step("openfactura", "API key de OpenFactura o modo demo", state, detail, url, action)


def _mode_step(cfg: EmissionSettings) -> Step:
    return Step(
        "mode",
        "Modo de emisión",
        "done",
        f"{EmissionMode(cfg.mode).label}. Puedes cambiarlo cuando quieras.",
        reverse("merchant:configuration"),
        "Elegir el modo",
    )


def _issuer_step(cfg: EmissionSettings) -> Step:
    done = bool(cfg.acteco)
    return Step(
        "issuer",
        "Emisor: actividad económica y sucursal",
        "done" if done else "pending",
        f"Actividad {cfg.acteco}, {f'sucursal {cfg.sucursal}' if cfg.sucursal else 'casa matriz'}."
        if done
        else "Elige la actividad económica y la sucursal que se imprimen en tus documentos.",
        reverse("merchant:issuer"),
        "Ir a Emisor",
    )


def _tax_step(cfg: EmissionSettings) -> Step:
    tax = selectors.tax_check_recent(
        store_id=cfg.store_id, untaxed_items=cfg.untaxed_items, reuse_recent=True
    )
    if tax.error:
        state, detail = "unknown", tax.error
    elif not tax.clean:
        state, detail = "pending", "Hay advertencias sobre cómo se documentan tus productos o despachos."
    elif tax.checked:
        state, detail = "done", f"Sin advertencias en tus últimos {tax.checked} pedidos pagados."
    else:
        state, detail = "done", "Aún no hay pedidos pagados que revisar: nada que advertir por ahora."
    return Step(
        "tax_check", "Revisión de impuestos", state, detail, reverse("merchant:tax_check"), "Ir a Impuestos"
    )


def _live_step(cfg: EmissionSettings) -> Step:
    if cfg.demo_mode:
        state = "pending"
        detail = (
            "Estás en modo demo: los documentos son de prueba y sin validez tributaria. Desmarca la empresa "
            "de demostración en Configuración (con la API key de tu empresa) para emitir documentos reales."
        )
    else:
        state, detail = "done", "Emites documentos reales con tu empresa."
    return Step(
        "go_live",
        "Salir del modo demo",
        state,
        detail,
        reverse("merchant:configuration"),
        "Ir a Configuración",
    )


def onboarding_steps(*, store_id: int) -> list[Step]:
    """The five steps, in order, each computed from the store's settings (never from pages visited)."""
    cfg = emission_services.emission_settings_for(store_id=store_id)
    return [_openfactura_step(cfg), _mode_step(cfg), _issuer_step(cfg), _tax_step(cfg), _live_step(cfg)]


@never_cache
@require_GET
@merchant_required
def onboarding(request: HttpRequest) -> HttpResponse:
    steps = onboarding_steps(store_id=request.store.pk)
    return render(
        request,
        "merchant/onboarding.html",
        {"store": request.store, "steps": steps, "done": sum(step.done for step in steps)},
    )
