"""Reconciliation against Jumpseller: paid orders of a date range without a document are emitted.

One path for every run — the hourly reconciliation, the merchant's «Reconciliar un rango de fechas» and
«Emitir documentos de pedidos anteriores» (``merchant.backfill``): :func:`orders_reconcile` checks each
order with :func:`order_check` (already documented, not in CLP) and holds an order paid in an earlier month
for the merchant's confirmation (issue 17 §3: a document dated today for an earlier month's sale lands in
this month's F29); it is never emitted silently."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any, Protocol

from django.db import transaction
from django.utils import timezone

from emission.dte.order import parse_jumpseller_datetime
from emission.models import CustomerNotice, Document, DocumentKind
from emission.services.state import enqueue

logger = logging.getLogger(__name__)

PAGE = 100
SKIPPED_DOCUMENTED = "ya tenía documento"
SKIPPED_NOTICE = "ya se le envió al cliente el enlace para emitir su documento"
SKIPPED_CURRENCY = "no está en pesos chilenos (CLP), emítelo a mano en OpenFactura"
SKIPPED_EARLIER = "pagado en un mes anterior, espera tu confirmación"


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


def order_existing(*, store_id: int, order_id: int) -> str | None:
    """Why this order needs nothing more (its sale document, or the self-service link sent), or None."""
    if (
        Document.objects.filter(store_id=store_id, order_id=order_id)
        .exclude(kind=DocumentKind.NOTA_CREDITO)
        .exists()
    ):
        return SKIPPED_DOCUMENTED
    if CustomerNotice.objects.filter(store_id=store_id, order_id=order_id).exists():
        return SKIPPED_NOTICE
    return None


def order_check(order: dict[str, Any], *, store_id: int) -> str | None:
    """Why a paid order is skipped (already documented, not in CLP), or None when it may be emitted."""
    currency = str(order.get("currency") or "CLP").upper()
    return order_existing(store_id=store_id, order_id=int(order["id"])) or (
        SKIPPED_CURRENCY if currency != "CLP" else None
    )


def paid_on(order: dict[str, Any]) -> date | None:
    """The day (Chile) the order was paid: Jumpseller's ``completed_at``, else its ``created_at``."""
    moment = parse_jumpseller_datetime(order.get("completed_at")) or parse_jumpseller_datetime(
        order.get("created_at")
    )
    return timezone.localtime(moment).date() if moment else None


def today_chile() -> date:
    """Today in Chile: the month an order's document would be dated in (tests patch it)."""
    return timezone.localdate()


def earlier_month(day: date | None, today: date) -> bool:
    return day is not None and (day.year, day.month) < (today.year, today.month)


def order_total(order: dict[str, Any]) -> int | None:
    try:
        return int(Decimal(str(order.get("total"))).to_integral_value())
    except (InvalidOperation, ValueError, TypeError):
        return None


def earlier_entry(order: dict[str, Any], day: date) -> dict[str, Any]:
    """An earlier month's order as the merchant confirms it (JSON: kept in the job's result)."""
    customer = order.get("customer") or {}
    return {
        "id": int(order["id"]),
        "paid_on": day.isoformat(),
        "customer": str(customer.get("fullname") or customer.get("email") or ""),
        "total": order_total(order),
    }


def emit_queued(store_id: int, order_id: int) -> tuple[int, str | None]:
    """The hourly reconciliation's emission: the order is queued (``emission.emit_for_order``) on commit."""
    transaction.on_commit(lambda: enqueue("emission.emit_for_order", store_id, order_id))
    return 1, None


def orders_reconcile(
    *,
    store_id: int,
    date_from: date,
    date_to: date,
    progress: Progress | None = None,
    emit: Callable[[int, int], tuple[int, str | None]] | None = None,
    held: list[dict[str, Any]] | None = None,
    today: date | None = None,
) -> int:
    """Paid orders in the range that have no document (nor self-service notice) get one: Jumpseller pauses
    a webhook after repeated failures, so delivery is never trusted alone (jumpseller-api §6). Returns
    how many orders were sent to ``emit``.

    Each order goes through :func:`order_check`; one paid in a month before ``today`` (default:
    :func:`today_chile`) is held, never emitted: appended to ``held`` (:func:`earlier_entry`) for the
    merchant to confirm, and logged. ``emit(store_id, order_id) -> (created, skipped reason)`` defaults
    to queueing ``emission.emit_for_order``. With ``progress`` (a background job) each order is
    reported — created, or skipped with its reason — and the run stops when cancelled."""
    cancelled = progress.cancelled if progress else (lambda: False)
    emit = emit or emit_queued
    today = today or today_chile()
    orders = paid_orders_list(store_id=store_id, date_from=date_from, date_to=date_to, cancelled=cancelled)
    if progress:
        progress.set_total(len(orders))
    sent = 0
    earlier: list[dict[str, Any]] = []
    for order in orders:
        if cancelled():
            break
        skip = order_check(order, store_id=store_id)
        day = paid_on(order)
        if skip is None and earlier_month(day, today):
            earlier.append(earlier_entry(order, day))
            skip = SKIPPED_EARLIER
        created = 0
        if skip is None:
            sent += 1
            created, skip = emit(store_id, int(order["id"]))
        if progress:
            progress.advance(created=created, skipped={skip: 1} if skip else None)
    if earlier:
        logger.warning(
            "store %s: %d paid orders of an earlier month without document held for the merchant's "
            "confirmation (Emitir documentos de pedidos anteriores): %s",
            store_id,
            len(earlier),
            ", ".join(str(row["id"]) for row in earlier),
        )
    if held is not None:
        held.extend(earlier)
    return sent
