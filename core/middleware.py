"""Request middleware: log records tagged with the merchant's store; the product's error pages in DEBUG.

Only an authenticated source names the store: the merchant session (set by ``merchant_login`` after
the OAuth round trip; both its store id and code, as ``integration.selectors.store_for_session`` reads
them). Never the ``Jumpseller-Store-Code`` header: anyone can send it, so a forged delivery would write
another store's code into the logs. The webhook receiver sets the code itself once the signature
(HMAC with that store's hooks token) has been verified.
"""

from __future__ import annotations

from django.conf import settings

from core import errors
from core.logging import log_context

# The session keys of integration.decorators.merchant_login (core imports no app).
_SESSION_STORE_ID = "store_id"
_SESSION_STORE_CODE = "store_code"


def _session_store_code(request) -> str | None:
    session = getattr(request, "session", None)
    if session is None:
        return None
    code = session.get(_SESSION_STORE_CODE)
    if isinstance(code, str) and code and isinstance(session.get(_SESSION_STORE_ID), int):
        return code
    return None


class RequestContextMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        with log_context(store_code=_session_store_code(request)):
            return self.get_response(request)


# Set on the request when a view raised: the status Django is about to answer with.
_RAISED_STATUS = "_error_page_status"
_KEPT_HEADERS = ("X-Frame-Options", "Vary", "Retry-After")


class ErrorPageMiddleware:
    """With ``DEBUG`` on, merchant and customer URLs get the product's error pages, not Django's technical
    ones: a newcomer's ``./run`` shows what production shows (``core.errors``).

    Django builds the technical 404/500 pages inside the handler, before any middleware sees a response,
    so this one remembers that the view raised (``process_exception`` returns None: Django still logs the
    traceback to the console and sends ``got_request_exception``) or that no URL matched, and replaces
    that response. A page a view rendered itself (the self-service 410, a 409) is left alone. With
    ``DEBUG`` off the ``handler*`` views already render these pages; nothing happens here.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        if not settings.DEBUG or errors.area_for(request.path_info) == errors.OTHER:
            return response
        status = getattr(request, _RAISED_STATUS, None)
        if status is None and request.resolver_match is None and response.status_code == 404:
            status = 404
        if status is None or response.status_code != status:
            return response
        return _replaced(response, errors.error_response(request, status))

    def process_exception(self, request, exception):
        if settings.DEBUG:
            setattr(request, _RAISED_STATUS, errors.status_for_exception(exception))
        return None


def _replaced(old, new):
    """``new`` with what the inner middleware added to ``old``: cookies, Vary, and X-Frame-Options unless
    ``new`` may be framed (a merchant page carries its own ``frame-ancestors``)."""
    for name in _KEPT_HEADERS:
        if name in old and name not in new:
            new[name] = old[name]
    if getattr(new, "xframe_options_exempt", False) and "X-Frame-Options" in new:
        del new["X-Frame-Options"]
    new.cookies = old.cookies
    return new
