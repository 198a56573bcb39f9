"""Tax setup check: recent orders tell the merchant which products and shipping will be exempt, and when
products and shipping include IVA differently."""

from __future__ import annotations

import pytest
import responses

from merchant.taxcheck import tax_setup_findings
from tests.integration.conftest import API, fixture_json

IVA_PRODUCT = {"id": 1, "name": "IVA", "rate": 19, "fixed": False, "tax_on_product_price": True}
IVA_SHIPPING = {"id": 2, "name": "IVA", "rate": 19, "fixed": False, "tax_on_shipping_price": True}


def order(products, *, shipping=3990, shipping_taxes=(IVA_SHIPPING,)) -> dict:
    return {"id": 1, "shipping": shipping, "shipping_taxes": list(shipping_taxes), "products": products}


def test_a_well_configured_store_has_no_findings():
    assert (
        tax_setup_findings([order([{"name": "Polera", "taxes": [IVA_PRODUCT]}])], untaxed_items="exempt")
        == []
    )


def test_products_without_iva_are_named_and_the_fix_is_explained():
    orders = [order([{"name": "Libro", "taxes": []}, {"name": "Polera", "taxes": [IVA_PRODUCT]}])]
    [finding] = tax_setup_findings(orders, untaxed_items="exempt")
    assert finding.level == "warn"
    assert finding.examples == ["Libro"]
    assert "se documentarán como exentos" in finding.text and "Configuración → Impuestos" in finding.text
    [info] = tax_setup_findings(orders, untaxed_items="taxed")
    assert info.level == "info" and "IVA incluido" in info.text


def test_shipping_without_iva_and_mixed_inclusion_are_reported():
    excluded = {**IVA_SHIPPING, "tax_on_shipping_price": False}
    orders = [order([{"name": "Polera", "taxes": [IVA_PRODUCT]}], shipping_taxes=(excluded,))]
    [finding] = tax_setup_findings(orders, untaxed_items="exempt")
    assert "incluyen el IVA de forma distinta" in finding.text
    orders = [order([{"name": "Polera", "taxes": [IVA_PRODUCT]}], shipping_taxes=())]
    [finding] = tax_setup_findings(orders, untaxed_items="exempt")
    assert "El despacho de 1 pedido(s) no tiene IVA" in finding.text


@pytest.mark.django_db
@responses.activate
def test_the_page_reads_recent_paid_orders_from_jumpseller(merchant):
    paid = fixture_json("order_paid__mixta_despacho_exento")
    paid = paid.get("order", paid)
    responses.get(f"{API}/orders.json", json=[{"order": paid}])
    response = merchant.get("/app/impuestos/")
    assert response.status_code == 200
    text = response.content.decode()
    assert "Revisamos tus últimos 1 pedidos pagados" in text
    assert "status_filters%5B%5D=paid" in responses.calls[0].request.url
    assert "El despacho de 1 pedido(s) no tiene IVA y se documenta como exento." in text


@pytest.mark.django_db
@responses.activate
def test_jumpseller_down_says_so(merchant):
    responses.get(f"{API}/orders.json", status=500)
    text = merchant.get("/app/impuestos/").content.decode()
    assert "No pudimos leer tus pedidos en Jumpseller" in text
