"""Shared pieces of the emission services: waiting/retry exceptions, guarded state changes, publishing."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from django.utils import timezone

from core import queue as task_queue
from emission.models import (
    TRANSITIONS,
    Document,
    EmissionAttempt,
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
    try:
        work()
    except RetryLater as exc:
        enqueue(task_name, *args, countdown=exc.countdown)
    except EmissionWaiting as exc:
        logger.info("emission waits: %s", exc)


def document_never_sent(document: Document) -> bool:
    """No request for this document ever left (or every one was refused before reaching OpenFactura)."""
    return (
        document.folio is None
        and not EmissionAttempt.objects.filter(document=document, store_id=document.store_id)
        .exclude(outcome="refused")
        .exists()
    )
