"""Reglas de emisión in Chromium: add the issue's example, move a rule, try an order, refuse a decimal
amount keeping what was typed; screenshots at 1280 and 800 px (``RULES_SCREENSHOTS``, /tmp/shots-R)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests import flows
from tests.merchant.test_configuration_browser import login

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SHOTS = Path(os.environ.get("RULES_SCREENSHOTS", "/tmp/shots-R"))


def add_rule(page, *, category="", origin="", total_min="", mode="1", factura=False, name=""):
    page.get_by_label("Categoría del cliente").fill(category)
    page.get_by_label("Origen del pedido").select_option(origin)
    page.get_by_label("Total del pedido desde").fill(total_min)
    page.get_by_label("Modo de emisión que aplica").select_option(mode)
    page.get_by_label("Nombre (opcional)").fill(name)
    box = page.get_by_label("Emitir factura directamente si el cliente ingresó datos de empresa")
    box.check() if factura else box.uncheck()
    page.get_by_role("button", name="Agregar regla").click()


def test_rules_page_add_move_try_and_refuse(page, sandbox, http, settings):
    settings.JUMPSELLER_SCOPES = "read_store read_orders write_orders read_hooks write_hooks read_customers"
    store = flows.installed_store(http, sandbox, settings, "reglas-browser", "Tienda Reglas")
    http.post(
        sandbox("/sandbox/jumpseller/stores/reglas-browser/customers"),
        json={"customer": {"id": 505, "customer_categories": ["Mayoristas"]}},
        timeout=10,
    )
    flows.create_order(http, sandbox, "reglas-browser", flows.example_order("empresa", id=1005))
    login(page, sandbox.url, store)
    page.goto(sandbox("/app/configuracion/"))
    page.get_by_role("link", name="Reglas de emisión").click()
    page.wait_for_url("**/app/configuracion/reglas/")

    add_rule(page, origin="pos", mode="1")
    add_rule(page, category="Mayoristas", mode="2", factura=True, name="Mayoristas")
    assert (
        page.locator(".messages li.success").inner_text().startswith("Regla agregada: Regla 2 «Mayoristas»")
    )
    page.get_by_role("button", name="Subir la regla 2").click()
    assert "pasó a ser la regla 1" in page.locator(".messages li.success").inner_text()
    assert page.locator("#regla-1").inner_text().startswith("1.\nMayoristas")

    page.get_by_label("N° de orden").fill("1005")
    page.get_by_role("button", name="Probar").click()
    assert page.locator("#probar-regla").inner_text().startswith("Regla 1 «Mayoristas»")
    assert page.locator("#probar-emision").inner_text().startswith("Factura electrónica al pagar")

    add_rule(page, total_min="10,5", name="Con decimales")  # refused, typed values kept
    assert "sin decimales" in page.locator("form .errorlist").first.inner_text()
    assert page.get_by_label("Total del pedido desde").input_value() == "10,5"
    assert page.get_by_label("Nombre (opcional)").input_value() == "Con decimales"

    SHOTS.mkdir(parents=True, exist_ok=True)
    page.goto(sandbox("/app/configuracion/reglas/?orden=1005"))
    page.set_viewport_size({"width": 1280, "height": 900})
    page.screenshot(path=str(SHOTS / "reglas_1280.png"), full_page=True)
    page.set_viewport_size({"width": 800, "height": 900})
    assert page.evaluate("document.documentElement.scrollWidth") <= 800
    page.screenshot(path=str(SHOTS / "reglas_800.png"), full_page=True)
