"""Request middleware: tags log records of a request with the merchant's store when known.

Only an authenticated source names the store: the merchant session (set by ``merchant_login`` after
the OAuth round trip; both its store id and code, as ``integration.selectors.store_for_session`` reads
them). Never the ``Jumpseller-Store-Code`` header: anyone can send it, so a forged delivery would write
another store's code into the logs. The webhook receiver sets the code itself once the signature
(HMAC with that store's hooks token) has been verified.
"""

from __future__ import annotations

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
