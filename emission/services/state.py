"""Shared pieces of the emission services: waiting/retry exceptions, guarded state changes, publishing."""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from django.utils import timezone

from core import queue as task_queue
from emission.models import (
    TRANSITIONS,
    Document,
)

logger = logging.getLogger(__name__)


# OpenFactura's public demo company (openfactura-api.md §1): HAULMER SPA, RUT 76795561-8.
DEMO_API_KEY = "928e15a2d14d4a6292345f04960f4bd3"  # noqa: S105 - published demo key, not a secret
# OpenFactura keeps an Idempotency-Key for 24 h (§2.1); past that a retry looks the document up first.
IDEMPOTENCY_WINDOW = timedelta(hours=23)
MAX_TRANSIENT_ATTEMPTS = 12


class EmissionWaiting(Exception):
    """The work cannot run now (queue paused, store disconnected, budget); it stays pending, nothing lost."""


class ActionRefused(Exception):
    """A merchant action that cannot be done as asked; ``message`` says why, in Spanish."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class RetryLater(Exception):
    """A transient failure: the task retries the same document (same key) after ``countdown`` seconds."""

    def __init__(self, countdown: float) -> None:
        super().__init__(f"retry in {countdown:.0f} s")
        self.countdown = countdown


class SendDeferred(Exception):
    """The API key's budget is spent for now: the send is booked ``countdown`` seconds ahead (``slot``, the
    booking in ``core.ratelimit``; "" when it lies past the horizon and must be booked again then).

    Not a failure: no attempt is recorded, nothing counts towards a pause; the task is published again
    with that countdown and the worker slot takes other work at once."""

    def __init__(self, *, store_id: int, document_id: int, countdown: float, slot: str = "") -> None:
        super().__init__(f"budget spent; send in {countdown:.2f} s")
        self.store_id = store_id
        self.document_id = document_id
        self.countdown = countdown
        self.slot = slot


def document_send_later(exc: SendDeferred) -> None:
    """Publish the deferred send with its countdown (ETA): the booked slot travels with the message.

    In eager mode (local runs: one process, no broker) no other work could use the slot: it waits here and
    sends, as local runs always did."""
    if task_queue.is_eager():
        time.sleep(exc.countdown)
        enqueue("emission.send_document", exc.store_id, exc.document_id, exc.slot)
        return
    enqueue("emission.send_document", exc.store_id, exc.document_id, exc.slot, countdown=exc.countdown)


def later(task_name: str, *args: Any, countdown: float) -> None:
    """Publish ``task_name`` again after a spent Jumpseller budget (a deferral, not a failure); a little
    jitter keeps the deferred tasks of one store from waking together. Eager runs wait here."""
    countdown += random.uniform(0, 0.5)  # noqa: S311 - jitter, not crypto
    if task_queue.is_eager():
        time.sleep(countdown)
        enqueue(task_name, *args)
        return
    enqueue(task_name, *args, countdown=countdown)


def document_fields_set(document: Document, **fields: Any) -> None:
    """Update fields that are not the state (delivery marks, errors) on the store's row."""
    Document.objects.filter(pk=document.pk, store_id=document.store_id).update(**fields)
    for name, value in fields.items():
        setattr(document, name, value)


def document_transition(document: Document, *, to: str, **fields: Any) -> bool:
    """Forward-only state change: an UPDATE guarded by the states allowed to move to ``to``."""
    sources = [state for state, targets in TRANSITIONS.items() if to in targets]
    updated = Document.objects.filter(pk=document.pk, store_id=document.store_id, state__in=sources).update(
        state=to, updated_at=timezone.now(), **fields
    )
    document.refresh_from_db()
    return bool(updated)


def enqueue(task_name: str, *args: Any, countdown: float | None = None) -> None:
    """Publish a task. If the broker is down the row keeps its state and the sweeper dispatches it later.

    In eager mode (local runs, no broker) the task runs now; a delayed retry cannot be scheduled there, so
    it is left to ``emission_sweep`` (``manage.py emission_sweep``) or the merchant's "Reintentar"."""
    try:
        task_queue.publish(task_name, *args, countdown=countdown)
    except Exception:  # noqa: BLE001 - broker down or an unexpected bug: logged, the sweeper retries
        logger.exception("could not run %s%s; the sweeper will retry", task_name, args)


def run_now_or_later(task_name: str, *args: Any, work: Callable[[], object]) -> None:
    """Run ``work`` in the caller's task; a transient failure is rescheduled as ``task_name``."""
    from emission.client import OpenFacturaRateLimited
    from integration.client import JumpsellerRateLimited

    try:
        work()
    except RetryLater as exc:
        enqueue(task_name, *args, countdown=exc.countdown)
    except EmissionWaiting as exc:
        logger.info("emission waits: %s", exc)
    except SendDeferred as exc:
        document_send_later(exc)
    except (JumpsellerRateLimited, OpenFacturaRateLimited) as exc:  # a spent budget: the step runs later
        later(task_name, *args, countdown=exc.retry_after)


def document_never_sent(document: Document) -> bool:
    """No request for this document ever left: never claimed for sending (claims count ``attempts``; a
    body refused before sending claims nothing) and no folio."""
    return document.folio is None and document.attempts == 0
