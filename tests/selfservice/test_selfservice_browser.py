"""The self-service page in Chromium: type a RUT from the sandbox taxpayer fixture, see the prefill,
submit, and get the factura (mode 2: boleta → nota de crédito → factura)."""

from __future__ import annotations

import pytest

from emission import services as emission_services
from integration.models import Store
from selfservice.models import Conversion
from tests import flows

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_customer_gets_a_factura_from_the_email_link(page, sandbox, http, settings):
    settings.SANDBOX_OPENFACTURA_RATE_LIMIT = "off"
    flows.install(http, sandbox, "tienda", "Tienda Ñuñoa")
    shop = Store.objects.get(code="tienda")
    flows.create_order(http, sandbox, "tienda", flows.example_order("afecta", id=8101))
    flows.pay(http, sandbox, "tienda", 8101)
    url = emission_services.selfservice_url_for(store_id=shop.pk, order_id=8101)

    page.set_viewport_size({"width": 390, "height": 844})
    page.goto(url)
    assert page.locator("header .store").inner_text() == "Tienda Ñuñoa"
    assert page.get_by_role("heading", name="Quiero factura").is_visible()

    page.locator("#id_rut").press_sequentially("764304985")
    assert page.locator("#id_rut").input_value() == "76.430.498-5"  # formatted as typed
    page.wait_for_function("document.getElementById('id_razon_social').value === 'HOSTY SPA'")
    assert page.locator("#id_giro").input_value() == "EMPRESAS DE SERVICIOS INTEGRALES DE INFORMÁTICA"
    assert page.locator("#id_direccion").input_value() == "ARTURO PRAT 527 3 pis OF 1"
    assert page.locator("#id_comuna").input_value() == "Curicó"
    page.locator("#id_email").fill("compras@hosty.cl")  # prefilled fields stay editable
    page.screenshot(path="/tmp/selfservice.png", full_page=True)

    page.get_by_role("button", name="Continuar").click()  # the confirmation step (issue 15 point 8)
    assert page.locator("#confirm-giro").inner_text() == "EMPRESAS DE SERVICIOS INTEGRALES"
    page.get_by_role("button", name="Emitir mi factura").click()
    page.wait_for_selector("text=Factura electrónica N°")
    assert page.get_by_text("Listo: tu boleta fue anulada").is_visible()
    assert page.locator("#id_rut").count() == 0
    assert page.get_by_role("link", name="Descargar PDF").count() == 3
    conversion = Conversion.objects.get(store=shop, order_id=8101)
    assert conversion.state == "done"
    assert [d["tipo"] for d in flows.openfactura_documents(http, sandbox)] == [39, 61, 33]
    page.screenshot(path="/tmp/selfservice-done.png", full_page=True)
