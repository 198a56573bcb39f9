"""Request middleware: tags log records of a request with the merchant's store when known."""

from __future__ import annotations

from core.logging import log_context


class RequestContextMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        store_code = request.headers.get("Jumpseller-Store-Code") or request.session.get("store_code")
        with log_context(store_code=store_code):
            return self.get_response(request)
