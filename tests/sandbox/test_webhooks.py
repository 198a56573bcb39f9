"""Webhook deliveries over real sockets, and retries on Jumpseller's schedule (compressed)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import threading

import pytest
import requests
import responses

from sandbox import services, webhooks
from sandbox.models import Hook, WebhookDelivery
from tests.conftest import wait_until

from . import receiver_urls


@pytest.fixture
def receiver(settings):
    settings.ROOT_URLCONF = "tests.sandbox.receiver_urls"
    receiver_urls.received.clear()
    receiver_urls.behaviour.update(barrier=None, statuses=[])
    yield receiver_urls
    receiver_urls.behaviour.update(barrier=None, statuses=[])


def test_sign_is_base64_hmac_sha256_of_the_raw_body():
    body = '{"order": {"id": 1, "name": "Ñuñoa"}}'.encode()
    expected = base64.b64encode(hmac.new(b"secret", body, hashlib.sha256).digest()).decode()
    assert webhooks.sign(body, "secret") == expected


def test_body_is_utf8_json_of_the_wrapped_order():
    assert (
        webhooks.webhook_body({"id": 1, "comuna": "Ñuñoa"})
        == '{"order": {"id": 1, "comuna": "Ñuñoa"}}'.encode()
    )


@pytest.mark.django_db(transaction=True)
def test_pay_over_http_delivers_concurrently_to_a_live_receiver(live_server, receiver):
    base = live_server.url
    store, _ = services.store_ensure(code="live", name="Live")
    Hook.objects.create(store=store, event="order_paid", url=f"{base}/test-receiver/")
    created = requests.post(
        f"{base}/sandbox/jumpseller/stores/live/orders", json={"order": {"id": 3, "total": 990}}, timeout=10
    )
    assert created.status_code == 201
    receiver.behaviour["barrier"] = threading.Barrier(5, timeout=10)
    response = requests.post(f"{base}/sandbox/jumpseller/stores/live/orders/3/pay?deliveries=5", timeout=30)
    assert response.status_code == 200
    assert [d["status"] for d in response.json()["deliveries"]] == [200] * 5
    assert len(receiver.received) == 5
    for item in receiver.received:
        headers = item["headers"]
        assert headers["Jumpseller-Event"] == "order_paid"
        assert headers["Jumpseller-Store-Code"] == "live"
        assert headers["Jumpseller-Hmac-Sha256"] == webhooks.sign(item["body"], store.hooks_token)
        assert json.loads(item["body"])["order"]["status_enum"] == "paid"


@pytest.mark.django_db(transaction=True)
def test_pay_with_64_deliveries_makes_64_at_once(live_server, receiver):
    # The receiver is measured with 64 concurrent deliveries: ?deliveries=64 is neither capped nor
    # queued behind a smaller thread pool (every receiver call waits until all 64 have arrived).
    base = live_server.url
    store, _ = services.store_ensure(code="live64", name="Live 64")
    Hook.objects.create(store=store, event="order_paid", url=f"{base}/test-receiver/")
    services.order_create(store=store, order={"id": 64, "total": 990}, notify=False)
    receiver.behaviour["barrier"] = threading.Barrier(64, timeout=20)
    response = requests.post(
        f"{base}/sandbox/jumpseller/stores/live64/orders/64/pay?deliveries=64", timeout=60
    )
    assert response.status_code == 200
    assert [d["status"] for d in response.json()["deliveries"]] == [200] * 64
    assert len(receiver.received) == 64


@pytest.mark.django_db(transaction=True)
@responses.activate
def test_failed_deliveries_are_retried_four_more_times(settings):
    settings.SANDBOX_WEBHOOK_RETRY_SCALE = 0.002  # retry n after n⁴ × 2 ms
    store, _ = services.store_ensure(code="retry", name="Retry")
    Hook.objects.create(store=store, event="order_paid", url="https://down.example/wh")
    responses.add(responses.POST, "https://down.example/wh", status=503)
    order = services.order_create(store=store, order={"id": 1}, notify=False)
    services.order_set_status(store=store, order=order, status="paid")
    wait_until(lambda: WebhookDelivery.objects.filter(attempt=5).exists(), timeout=20)
    rows = list(WebhookDelivery.objects.order_by("attempt"))
    assert [row.attempt for row in rows] == [1, 2, 3, 4, 5]
    assert {row.status for row in rows} == {503}
    assert len({row.message_id for row in rows}) == 1
    assert len({row.triggered_at for row in rows}) == 1
    assert [row.next_retry_at is None for row in rows] == [True] * 5
    assert len(responses.calls) == 5
    assert len({call.request.body for call in responses.calls}) == 1
    wait_until(lambda: webhooks._worker is None, timeout=10)


@pytest.mark.django_db(transaction=True)
@responses.activate
def test_a_retry_that_succeeds_stops_the_retries(settings):
    settings.SANDBOX_WEBHOOK_RETRY_SCALE = 0.002
    store, _ = services.store_ensure(code="retry2", name="Retry")
    Hook.objects.create(store=store, event="order_paid", url="https://flaky.example/wh")
    responses.add(responses.POST, "https://flaky.example/wh", status=500)
    responses.add(responses.POST, "https://flaky.example/wh", status=200)
    order = services.order_create(store=store, order={"id": 1}, notify=False)
    services.order_set_status(store=store, order=order, status="paid")
    wait_until(lambda: WebhookDelivery.objects.filter(attempt=2).exists(), timeout=20)
    wait_until(lambda: webhooks._worker is None, timeout=10)
    assert [(r.attempt, r.status) for r in WebhookDelivery.objects.order_by("attempt")] == [
        (1, 500),
        (2, 200),
    ]


@pytest.mark.django_db
@responses.activate
def test_process_due_retries_by_hand(settings):
    from datetime import timedelta

    from django.utils import timezone

    store, _ = services.store_ensure(code="manual", name="Manual")
    hook = Hook.objects.create(store=store, event="order_paid", url="https://x.example/wh")
    responses.add(responses.POST, "https://x.example/wh", status=200)
    WebhookDelivery.objects.create(
        store=store,
        hook=hook,
        event="order_paid",
        url=hook.url,
        body='{"order": {"id": 1}}',
        triggered_at="2025-01-01 10:18:51.829 UTC",
        attempt=2,
        status=500,
        next_retry_at=timezone.now() - timedelta(seconds=1),
    )
    assert webhooks.process_due_retries() is None
    latest = WebhookDelivery.objects.order_by("-id").first()
    assert (latest.attempt, latest.status) == (3, 200)
    assert responses.calls[0].request.headers["Jumpseller-Triggered-At"] == "2025-01-01 10:18:51.829 UTC"
