"""Celery tasks of the self-service page: advance a conversion, and sweep unfinished ones."""

from __future__ import annotations

from celery import shared_task

from emission.services import EmissionWaiting, RetryLater
from selfservice import services


@shared_task(name="selfservice.advance_conversion", acks_late=True, reject_on_worker_lost=True)
def advance_conversion(store_id: int, conversion_id: int) -> None:
    try:
        services.conversion_advance(store_id=store_id, conversion_id=conversion_id)
    except (RetryLater, EmissionWaiting):
        pass  # recorded on the documents; the sweep comes back


@shared_task(name="selfservice.sweep")
def sweep() -> int:
    return services.conversion_sweep()
