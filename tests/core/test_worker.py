"""The production path: a real Celery worker process, on Redis, reaching PostgreSQL."""

import pytest


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_real_worker_runs_a_task_against_postgresql(celery_worker):
    result = celery_worker.send("core.ping").get(timeout=30)
    assert result == {"pong": "ok", "database": "postgresql"}


def test_emission_tasks_defer_as_often_as_needed():
    """``task.retry(max_retries=None)`` uses the task's own limit (Celery's default 3): a document whose
    PDF met a 429 four times lost its email and attachment. The emission tasks have no limit of their own;
    the documents' counters bound them."""
    from emission import tasks

    for task in (tasks.emit_for_order, tasks.send_document, tasks.deliver_document, tasks.annul_for_order):
        assert task.max_retries is None, task.name
