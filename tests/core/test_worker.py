"""The production path: a real Celery worker process, on Redis, reaching PostgreSQL."""

import pytest


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_real_worker_runs_a_task_against_postgresql(celery_worker):
    result = celery_worker.send("core.ping").get(timeout=30)
    assert result["pong"] == "ok" and result["database"] == "postgresql"


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_a_worker_process_keeps_its_connection_and_replaces_a_broken_one(start_worker):
    """Celery's Django fixup closed the connection before and after every task (a new PostgreSQL
    connection per task, more than the task's own queries cost: issue 16). The connection is now kept
    across tasks, and one the server dropped (a PostgreSQL restart) is replaced before the next task."""
    from django.db import connection

    worker = start_worker(concurrency=1, broker_db=6, CONN_MAX_AGE="600")  # kept whatever the environment
    first = worker.send("core.ping").get(timeout=30)["session"]
    assert [worker.send("core.ping").get(timeout=30)["session"] for _ in range(3)] == [first] * 3

    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_terminate_backend(%s)", [first])
        assert cursor.fetchone() == (True,)
    after = worker.send("core.ping").get(timeout=30)
    assert after["pong"] == "ok" and after["session"] not in (None, first)


def test_emission_tasks_defer_as_often_as_needed():
    """``task.retry(max_retries=None)`` uses the task's own limit (Celery's default 3): a document whose
    PDF met a 429 four times lost its email and attachment. The emission tasks have no limit of their own;
    the documents' counters bound them."""
    from emission import tasks

    for task in (tasks.emit_for_order, tasks.send_document, tasks.deliver_document, tasks.annul_for_order):
        assert task.max_retries is None, task.name
