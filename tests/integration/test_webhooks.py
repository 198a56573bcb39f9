"""The webhook receiver: signed fixtures posted through a CSRF-enforcing client."""

from __future__ import annotations

import json
import threading

import pytest
import responses
from django.db import connection
from django.test import Client
from kombu.exceptions import OperationalError

from integration import services
from integration.models import Store, WebhookEvent

from .conftest import API, HOOKS_TOKEN, deliver, fixture_bytes, make_store, sign

pytestmark = pytest.mark.django_db

PAID = fixture_bytes("webhook_order_paid__basic")


@pytest.fixture
def queued(monkeypatch) -> list[int]:
    """Event ids published to the broker (``process_webhook_event.delay``), without running them."""
    published: list[int] = []
    monkeypatch.setattr(services, "enqueue_event_processing", lambda event_id: published.append(event_id))
    return published


def test_a_valid_delivery_is_stored_then_queued_on_commit(
    store, csrf_client, queued, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks() as callbacks:
        response = deliver(csrf_client, PAID)
    assert response.status_code == 200
    event = WebhookEvent.objects.get()
    # One INSERT, already marked dispatched: the publish on commit needs no second statement.
    assert response.json() == {"message": "ok", "id": event.pk, "status": "dispatched"}
    assert (event.store_id, event.event, event.order_id) == (store.pk, "order_paid", 10045)
    assert bytes(event.raw_body) == PAID
    assert event.headers["Jumpseller-Event"] == "order_paid"
    assert event.headers["Jumpseller-Store-Code"] == "tienda-nunoa"
    assert event.headers["Jumpseller-Hmac-Sha256"] == sign(PAID)
    assert event.headers["Jumpseller-Triggered-At"] == "2026-05-04 14:23:41.120 UTC"
    assert event.headers["Content-Type"] == "application/json"
    assert "Cookie" not in event.headers
    assert event.dedupe_key == "order_paid:10045"
    assert event.received_at is not None
    # Nothing is published before the commit …
    assert queued == [] and len(callbacks) == 1
    callbacks[0]()
    # … and then exactly once.
    assert queued == [event.pk]
    event.refresh_from_db()
    assert event.status == WebhookEvent.Status.DISPATCHED and event.dispatched_at is not None


def test_a_canceled_order_and_a_string_id_are_accepted(store, csrf_client, queued):
    assert (
        deliver(
            csrf_client, fixture_bytes("webhook_order_canceled__basic"), event="order_canceled"
        ).status_code
        == 200
    )
    assert deliver(csrf_client, fixture_bytes("webhook_order_paid__string_id")).status_code == 200
    assert sorted(WebhookEvent.objects.values_list("event", "order_id")) == [
        ("order_canceled", 10045),
        ("order_paid", 10046),
    ]


def test_duplicate_deliveries_are_recorded_but_queued_once(
    store, csrf_client, queued, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        first = deliver(csrf_client, PAID)
        second = deliver(csrf_client, PAID)
        third = deliver(csrf_client, PAID, event="order_canceled")
    assert [r.status_code for r in (first, second, third)] == [200, 200, 200]
    assert second.json()["status"] == "duplicate"
    rows = list(WebhookEvent.objects.order_by("pk").values_list("event", "status"))
    assert rows == [
        ("order_paid", "dispatched"),
        ("order_paid", "duplicate"),
        ("order_canceled", "dispatched"),
    ]
    assert len(queued) == 2


def test_a_failed_work_item_lets_a_later_delivery_become_work_again(store, csrf_client, queued):
    deliver(csrf_client, PAID)
    WebhookEvent.objects.update(status=WebhookEvent.Status.FAILED)
    assert deliver(csrf_client, PAID).json()["status"] == "dispatched"


@responses.activate
def test_a_bad_signature_is_401_after_one_re_read_of_the_hooks_token(store, csrf_client, queued):
    info = responses.get(
        f"{API}/store/info.json", json={"store": {"code": store.code, "hooks_token": HOOKS_TOKEN}}
    )
    response = deliver(csrf_client, PAID, signature=sign(PAID, "wrong-token"))
    assert response.status_code == 401
    assert WebhookEvent.objects.count() == 0 and queued == []
    assert info.call_count == 1
    # The re-read is rate limited: a flood of bad signatures does not hammer the API.
    [(budget, _period)] = services.HOOKS_TOKEN_REFETCH_LIMITS
    for _ in range(budget + 20):
        assert deliver(csrf_client, PAID, signature="AAAA").status_code == 401
    assert info.call_count == budget
    assert WebhookEvent.objects.count() == 0


@responses.activate
def test_a_reset_right_after_a_bad_delivery_is_still_picked_up(store, csrf_client, queued):
    """A forged or stale delivery just before the merchant resets the token does not hide the reset."""
    responses.get(f"{API}/store/info.json", json={"store": {"code": store.code, "hooks_token": HOOKS_TOKEN}})
    assert deliver(csrf_client, PAID, signature=sign(PAID, "wrong-token")).status_code == 401
    responses.replace(
        responses.GET,
        f"{API}/store/info.json",
        json={"store": {"code": store.code, "hooks_token": "brand-new-token-99"}},
    )
    assert deliver(csrf_client, PAID, token="brand-new-token-99").status_code == 200
    store.refresh_from_db()
    assert store.hooks_token == "brand-new-token-99"
    assert WebhookEvent.objects.count() == 1


@responses.activate
def test_a_hooks_token_reset_by_the_merchant_is_picked_up(store, csrf_client, queued):
    responses.get(
        f"{API}/store/info.json", json={"store": {"code": store.code, "hooks_token": "brand-new-token-99"}}
    )
    response = deliver(csrf_client, PAID, token="brand-new-token-99")
    assert response.status_code == 200
    store.refresh_from_db()
    assert store.hooks_token == "brand-new-token-99"
    assert WebhookEvent.objects.count() == 1


@pytest.mark.parametrize("header", ["Jumpseller-Event", "Jumpseller-Store-Code", "Jumpseller-Hmac-Sha256"])
def test_missing_headers_are_400_and_nothing_is_stored(store, csrf_client, queued, header):
    response = deliver(csrf_client, PAID, omit=(header,))
    assert response.status_code == 400
    assert WebhookEvent.objects.count() == 0 and queued == []


@responses.activate
def test_an_unknown_store_is_401_and_nothing_is_stored(store, csrf_client, queued):
    response = deliver(csrf_client, PAID, store_code="otra-tienda")
    assert response.status_code == 401
    assert WebhookEvent.objects.count() == 0 and queued == [] and len(responses.calls) == 0


@responses.activate
def test_a_body_signed_with_another_stores_token_is_refused(csrf_client, queued):
    make_store("tienda-a", hooks_token="token-of-a-000000")
    make_store("tienda-b", hooks_token="token-of-b-000000")
    responses.get(
        f"{API}/store/info.json", json={"store": {"code": "tienda-b", "hooks_token": "token-of-b-000000"}}
    )
    response = deliver(csrf_client, PAID, store_code="tienda-b", token="token-of-a-000000")
    assert response.status_code == 401
    assert WebhookEvent.objects.count() == 0


def test_malformed_json_with_a_valid_signature_is_400_and_recorded_invalid(store, csrf_client, queued):
    body = b'{"order": {"id": 10045,'
    response = deliver(csrf_client, body)
    assert response.status_code == 400
    event = WebhookEvent.objects.get()
    assert event.status == WebhookEvent.Status.INVALID
    assert event.error == "El cuerpo no es JSON válido."
    assert bytes(event.raw_body) == body and event.order_id is None
    assert queued == []


@pytest.mark.parametrize(
    "body", [b'{"order": {}}', b"[1, 2]", b'{"order": {"id": true}}', b'{"order": {"id": "x"}}']
)
def test_an_order_event_without_an_order_id_is_invalid(store, csrf_client, queued, body):
    assert deliver(csrf_client, body).status_code == 400
    assert WebhookEvent.objects.get().status == WebhookEvent.Status.INVALID
    assert queued == []


def test_events_the_app_does_not_use_are_recorded_as_ignored(store, csrf_client, queued):
    response = deliver(csrf_client, b'{"product": {"id": 5}}', event="product_updated")
    assert response.status_code == 200
    assert WebhookEvent.objects.get().status == WebhookEvent.Status.IGNORED
    assert queued == []


def test_bodies_over_the_limit_are_413(store, csrf_client, queued, settings):
    settings.WEBHOOK_MAX_BODY_BYTES = 200
    body = json.dumps({"order": {"id": 1, "note": "x" * 300}}).encode()
    assert deliver(csrf_client, body).status_code == 413
    assert WebhookEvent.objects.count() == 0


def test_only_post_is_accepted(store, csrf_client):
    assert csrf_client.get("/jumpseller/webhooks/").status_code == 405


def test_an_uninstalled_store_has_no_hooks_token_and_gets_401(csrf_client, queued):
    make_store(status=Store.Status.UNINSTALLED, hooks_token="", access_token="", refresh_token="")
    assert deliver(csrf_client, PAID).status_code == 401
    assert WebhookEvent.objects.count() == 0


def test_a_disconnected_store_still_records_deliveries_so_nothing_is_dropped(csrf_client, queued):
    make_store(status=Store.Status.DISCONNECTED, access_token="", refresh_token="")
    assert deliver(csrf_client, PAID).status_code == 200
    assert WebhookEvent.objects.get().order_id == 10045


def test_with_the_broker_down_the_event_is_stored_answered_200_and_swept_later(
    store, csrf_client, monkeypatch, django_capture_on_commit_callbacks, caplog
):
    def broker_down(event_id):
        raise OperationalError("Error 111 connecting to 127.0.0.1:6379. Connection refused.")

    monkeypatch.setattr(services, "enqueue_event_processing", broker_down)
    with django_capture_on_commit_callbacks(execute=True):
        response = deliver(csrf_client, PAID)
    assert response.status_code == 200
    event = WebhookEvent.objects.get()
    assert event.status == WebhookEvent.Status.RECEIVED and event.dispatched_at is None
    assert "not queued; the sweeper will dispatch it" in caplog.text

    published = []
    monkeypatch.setattr(services, "enqueue_event_processing", published.append)
    with django_capture_on_commit_callbacks(execute=True):
        assert services.webhook_events_dispatch_pending(older_than=0) == 1
    assert published == [event.pk]
    event.refresh_from_db()
    assert event.status == WebhookEvent.Status.DISPATCHED


@pytest.mark.django_db(transaction=True)
def test_concurrent_duplicate_deliveries_make_one_work_item(monkeypatch):
    make_store()
    published = []
    monkeypatch.setattr(services, "enqueue_event_processing", published.append)
    barrier = threading.Barrier(64)
    statuses = []

    def post():
        try:
            barrier.wait(5)
            statuses.append(deliver(Client(enforce_csrf_checks=True), PAID).status_code)
        finally:
            connection.close()

    threads = [threading.Thread(target=post) for _ in range(64)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert statuses == [200] * 64
    assert WebhookEvent.objects.count() == 64
    assert WebhookEvent.objects.exclude(status=WebhookEvent.Status.DUPLICATE).count() == 1
    assert len(published) == 1


def test_the_store_s_signer_is_kept_per_process_and_re_read_when_the_token_changed(
    store, csrf_client, queued
):
    from django.test.utils import CaptureQueriesContext

    from integration.selectors import webhook_signer

    assert deliver(csrf_client, PAID).status_code == 200  # first delivery: reads and keeps the store
    with CaptureQueriesContext(connection) as queries:
        assert deliver(csrf_client, PAID, event="order_canceled").status_code == 200
    statements = [q["sql"] for q in queries if "SAVEPOINT" not in q["sql"]]  # the test's transaction
    assert len(statements) == 1 and statements[0].startswith('INSERT INTO "integration_webhookevent"')
    # The merchant reset the hooks token (another process stored it): the kept token no longer
    # verifies, so the store is read again before anything is rejected.
    Store.objects.filter(pk=store.pk).update(hooks_token="a-new-token")
    response = deliver(csrf_client, PAID.replace(b"10045", b"10046"), token="a-new-token")
    assert response.status_code == 200
    assert webhook_signer(code=store.code).hooks_token == "a-new-token"
    assert webhook_signer(code="no-such-store") is None
