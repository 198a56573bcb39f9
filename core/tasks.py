"""Celery tasks of ``core``: a ping that proves a worker reaches the broker and the database."""

from __future__ import annotations

from celery import shared_task
from django.db import connection


@shared_task(name="core.ping")
def ping() -> dict[str, str]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
        cursor.fetchone()
    return {"pong": "ok", "database": connection.vendor}
