"""Edges for the merchant: the App URL, the OAuth callback and the merchant pages (Spanish).

* ``GET /jumpseller/`` (App URL, pinned): with a merchant session → the merchant home; without one →
  :func:`install`, by a redirect that sets a small signed cookie. It writes nothing: no session row, no
  ``state`` (crawlers and link previews open it too).
* ``GET /jumpseller/install``: where the install starts. A browser that keeps cookies (it came back with
  that cookie, or has a session) gets a random single-use ``state`` (server-side and in the session) and
  a redirect to Jumpseller's authorize page; a client without cookies gets one redirect to try, then a
  page saying so, and nothing is stored. "Reconectar" points here.
* ``GET /jumpseller/callback`` (Redirect URL, pinned): checks ``state`` in constant time before anything
  else, then explains Jumpseller's ``error`` with fixed texts per known code (the parameter is never
  shown), installs the store and starts the merchant session.
* ``/jumpseller/app/...``: the merchant pages (``merchant_required``), embeddable in Jumpseller's admin.

**Inside the admin's iframe the OAuth round trip never runs in the frame** (issue 15.11): Jumpseller's
authorize page is not rendered there, and a frame without third-party cookies could not keep the
``state`` anyway. The App URL or ``/install`` loaded into a frame (``Sec-Fetch-Dest: iframe``) without a
merchant session answers the *connect page* instead: "Continuar con Jumpseller" opens a top-level window
(``/jumpseller/conectar/``) and the frame hands it a one-time secret by ``postMessage`` (only a window this
frame opened can receive it, so no link sent by someone else can bind their frame to your store). That
window runs the usual install (state in its first-party session), the callback binds the store to the
handoff and says "vuelve al panel"; the frame, polling ``/jumpseller/conectar/estado`` with its secret,
gets a new merchant session of its own as an embedded session token (``integration.decorators``) and
opens the onboarding page. Without JavaScript the same button is a ``target="_top"`` link: the whole
admin tab goes to the install and the app then runs at the top level.
"""

from __future__ import annotations

import hmac
import logging
from urllib.parse import urlencode

from django.conf import settings
from django.contrib import messages
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import NoReverseMatch, reverse
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from core.logging import log_context

from . import oauth, selectors, services
from .client import JumpsellerError, JumpsellerInvalidClient
from .decorators import (
    EMBEDDED_PARAM,
    SESSION_HANDOFF,
    confirmation_refused,
    embeddable,
    embedded_session_start,
    embedded_token,
    handoff_bind,
    handoff_claim,
    handoff_create,
    handoff_pending,
    in_frame,
    merchant_login,
    merchant_logout,
    merchant_required,
    store_object_or_404,
)
from .models import Store, WebhookEvent

logger = logging.getLogger(__name__)

SESSION_OAUTH_STATE = "oauth_state"


def _problem(request: HttpRequest, *, title: str, text: str, status: int, retry: bool = True) -> HttpResponse:
    return render(
        request, "integration/problem.html", {"title": title, "text": text, "retry": retry}, status=status
    )


# The install starts only in a browser that keeps cookies (the state lives in its session): the App URL
# and a cookie-less /install set this signed cookie and send the browser to /install?cookie=1.
INSTALL_COOKIE = "of_install"
INSTALL_COOKIE_SALT = "integration.install"
INSTALL_COOKIE_MAX_AGE = 15 * 60
INSTALL_COOKIE_PATH = "/jumpseller/"
INSTALL_RETRY_PARAM = "cookie"


def _to_install(request: HttpRequest) -> HttpResponse:
    response = redirect(f"{reverse('integration:install')}?{INSTALL_RETRY_PARAM}=1")
    response.set_signed_cookie(
        INSTALL_COOKIE,
        "1",
        salt=INSTALL_COOKIE_SALT,
        max_age=INSTALL_COOKIE_MAX_AGE,
        path=INSTALL_COOKIE_PATH,
        secure=settings.SESSION_COOKIE_SECURE,
        httponly=True,
        samesite=settings.SESSION_COOKIE_SAMESITE,  # sent inside the admin iframe, like the session
    )
    return response


def _keeps_cookies(request: HttpRequest) -> bool:
    """The browser came back with the install cookie, or already has a session (Reconectar)."""
    if settings.SESSION_COOKIE_NAME in request.COOKIES:
        return True
    marker = request.get_signed_cookie(
        INSTALL_COOKIE, default=None, salt=INSTALL_COOKIE_SALT, max_age=INSTALL_COOKIE_MAX_AGE
    )
    return marker is not None


def landing_url() -> str:
    """Where a completed install lands: the onboarding checklist (else the connection page)."""
    try:
        return reverse("merchant:onboarding")
    except NoReverseMatch:
        return reverse("integration:merchant_home")


def _embedded_connect(request: HttpRequest) -> HttpResponse:
    """The connect page of a frame without a merchant session: the OAuth goes to a top-level window."""
    context = {
        "secret": handoff_create(),
        "window_url": reverse("integration:embedded_window"),
        "claim_url": reverse("integration:embedded_claim"),
        "install_url": reverse("integration:install"),
    }
    return render(request, "integration/embedded_connect.html", context)


@never_cache
@require_GET
@embeddable
def app_url(request: HttpRequest) -> HttpResponse:
    store = selectors.store_for_session(session=request.session)
    if store is not None and store.status != Store.Status.UNINSTALLED:
        return redirect("integration:merchant_home")
    if in_frame(request):
        return _embedded_connect(request)
    return _to_install(request)


@never_cache
@require_GET
@embeddable
def install(request: HttpRequest) -> HttpResponse:
    if in_frame(request):
        return _embedded_connect(request)  # never Jumpseller's authorize page inside the admin's frame
    if not _keeps_cookies(request):
        if request.GET.get(INSTALL_RETRY_PARAM) != "1":
            return _to_install(request)
        # The cookie set one redirect ago did not come back: a crawler, or a browser that blocks cookies
        # inside the admin's iframe (the callback could not match the state either). Nothing is stored.
        return _problem(
            request,
            title="Tu navegador no guardó la sesión",
            text=(
                "Para conectar tu tienda necesitamos una cookie de sesión, y tu navegador no la guardó "
                "(algunos navegadores bloquean las cookies dentro del panel de Jumpseller). Abre la "
                "aplicación en una pestaña nueva para continuar."
            ),
            status=400,
        )
    state = services.oauth_state_create()
    request.session[SESSION_OAUTH_STATE] = state
    response = redirect(oauth.authorize_url(state=state))
    response.delete_cookie(
        INSTALL_COOKIE, path=INSTALL_COOKIE_PATH, samesite=settings.SESSION_COOKIE_SAMESITE
    )
    return response


# Jumpseller's ``error`` (RFC 6749 §4.1.2.1 codes) → a fixed page; the parameter itself is never shown.
_DENIED = (
    "No se autorizó la aplicación",
    "Rechazaste el acceso de OpenFactura a tu tienda Jumpseller, así que no se conectó nada. "
    "Sin ese acceso no podemos emitir boletas ni facturas por tus pedidos pagados. "
    "Cuando quieras, vuelve a intentarlo y presiona «Autorizar».",
    403,
)
_REFUSED = (
    "Jumpseller no completó la autorización",
    "Jumpseller rechazó la solicitud de autorización de la aplicación. No se conectó nada; inténtalo de "
    "nuevo y, si vuelve a ocurrir, avísanos.",
    400,
)
_UNAVAILABLE = (
    "Jumpseller no está disponible",
    "Jumpseller no pudo completar la autorización en este momento. No se conectó nada; inténtalo de "
    "nuevo en unos minutos.",
    503,
)
_OTHER = (
    "Jumpseller no completó la autorización",
    "Jumpseller no completó la autorización. No se conectó nada; inténtalo de nuevo.",
    400,
)
OAUTH_ERRORS: dict[str, tuple[str, str, int]] = {
    "access_denied": _DENIED,
    "invalid_request": _REFUSED,
    "unauthorized_client": _REFUSED,
    "unsupported_response_type": _REFUSED,
    "invalid_scope": _REFUSED,
    "server_error": _UNAVAILABLE,
    "temporarily_unavailable": _UNAVAILABLE,
}


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

    # The state first: whatever else the URL says may come from someone else's link.
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
    error = request.GET.get("error", "")
    if error:
        known = error if error in OAUTH_ERRORS else "other"
        logger.info("oauth callback: Jumpseller answered error %s", known)
        title, text, status = OAUTH_ERRORS.get(error, _OTHER)
        return _problem(request, title=title, text=text, status=status)
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
    handoff_id = request.session.pop(SESSION_HANDOFF, None)
    merchant_login(request, result.store)
    with log_context(store_code=result.store.code):
        logger.info("merchant session started")
    if isinstance(handoff_id, int) and handoff_bind(handoff_id=handoff_id, store=result.store):
        # This window was opened by the app inside the admin: the frame takes over from here.
        return render(
            request,
            "integration/embedded_done.html",
            {"store_name": result.store.name or result.store.code, "landing_url": landing_url()},
        )
    messages.success(request, f"Tu tienda «{result.store.name or result.store.code}» quedó conectada.")
    if not result.hooks_ok:
        messages.warning(
            request,
            "Aún no pudimos registrar las notificaciones de pedidos en Jumpseller; lo reintentaremos "
            "automáticamente.",
        )
    # Every completed install (top level or from the admin's frame) lands on the onboarding checklist.
    return redirect(landing_url())


# --- The admin's iframe without third-party cookies (issue 15.11) -------------------------------------
def _opener_kept(response: HttpResponse) -> HttpResponse:
    """This top-level window must keep its opener (the frame) to receive the handoff's secret."""
    response["Cross-Origin-Opener-Policy"] = "unsafe-none"
    return response


@never_cache
@require_http_methods(["GET", "POST"])
def embedded_window(request: HttpRequest) -> HttpResponse:
    """The top-level window the connect page opens. GET: receives the frame's secret (``postMessage``,
    from its opener only) and posts it; POST: keeps the handoff in this window's session and starts the
    install here, at the top level."""
    if request.method == "GET":
        response = render(
            request, "integration/embedded_window.html", {"app_url": reverse("integration:app_url")}
        )
        return _opener_kept(response)
    handoff = handoff_pending(request.POST.get("secreto", ""))
    if handoff is None:
        return _problem(
            request,
            title="La conexión con el panel expiró",
            text=(
                "Este enlace para conectar la aplicación con el panel de Jumpseller ya no es válido. No se "
                "conectó nada. Vuelve al panel de Jumpseller y presiona otra vez «Continuar con Jumpseller»."
            ),
            status=400,
        )
    request.session[SESSION_HANDOFF] = handoff.pk
    return redirect("integration:install")


@never_cache
@csrf_exempt  # no cookie, no ambient authority: the secret in the body is the whole credential
@require_POST
def embedded_claim(request: HttpRequest) -> HttpResponse:
    """The frame asks whether its window finished; once, it gets its own merchant session (a token)."""
    claimed = handoff_claim(request.POST.get("secreto", ""))
    if claimed is None:
        return JsonResponse({"estado": "esperando"})
    if claimed is False:
        return JsonResponse({"estado": "caducado"}, status=410)
    token = embedded_session_start(claimed)
    with log_context(store_code=claimed.code):
        logger.info("embedded merchant session started")
    return JsonResponse({"estado": "listo", "url": f"{landing_url()}?{urlencode({EMBEDDED_PARAM: token})}"})


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
    if confirmation_refused(request):
        return redirect("integration:merchant_disconnect")
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


@never_cache
@require_GET
@merchant_required
def embedded_renew(request: HttpRequest) -> HttpResponse:
    """A fresh embedded session token for a page that stays open (its script asks every few minutes)."""
    return JsonResponse({"token": embedded_token(request)})
