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
from emission.services.configuration import emission_settings_for
from emission.services.state import RetryLater

logger = logging.getLogger(__name__)


SELFSERVICE_SALT = "selfservice-link"


def selfservice_url_for(*, store_id: int, order_id: int) -> str:
    """A capability URL bound to one store and order: signed, unguessable without SECRET_KEY."""
    token = signing.dumps({"s": store_id, "o": order_id}, salt=SELFSERVICE_SALT, compress=True)
    return f"{settings.PUBLIC_BASE_URL}/documento/{token}/"


def selfservice_notice_send(*, store_id: int, order: dict[str, Any]) -> CustomerNotice | None:
    """Modes 3 and 4: no document on payment; the customer gets the link to choose/issue it. Once."""
    from django.core.mail import EmailMultiAlternatives
    from django.template.loader import render_to_string

    from integration.models import Store

    order_id = int(order["id"])
    email = str((order.get("customer") or {}).get("email") or "")
    cfg = emission_settings_for(store_id=store_id)
    try:
        with transaction.atomic():
            notice = CustomerNotice.objects.create(store_id=store_id, order_id=order_id, email=email[:254])
    except IntegrityError:
        notice = CustomerNotice.objects.get(store_id=store_id, order_id=order_id, kind="selfservice_link")
    if notice.sent_at or not cfg.email_customer:
        return notice
    if not email:
        CustomerNotice.objects.filter(pk=notice.pk).update(error="La orden no tiene correo del cliente.")
        return notice
    claimed = CustomerNotice.objects.filter(pk=notice.pk, sent_at__isnull=True).update(sent_at=timezone.now())
    if not claimed:
        return notice
    store = Store.objects.get(pk=store_id)
    context = {
        "store": store,
        "order_id": order_id,
        "customer_name": (order.get("customer") or {}).get("fullname") or "",
        "total": order.get("total"),
        "selfservice_url": selfservice_url_for(store_id=store_id, order_id=order_id),
        "allows_factura": cfg.mode == EmissionMode.LINK_BOLETA_O_FACTURA,
        "demo": cfg.demo_mode,
    }
    message = EmailMultiAlternatives(
        subject=f"{'[DEMO] ' if cfg.demo_mode else ''}Obtén tu documento tributario — orden #{order_id}",
        body=render_to_string("emission/email/selfservice.txt", context),
        to=[email],
        bcc=[cfg.merchant_email] if cfg.email_copy_merchant and cfg.merchant_email else None,
    )
    message.attach_alternative(render_to_string("emission/email/selfservice.html", context), "text/html")
    try:
        message.send()
    except Exception as exc:  # noqa: BLE001 - recorded; the sweeper/merchant retries
        CustomerNotice.objects.filter(pk=notice.pk).update(sent_at=None, error=str(exc)[:500])
        raise RetryLater(120) from exc
    return notice
