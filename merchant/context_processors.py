"""What every merchant page shows around its content: the one menu and the alert banners."""

from __future__ import annotations

from dataclasses import dataclass

from django.http import HttpRequest
from django.urls import reverse
from django.utils.functional import SimpleLazyObject

# One menu, same names and order on /app/ and /jumpseller/app/: (label, url name, the views it covers).
MENU = [
    ("Primeros pasos", "merchant:onboarding", ()),
    ("Resumen", "merchant:summary", ()),
    ("Documentos", "merchant:documents", ("merchant:document", "merchant:backfill")),
    ("Cola", "merchant:queue", ()),
    ("Emisor", "merchant:issuer", ()),
    ("Impuestos", "merchant:tax_check", ()),
    ("F29", "merchant:f29", ()),
    ("Configuración", "merchant:configuration", ()),
    ("Conexión", "integration:merchant_home", ("integration:merchant_disconnect",)),
    ("Notificaciones", "integration:merchant_events", ("integration:merchant_event",)),
]


@dataclass(frozen=True)
class MenuItem:
    label: str
    url: str
    active: bool


def merchant_menu(view_name: str) -> list[MenuItem]:
    return [
        MenuItem(label, reverse(name), view_name == name or view_name in also) for label, name, also in MENU
    ]


def merchant_chrome(request: HttpRequest) -> dict:
    """Only merchant pages (``merchant_required`` set ``request.store``) get them; the banners are read
    when a page shows them, once."""
    store = getattr(request, "store", None)
    if store is None or not getattr(store, "pk", None):
        return {}
    from emission.services.alerts import merchant_alerts_active

    match = getattr(request, "resolver_match", None)
    alerts = SimpleLazyObject(lambda: merchant_alerts_active(store_id=store.pk))
    return {
        "merchant_menu": merchant_menu(match.view_name if match else ""),
        "merchant_alerts": alerts,
        # the Cola page: why the queue paused itself (None when the merchant paused it, or it runs)
        "merchant_pause_alert": SimpleLazyObject(
            lambda: next((a for a in alerts if a.kind != "review"), None)
        ),
    }
