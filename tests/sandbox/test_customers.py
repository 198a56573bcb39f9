"""Customers with categories in the fake Jumpseller (issue 17 §1): the control API creates them, the REST
API's ``GET /customers/{id}.json`` (scope ``read_customers``) answers the OAS ``CustomerFields`` shape."""

from __future__ import annotations

import pytest
from django.test import Client

from sandbox.seed import seed_demo

from .conftest import ApiClient, js_token

CONTROL = "/sandbox/jumpseller/stores/tienda-test/customers"


def create(body, status=201):
    response = Client().post(CONTROL, body, content_type="application/json")
    assert response.status_code == status, response.content
    return response.json()


def test_control_api_creates_customers_with_categories_and_the_api_reads_them(js_store):
    created = create(
        {
            "customer": {
                "id": 505,
                "email": "compras@x.cl",
                "customer_categories": ["Mayoristas", {"name": "VIP"}],
            }
        }
    )
    mayoristas, vip = created["customer"]["customer_categories"]
    assert (mayoristas["name"], vip["name"]) == ("Mayoristas", "VIP")
    create({"customer": {"id": 506, "customer_categories": ["  Mayoristas "]}})  # same category, by name
    token = js_token(js_store, scope="read_customers")
    answer = ApiClient(token.access_token).get("/customers/506.json")
    assert answer.status_code == 200
    assert answer.json()["customer"]["customer_categories"] == [mayoristas]
    assert set(answer.json()["customer"]) == {
        "id",
        "email",
        "name",
        "surname",
        "phone",
        "status",
        "customer_categories",
        "customer_additional_fields",
        "billing_address",
        "shipping_address",
    }
    create({"customer": {"id": 505, "customer_categories": []}})  # re-posting an id replaces it
    assert (
        ApiClient(token.access_token).get("/customers/505.json").json()["customer"]["customer_categories"]
        == []
    )
    listed = Client().get(CONTROL).json()
    assert [item["customer"]["id"] for item in listed] == [505, 506]


def test_the_api_is_as_strict_as_for_orders(js_store):
    create({"customer": {"id": 505, "customer_categories": ["Mayoristas"]}})
    without_scope = ApiClient(js_token(js_store, scope="read_orders").access_token).get("/customers/505.json")
    assert without_scope.status_code == 403
    assert 'scope="read_customers"' in without_scope["WWW-Authenticate"]
    assert ApiClient(None).get("/customers/505.json").status_code == 401
    reader = ApiClient(js_token(js_store, scope="read_customers").access_token)
    assert (reader.get("/customers/999.json").status_code, reader.get("/customers/999.json").json()) == (
        404,
        {"message": "Not Found"},
    )


@pytest.mark.parametrize(
    ("customer", "field"),
    [
        ({"customer_categories": ["Mayoristas"]}, "id"),
        ({"id": 7, "customer_categories": "Mayoristas"}, "customer_categories"),
        ({"id": 7, "customer_categories": [""]}, "customer_categories"),
        ({"id": 7, "status": "vip"}, "status"),
    ],
)
def test_control_api_refuses_malformed_customers(js_store, customer, field):
    assert field in create({"customer": customer}, status=422)["errors"]


def test_the_demo_store_has_a_mayoristas_customer_for_the_company_example(db):
    store, _, _ = seed_demo()
    seed_demo()  # idempotent
    [customer] = store.customers.all()
    assert customer.customer_id == 505 and [c.name for c in customer.categories.all()] == ["Mayoristas"]
    assert store.orders.get(order_id=1005).payload["customer"]["id"] == 505
