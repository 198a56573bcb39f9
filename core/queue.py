"""Publishing Celery tasks by name, so that code which enqueues a task never imports the task's module.

Tasks call services; services publish tasks. Publishing by name keeps that a one-way import (a task
module imports its services, never the other way round). Every app registers its tasks in its
``AppConfig.ready``, so the names resolve in web processes too.
"""

from __future__ import annotations

from typing import Any


def publish(task_name: str, *args: Any, countdown: float | None = None) -> None:
    """Publish ``task_name`` with ``args``; raises when the broker is down (the caller decides).

    In eager mode (local runs, no broker) the task runs now, in this process; a delayed run (``countdown``)
    cannot be scheduled there and is skipped: the sweepers (``manage.py emission_sweep``) catch up."""
    from openfactura_app.celery import app

    if not app.conf.task_always_eager:
        app.send_task(task_name, args=list(args), countdown=countdown)
    elif countdown is None:
        app.tasks[task_name].apply(args=list(args))


def is_eager() -> bool:
    """True in local runs without a broker: tasks run in the caller's process, delays cannot be scheduled."""
    from openfactura_app.celery import app

    return bool(app.conf.task_always_eager)
