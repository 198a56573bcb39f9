"""The two fields that bind a merchant form to its store (``integration.decorators``).

``{% store_field %}`` in every POST form of a merchant page (next to ``{% csrf_token %}``): the hidden
``store`` field, the store's code, checked by ``StoreBindingMiddleware``.

``{% confirm_field "pausar" %}`` in the forms of destructive actions: the store's code, typed by the
merchant (``confirmation_refused``).
"""

from __future__ import annotations

from django import template
from django.utils.html import format_html

from integration.decorators import CONFIRM_FIELD, STORE_FIELD

register = template.Library()


def _store(context):
    return getattr(context.get("request"), "store", None)


@register.simple_tag(takes_context=True)
def store_field(context) -> str:
    store = _store(context)
    if store is None:
        return ""  # no store, no field: the POST is refused (fail closed)
    return format_html('<input type="hidden" name="{}" value="{}">', STORE_FIELD, store.code)


@register.inclusion_tag("integration/_confirm_field.html", takes_context=True)
def confirm_field(context, action: str) -> dict:
    """``action`` is the verb shown ("desconectar", "pausar", …); it also makes the input's id unique."""
    return {"store": _store(context), "name": CONFIRM_FIELD, "action": action, "id": f"confirmar-{action}"}
