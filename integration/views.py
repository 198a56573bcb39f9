"""Edges for the merchant: the App URL, the OAuth callback and the merchant pages (Spanish).

* ``GET /jumpseller/`` (App URL, pinned): with a merchant session → the merchant home; without one →
  the authorization-code flow (:func:`install`).
* ``GET /jumpseller/install``: a random single-use ``state`` (server-side and in the session) and a
  redirect to Jumpseller's authorize page. "Reconectar" points here.
* ``GET /jumpseller/callback`` (Redirect URL, pinned): checks ``state`` in constant time, explains
  ``error=access_denied``, installs the store and starts the merchant session.
* ``/jumpseller/app/...``: the merchant pages (``merchant_required``), embeddable in Jumpseller's admin.
"""

from __future__ import annotations

import hmac
import logging

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods

from core.logging import log_context

from . import oauth, selectors, services
from .client import JumpsellerError, JumpsellerInvalidClient
from .decorators import embeddable, merchant_login, merchant_logout, merchant_required, store_object_or_404
from .models import Store, WebhookEvent

logger = logging.getLogger(__name__)

SESSION_OAUTH_STATE = "oauth_state"


def _problem(request: HttpRequest, *, title: str, text: str, status: int, retry: bool = True) -> HttpResponse:
    return render(
        request, "integration/problem.html", {"title": title, "text": text, "retry": retry}, status=status
    )


@never_cache
@require_GET
@embeddable
def app_url(request: HttpRequest) -> HttpResponse:
    store = selectors.store_for_session(session=request.session)
    if store is not None and store.status != Store.Status.UNINSTALLED:
        return redirect("integration:merchant_home")
    return install(request)


@never_cache
@require_GET
@embeddable
def install(request: HttpRequest) -> HttpResponse:
    state = services.oauth_state_create()
    request.session[SESSION_OAUTH_STATE] = state
    return redirect(oauth.authorize_url(state=state))


@never_cache
@require_GET
@embeddable
def callback(request: HttpRequest) -> HttpResponse:
    given = request.GET.get("state", "")
    expected = request.session.pop(SESSION_OAUTH_STATE, "")
    state_ok = bool(given and expected) and hmac.compare_digest(given.encode(), expected.encode())
    if state_ok:
        try:
            services.oauth_state_consume(state=given)
        except services.OAuthStateInvalid:
            state_ok = False

    error = request.GET.get("error", "")
    if error == "access_denied":
        return _problem(
            request,
            title="No se autorizó la aplicación",
            text=(
                "Rechazaste el acceso de OpenFactura a tu tienda Jumpseller, así que no se conectó nada. "
                "Sin ese acceso no podemos emitir boletas ni facturas por tus pedidos pagados. "
                "Cuando quieras, vuelve a intentarlo y presiona «Autorizar»."
            ),
            status=403,
        )
    if error:
        return _problem(
            request,
            title="Jumpseller no completó la autorización",
            text=f"Jumpseller respondió con el error «{error[:60]}». No se conectó nada; inténtalo de nuevo.",
            status=400,
        )
    if not state_ok:
        return _problem(
            request,
            title="El enlace de instalación no es válido",
            text=(
                "El enlace expiró, ya se usó o tu navegador no guardó la sesión (algunos navegadores "
                "bloquean las cookies dentro del panel de Jumpseller). No se conectó nada. Vuelve a "
                "intentarlo, o abre la aplicación en una pestaña nueva."
            ),
            status=400,
        )
    code = request.GET.get("code", "")
    if not code:
        return _problem(
            request,
            title="Falta el código de autorización",
            text="Jumpseller no envió el código de autorización. No se conectó nada; inténtalo de nuevo.",
            status=400,
        )
    try:
        result = services.store_install_from_code(code=code)
    except JumpsellerInvalidClient:
        logger.error("oauth callback: Jumpseller refused the app's client credentials")
        return _problem(
            request,
            title="No pudimos conectar con Jumpseller",
            text="La aplicación no está bien configurada en Jumpseller. Avísanos y lo resolvemos pronto.",
            status=502,
            retry=False,
        )
    except JumpsellerError as exc:
        logger.warning("oauth callback failed: %s (%s)", type(exc).__name__, exc.status)
        return _problem(
            request,
            title="No pudimos conectar con Jumpseller",
            text=(
                "Jumpseller no respondió como esperábamos mientras conectábamos tu tienda. No se "
                "guardó nada; inténtalo de nuevo en unos minutos."
            ),
            status=502,
        )
    merchant_login(request, result.store)
    with log_context(store_code=result.store.code):
        logger.info("merchant session started")
    messages.success(request, f"Tu tienda «{result.store.name or result.store.code}» quedó conectada.")
    if not result.hooks_ok:
        messages.warning(
            request,
            "Aún no pudimos registrar las notificaciones de pedidos en Jumpseller; lo reintentaremos "
            "automáticamente.",
        )
    return redirect("integration:merchant_home")


@never_cache
@require_GET
@merchant_required
def merchant_home(request: HttpRequest) -> HttpResponse:
    store = request.store
    counts = selectors.webhook_event_counts(store_id=store.pk)
    context = {
        "active": "home",
        "store": store,
        "hooks": selectors.store_hooks(store_id=store.pk),
        "counts": counts,
        "waiting": counts.get(WebhookEvent.Status.RECEIVED, 0)
        + counts.get(WebhookEvent.Status.DISPATCHED, 0),
        "disconnected": store.status == Store.Status.DISCONNECTED,
    }
    return render(request, "integration/home.html", context)


@never_cache
@require_http_methods(["GET", "POST"])
@merchant_required
def merchant_disconnect(request: HttpRequest) -> HttpResponse:
    store = request.store
    if request.method == "GET":
        return render(request, "integration/disconnect_confirm.html", {"store": store})
    services.store_disconnect(store_id=store.pk)
    merchant_logout(request)
    return render(request, "integration/disconnected.html", {"store_name": store.name or store.code})


@never_cache
@require_GET
@merchant_required
def merchant_events(request: HttpRequest) -> HttpResponse:
    events = selectors.webhook_events_for_store(store_id=request.store.pk)[:100]
    return render(
        request, "integration/events.html", {"active": "events", "store": request.store, "events": events}
    )


@never_cache
@require_GET
@merchant_required
def merchant_event(request: HttpRequest, pk: int) -> HttpResponse:
    event = store_object_or_404(request, WebhookEvent.objects.defer("raw_body"), pk=pk)
    return render(
        request, "integration/event.html", {"active": "events", "store": request.store, "event": event}
    )
