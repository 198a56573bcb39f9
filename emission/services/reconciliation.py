"""Reconciliation against Jumpseller: paid orders of a date range without a document are emitted."""

from __future__ import annotations

import logging
from datetime import date

from django.db import transaction

from emission.models import (
    CustomerNotice,
    Document,
)
from emission.services.state import enqueue

logger = logging.getLogger(__name__)


def orders_reconcile(*, store_id: int, date_from: date, date_to: date) -> int:
    """Paid orders in the range that have no document (nor self-service notice) get one: Jumpseller pauses
    a webhook after repeated failures, so delivery is never trusted alone (jumpseller-api §6)."""
    from integration.services import jumpseller_client_for

    known = set(Document.objects.filter(store_id=store_id).values_list("order_id", flat=True)) | set(
        CustomerNotice.objects.filter(store_id=store_id).values_list("order_id", flat=True)
    )
    missing = []
    with jumpseller_client_for(store_id) as client:
        for page in range(1, 1000):
            orders = client.list_orders(
                status="paid", date_from=date_from, date_to=date_to, page=page, limit=100
            )
            missing += [int(o["id"]) for o in orders if int(o["id"]) not in known]
            if len(orders) < 100:
                break
    for order_id in missing:
        transaction.on_commit(lambda oid=order_id: enqueue("emission.emit_for_order", store_id, oid))
    return len(missing)
