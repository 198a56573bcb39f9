"""``sandbox_seed``, the example orders, and the pages for people."""

from __future__ import annotations

import json
from decimal import ROUND_HALF_UP, Decimal

import pytest
import responses
from cl_sii.rut import Rut
from django.core.management import call_command

from sandbox import services
from sandbox.models import Hook, Order, Store
from sandbox.orders import EXAMPLES, example_names, load_example


def test_seed_is_idempotent(db):
    call_command("sandbox_seed")
    store = Store.objects.get(code="demo")
    token = store.hooks_token
    assert store.name == "Tienda Demo"
    orders = list(Order.objects.filter(store=store).order_by("order_id"))
    assert [o.order_id for o in orders] == [1001, 1002, 1003, 1004, 1005]
    assert {o.status_enum for o in orders} == {"pending_payment"}
    Order.objects.filter(order_id=1001).update(status_enum="paid")
    call_command("sandbox_seed")
    assert Store.objects.count() == 1
    assert Store.objects.get().hooks_token == token
    assert Order.objects.count() == 5
    assert Order.objects.get(order_id=1001).status_enum == "paid"


def _round(value: Decimal) -> int:
    return int(value.quantize(Decimal(1), rounding=ROUND_HALF_UP))


@pytest.mark.parametrize("name", list(EXAMPLES))
def test_examples_are_consistent_chilean_orders(name):
    """Totals add up the way dte-semantics.md reads them, and the published identity holds."""
    assert name in example_names()
    order = load_example(name)
    assert order["currency"] == "CLP"
    gross = 0
    for product in order["products"]:
        base = _round(Decimal(str(product["qty"])) * Decimal(str(product["price"]))) - product["discount"]
        iva = [t for t in product["taxes"] if t["rate"] == 19 and not t["fixed"]]
        assert len(iva) == len(product["taxes"]) <= 1
        on_top = iva and iva[0]["tax_on_product_price"] is False
        gross += _round(Decimal(base) * Decimal("1.19")) if on_top else base
    order_level = order["discount"] - sum(p["discount"] for p in order["products"])
    shipping = order["shipping"] - order["shipping_discount"]
    assert gross + shipping - order_level == order["total"]
    assert (
        order["subtotal"] - order["discount"] + order["shipping"] - order["shipping_discount"] + order["tax"]
        == order["total"]
    )
    taxid = order["billing_address"]["taxid"]
    if taxid:
        Rut(taxid.replace(".", ""), validate_dv=True)
    assert order["billing_address"]["municipality"]
    if name == "empresa":
        assert order["billing_information"]["company_name"] and taxid


def test_example_kinds():
    assert all(p["taxes"] == [] for p in load_example("exenta")["products"])
    assert {bool(p["taxes"]) for p in load_example("mixta")["products"]} == {True, False}
    assert load_example("con_despacho")["shipping"] > 0
    assert load_example("con_despacho")["shipping_taxes"][0]["tax_on_shipping_price"] is True


# --- pages --------------------------------------------------------------------------------------


@pytest.fixture
def demo(db):
    call_command("sandbox_seed")
    return Store.objects.get(code="demo")


def test_index_page(client, demo):
    response = client.get("/sandbox/")
    html = response.content.decode()
    assert response.status_code == 200
    assert "Instalar la aplicación en la tienda demo" in html
    assert 'href="/jumpseller/"' in html
    assert "Tienda Demo" in html


def test_store_page(client, demo):
    response = client.get("/sandbox/jumpseller/stores/demo/")
    html = response.content.decode()
    assert response.status_code == 200
    for text in (
        "Crear un pedido",
        "Pegar JSON",
        "Pedidos",
        "Entregas de webhooks",
        "Pagar",
        "Anular",
        "#1005",
    ):
        assert text in html, text
    for label in EXAMPLES.values():
        assert label in html
    assert client.get("/sandbox/jumpseller/stores/nope/").status_code == 404


def test_order_page(client, demo):
    response = client.get("/sandbox/jumpseller/stores/demo/orders/1001/")
    assert response.status_code == 200
    assert "Pedido #1001" in response.content.decode()


def test_create_store_from_the_page(client, db):
    response = client.post("/sandbox/ui/stores", {"code": "nueva", "name": "Nueva"})
    assert response.status_code == 302
    assert Store.objects.filter(code="nueva", name="Nueva").exists()


def test_create_order_from_an_example(client, demo):
    response = client.post(
        "/sandbox/jumpseller/stores/demo/ui/orders", {"mode": "example", "example": "empresa"}
    )
    assert response.status_code == 302
    order = Order.objects.get(store=demo, order_id=1006)
    assert order.payload["billing_information"]["company_name"] == "Comercial Los Andes SpA"


def test_create_order_from_pasted_json(client, demo):
    payload = json.dumps({"order": {"id": 9000, "total": 5990, "currency": "CLP"}})
    assert (
        client.post(
            "/sandbox/jumpseller/stores/demo/ui/orders", {"mode": "json", "payload": payload}
        ).status_code
        == 302
    )
    assert Order.objects.get(order_id=9000).payload["total"] == 5990
    bad = client.post("/sandbox/jumpseller/stores/demo/ui/orders", {"mode": "json", "payload": "{"})
    assert bad.status_code == 400
    assert "No es JSON válido" in bad.content.decode()


def form_data(**overrides):
    data = {
        "mode": "form",
        "l-TOTAL_FORMS": "3",
        "l-INITIAL_FORMS": "0",
        "l-MIN_NUM_FORMS": "0",
        "l-MAX_NUM_FORMS": "20",
        "l-0-name": "Polera",
        "l-0-qty": "2",
        "l-0-price": "10000",
        "l-0-tax": "incluido",
        "l-0-discount": "0",
        "l-1-name": "Libro",
        "l-1-qty": "1",
        "l-1-price": "5000",
        "l-1-tax": "exento",
        "l-1-discount": "0",
        "l-2-name": "",
        "l-2-qty": "1",
        "l-2-price": "",
        "l-2-tax": "incluido",
        "l-2-discount": "0",
        "o-name": "Ana",
        "o-surname": "Pérez",
        "o-email": "ana@example.cl",
        "o-taxid": "76.543.210-3",
        "o-company_name": "Comercial SpA",
        "o-business_activity": "Comercio",
        "o-address": "San Diego 850",
        "o-municipality": "Santiago",
        "o-city": "Santiago",
        "o-shipping": "3990",
        "o-shipping_tax": "incluido",
        "o-order_discount": "1000",
    }
    return {**data, **overrides}


def test_create_order_from_the_form(client, demo):
    assert client.post("/sandbox/jumpseller/stores/demo/ui/orders", form_data()).status_code == 302
    order = Order.objects.get(order_id=1006).payload
    assert order["total"] == 20000 + 5000 + 3990 - 1000
    assert [p["taxes"] != [] for p in order["products"]] == [True, False]
    assert order["billing_address"]["taxid"] == "76.543.210-3"
    assert order["billing_address"]["street_number"] == "850"
    assert order["billing_information"]["company_name"] == "Comercial SpA"


def test_form_errors_are_shown(client, demo):
    response = client.post(
        "/sandbox/jumpseller/stores/demo/ui/orders", form_data(**{"o-taxid": "12.345.678-9"})
    )
    assert response.status_code == 400
    assert "El RUT no es válido." in response.content.decode()
    assert not Order.objects.filter(order_id=1006).exists()


@responses.activate
def test_pay_and_cancel_buttons(client, demo):
    Hook.objects.create(store=demo, event="order_paid", url="https://app.example/wh")
    responses.add(responses.POST, "https://app.example/wh", status=200)
    response = client.post(
        "/sandbox/jumpseller/stores/demo/ui/orders/1001/pay", {"deliveries": "2"}, follow=True
    )
    assert "Pedido #1001 pagado. Entregas del webhook: 200, 200." in response.content.decode()
    assert len(responses.calls) == 2
    response = client.post("/sandbox/jumpseller/stores/demo/ui/orders/1001/cancel", follow=True)
    assert "No hay webhooks registrados para ese evento" in response.content.decode()
    assert Order.objects.get(store=demo, order_id=1001).status_enum == "canceled"
    assert client.post("/sandbox/jumpseller/stores/demo/ui/orders/1001/ship").status_code == 404


def test_store_actions(client, demo):
    old = demo.hooks_token
    client.post("/sandbox/jumpseller/stores/demo/ui/reset_hooks_token")
    demo.refresh_from_db()
    assert demo.hooks_token != old
    services.token_issue(store=demo, client_id="c", scope="read_store")
    response = client.post("/sandbox/jumpseller/stores/demo/ui/revoke", follow=True)
    assert "Tokens revocados: 1" in response.content.decode()


def test_pages_forms_carry_csrf_tokens(demo):
    from django.test import Client

    strict = Client(enforce_csrf_checks=True)
    assert strict.post("/sandbox/jumpseller/stores/demo/ui/orders/1001/pay").status_code == 403
    html = strict.get("/sandbox/jumpseller/stores/demo/").content.decode()
    assert html.count("csrfmiddlewaretoken") >= 10


def test_store_page_lists_the_fake_openfactura_documents(client, demo, monkeypatch):
    """The page reads ``GET /sandbox/openfactura/documents`` (its documented JSON) in-process."""
    from types import SimpleNamespace

    from django.http import JsonResponse

    from sandbox import pages

    documents = [
        {
            "token": "tok-1",
            "folio": 1234,
            "tipo": 39,
            "rut_emisor": "76543210-3",
            "idempotency_key": "demo-1001-39",
            "received_at": "2025-01-01T10:00:00-03:00",
            "request": {},
        }
    ]
    seen = {}

    def fake_view(request):
        seen["path"] = request.path
        return JsonResponse(documents, safe=False)

    monkeypatch.setattr(pages, "resolve", lambda path: SimpleNamespace(func=fake_view, args=(), kwargs={}))
    html = client.get("/sandbox/jumpseller/stores/demo/").content.decode()
    assert seen["path"] == "/sandbox/openfactura/documents"
    assert "Boleta electrónica" in html
    assert "76.543.210-3" in html
    assert 'href="/sandbox/openfactura/documents/tok-1.pdf"' in html


def test_store_page_survives_without_the_fake_openfactura(client, demo, monkeypatch):
    from django.urls import Resolver404

    from sandbox import pages

    def missing(path):
        raise Resolver404(path)

    monkeypatch.setattr(pages, "resolve", missing)
    html = client.get("/sandbox/jumpseller/stores/demo/").content.decode()
    assert "El OpenFactura de prueba no está disponible." in html


def test_migrate_seeds_the_demo_store_for_a_server_started_by_hand(db, settings):
    """``migrate`` + ``runserver`` (no ``sandbox_seed``) still has the store ``demo`` of the OAuth form."""
    settings.SANDBOX_SEED_ON_MIGRATE = True
    assert not Store.objects.filter(code="demo").exists()
    call_command("migrate", verbosity=0, interactive=False)
    store = Store.objects.get(code="demo")
    assert [o.order_id for o in Order.objects.filter(store=store).order_by("order_id")] == [
        1001,
        1002,
        1003,
        1004,
        1005,
    ]
    call_command("migrate", verbosity=0, interactive=False)  # idempotent
    assert Store.objects.filter(code="demo").count() == 1 and Order.objects.count() == 5


def test_tests_do_not_get_the_demo_store_by_default(db):
    from sandbox.apps import seed_on_migrate

    assert seed_on_migrate() is False
    assert not Store.objects.filter(code="demo").exists()
