"""The two fields that bind a merchant form to its store (``integration.decorators``).

``{% store_field %}`` in every POST form of a merchant page (next to ``{% csrf_token %}``): the hidden
``store`` field, the store's code, checked by ``StoreBindingMiddleware``.

``{% confirm_field "pausar" %}`` in the forms of destructive actions: the store's code, typed by the
merchant (``confirmation_refused``).

``{% embedded_session %}`` once in the merchant pages' layout: inside the admin's iframe (or when the
request came with an embedded session token) the small script that carries a fresh token in every
same-origin link and form and renews it while the page stays open; ``{% store_field %}`` then also adds
the token as a hidden field, so forms keep the session even without the script
(``integration.decorators``, issue 15.11).
"""

from __future__ import annotations

from django import template
from django.utils.html import format_html

from integration.decorators import (
    CONFIRM_FIELD,
    EMBEDDED_HEADER,
    EMBEDDED_PARAM,
    EMBEDDED_TOKEN_MAX_AGE,
    STORE_FIELD,
    embedded_token,
    in_frame,
)

register = template.Library()


def _store(context):
    return getattr(context.get("request"), "store", None)


def _page_token(context) -> str:
    """The page's embedded session token (one per rendered page), only where the page needs it: in a
    frame, or reached with a token. A top-level tab with its cookie keeps clean URLs."""
    request = context.get("request")
    if request is None or _store(context) is None:
        return ""
    if not (getattr(request, "embedded_session", False) or in_frame(request)):
        return ""
    token = getattr(request, "_embedded_page_token", None)
    if token is None:
        token = request._embedded_page_token = embedded_token(request)
    return token


@register.simple_tag(takes_context=True)
def store_field(context) -> str:
    store = _store(context)
    if store is None:
        return ""  # no store, no field: the POST is refused (fail closed)
    field = format_html('<input type="hidden" name="{}" value="{}">', STORE_FIELD, store.code)
    token = _page_token(context)
    if token:
        field += format_html('<input type="hidden" name="{}" value="{}">', EMBEDDED_PARAM, token)
    return field


@register.inclusion_tag("integration/_embedded_session.html", takes_context=True)
def embedded_session(context) -> dict:
    """The script that carries the page's token; nothing outside a frame without a token."""
    return {
        "token": _page_token(context),
        "param": EMBEDDED_PARAM,
        "header": EMBEDDED_HEADER,
        # Renew well before the token expires; a page left open keeps its session while it is open.
        "renew_ms": EMBEDDED_TOKEN_MAX_AGE * 1000 // 3,
    }


@register.inclusion_tag("integration/_confirm_field.html", takes_context=True)
def confirm_field(context, action: str) -> dict:
    """``action`` is the verb shown ("desconectar", "pausar", …); it also makes the input's id unique."""
    return {"store": _store(context), "name": CONFIRM_FIELD, "action": action, "id": f"confirmar-{action}"}
