"""The merchant session and the pages that live inside Jumpseller's admin iframe.

Jumpseller gives the app no signed context when the admin opens it (jumpseller-api.md §1.5 [GAP]): the
session is established by the OAuth round trip (:func:`merchant_login`) and kept in the session cookie,
which production sends as ``SameSite=None; Secure`` so that it works inside the iframe.

Three locks keep that session to its own store and its own admin:

* **Framing** (:func:`embeddable`): X-Frame-Options stays DENY unless the request has a store; then
  ``Content-Security-Policy: frame-ancestors 'self' <the admin origins of that store>`` (computed per
  request from ``JUMPSELLER_ADMIN_ORIGINS``, whose ``{store}`` is the store's code). No store →
  ``frame-ancestors 'none'``. Another store's storefront (whose theme HTML its merchant writes) may not
  frame a logged-in page.
* **Store binding** (:func:`stale_store_response`, run by ``integration.middleware.StoreBindingMiddleware``
  before CSRF and before the view): every POST to a ``merchant_required`` view carries the hidden field
  ``store`` = the store's code (``{% store_field %}``), and one that names another store — a tab left open
  before this browser installed or opened another store — is a 409 page; nothing runs. ``merchant_login``
  also gives the session a new key and a new CSRF token.
* **Typed confirmation** (:func:`confirmation_refused`): Desconectar, the notas de crédito and pausing the
  queue need the store's code typed into ``confirmacion`` (``{% confirm_field %}``), which one click in a
  disguised frame cannot do.

**Without third-party cookies** (Safari's default, Chrome's option; issue 15.11) the iframe gets no
session cookie. The page then carries the session itself, as Shopify's embedded apps do: every merchant
page gets a short-lived **embedded session token** (:func:`embedded_token`, the parameter ``of_sesion``):
the session key and the store, encrypted and authenticated with Fernet (``FIELD_ENCRYPTION_KEY``; the key
is never readable from the URL, so a leaked token cannot be replayed as a cookie) and valid for
``EMBEDDED_TOKEN_MAX_AGE`` (30 minutes) after the page that issued it; every page issues a fresh one, and
an open page renews its own every few minutes. ``integration.middleware.EmbeddedSessionMiddleware`` turns
a valid token into ``request.session`` — only when the session still belongs to the token's store, and
only on requests the app's own pages start (``Sec-Fetch-Site: same-origin``: a link from another site
carrying someone's token would be a login CSRF) — and adds it to the redirects it answers;
``{% store_field %}`` puts it in every form and ``{% embedded_session %}`` (a small script) in every
same-origin link. CSRF keeps working, unchanged: for such requests the CSRF secret lives in the session
instead of its cookie, and messages too (``integration.middleware``). Cookies are also
``SameSite=None; Secure; Partitioned`` over https (CHIPS), so a browser that keeps partitioned cookies
needs the token only for its first page. The token is redacted from logs (``core.redaction``) and never
leaves the app's origin (``Referrer-Policy: same-origin``; the script touches same-origin links only).
How a frame without cookies gets its first session (OAuth in a top-level window): ``integration.views``.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
import secrets
from collections.abc import Callable
from datetime import timedelta
from functools import wraps
from importlib import import_module

from cryptography.fernet import InvalidToken
from django.conf import settings
from django.contrib import messages
from django.db.models import Model, QuerySet
from django.http import HttpRequest, HttpResponse
from django.middleware.csrf import rotate_token
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone

from core.fields import fernet

from . import selectors
from .models import EmbeddedHandoff, Store

logger = logging.getLogger(__name__)

SESSION_STORE_ID = "store_id"
SESSION_STORE_CODE = "store_code"

STORE_FIELD = "store"  # hidden field of every merchant form: the store's code
CONFIRM_FIELD = "confirmacion"  # typed confirmation of the destructive actions: the store's code
MERCHANT_VIEW = "merchant_view"  # attribute merchant_required sets on a view: its POSTs are store-bound

EMBEDDED_PARAM = "of_sesion"  # the embedded session token: query parameter, form field
EMBEDDED_HEADER = "X-OF-Sesion"  # the same token on the page's own fetch requests
EMBEDDED_TOKEN_MAX_AGE = 30 * 60

# A store code is the store's subdomain (jumpseller-api.md §3.2, "storecode.jumpseller.com"): one DNS
# label. Anything else never reaches a header.
_STORE_CODE = re.compile(r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?")
# An origin, optionally with the {store} placeholder; a configured entry with spaces, quotes or ";"
# would add directives to the header, so it is dropped.
_ORIGIN = re.compile(r"https?://[A-Za-z0-9.*{}-]+(?::[0-9]+)?")


def _valid_code(code: str) -> bool:
    return bool(_STORE_CODE.fullmatch(code))


def admin_origins(store: Store | None) -> list[str]:
    """The origins that may frame the pages of ``store``'s session.

    ``JUMPSELLER_ADMIN_ORIGINS`` with ``{store}`` replaced by the store's code. The default is
    ``https://{store}.jumpseller.com`` and ``https://jumpseller.com``, because the reference does not name
    the admin's host: it says only that the store's own URL is ``https://<code>.jumpseller.com``
    (jumpseller-api.md §3.2) and that the app opens "in an iframe inside the Jumpseller Admin" (§1.1,
    §1.5). Jumpseller's own sample app links the admin as ``https://<code>.jumpseller.com/admin``
    (``Jumpseller/exceller``); the former default also allowed Jumpseller's apex ``https://jumpseller.com``.
    The default covers both readings and nothing else. ``frame-ancestors`` matches origins, not paths, so
    the store's own storefront (same origin as its admin) is allowed too: only its own merchant's theme,
    and the typed confirmation still guards the destructive actions. What it shuts out is every other
    store's storefront (``*.jumpseller.com`` allowed all of them) and custom domains.
    """
    if store is None or not _valid_code(store.code):
        return []
    return [
        origin.replace("{store}", store.code)
        for origin in settings.JUMPSELLER_ADMIN_ORIGINS
        if _ORIGIN.fullmatch(origin)
    ]


def anonymous_origins() -> list[str]:
    """Who may frame a page without a store (install, consent refused, "tu navegador no guardó la
    sesión"): any store's admin, since the merchant may not be known yet. Such pages hold no data and
    offer no action, and a merchant whose browser blocks the iframe's cookies must read their advice
    inside the admin (Safari)."""
    return [
        origin.replace("{store}", "*")
        for origin in settings.JUMPSELLER_ADMIN_ORIGINS
        if _ORIGIN.fullmatch(origin)
    ]


def frame_ancestors(store: Store | None) -> str:
    if store is None:
        return " ".join(["frame-ancestors", "'self'", *anonymous_origins()])
    if not _valid_code(store.code):
        return "frame-ancestors 'none'"
    return " ".join(["frame-ancestors", "'self'", *admin_origins(store)])


def _framing_store(request: HttpRequest) -> Store | None:
    """The store whose admin may frame this response: the view's (``request.store``, still set after
    Desconectar ends the session), else the session's (the OAuth callback has just logged in)."""
    store = getattr(request, "store", None)
    if store is not None:
        return store
    store = selectors.store_for_session(session=request.session)
    if store is None or store.status == Store.Status.UNINSTALLED:
        return None
    return store


def frame_for_store(response: HttpResponse, store: Store | None) -> HttpResponse:
    response["Content-Security-Policy"] = frame_ancestors(store)
    if store is None or _valid_code(store.code):
        # XFrameOptionsMiddleware reads this attribute; for an invalid store code the project's DENY stays.
        response.xframe_options_exempt = True
    return response


def embeddable(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """Let the admin of the request's store (and only it) frame the page."""

    @wraps(view)
    def wrapper(request: HttpRequest, *args, **kwargs) -> HttpResponse:
        response = view(request, *args, **kwargs)
        return frame_for_store(response, _framing_store(request))

    return wrapper


def merchant_login(request: HttpRequest, store: Store) -> None:
    """Start a merchant session for ``store``: a new session key (no fixation) and a new CSRF token, so
    no form rendered before the login (for this store or another) can post into the new session."""
    if request.session.get(SESSION_STORE_ID) not in (None, store.pk):
        request.session.flush()
    else:
        request.session.cycle_key()
    rotate_token(request)
    request.session[SESSION_STORE_ID] = store.pk
    request.session[SESSION_STORE_CODE] = store.code


def embedded_token(request: HttpRequest) -> str:
    """A fresh embedded session token for this request's merchant session, or "" without one.

    Fernet (encrypted, authenticated, timestamped): ``{"k": session key, "s": store id}``.
    """
    session = request.session
    store_id = session.get(SESSION_STORE_ID)
    if not isinstance(store_id, int):
        return ""
    if session.session_key is None:
        session.save()
    return _seal(session.session_key, store_id)


def _seal(session_key: str, store_id: int) -> str:
    payload = json.dumps({"k": session_key, "s": store_id}, separators=(",", ":"))
    return fernet().encrypt(payload.encode()).decode()


def embedded_token_payload(token: str) -> tuple[str, int] | None:
    """(session key, store id) of a valid, unexpired token, else None (forged, expired, malformed)."""
    if not token or len(token) > 1000:
        return None
    try:
        data = json.loads(fernet().decrypt(token.encode(), ttl=EMBEDDED_TOKEN_MAX_AGE))
    except (InvalidToken, ValueError, TypeError):
        return None
    if not isinstance(data, dict):
        return None
    key, store_id = data.get("k"), data.get("s")
    if not isinstance(key, str) or not isinstance(store_id, int) or isinstance(store_id, bool):
        return None
    return key, store_id


def in_frame(request: HttpRequest) -> bool:
    """The browser is loading this page into a frame (Fetch Metadata: Chrome, Firefox, Safari ≥ 16.4)."""
    return request.headers.get("Sec-Fetch-Dest", "") in {"iframe", "frame"}


# --- The first session of a cookie-less iframe (issue 15.11) ----------------------------------------------
HANDOFF_MAX_AGE = 10 * 60
SESSION_HANDOFF = "embedded_handoff"  # in the top-level window's session: the handoff it authorizes


def _handoff_hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def handoff_create() -> str:
    """A new handoff for the iframe's page; returns its secret (only the hash is kept)."""
    secret = secrets.token_urlsafe(32)
    now = timezone.now()
    EmbeddedHandoff.objects.filter(created_at__lt=now - timedelta(seconds=HANDOFF_MAX_AGE)).delete()
    EmbeddedHandoff.objects.create(secret_hash=_handoff_hash(secret), created_at=now)
    return secret


def _live_handoffs() -> QuerySet:
    return EmbeddedHandoff.objects.filter(
        created_at__gte=timezone.now() - timedelta(seconds=HANDOFF_MAX_AGE), claimed_at__isnull=True
    )


def handoff_pending(secret: str) -> EmbeddedHandoff | None:
    """The live, not yet authorized handoff of ``secret``."""
    if not secret or len(secret) > 100:
        return None
    return _live_handoffs().filter(secret_hash=_handoff_hash(secret), store__isnull=True).first()


def handoff_bind(*, handoff_id: int, store: Store) -> bool:
    """The OAuth callback (in the window that started the handoff) binds its store, once."""
    bound = (
        _live_handoffs()
        .filter(pk=handoff_id, store__isnull=True)
        .update(store=store, bound_at=timezone.now())
    )
    return bound == 1


def handoff_claim(secret: str) -> Store | None | bool:
    """The iframe claims its handoff: the store once authorized (single use), None while it waits,
    False when the secret is unknown, expired or already used."""
    if not secret or len(secret) > 100:
        return False
    handoff = _live_handoffs().filter(secret_hash=_handoff_hash(secret)).first()
    if handoff is None:
        return False
    if handoff.store_id is None:
        return None
    claimed = EmbeddedHandoff.objects.filter(pk=handoff.pk, claimed_at__isnull=True).update(
        claimed_at=timezone.now()
    )
    if claimed != 1:
        return False
    store = Store.objects.filter(pk=handoff.store_id).exclude(status=Store.Status.UNINSTALLED).first()
    return store if store is not None else False


def embedded_session_start(store: Store) -> str:
    """A new merchant session of ``store`` for the iframe (never the top-level window's: each context
    keeps its own), and its first token."""
    session = import_module(settings.SESSION_ENGINE).SessionStore()
    session[SESSION_STORE_ID] = store.pk
    session[SESSION_STORE_CODE] = store.code
    session.save()
    return _seal(session.session_key, store.pk)


def merchant_logout(request: HttpRequest) -> None:
    request.session.flush()


def merchant_required(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """Set ``request.store`` from the merchant session, or send the browser to the App URL (OAuth).

    Also ``request.store_demo_mode`` (True, False or None when unknown) for the pages' banner.

    A store the merchant disconnected (uninstalled) ends the session. The view is marked
    (``MERCHANT_VIEW``) so that ``StoreBindingMiddleware`` checks the ``store`` field of its POSTs.
    """

    @wraps(view)
    def wrapper(request: HttpRequest, *args, **kwargs) -> HttpResponse:
        store = selectors.store_for_session(session=request.session)
        if store is None or store.status == Store.Status.UNINSTALLED:
            if store is not None:
                merchant_logout(request)
            return redirect("integration:app_url")
        request.store = store
        request.store_demo_mode = selectors.store_demo_mode(store=store)
        return view(request, *args, **kwargs)

    framed = embeddable(wrapper)
    setattr(framed, MERCHANT_VIEW, True)  # functools.wraps of the outer decorators copies it
    return framed


def stale_store_response(request: HttpRequest) -> HttpResponse | None:
    """The one store-binding check of merchant POSTs: None when the form's ``store`` field is the session's
    store, else the 409 page (Spanish) — and nothing else runs.

    Without a merchant session there is nothing to bind: ``merchant_required`` sends the browser to the App
    URL and the view does not run.
    """
    store = selectors.store_for_session(session=request.session)
    if store is None or store.status == Store.Status.UNINSTALLED:
        return None
    posted = request.POST.get(STORE_FIELD, "")
    if posted == store.code:
        return None
    other = posted if _valid_code(posted) else ""
    logger.warning("merchant form refused: %s", "another store's page" if other else "no store field")
    current = store.name or store.code
    if other:
        title = "Esta página era de otra tienda"
        text = (
            f"Abriste esta página con la tienda «{other}», pero ahora este navegador tiene abierta la "
            f"tienda «{current}» (se instaló o se abrió después). Para no mezclar las dos tiendas no se "
            f"guardó ni se envió nada. Recarga la página para trabajar con «{current}», o vuelve a abrir "
            f"la aplicación desde el panel de «{other}»."
        )
    else:
        title = "Recarga la página"
        text = (
            "Este formulario no indica de qué tienda es (quizás la página se abrió antes de una "
            f"actualización). No se guardó ni se envió nada. Recarga la página: es de la tienda «{current}»."
        )
    response = render(
        request,
        "integration/stale_store.html",
        {"title": title, "text": text, "store": store},
        status=409,
    )
    return frame_for_store(response, store)


def confirmation_refused(request: HttpRequest) -> bool:
    """True (with a Spanish error message) when a destructive POST lacks the store's code typed into
    ``confirmacion``; the caller then redirects and does nothing.

    Why typing: the frame-ancestors policy already keeps other stores' pages out, but the store's own
    storefront shares its admin's origin, and a click is all a disguised frame can obtain. Fetch metadata
    (``Sec-Fetch-Site``/``-Dest``) cannot help: a form inside the framed page is ``same-origin`` whoever
    frames it, and the real admin frames it too.
    """
    typed = request.POST.get(CONFIRM_FIELD, "").strip().lower()
    if typed == request.store.code.lower():
        return False
    messages.error(
        request,
        f"Para confirmar, escribe el código de tu tienda ({request.store.code}) en el campo de "
        "confirmación. No se hizo nada.",
    )
    return True


def store_object_or_404(request: HttpRequest, model: type[Model] | QuerySet, **lookup) -> Model:
    """``get_object_or_404`` scoped to the merchant's store: another store's object is a 404."""
    return get_object_or_404(model, store=request.store, **lookup)
