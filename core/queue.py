"""Publishing Celery tasks by name, so that code which enqueues a task never imports the task's module.

Tasks call services; services publish tasks. Publishing by name keeps that a one-way import (a task
module imports its services, never the other way round). Every app registers its tasks in its
``AppConfig.ready``, so the names resolve in web processes too.
"""

from __future__ import annotations

from typing import Any

# Fair queueing of one store's bursts (issue 16): past BURST_SIZE messages of one key in BURST_WINDOW
# seconds, a key's messages go to Redis' low-priority list (kombu keeps one list per priority step and a
# worker takes from 0, the highest, first), so a store paying hundreds of orders at once never delays
# another store's next order behind its backlog. Nothing is dropped or reordered within the store.
BURST_WINDOW, BURST_SIZE, LOW_PRIORITY = 10, 20, 9


def fair_priority(key: str) -> int | None:
    """``LOW_PRIORITY`` when ``key`` is bursting, else None (the default, highest, priority)."""
    from core.ratelimit import redis_client

    client = redis_client()
    if client is None:
        return None
    try:
        pipe = client.pipeline()
        pipe.incr(f"of:burst:{key}")
        pipe.expire(f"of:burst:{key}", BURST_WINDOW, nx=True)
        count = pipe.execute()[0]
    except Exception:  # noqa: BLE001 - fairness is best effort: never fail a publish over it
        return None
    return LOW_PRIORITY if int(count) > BURST_SIZE else None


def publish(task_name: str, *args: Any, countdown: float | None = None, priority: int | None = None) -> None:
    """Publish ``task_name`` with ``args``; raises when the broker is down (the caller decides).

    In eager mode (local runs, no broker) the task runs now, in this process; a delayed run (``countdown``)
    cannot be scheduled there and is skipped: the sweepers (``manage.py emission_sweep``) catch up."""
    from openfactura_app.celery import app

    if not app.conf.task_always_eager:
        app.send_task(task_name, args=list(args), countdown=countdown, priority=priority)
    elif countdown is None:
        app.tasks[task_name].apply(args=list(args))


def is_eager() -> bool:
    """True in local runs without a broker: tasks run in the caller's process, delays cannot be scheduled."""
    from openfactura_app.celery import app

    return bool(app.conf.task_always_eager)
