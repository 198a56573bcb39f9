"""The production path with a real Celery worker process on Redis and PostgreSQL.

The worker maps the probe event to ``tests.integration.handlers.record`` through the
``JUMPSELLER_EVENT_HANDLERS`` environment variable (set in this package's conftest).
"""

from __future__ import annotations

import json

import pytest
from django.contrib.auth.models import Group
from django.test import Client

from integration.models import WebhookEvent
from tests.conftest import wait_until

from .conftest import WORKER_PROBE_EVENT, deliver, make_store
from .handlers import trace_name

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]


def test_a_real_worker_processes_a_stored_event(celery_worker):
    store = make_store()
    event = WebhookEvent.objects.create(
        store=store, event=WORKER_PROBE_EVENT, order_id=4242, dedupe_key=f"{WORKER_PROBE_EVENT}:4242"
    )
    assert celery_worker.send("integration.process_webhook_event", event.pk).get(timeout=60) == "processed"
    event.refresh_from_db()
    assert event.status == WebhookEvent.Status.PROCESSED and event.attempts == 1
    assert Group.objects.filter(name=trace_name(store_id=store.pk, order_id=4242, event_id=event.pk)).exists()


def test_a_delivery_is_answered_then_processed_by_the_worker(publishing_to, settings):
    settings.JUMPSELLER_EVENT_HANDLERS = {WORKER_PROBE_EVENT: "tests.integration.handlers.record"}
    store = make_store()
    body = json.dumps({"order": {"id": 5151}}).encode()
    response = deliver(Client(enforce_csrf_checks=True), body, event=WORKER_PROBE_EVENT)
    assert response.status_code == 200
    event_id = response.json()["id"]
    wait_until(
        lambda: WebhookEvent.objects.get(pk=event_id).status == WebhookEvent.Status.PROCESSED, timeout=60
    )
    assert Group.objects.filter(name=trace_name(store_id=store.pk, order_id=5151, event_id=event_id)).exists()
