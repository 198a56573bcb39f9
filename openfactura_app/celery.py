"""The Celery application. Configuration comes from Django settings (``CELERY_*``)."""

import os

from celery import Celery
from celery.signals import task_postrun, task_prerun

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "openfactura_app.settings")

app = Celery("openfactura_app")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@task_prerun.connect
@task_postrun.connect
def _task_database_lifecycle(task=None, **kwargs) -> None:
    """Treat each task like Django treats a request: drop a connection that is broken, obsolete
    (``CONN_MAX_AGE``) or left in a bad state, and health-check the kept one on its first use
    (``CONN_HEALTH_CHECKS``). Celery's own fixup would close it before and after every task instead
    (unless ``CELERY_DB_REUSE_MAX``, which settings sets): a new PostgreSQL connection per task cost
    more than the task's queries (issue 16, docs/BENCHMARKS.md). Eager tasks run inside a request or a
    test and leave its connection alone."""
    if task is not None and getattr(task.request, "is_eager", False):
        return
    from django.db import close_old_connections

    close_old_connections()
