"""The production path: a real Celery worker process, on Redis, reaching PostgreSQL."""

import pytest


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_real_worker_runs_a_task_against_postgresql(celery_worker):
    result = celery_worker.send("core.ping").get(timeout=30)
    assert result == {"pong": "ok", "database": "postgresql"}
