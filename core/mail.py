"""Who an email to a customer comes from: the store's name on the product's address, replies to the store."""

from __future__ import annotations

import re
from email.headerregistry import Address
from email.utils import parseaddr

from django.conf import settings

_CONTROL = re.compile(r"[\x00-\x1f\x7f]+")


def store_from_email(store_name: str) -> str:
    """``"<store name>" <address of DEFAULT_FROM_EMAIL>``: customers see who sold to them, while the
    message still leaves from the product's own (SPF/DKIM-signed) address. Quoted where the name needs it
    ("Tienda, Ltda."); Django encodes non-ASCII names ("Café Ñuñoa") as RFC 2047 when it sends. Control
    characters are dropped so that a name can never add a header."""
    default_name, address = parseaddr(settings.DEFAULT_FROM_EMAIL)
    name = " ".join(_CONTROL.sub(" ", store_name).split()) or default_name
    return str(Address(display_name=name, addr_spec=address)) if name else address


def store_reply_to(*emails: str) -> list[str] | None:
    """The first of ``emails`` that is set (the merchant's address), for ``Reply-To``; None when none is."""
    for email in emails:
        email = _CONTROL.sub("", email or "").strip()
        if email:
            return [email]
    return None
