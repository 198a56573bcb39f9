"""The customer's self-service link (the page is ``selfservice``) and its email in modes 3–4."""

from __future__ import annotations

import logging
from typing import Any

from django.conf import settings
from django.core import signing
from django.db import IntegrityError, transaction
from django.utils import timezone

from emission.models import (
    CustomerNotice,
    EmissionMode,
)
from emission.services.configuration import DEMO_NO_RECIPIENT, email_recipient_for, emission_settings_for
from emission.services.queue import EMAIL_SKIPPED
from emission.services.state import RetryLater

logger = logging.getLogger(__name__)


SELFSERVICE_SALT = "selfservice-link"


def selfservice_url_for(*, store_id: int, order_id: int) -> str:
    """A capability URL bound to one store and order: signed, unguessable without SECRET_KEY."""
    token = signing.dumps({"s": store_id, "o": order_id}, salt=SELFSERVICE_SALT, compress=True)
    return f"{settings.PUBLIC_BASE_URL}/documento/{token}/"


def _deadline(order: dict[str, Any]):
    """The link's last day, shown in its email (issue 15 point 8)."""
    from emission.services.delivery import selfservice_order_deadline  # delivery imports this module

    return selfservice_order_deadline(order)


def selfservice_notice_send(
    *, store_id: int, order: dict[str, Any], mode: int | None = None, rule_label: str = ""
) -> CustomerNotice | None:
    """Modes 3 and 4: no document on payment; the customer gets the link to choose/issue it. Once.
    ``mode``/``rule_label``: what the payment decided (a rule's mode, else the store's), recorded with the
    notice so the link's page follows it. In demo mode it goes to the merchant's demo address instead,
    never to the customer."""
    from django.core.mail import EmailMultiAlternatives
    from django.template.loader import render_to_string

    from core.mail import store_from_email, store_reply_to
    from integration.models import Store

    order_id = int(order["id"])
    email = str((order.get("customer") or {}).get("email") or "")
    cfg = emission_settings_for(store_id=store_id)
    try:
        with transaction.atomic():
            notice = CustomerNotice.objects.create(
                store_id=store_id,
                order_id=order_id,
                email=email[:254],
                emission_mode=mode,
                rule_label=rule_label,
            )
    except IntegrityError:
        notice = CustomerNotice.objects.get(store_id=store_id, order_id=order_id, kind="selfservice_link")
    if notice.sent_at or not cfg.email_customer or notice.error.startswith(EMAIL_SKIPPED):
        return notice
    if not email:
        CustomerNotice.objects.filter(pk=notice.pk).update(error="La orden no tiene correo del cliente.")
        return notice
    recipient = email_recipient_for(cfg=cfg, demo=cfg.demo_mode, customer_email=email)
    if not recipient:
        CustomerNotice.objects.filter(pk=notice.pk).update(error=f"{EMAIL_SKIPPED} {DEMO_NO_RECIPIENT}")
        return notice
    claimed = CustomerNotice.objects.filter(pk=notice.pk, sent_at__isnull=True).update(sent_at=timezone.now())
    if not claimed:
        return notice
    store = Store.objects.get(pk=store_id)
    customer_name = str((order.get("customer") or {}).get("fullname") or "")
    context = {
        "store": store,
        "order_id": order_id,
        "customer_name": customer_name,
        "total": order.get("total"),
        "selfservice_url": selfservice_url_for(store_id=store_id, order_id=order_id),
        "allows_factura": (notice.emission_mode or cfg.mode) == EmissionMode.LINK_BOLETA_O_FACTURA,
        "deadline": _deadline(order),
        "demo": cfg.demo_mode,
        "demo_customer": (f"{customer_name} <{email}>" if customer_name else email) if cfg.demo_mode else "",
    }
    copy = cfg.email_copy_merchant and cfg.merchant_email and cfg.merchant_email != recipient
    message = EmailMultiAlternatives(
        subject=f"{'[DEMO] ' if cfg.demo_mode else ''}Obtén tu documento tributario — orden #{order_id}",
        body=render_to_string("emission/email/selfservice.txt", context),
        to=[recipient],
        bcc=[cfg.merchant_email] if copy else None,
        from_email=store_from_email(store.name or store.code),
        reply_to=store_reply_to(cfg.merchant_email, store.email),
    )
    message.attach_alternative(render_to_string("emission/email/selfservice.html", context), "text/html")
    try:
        message.send()
    except Exception as exc:  # noqa: BLE001 - recorded; the sweeper/merchant retries
        CustomerNotice.objects.filter(pk=notice.pk).update(sent_at=None, error=str(exc)[:500])
        raise RetryLater(120) from exc
    return notice
