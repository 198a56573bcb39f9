"""Processing of stored events (``integration.process_webhook_event``), the sweeper and pruning."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from celery.exceptions import Retry
from django.contrib.auth.models import Group
from django.db import connection, transaction
from django.utils import timezone

from integration import services, tasks
from integration.models import Store, WebhookEvent

from .conftest import fixture_bytes, make_store
from .handlers import trace_name

pytestmark = pytest.mark.django_db

RECORD = "tests.integration.handlers.record"


def make_event(store: Store, *, order_id: int = 10045, event: str = "order_paid", **fields) -> WebhookEvent:
    values = {
        "store": store,
        "event": event,
        "order_id": order_id,
        "raw_body": fixture_bytes("webhook_order_paid__basic"),
        "headers": {"Jumpseller-Event": event},
        "dedupe_key": f"{event}:{order_id}",
        "status": WebhookEvent.Status.RECEIVED,
        **fields,
    }
    return WebhookEvent.objects.create(**values)


def test_the_task_is_registered_with_its_policy():
    task = tasks.process_webhook_event
    assert task.name == "integration.process_webhook_event"
    assert task.acks_late is True
    assert task.max_retries == 8
    assert task.serializer == "json"


def test_the_configured_handler_is_called_with_ids_and_the_event_is_processed(store, settings):
    settings.JUMPSELLER_EVENT_HANDLERS = {"order_paid": RECORD}
    event = make_event(store)
    assert tasks.process_webhook_event.apply(args=[event.pk]).get() == "processed"
    event.refresh_from_db()
    assert event.status == WebhookEvent.Status.PROCESSED
    assert event.processed_at is not None and event.attempts == 1 and event.error == ""
    assert Group.objects.filter(
        name=trace_name(store_id=store.pk, order_id=10045, event_id=event.pk)
    ).exists()


def test_a_processed_event_is_not_handled_again(store, settings):
    settings.JUMPSELLER_EVENT_HANDLERS = {"order_paid": RECORD}
    event = make_event(store)
    tasks.process_webhook_event.apply(args=[event.pk])
    assert tasks.process_webhook_event.apply(args=[event.pk]).get() is None  # a redelivered message
    assert Group.objects.count() == 1


@pytest.mark.parametrize("status", ["duplicate", "invalid", "ignored", "failed"])
def test_closed_events_are_never_handled(store, settings, status):
    settings.JUMPSELLER_EVENT_HANDLERS = {"order_paid": RECORD}
    event = make_event(store, status=status)
    assert services.webhook_event_process(event_id=event.pk) is None
    assert Group.objects.count() == 0


def test_a_missing_event_is_a_quiet_no_op():
    assert services.webhook_event_process(event_id=987654) is None


def test_without_a_handler_the_event_is_ignored(store):
    event = make_event(store)
    assert services.webhook_event_process(event_id=event.pk) == "ignored"
    event.refresh_from_db()
    assert event.status == WebhookEvent.Status.IGNORED


def test_a_failing_handler_is_retried_then_marked_failed(store, settings):
    settings.JUMPSELLER_EVENT_HANDLERS = {"order_paid": "tests.integration.handlers.fail"}
    event = make_event(store)
    with pytest.raises(Retry):
        tasks.process_webhook_event.apply(args=[event.pk], throw=True)
    event.refresh_from_db()
    assert event.status == WebhookEvent.Status.RECEIVED  # still open: the retry will run it
    assert event.error == "RuntimeError: the emission failed for now"
    with pytest.raises(RuntimeError):  # the last retry
        tasks.process_webhook_event.apply(args=[event.pk], retries=8, throw=True)
    event.refresh_from_db()
    assert event.status == WebhookEvent.Status.FAILED
    assert event.attempts == 2 and event.processed_at is not None
    assert event.error == "RuntimeError: the emission failed for now"


def test_an_unimportable_handler_fails_at_once(store, settings):
    settings.JUMPSELLER_EVENT_HANDLERS = {"order_paid": "tests.integration.handlers.nope"}
    event = make_event(store)
    with pytest.raises(ImportError):
        tasks.process_webhook_event.apply(args=[event.pk], throw=True)
    event.refresh_from_db()
    assert event.status == WebhookEvent.Status.FAILED and event.attempts == 1


def test_a_disconnected_store_leaves_the_event_waiting_until_reconnected(
    store, settings, monkeypatch, django_capture_on_commit_callbacks
):
    settings.JUMPSELLER_EVENT_HANDLERS = {"order_paid": "tests.integration.handlers.disconnected"}
    event = make_event(
        store, status=WebhookEvent.Status.DISPATCHED, received_at=timezone.now() - timedelta(hours=1)
    )
    assert tasks.process_webhook_event.apply(args=[event.pk]).get() == "received"
    event.refresh_from_db()
    assert event.status == WebhookEvent.Status.RECEIVED
    assert event.error == "Jumpseller rechazó el acceso a la tienda (401)."
    published: list[int] = []
    monkeypatch.setattr(services, "enqueue_event_processing", published.append)

    Store.objects.filter(pk=store.pk).update(status=Store.Status.DISCONNECTED)
    assert services.webhook_events_dispatch_pending(older_than=0) == 0  # waits while disconnected

    Store.objects.filter(pk=store.pk).update(status=Store.Status.CONNECTED)
    with django_capture_on_commit_callbacks(execute=True):
        assert services.webhook_events_dispatch_pending(older_than=0) == 1
    assert published == [event.pk]


def test_the_sweeper_dispatches_only_old_received_events(
    store, monkeypatch, settings, django_capture_on_commit_callbacks
):
    settings.WEBHOOK_DISPATCH_AFTER_SECONDS = 60
    settings.WEBHOOK_REDISPATCH_AFTER_SECONDS = 900
    published: list[int] = []
    monkeypatch.setattr(services, "enqueue_event_processing", published.append)
    old = timezone.now() - timedelta(minutes=5)
    stuck = make_event(store, order_id=1, received_at=old)
    make_event(store, order_id=2)  # just arrived: its own on_commit publishes it
    make_event(  # queued a minute ago: its message is on its way
        store, order_id=3, received_at=old, status=WebhookEvent.Status.DISPATCHED, dispatched_at=old
    )
    make_event(store, order_id=4, received_at=old, status=WebhookEvent.Status.PROCESSED)
    make_event(store, order_id=5, received_at=old, status=WebhookEvent.Status.DUPLICATE, dedupe_key="x")
    with django_capture_on_commit_callbacks(execute=True):
        assert tasks.dispatch_pending_events.apply().get() == 1
    assert published == [stuck.pk]
    stuck.refresh_from_db()
    assert stuck.status == WebhookEvent.Status.DISPATCHED
    assert tasks.dispatch_pending_events.apply().get() == 0


def test_a_sweep_whose_publish_fails_leaves_the_events_received(
    store, monkeypatch, django_capture_on_commit_callbacks
):
    def broker_down(event_id):
        raise ConnectionError("broker down")

    monkeypatch.setattr(services, "enqueue_event_processing", broker_down)
    event = make_event(store, received_at=timezone.now() - timedelta(minutes=5))
    with django_capture_on_commit_callbacks(execute=True):
        assert services.webhook_events_dispatch_pending() == 1
    event.refresh_from_db()
    assert event.status == WebhookEvent.Status.RECEIVED and event.dispatched_at is None


@pytest.mark.django_db(transaction=True)
def test_concurrent_sweepers_skip_rows_another_one_holds(monkeypatch):
    if connection.vendor != "postgresql":
        pytest.skip("SKIP LOCKED needs PostgreSQL")
    store = make_store()
    published: list[int] = []
    monkeypatch.setattr(services, "enqueue_event_processing", published.append)
    old = timezone.now() - timedelta(minutes=5)
    held = make_event(store, order_id=1, received_at=old)
    free = make_event(store, order_id=2, received_at=old)
    locked, release = threading.Event(), threading.Event()

    def holder():
        try:
            with transaction.atomic():
                WebhookEvent.objects.select_for_update().get(pk=held.pk)
                locked.set()
                release.wait(10)
        finally:
            connection.close()

    thread = threading.Thread(target=holder)
    thread.start()
    locked.wait(10)
    try:
        assert services.webhook_events_dispatch_pending() == 1
    finally:
        release.set()
        thread.join(10)
    assert published == [free.pk]


def test_prune_clears_old_bodies_of_closed_events_only(store, settings):
    old = timezone.now() - timedelta(days=31)
    closed = make_event(store, order_id=1, received_at=old, status=WebhookEvent.Status.PROCESSED)
    waiting = make_event(store, order_id=2, received_at=old)
    recent = make_event(store, order_id=3, status=WebhookEvent.Status.PROCESSED)
    assert tasks.prune_webhook_events.apply().get() == 1
    closed.refresh_from_db(), waiting.refresh_from_db(), recent.refresh_from_db()
    assert bytes(closed.raw_body) == b"" and closed.headers == {}
    assert bytes(waiting.raw_body) and bytes(recent.raw_body)


def test_beat_runs_the_sweeper_the_hooks_check_and_the_pruning(settings):
    tasks_by_name = {entry["task"] for entry in settings.CELERY_BEAT_SCHEDULE.values()}
    assert {
        "integration.dispatch_pending_events",
        "integration.ensure_hooks",
        "integration.prune_webhook_events",
    } <= tasks_by_name


def test_the_sweeper_dispatches_again_an_event_whose_message_was_lost(
    store, monkeypatch, settings, django_capture_on_commit_callbacks
):
    """Redis keeps nothing on disk: a restart loses queued messages. An event dispatched long ago that no
    worker started is queued again; one a worker started (it owns its retries) is left alone."""
    settings.WEBHOOK_REDISPATCH_AFTER_SECONDS = 900
    published: list[int] = []
    monkeypatch.setattr(services, "enqueue_event_processing", published.append)
    long_ago = timezone.now() - timedelta(minutes=16)
    lost = make_event(store, order_id=1, status=WebhookEvent.Status.DISPATCHED, dispatched_at=long_ago)
    make_event(  # started by a worker, retrying: not lost
        store, order_id=2, status=WebhookEvent.Status.DISPATCHED, dispatched_at=long_ago, attempts=1
    )
    make_event(  # queued 5 minutes ago: may still be waiting in a long queue
        store,
        order_id=3,
        status=WebhookEvent.Status.DISPATCHED,
        dispatched_at=timezone.now() - timedelta(minutes=5),
    )
    with django_capture_on_commit_callbacks(execute=True):
        assert services.webhook_events_dispatch_pending() == 1
    assert published == [lost.pk]
    lost.refresh_from_db()
    assert lost.status == WebhookEvent.Status.DISPATCHED
    assert lost.dispatched_at > timezone.now() - timedelta(minutes=1)  # not again for another 15 minutes
    with django_capture_on_commit_callbacks(execute=True):
        assert services.webhook_events_dispatch_pending() == 0
