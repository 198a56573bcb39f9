"""The merchant session's middleware: store binding of POSTs, and the session inside a cookie-less iframe.

**Store binding.** A page left open for store A, after this browser installed or opened store B, would
otherwise post A's form (an API key, a pause, an order to emit) into B's session. Every form of a
``merchant_required`` view carries the hidden ``store`` field (``{% store_field %}``), and
:func:`integration.decorators.stale_store_response` compares it with the session's store. It is listed
before ``CsrfViewMiddleware`` in ``MIDDLEWARE`` so that the stale tab gets the Spanish explanation rather
than a bare CSRF 403 (``merchant_login`` rotates the CSRF token too, so the stale form's token is dead as
well). It only ever refuses: CSRF still checks whatever it lets through. The views are marked by
``merchant_required``, so no merchant view is left out.

**Embedded session** (issue 15.11; the design is in ``integration.decorators``' docstring).
``EmbeddedSessionMiddleware`` replaces Django's ``SessionMiddleware``: a request that carries a valid
embedded session token (``of_sesion`` in the query, the form or the ``X-OF-Sesion`` header) gets the
token's session — only while that session still belongs to the token's store, and only on a request one
of the app's own pages started (``Sec-Fetch-Site: same-origin``; a browser without Fetch Metadata must
show the app's origin in ``Origin`` or ``Referer``, see :func:`_started_by_own_page`), so a link from
elsewhere carrying someone's token logs nobody in (login CSRF) — and is marked
``request.embedded_session``; its redirects to the app's own pages carry a fresh token. Every cookie it or
anyone else sets as ``SameSite=None; Secure`` leaves as ``Partitioned`` too (CHIPS).
CSRF stays Django's ``CsrfViewMiddleware``, unchanged: for such a request the CSRF cookie (which does not
reach a cookie-less frame) is kept in the session instead — handed to the CSRF middleware as the
request's cookie, and taken back from the response into the session — so every POST is still checked
against a secret bound to this session. ``EmbeddedMessageStorage`` keeps their messages in the session.
"""

from __future__ import annotations

from importlib import import_module
from urllib.parse import urlencode, urlsplit

from django.conf import settings
from django.contrib.messages.storage.fallback import FallbackStorage
from django.contrib.messages.storage.session import SessionStorage
from django.contrib.sessions.middleware import SessionMiddleware
from django.core.exceptions import DisallowedHost

from .decorators import (
    EMBEDDED_HEADER,
    EMBEDDED_PARAM,
    MERCHANT_VIEW,
    SESSION_STORE_ID,
    embedded_token,
    embedded_token_payload,
    stale_store_response,
)

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "TRACE"})
FORM_TYPES = frozenset({"application/x-www-form-urlencoded", "multipart/form-data"})
REDIRECTS = frozenset({301, 302, 303, 307, 308})
SESSION_CSRF = "embedded_csrf"  # the CSRF secret of an embedded session (its cookie would not come back)


class StoreBindingMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_view(self, request, view_func, view_args, view_kwargs):
        if request.method in SAFE_METHODS or not getattr(view_func, MERCHANT_VIEW, False):
            return None
        return stale_store_response(request)


def is_embedded(request) -> bool:
    return getattr(request, "embedded_session", False)


def _origin(url: str) -> str:
    """``scheme://host[:port]`` of an absolute http(s) URL, lower-cased; ``""`` for anything else."""
    try:
        parts = urlsplit(url.strip())
    except ValueError:  # e.g. an unbalanced "[" in the host
        return ""
    if parts.scheme.lower() not in ("http", "https") or not parts.netloc or "@" in parts.netloc:
        return ""
    return f"{parts.scheme}://{parts.netloc}".lower()


def _own_origins(request) -> set[str]:
    """The app's origin: ``PUBLIC_BASE_URL``'s, and the request's own (its Host, already checked against
    ``ALLOWED_HOSTS``; locally the server may be reached under another name)."""
    origins = {_origin(settings.PUBLIC_BASE_URL)}
    try:
        origins.add(_origin(f"{request.scheme}://{request.get_host()}"))
    except DisallowedHost:
        pass  # CommonMiddleware answers 400 anyway
    origins.discard("")
    return origins


def _started_by_own_page(request) -> bool:
    """Did one of the app's own pages start this request (a link, form, redirect or fetch in the frame)?

    With Fetch Metadata the browser says so: ``Sec-Fetch-Site: same-origin``. ``cross-site`` and
    ``same-site`` are other sites; ``none`` (a typed, pasted or bookmarked URL, or one opened from another
    app) is refused too: a pasted link is just how someone else's token would arrive, and the app's pages
    never start such a request. Browsers without Fetch Metadata (Safari < 16.4) must prove the origin
    instead: an ``Origin`` header (POSTs; ``null`` is opaque, so refused) that is the app's, or, without
    one, a ``Referer`` whose origin is the app's — the app's own pages always send it
    (``Referrer-Policy: same-origin``). No header at all proves nothing: the token is ignored.
    """
    site = request.headers.get("Sec-Fetch-Site")
    if site is not None:
        return site.strip().lower() == "same-origin"
    origin = request.headers.get("Origin")
    if origin is not None:
        return _origin(origin) in _own_origins(request)
    referer = request.headers.get("Referer")
    return referer is not None and _origin(referer) in _own_origins(request)


def _token_of(request) -> str:
    # Only the app's own pages pass a token on: one in a link from another site would log the browser into
    # someone else's store (login CSRF).
    if not _started_by_own_page(request):
        return ""
    token = request.GET.get(EMBEDDED_PARAM) or request.headers.get(EMBEDDED_HEADER, "")
    if not token and request.method == "POST" and request.content_type in FORM_TYPES:
        token = request.POST.get(EMBEDDED_PARAM, "")
    return token


def _own_location(location: str) -> bool:
    """A redirect to one of the app's own pages (a path, or an absolute URL on ``PUBLIC_BASE_URL``)."""
    parts = urlsplit(location)
    if not parts.scheme and not parts.netloc:
        return location.startswith("/") and not location.startswith("//")
    own = urlsplit(settings.PUBLIC_BASE_URL)
    return (parts.scheme, parts.netloc) == (own.scheme, own.netloc)


def with_token(url: str, token: str) -> str:
    """``url`` with the embedded session token added (replacing one already there)."""
    parts = urlsplit(url)
    query = "&".join(
        pair for pair in parts.query.split("&") if pair and not pair.startswith(f"{EMBEDDED_PARAM}=")
    )
    query = f"{query}&" if query else ""
    return parts._replace(query=f"{query}{urlencode({EMBEDDED_PARAM: token})}").geturl()


def _partitioned(response) -> None:
    """``SameSite=None; Secure`` cookies leave partitioned (CHIPS): a browser that blocks third-party
    cookies still keeps them, one jar per top-level site. Python's ``Morsel`` learns the attribute only
    in 3.14, so it rides on the SameSite value."""
    for morsel in response.cookies.values():
        if morsel["secure"] and str(morsel["samesite"]).lower() == "none":
            morsel["samesite"] = "None; Partitioned"


class EmbeddedSessionMiddleware(SessionMiddleware):
    """Django's session middleware, plus the embedded session token and partitioned cookies."""

    def process_request(self, request):
        super().process_request(request)
        payload = embedded_token_payload(_token_of(request))
        if payload is None:
            return
        key, store_id = payload
        session = import_module(settings.SESSION_ENGINE).SessionStore(key)
        if session.get(SESSION_STORE_ID) != store_id:
            return  # logged out, flushed by another login, or not that store's: the token is dead
        request.session = session
        request.embedded_session = True
        secret = session.get(SESSION_CSRF)
        if isinstance(secret, str) and secret:
            request.COOKIES[settings.CSRF_COOKIE_NAME] = secret

    def _keep_csrf(self, request, response) -> None:
        """The CSRF cookie the CSRF middleware set (new or rotated secret) goes into the session."""
        cookie = response.cookies.get(settings.CSRF_COOKIE_NAME)
        if cookie is not None and cookie.value and request.session.get(SESSION_CSRF) != cookie.value:
            request.session[SESSION_CSRF] = cookie.value

    def process_response(self, request, response):
        if is_embedded(request):
            self._keep_csrf(request, response)
        if is_embedded(request) and response.status_code in REDIRECTS and response.has_header("Location"):
            location = response["Location"]
            if _own_location(location):
                token = embedded_token(request)
                if token:
                    response["Location"] = with_token(location, token)
        response = super().process_response(request, response)
        _partitioned(response)
        return response


class EmbeddedMessageStorage:
    """``MESSAGE_STORAGE``: messages of an embedded-session request in its session (their cookie would
    not come back), the others as Django's default (cookie, then session)."""

    def __new__(cls, request, *args, **kwargs):
        storage = SessionStorage if is_embedded(request) else FallbackStorage
        return storage(request, *args, **kwargs)
