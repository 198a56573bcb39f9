"""Binds every merchant POST to its store, before CSRF and before the view.

A page left open for store A, after this browser installed or opened store B, would otherwise post A's
form (an API key, a pause, an order to emit) into B's session. Every form of a ``merchant_required`` view
carries the hidden ``store`` field (``{% store_field %}``), and
:func:`integration.decorators.stale_store_response` compares it with the session's store.

It is listed before ``CsrfViewMiddleware`` in ``MIDDLEWARE`` so that the stale tab gets the Spanish
explanation rather than a bare CSRF 403 (``merchant_login`` rotates the CSRF token too, so the stale
form's token is dead as well). It only ever refuses: CSRF still checks whatever it lets through. The views
are marked by ``merchant_required``, so no merchant view is left out.
"""

from __future__ import annotations

from .decorators import MERCHANT_VIEW, stale_store_response

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "TRACE"})


class StoreBindingMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_view(self, request, view_func, view_args, view_kwargs):
        if request.method in SAFE_METHODS or not getattr(view_func, MERCHANT_VIEW, False):
            return None
        return stale_store_response(request)
