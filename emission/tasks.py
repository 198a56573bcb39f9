"""Celery tasks of the emission pipeline.

Each takes ids, calls one service and keeps its retry policy here (STYLE.md). Every task is safe to run
twice: the services claim rows with guarded updates and OpenFactura calls reuse the document's
Idempotency-Key, so a redelivered message (``acks_late`` + ``reject_on_worker_lost``) emits nothing twice.
"""

from __future__ import annotations

import logging
from datetime import timedelta

from celery import shared_task
from django.conf import settings
from django.utils import timezone

from core.logging import log_context
from emission import services

logger = logging.getLogger(__name__)

# ``max_retries`` None on the task itself: ``retry(max_retries=None)`` alone falls back to the task's
# default of 3, and a fourth deferral (a key's budget spent, an OpenFactura 429 on the PDF) dropped the
# email and the attachment. Retries are bounded by the documents' own counters (attempts, pause, sweep).
TASK_OPTIONS = {"acks_late": True, "reject_on_worker_lost": True, "max_retries": None}


def _retry(task, exc: services.RetryLater):
    if task.request.is_eager:
        # Without a broker a delayed retry cannot be scheduled: the document stays "falló, se
        # reintentará" with its next_attempt_at; `manage.py emission_sweep` or "Reintentar" sends it.
        logger.info("eager mode: %s left for the sweeper", exc)
        return None
    raise task.retry(countdown=exc.countdown, max_retries=None)


def _waiting(exc: Exception) -> None:
    logger.info("emission waits: %s", exc)


def _run_for_order(task, work, store_id: int, order_id: int) -> None:
    """Run one order's work; a transient failure retries this task, a waiting store just returns, a spent
    budget defers (the send, or the whole step for Jumpseller's) and frees this slot at once."""
    from emission.client import OpenFacturaRateLimited
    from integration.client import JumpsellerRateLimited
    from integration.services import StoreDisconnected

    with log_context(order_id=order_id):
        try:
            work()
        except services.RetryLater as exc:
            _retry(task, exc)
        except (services.EmissionWaiting, StoreDisconnected) as exc:
            _waiting(exc)
        except services.SendDeferred as exc:
            services.document_send_later(exc)
        except (JumpsellerRateLimited, OpenFacturaRateLimited) as exc:  # the re-read or the issuer read
            services.later(task.name, store_id, order_id, countdown=exc.retry_after)


@shared_task(name="emission.emit_for_order", bind=True, **TASK_OPTIONS)
def emit_for_order(self, store_id: int, order_id: int) -> None:
    _run_for_order(
        self,
        lambda: services.document_emit_for_order(store_id=store_id, order_id=order_id),
        store_id,
        order_id,
    )


@shared_task(name="emission.annul_for_order", bind=True, **TASK_OPTIONS)
def annul_for_order(self, store_id: int, order_id: int) -> None:
    _run_for_order(
        self,
        lambda: services.document_annul_for_order(store_id=store_id, order_id=order_id),
        store_id,
        order_id,
    )


@shared_task(name="emission.send_document", bind=True, **TASK_OPTIONS)
def send_document(self, store_id: int, document_id: int, slot: str = "") -> None:
    """Send the store's oldest waiting document; ``slot`` is the request slot booked when it was deferred."""
    try:
        services.document_send(store_id=store_id, document_id=document_id, slot=slot)
    except services.RetryLater as exc:
        _retry(self, exc)
    except services.EmissionWaiting as exc:
        _waiting(exc)
    except services.SendDeferred as exc:
        services.document_send_later(exc)


@shared_task(name="emission.deliver_document", bind=True, **TASK_OPTIONS)
def deliver_document(self, store_id: int, document_id: int) -> None:
    """Email the customer and attach the document in Jumpseller; each step is recorded and skipped
    once done, so a retry never sends twice."""
    try:
        services.document_deliver(store_id=store_id, document_id=document_id)
    except services.RetryLater as exc:
        _retry(self, exc)


@shared_task(name="emission.sweep")
def sweep() -> dict[str, int]:
    return services.emission_sweep()


@shared_task(name="emission.reconcile_store", bind=True, **TASK_OPTIONS)
def reconcile_store(self, store_id: int, date_from: str, date_to: str) -> int:
    from datetime import date

    from integration.services import StoreDisconnected

    try:
        return services.orders_reconcile(
            store_id=store_id, date_from=date.fromisoformat(date_from), date_to=date.fromisoformat(date_to)
        )
    except StoreDisconnected as exc:
        _waiting(exc)
        return 0


@shared_task(name="emission.reconcile_recent")
def reconcile_recent() -> int:
    """Hourly: every connected store's paid orders of the last days get their document."""
    from integration.selectors import connected_store_ids

    today = timezone.localdate()
    since = today - timedelta(days=settings.EMISSION_RECONCILE_DAYS)
    for store_id in connected_store_ids():
        services.enqueue("emission.reconcile_store", store_id, since.isoformat(), today.isoformat())
    return len(connected_store_ids())
