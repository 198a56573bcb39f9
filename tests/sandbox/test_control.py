"""The pinned control API of the sandbox, and webhook deliveries made like Jumpseller's (§3.2)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
import threading

import pytest
import responses

from sandbox import services
from sandbox.models import Hook, Order, OrderDocument, WebhookDelivery

from .conftest import ApiClient, js_token

RECEIVER = "https://app.example/jumpseller/webhooks/"
TRIGGERED_AT = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3} UTC$")


def post(client, path, body=None, **params):
    query = "&".join(f"{k}={v}" for k, v in params.items())
    url = f"/sandbox/jumpseller{path}" + (f"?{query}" if query else "")
    return client.post(url, json.dumps(body) if body is not None else "", content_type="application/json")


def expected_signature(body: bytes, token: str) -> str:
    return base64.b64encode(hmac.new(token.encode(), body, hashlib.sha256).digest()).decode()


def hook(store, event="order_paid", url=RECEIVER) -> Hook:
    return Hook.objects.create(store=store, event=event, url=url)


# --- stores -------------------------------------------------------------------------------------


def test_create_store_is_201_with_code_and_hooks_token(client, db):
    response = post(client, "/stores", {"code": "acme", "name": "Acme"})
    assert response.status_code == 201
    store = response.json()["store"]
    assert store["code"] == "acme"
    assert re.fullmatch(r"[0-9a-f]{32}", store["hooks_token"])
    assert store["name"] == "Acme"
    again = post(client, "/stores", {"code": "acme", "name": "Acme"})
    assert again.status_code == 201
    assert again.json()["store"]["hooks_token"] == store["hooks_token"]


@pytest.mark.parametrize("body", [{"name": "Sin código"}, {"code": "Con Espacios"}, {"code": "-x"}])
def test_create_store_validation(client, db, body):
    response = post(client, "/stores", body)
    assert response.status_code == 422
    assert "code" in response.json()["errors"]


def test_store_patch_reset_and_list(client, js_store):
    patched = client.patch(
        "/sandbox/jumpseller/stores/tienda-test",
        json.dumps({"store_info_format": "flat", "rate_limit_per_second": 5}),
        content_type="application/json",
    ).json()["store"]
    assert (patched["store_info_format"], patched["rate_limit_per_second"]) == ("flat", 5)
    bad = client.patch(
        "/sandbox/jumpseller/stores/tienda-test",
        json.dumps({"store_info_format": "xml"}),
        content_type="application/json",
    )
    assert bad.status_code == 422
    old = js_store.hooks_token
    reset = post(client, "/stores/tienda-test/reset_hooks_token").json()["store"]["hooks_token"]
    assert reset != old
    assert [s["store"]["code"] for s in client.get("/sandbox/jumpseller/stores").json()] == ["tienda-test"]
    assert client.get("/sandbox/jumpseller/stores/nope").json() == {"message": "Not Found"}


def test_revoke_disconnects_the_app(client, js_store):
    token = js_token(js_store)
    assert post(client, "/stores/tienda-test/revoke").json() == {"revoked": 1}
    assert ApiClient(token.access_token).get("/store/info.json").status_code == 401


def test_expire_tokens(client, js_store):
    token = js_token(js_store)
    assert post(client, "/stores/tienda-test/expire_tokens").json() == {"expired": 1}
    assert ApiClient(token.access_token).get("/store/info.json").json()["message"].endswith("expired")


# --- orders -------------------------------------------------------------------------------------


def test_create_order_keeps_the_given_id(client, js_store):
    response = post(
        client, "/stores/tienda-test/orders", {"order": {"id": 5001, "total": 1000, "status": "Paid"}}
    )
    assert response.status_code == 201
    order = response.json()["order"]
    assert (order["id"], order["total"], order["status"], order["status_enum"]) == (
        5001,
        1000,
        "Paid",
        "paid",
    )
    assert order["completed_at"]
    assert order["currency"] == "CLP"
    assert re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC", order["created_at"])


def test_create_order_assigns_ids_from_1001_and_defaults_to_pending(client, js_store):
    first = post(client, "/stores/tienda-test/orders", {"order": {"total": 1}}).json()["order"]
    second = post(client, "/stores/tienda-test/orders", {"order": {"total": 2}}).json()["order"]
    assert (first["id"], second["id"]) == (1001, 1002)
    assert (first["status"], first["status_enum"]) == ("Pending Payment", "pending_payment")
    assert "completed_at" not in first


@pytest.mark.parametrize(
    ("body", "status"),
    [({"order": {"status": "Shipped"}}, 422), ({"order": {"id": "abc"}}, 422), (None, 400)],
)
def test_create_order_errors(client, js_store, body, status):
    response = (
        client.post("/sandbox/jumpseller/stores/tienda-test/orders", "{", content_type="application/json")
        if body is None
        else post(client, "/stores/tienda-test/orders", body)
    )
    assert response.status_code == status
    assert "message" in response.json()
    assert not Order.objects.exists()


def test_unknown_store_or_order_is_404(client, js_store):
    assert post(client, "/stores/nope/orders", {"order": {}}).status_code == 404
    assert post(client, "/stores/tienda-test/orders/9/pay").json() == {"message": "Not Found"}
    assert client.get("/sandbox/jumpseller/stores/tienda-test/orders/9/documents").status_code == 404


@responses.activate
def test_pay_delivers_signed_order_paid_n_times_concurrently(client, js_store):
    hook(js_store)
    hook(js_store, event="order_canceled")
    barrier = threading.Barrier(3, timeout=5)
    received = []

    def receiver(request):
        received.append(request)
        try:
            barrier.wait()  # all three must be in flight at once
        except threading.BrokenBarrierError:
            return (500, {}, "not concurrent")
        return (200, {}, '{"ok": true}')

    responses.add_callback(responses.POST, RECEIVER, callback=receiver)
    post(client, "/stores/tienda-test/orders", {"order": {"id": 77, "total": 5000}})
    response = post(client, "/stores/tienda-test/orders/77/pay", deliveries=3)
    assert response.status_code == 200
    deliveries = response.json()["deliveries"]
    assert [(d["url"], d["status"], d["event"]) for d in deliveries] == [(RECEIVER, 200, "order_paid")] * 3
    assert len(received) == 3
    for request in received:
        assert request.body == received[0].body
        body = json.loads(request.body)
        assert body["order"]["id"] == 77
        assert body["order"]["status_enum"] == "paid"
        assert request.headers["Content-Type"] == "application/json"
        assert request.headers["Jumpseller-Event"] == "order_paid"
        assert request.headers["Jumpseller-Store-Code"] == "tienda-test"
        assert request.headers["Jumpseller-Hmac-Sha256"] == expected_signature(
            request.body, js_store.hooks_token
        )
        assert TRIGGERED_AT.match(request.headers["Jumpseller-Triggered-At"])
    assert Order.objects.get(order_id=77).status_enum == "paid"
    assert WebhookDelivery.objects.filter(event="order_paid", status=200).count() == 3


@responses.activate
def test_pay_reports_failures_and_order_updated_also_fires(client, js_store):
    hook(js_store)
    hook(js_store, event="order_updated", url="https://app.example/updated")
    responses.add(responses.POST, RECEIVER, status=401, body="bad signature")
    responses.add(responses.POST, "https://app.example/updated", status=200)
    services.order_create(store=js_store, order={"id": 5}, notify=False)
    deliveries = post(client, "/stores/tienda-test/orders/5/pay").json()["deliveries"]
    assert [(d["status"], d["response"]) for d in deliveries] == [(401, "bad signature")]
    updated = WebhookDelivery.objects.get(event="order_updated")
    assert (updated.status, updated.url) == (200, "https://app.example/updated")
    assert WebhookDelivery.objects.get(event="order_paid").next_retry_at is None  # retries off in tests


@responses.activate
def test_pay_without_hooks_and_pay_of_canceled(client, js_store):
    services.order_create(store=js_store, order={"id": 5}, notify=False)
    assert post(client, "/stores/tienda-test/orders/5/pay").json()["deliveries"] == []
    post(client, "/stores/tienda-test/orders/5/cancel")
    refused = post(client, "/stores/tienda-test/orders/5/pay")
    assert refused.status_code == 422
    assert Order.objects.get().status_enum == "canceled"


@responses.activate
def test_cancel_delivers_order_canceled(client, js_store):
    hook(js_store, event="order_canceled")
    responses.add(responses.POST, RECEIVER, status=204)
    services.order_create(store=js_store, order={"id": 9, "status": "paid"}, notify=False)
    response = post(client, "/stores/tienda-test/orders/9/cancel", deliveries=2)
    assert [(d["status"], d["event"]) for d in response.json()["deliveries"]] == [(204, "order_canceled")] * 2
    sent = json.loads(responses.calls[0].request.body)["order"]
    assert (sent["status"], sent["status_enum"]) == ("Canceled", "canceled")


@responses.activate
def test_timeouts_and_connection_errors_are_recorded(client, js_store, settings):
    import requests

    hook(js_store)
    responses.add(responses.POST, RECEIVER, body=requests.ConnectTimeout("slow"))
    services.order_create(store=js_store, order={"id": 5}, notify=False)
    delivery = post(client, "/stores/tienda-test/orders/5/pay").json()["deliveries"][0]
    assert delivery["status"] is None
    assert "timeout" in delivery["error"]


@responses.activate
def test_order_creation_notifies_pending_and_updated_hooks(client, js_store):
    hook(js_store, event="order_pending_payment")
    responses.add(responses.POST, RECEIVER, status=200)
    post(client, "/stores/tienda-test/orders", {"order": {"total": 1}})
    assert [c.request.headers["Jumpseller-Event"] for c in responses.calls] == ["order_pending_payment"]


@responses.activate
def test_signature_follows_a_reset_hooks_token(client, js_store):
    hook(js_store)
    responses.add(responses.POST, RECEIVER, status=200)
    services.order_create(store=js_store, order={"id": 5}, notify=False)
    post(client, "/stores/tienda-test/reset_hooks_token")
    post(client, "/stores/tienda-test/orders/5/pay")
    js_store.refresh_from_db()
    request = responses.calls[0].request
    assert request.headers["Jumpseller-Hmac-Sha256"] == expected_signature(request.body, js_store.hooks_token)


def test_documents_and_history_the_product_attached(client, js_store, js_api):
    services.order_create(store=js_store, order={"id": 5001}, notify=False)
    js_api.send(
        "POST",
        "/orders/5001/documents.json",
        {
            "document": {
                "document_type": "1 - invoice",
                "public_id": "39-7",
                "url": "https://x.example/a.pdf",
                "external_id": "tok",
            }
        },
    )
    js_api.send("POST", "/orders/5001/history.json", {"order_history": {"message": "Boleta 39 N°7"}})
    documents = client.get("/sandbox/jumpseller/stores/tienda-test/orders/5001/documents").json()
    assert len(documents) == 1
    assert {
        k: documents[0][k]
        for k in ("document_type", "public_id", "url", "external_id", "order_id", "app_code")
    } == {
        "document_type": 1,
        "public_id": "39-7",
        "url": "https://x.example/a.pdf",
        "external_id": "tok",
        "order_id": 5001,
        "app_code": "openfactura-jumpseller",
    }
    history = client.get("/sandbox/jumpseller/stores/tienda-test/orders/5001/history").json()
    assert [entry["message"] for entry in history] == ["Boleta 39 N°7"]
    assert OrderDocument.objects.count() == 1


@responses.activate
def test_deliveries_list(client, js_store):
    hook(js_store)
    responses.add(responses.POST, RECEIVER, status=200, body="ok")
    services.order_create(store=js_store, order={"id": 5}, notify=False)
    post(client, "/stores/tienda-test/orders/5/pay")
    listed = client.get("/sandbox/jumpseller/stores/tienda-test/deliveries", {"order_id": 5}).json()
    assert [(d["event"], d["status"], d["attempt"], d["response"]) for d in listed] == [
        ("order_paid", 200, 1, "ok")
    ]
    assert (
        client.get("/sandbox/jumpseller/stores/tienda-test/hooks").json()[0]["hook"]["event"] == "order_paid"
    )
