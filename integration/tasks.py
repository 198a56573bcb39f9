"""Celery tasks of ``integration``: process a stored webhook event, sweep unqueued events, check hooks.

Tasks take ids, call one service and keep the retry policy on the decorator. ``process_webhook_event``
is idempotent (the service acts only on open events; the emission layer is idempotent by constraint),
so it runs with ``acks_late``.
"""

from __future__ import annotations

import logging

from celery import shared_task
from django.core.exceptions import ImproperlyConfigured

from . import services

logger = logging.getLogger(__name__)

PERMANENT = (ImportError, ImproperlyConfigured, TypeError)  # a handler that cannot be called as configured


@shared_task(
    name="integration.process_webhook_event",
    bind=True,
    acks_late=True,
    serializer="json",
    autoretry_for=(Exception,),
    dont_autoretry_for=PERMANENT,
    max_retries=8,
    retry_backoff=5,
    retry_backoff_max=600,
    retry_jitter=True,
)
def process_webhook_event(self, event_id: int) -> str | None:
    try:
        return services.webhook_event_process(event_id=event_id)
    except Exception as exc:
        final = isinstance(exc, PERMANENT) or self.request.retries >= self.max_retries
        services.webhook_event_record_error(
            event_id=event_id, error=f"{type(exc).__name__}: {exc}", final=final
        )
        raise


@shared_task(name="integration.dispatch_pending_events", acks_late=True, serializer="json")
def dispatch_pending_events() -> int:
    return services.webhook_events_dispatch_pending()


@shared_task(name="integration.ensure_hooks", acks_late=True, serializer="json")
def ensure_hooks() -> dict[str, int]:
    return services.stores_hooks_ensure()


@shared_task(name="integration.prune_webhook_events", acks_late=True, serializer="json")
def prune_webhook_events() -> int:
    return services.webhook_events_prune()


@shared_task(name="integration.prune_oauth_states", acks_late=True, serializer="json")
def prune_oauth_states() -> int:
    """Delete the OAuth states that can no longer be consumed (beat, hourly); returns how many."""
    deleted = services.oauth_states_prune()
    logger.info("pruned %d expired OAuth states", deleted)
    return deleted
