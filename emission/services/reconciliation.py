"""Reconciliation against Jumpseller: paid orders of a date range without a document are emitted."""

from __future__ import annotations

import logging
from datetime import date
from typing import Any, Protocol

from django.db import transaction

from emission.models import (
    CustomerNotice,
    Document,
)
from emission.services.state import enqueue

logger = logging.getLogger(__name__)

PAGE = 100
SKIPPED_DOCUMENTED = "ya tenía documento"


class Progress(Protocol):
    """What a background job reports (``merchant.jobs.Progress``); emission never imports it."""

    def set_total(self, n: int) -> None: ...

    def advance(self, created: int = 0, skipped: dict[str, int] | None = None) -> None: ...

    def cancelled(self) -> bool: ...


def paid_orders_list(
    *, store_id: int, date_from: date, date_to: date, cancelled=lambda: False
) -> list[dict[str, Any]]:
    """The store's paid orders of the range (Jumpseller's order date), every page of ``GET /orders.json``
    within the store's budget (the client paces itself); oldest first. Stops early once ``cancelled()``."""
    from integration.services import jumpseller_client_for

    orders: list[dict[str, Any]] = []
    with jumpseller_client_for(store_id) as client:
        for page in range(1, 1000):
            batch = client.list_orders(
                status="paid", date_from=date_from, date_to=date_to, page=page, limit=PAGE
            )
            orders += batch
            if len(batch) < PAGE or cancelled():
                break
    unique = {int(o["id"]): o for o in orders}  # a page may repeat an order that moved between reads
    return [unique[key] for key in sorted(unique)]


def orders_known(*, store_id: int) -> set[int]:
    """Orders that already have their sale document or self-service notice."""
    return set(Document.objects.filter(store_id=store_id).values_list("order_id", flat=True)) | set(
        CustomerNotice.objects.filter(store_id=store_id).values_list("order_id", flat=True)
    )


def orders_reconcile(
    *, store_id: int, date_from: date, date_to: date, progress: Progress | None = None
) -> int:
    """Paid orders in the range that have no document (nor self-service notice) get one: Jumpseller pauses
    a webhook after repeated failures, so delivery is never trusted alone (jumpseller-api §6).

    With ``progress`` (the merchant's reconciliation, a background job) each order is reported — queued
    for emission, or skipped because it already had its document — and the run stops when cancelled."""
    cancelled = progress.cancelled if progress else (lambda: False)
    known = orders_known(store_id=store_id)
    orders = paid_orders_list(store_id=store_id, date_from=date_from, date_to=date_to, cancelled=cancelled)
    if progress:
        progress.set_total(len(orders))
    missing = 0
    for order in orders:
        if cancelled():
            break
        order_id = int(order["id"])
        if order_id in known:
            if progress:
                progress.advance(skipped={SKIPPED_DOCUMENTED: 1})
            continue
        missing += 1
        transaction.on_commit(lambda oid=order_id: enqueue("emission.emit_for_order", store_id, oid))
        if progress:
            progress.advance(created=1)
    return missing
