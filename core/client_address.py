"""The network address of the person behind a request, as far as this deployment can know it."""

from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest


def client_address(request: HttpRequest) -> str:
    """``REMOTE_ADDR``, or behind the TLS proxy (``BEHIND_PROXY``) the address the proxy saw.

    Behind docker-compose's Caddy every request comes from the proxy, so per-IP limits keyed on
    ``REMOTE_ADDR`` would be one limit for every customer of every store. The proxy appends the peer it
    saw to ``X-Forwarded-For``; only that rightmost entry is trusted (anything left of it was written by
    the client). Without a proxy the header is ignored: anyone could send it."""
    if settings.BEHIND_PROXY:
        forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "").rsplit(",", 1)[-1].strip()
        if forwarded:
            return forwarded
    return request.META.get("REMOTE_ADDR", "") or "-"
