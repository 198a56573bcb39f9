"""Celery tasks of ``core``: a ping that proves a worker reaches the broker and the database, and the daily
cleanup of expired sessions (Django's ``clearsessions``, run by beat).
"""

from __future__ import annotations

import logging
from importlib import import_module

from celery import shared_task
from django.conf import settings
from django.contrib.sessions.backends.db import SessionStore as DatabaseSessionStore
from django.db import connection
from django.utils import timezone

logger = logging.getLogger(__name__)


@shared_task(name="core.ping")
def ping() -> dict[str, str | int | None]:
    """``session``: the database server's process for this worker's connection (PostgreSQL), which shows
    whether a worker process keeps its connection from one task to the next."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
        cursor.fetchone()
    backend_pid = getattr(connection.connection, "get_backend_pid", None)
    return {"pong": "ok", "database": connection.vendor, "session": backend_pid() if backend_pid else None}


@shared_task(name="core.clear_sessions", acks_late=True, serializer="json")
def clear_sessions() -> int:
    """Delete the expired sessions of ``SESSION_ENGINE``; returns how many rows went (0 off the database)."""
    store = import_module(settings.SESSION_ENGINE).SessionStore
    if issubclass(store, DatabaseSessionStore):
        # The query of DatabaseSessionStore.clear_expired(), run here because that one drops the count.
        deleted, _ = store.get_model_class().objects.filter(expire_date__lt=timezone.now()).delete()
    else:
        try:
            store.clear_expired()
        except NotImplementedError:  # signed cookies: the browser holds the session, nothing to clear here
            pass
        deleted = 0
    logger.info("cleared %d expired sessions", deleted)
    return deleted
