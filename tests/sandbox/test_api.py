"""Contract of the fake Jumpseller's REST API (jumpseller-api.md §2): shapes, scopes, errors, pagination."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from sandbox import services
from sandbox.models import Hook, Order, OrderDocument, OrderHistory

from .conftest import ApiClient, create_order, js_token

NOT_FOUND = {"message": "Not Found"}


# --- authentication and scopes ------------------------------------------------------------------


def test_missing_token_is_401_with_message(js_store):
    response = ApiClient(None).get("/orders.json")
    assert response.status_code == 401
    assert response.json() == {"message": "Unauthorized: missing access token"}
    assert 'error="invalid_token"' in response["WWW-Authenticate"]


def test_unknown_token_is_401(js_store):
    response = ApiClient("nope").get("/orders.json")
    assert (response.status_code, response.json()) == (401, {"message": "Unauthorized: invalid access token"})


def test_revoked_token_is_401(js_store):
    token = js_token(js_store)
    services.store_revoke_tokens(store=js_store)
    response = ApiClient(token.access_token).get("/store/info.json")
    assert (response.status_code, response.json()) == (
        401,
        {"message": "Unauthorized: the access token was revoked"},
    )


def test_expired_token_is_401(js_store):
    token = js_token(js_store)
    services.store_expire_tokens(store=js_store)
    response = ApiClient(token.access_token).get("/store/info.json")
    assert (response.status_code, response.json()) == (
        401,
        {"message": "Unauthorized: the access token expired"},
    )


@pytest.mark.parametrize(
    ("method", "path", "body", "scope"),
    [
        ("GET", "/store/info.json", None, "read_store"),
        ("GET", "/orders.json", None, "read_orders"),
        ("GET", "/orders/1001.json", None, "read_orders"),
        ("GET", "/orders/count.json", None, "read_orders"),
        ("GET", "/orders/after/1.json", None, "read_orders"),
        ("GET", "/orders/status/paid.json", None, "read_orders"),
        ("GET", "/orders/1001/documents.json", None, "read_orders"),
        (
            "POST",
            "/orders/1001/documents.json",
            {"document": {"document_type": "1 - invoice", "public_id": "39-1"}},
            "write_orders",
        ),
        ("POST", "/orders/1001/history.json", {"order_history": {"message": "x"}}, "write_orders"),
        ("PUT", "/orders/1001.json", {"order": {"tracking_number": "1"}}, "write_orders"),
        ("GET", "/hooks.json", None, "read_hooks"),
        (
            "POST",
            "/hooks.json",
            {"hook": {"event": "order_paid", "url": "https://a.example/h"}},
            "write_hooks",
        ),
        ("GET", "/apps/openfactura/install_status.json", None, "read_apps"),
    ],
)
def test_each_endpoint_requires_its_scope(js_store, method, path, body, scope):
    create_order(js_store, id=1001)
    everything = "read_store read_orders write_orders read_hooks write_hooks read_apps"
    lacking = ApiClient(js_token(js_store, scope=everything.replace(scope, "")).access_token)
    response = lacking.get(path) if method == "GET" else lacking.send(method, path, body)
    assert response.status_code == 403
    assert response.json() == {"message": f"Forbidden: this endpoint requires the scope {scope}"}
    assert f'scope="{scope}"' in response["WWW-Authenticate"]
    assert (
        not OrderDocument.objects.exists() and not OrderHistory.objects.exists() and not Hook.objects.exists()
    )
    allowed = ApiClient(js_token(js_store, scope=scope).access_token)
    response = allowed.get(path) if method == "GET" else allowed.send(method, path, body)
    assert response.status_code == 200, response.content


def test_unknown_paths_are_json_404(js_api):
    for path in ("/nothing.json", "/orders/abc.json", "/orders/999.json", "/hooks/999.json"):
        response = js_api.get(path)
        assert (response.status_code, response.json()) == (404, NOT_FOUND), path


def test_wrong_method_is_405(js_api):
    response = js_api.send("DELETE", "/orders.json")
    assert response.status_code == 405
    assert response.json() == {"message": "Method Not Allowed"}


# --- store --------------------------------------------------------------------------------------


def test_store_info_is_wrapped_by_default(js_store, js_api):
    response = js_api.get("/store/info.json")
    assert response.status_code == 200
    store = response.json()["store"]
    assert store["code"] == "tienda-test"
    assert store["hooks_token"] == js_store.hooks_token
    assert (store["currency"], store["country"], store["timezone"]) == ("CLP", "CL", "America/Santiago")
    assert store["url"] == "https://tienda-test.jumpseller.com"
    assert {
        "name",
        "email",
        "logo",
        "weight_unit",
        "subscription_status",
        "subscription_plan",
        "address",
    } <= set(store)


def test_store_info_flat_for_a_flat_store(js_store, js_api):
    services.store_update(store=js_store, options={"store_info_format": "flat"})
    body = js_api.get("/store/info.json").json()
    assert body["code"] == "tienda-test"
    assert "store" not in body


def test_store_info_fields_selects(js_api):
    assert js_api.get("/store/info.json", {"fields": "code,hooks_token"}).json()["store"].keys() == {
        "code",
        "hooks_token",
    }


# --- orders -------------------------------------------------------------------------------------


def test_order_by_id_is_wrapped_and_kept_as_given(js_store, js_api):
    create_order(js_store, id=5001, billing_address={"taxid": "12.345.678-5", "municipality": "Ñuñoa"})
    response = js_api.get("/orders/5001.json")
    assert response.status_code == 200
    order = response.json()["order"]
    assert order["id"] == 5001
    assert (order["status"], order["status_enum"]) == ("Pending Payment", "pending_payment")
    assert order["billing_address"] == {"taxid": "12.345.678-5", "municipality": "Ñuñoa"}
    assert order["currency"] == "CLP"


def test_orders_list_pagination_and_limits(js_store, js_api):
    for _ in range(5):
        create_order(js_store)
    page = js_api.get("/orders.json", {"limit": 2, "page": 2}).json()
    assert [item["order"]["id"] for item in page] == [1003, 1002]
    assert [item["order"]["id"] for item in js_api.get("/orders.json", {"limit": 2, "page": 3}).json()] == [
        1001
    ]
    assert js_api.get("/orders.json", {"limit": 2, "page": 4}).json() == []
    assert len(js_api.get("/orders.json").json()) == 5


def test_orders_limit_is_at_most_100_default_50(js_store, js_api):
    Order.objects.bulk_create(
        Order(store=js_store, order_id=n, status_enum="paid", payload={"id": n, "status_enum": "paid"})
        for n in range(1, 131)
    )
    assert len(js_api.get("/orders.json").json()) == 50
    assert len(js_api.get("/orders.json", {"limit": 500}).json()) == 100


def test_orders_status_filters(js_store, js_api):
    paid = create_order(js_store, status="Paid")
    canceled = create_order(js_store, status="canceled")
    pending = create_order(js_store)
    ids = lambda params: sorted(o["order"]["id"] for o in js_api.get("/orders.json", params).json())  # noqa: E731
    assert ids({"status_filters[]": ["paid"]}) == [paid]
    assert ids({"status_filters[]": ["paid", "canceled"]}) == [paid, canceled]
    assert ids({"status_filters[]": ["pending_payment"]}) == [pending]
    assert js_api.get("/orders/count.json", {"status_filters[]": ["paid"]}).json() == {"count": 1}
    assert [o["order"]["id"] for o in js_api.get("/orders/status/canceled.json").json()] == [canceled]
    assert js_api.get("/orders/status/shipped.json").json() == NOT_FOUND


def test_orders_date_filters(js_store, js_api):
    now = timezone.now()
    today = create_order(js_store, created_at=now.strftime("%Y-%m-%d %H:%M:%S UTC"))
    old = create_order(js_store, created_at=(now - timedelta(days=40)).strftime("%Y-%m-%d %H:%M:%S UTC"))
    ids = lambda params: sorted(o["order"]["id"] for o in js_api.get("/orders.json", params).json())  # noqa: E731
    assert ids({"dateFilter": "today"}) == [today]
    assert ids({"dateFilter": "last30days"}) == [today]
    assert ids({"dateFilter": "last90days"}) == [today, old]
    day = (now - timedelta(days=40)).astimezone(timezone.get_default_timezone()).date().isoformat()
    assert ids({"dateFilter": "customDate", "initialDate": day, "finalDate": day}) == [old]
    assert js_api.get("/orders/count.json", {"dateFilter": "today"}).json() == {"count": 1}
    bad = js_api.get("/orders.json", {"dateFilter": "someday"})
    assert bad.status_code == 422
    assert "dateFilter" in bad.json()["errors"]
    assert (
        js_api.get("/orders.json", {"dateFilter": "customDate", "initialDate": "2025-13-01"}).status_code
        == 422
    )


def test_orders_after_is_ascending(js_store, js_api):
    for _ in range(4):
        create_order(js_store)
    assert [o["order"]["id"] for o in js_api.get("/orders/after/1002.json").json()] == [1003, 1004]


def test_orders_count_and_search_and_fields(js_store, js_api):
    create_order(js_store, customer={"email": "zoe@example.cl", "fullname": "Zoe"})
    create_order(js_store)
    assert js_api.get("/orders/count.json").json() == {"count": 2}
    found = js_api.get("/orders/search.json", {"query": "zoe@"}).json()
    assert [o["order"]["id"] for o in found] == [1001]
    assert js_api.get("/orders.json", {"fields": "id,total"}).json()[0] == {
        "order": {"id": 1002, "total": 11900}
    }


def test_order_put_changes_only_allowed_fields(js_store, js_api):
    create_order(js_store, id=7)
    response = js_api.send(
        "PUT", "/orders/7.json", {"order": {"tracking_number": "ABC", "total": 1, "status": "Paid"}}
    )
    assert response.status_code == 200
    order = response.json()["order"]
    assert (order["tracking_number"], order["total"], order["status_enum"]) == ("ABC", 11900, "paid")
    assert js_api.send("PUT", "/orders/7.json", {"order": {"status": "Lost"}}).status_code == 422
    assert js_api.send("PUT", "/orders/7.json", raw=b"{").status_code == 400


# --- hooks --------------------------------------------------------------------------------------


def test_hooks_crud(js_store, js_api):
    created = js_api.send(
        "POST", "/hooks.json", {"hook": {"event": "order_paid", "url": "https://app.example/wh"}}
    )
    assert created.status_code == 200
    hook = created.json()["hook"]
    assert {k: hook[k] for k in ("name", "event", "url", "application_id")} == {
        "name": None,
        "event": "order_paid",
        "url": "https://app.example/wh",
        "application_id": 4242,
    }
    assert isinstance(hook["id"], int)
    assert js_api.get("/hooks.json").json() == [{"hook": hook}]
    assert js_api.get(f"/hooks/{hook['id']}.json").json() == {"hook": hook}
    updated = js_api.send("PUT", f"/hooks/{hook['id']}.json", {"hook": {"event": "order_canceled"}}).json()[
        "hook"
    ]
    assert (updated["event"], updated["url"]) == ("order_canceled", "https://app.example/wh")
    deleted = js_api.send("DELETE", f"/hooks/{hook['id']}.json")
    assert deleted.status_code == 200
    assert js_api.get("/hooks.json").json() == []
    assert js_api.send("DELETE", f"/hooks/{hook['id']}.json").json() == NOT_FOUND


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"hook": {"event": "order_teleported", "url": "https://a.example/h"}}, "event"),
        ({"hook": {"event": "order_paid", "url": "javascript:alert(1)"}}, "url"),
        ({"hook": {"event": "order_paid"}}, "url"),
        ({"event": "order_paid", "url": "https://a.example/h"}, "hook"),
    ],
)
def test_hooks_validation_is_422(js_api, body, field):
    response = js_api.send("POST", "/hooks.json", body)
    assert response.status_code == 422
    assert field in response.json()["errors"]
    assert isinstance(response.json()["message"], str)
    assert not Hook.objects.exists()


def test_hooks_of_another_store_are_not_found(js_store, js_api):
    other, _ = services.store_ensure(code="otra", name="Otra")
    hook = Hook.objects.create(store=other, event="order_paid", url="https://a.example/h")
    assert js_api.get(f"/hooks/{hook.id}.json").json() == NOT_FOUND
    assert js_api.get("/hooks.json").json() == []


def test_bad_json_is_400(js_api):
    response = js_api.send("POST", "/hooks.json", raw=b"{not json")
    assert (response.status_code, response.json()) == (
        400,
        {"message": "Bad Request: the body is not valid JSON"},
    )


# --- documents and history ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("given", "stored"), [("1 - invoice", "1 - invoice"), ("0 - credit note", "0 - credit note")]
)
def test_documents_accept_the_documented_string_types(js_store, js_api, given, stored):
    """The default form (SANDBOX_JUMPSELLER_DOCUMENT_TYPE_FORM=string); the other: test_strict_fakes."""
    create_order(js_store, id=5001)
    body = {
        "document": {
            "document_type": given,
            "external_id": "dte-abc",
            "public_id": "39-1234",
            "url": "https://x.example/39-1234.pdf",
        }
    }
    response = js_api.send("POST", "/orders/5001/documents.json", body)
    assert response.status_code == 200
    assert response.json() == {
        "document": {
            "document_type": stored,
            "external_id": "dte-abc",
            "public_id": "39-1234",
            "url": "https://x.example/39-1234.pdf",
            "order_id": 5001,
            "app_code": "openfactura-jumpseller",
        }
    }
    assert js_api.get("/orders/5001/documents.json").json() == [response.json()]
    assert js_api.get("/documents.json").json() == [response.json()]


@pytest.mark.parametrize(
    ("document", "field"),
    [
        ({"document_type": 2, "public_id": "x"}, "document_type"),
        ({"document_type": "invoice please", "public_id": "x"}, "document_type"),
        ({"document_type": 1}, "public_id"),
        ({"document_type": 1, "public_id": "x", "url": "nope"}, "url"),
    ],
)
def test_documents_validation_is_422(js_store, js_api, document, field):
    create_order(js_store, id=5001)
    response = js_api.send("POST", "/orders/5001/documents.json", {"document": document})
    assert response.status_code == 422
    assert field in response.json()["errors"]
    assert not OrderDocument.objects.exists()


def test_documents_public_id_is_unique_per_order_and_put_delete(js_store, js_api):
    create_order(js_store, id=5001)
    body = {"document": {"document_type": "1 - invoice", "public_id": "39-1"}}
    assert js_api.send("POST", "/orders/5001/documents.json", body).status_code == 200
    again = js_api.send("POST", "/orders/5001/documents.json", body)
    assert (again.status_code, again.json()["errors"]) == (422, {"public_id": ["has already been taken"]})
    put = js_api.send(
        "PUT", "/orders/5001/documents/39-1.json", {"document": {"url": "https://x.example/a.pdf"}}
    )
    assert put.json()["document"]["url"] == "https://x.example/a.pdf"
    assert js_api.send("DELETE", "/orders/5001/documents/39-1.json").status_code == 200
    assert js_api.get("/orders/5001/documents.json").json() == []
    assert js_api.send("DELETE", "/orders/5001/documents/39-1.json").json() == NOT_FOUND
    assert js_api.send("POST", "/orders/404/documents.json", body).json() == NOT_FOUND


def test_history(js_store, js_api):
    create_order(js_store, id=5001)
    response = js_api.send(
        "POST",
        "/orders/5001/history.json",
        {"order_history": {"message": "Boleta emitida", "log": {"folio": 1}}},
    )
    assert response.status_code == 200
    entry = response.json()["order_history"]
    assert (entry["message"], entry["log"]) == ("Boleta emitida", {"folio": 1})
    assert js_api.get("/orders/5001/history.json").json() == [{"order_history": entry}]
    blank = js_api.send("POST", "/orders/5001/history.json", {"order_history": {"message": " "}})
    assert (blank.status_code, list(blank.json()["errors"])) == (422, ["message"])


def test_install_status(js_store, js_api):
    body = js_api.get("/apps/openfactura/install_status.json").json()
    assert body == {
        "app_code": "openfactura",
        "store_id": js_store.id,
        "installed": True,
        "subscription_plan": None,
        "subscription_status": None,
        "code": "tienda-test",
    }
