"""Issue 15 point 2 in Chromium: the merchant issues two partial notas de crédito for a boleta from the
document page; the customer opens the self-service link, sees them listed, asks for a factura, and the
factura documents only what remains (dte-semantics.md §4, "Boleta → factura after earlier notas").

Order ``mixta`` (paid $40.980); notas of $10.000 and $7.000 → what remains is $23.980. Screenshots of the
customer page at 1280 and 800 px go to ``/tmp/shots-B1/``.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from emission import services as emission_services
from emission.models import Document, DocumentState
from integration.models import Store
from selfservice.models import Conversion
from tests import flows

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


SHOTS = Path(os.environ.get("SELFSERVICE_SCREENSHOTS", "/tmp/shots-B1"))


def merchant_refund(page, sandbox, boleta: Document, amount: str) -> Document:
    """The merchant's partial nota from the document page: amount typed the Chilean way, then confirmed."""
    page.goto(sandbox(f"/app/documentos/{boleta.pk}/"))
    form = page.locator("#nota-parcial")
    form.locator("input[name=amount]").fill(amount)
    form.locator("input[name=razon]").fill("Devolución de un producto")
    form.get_by_role("button").click()
    confirm = page.locator("#confirmar-nota")
    confirm.wait_for()
    confirm.locator("input[name=confirmacion]").fill(boleta.store.code)
    confirm.get_by_role("button", name="Confirmar y emitir la nota de crédito").click()
    page.locator(".messages").wait_for()
    nota = Document.objects.filter(annuls=boleta, kind="nota_credito").order_by("-pk").first()
    assert nota is not None and nota.state == DocumentState.EMITTED
    assert f"Nota de crédito N° {nota.folio} emitida" in page.locator(".messages").inner_text()
    return nota


def test_customer_converts_a_boleta_with_two_refunds_and_the_factura_is_what_remains(
    page, sandbox, http, settings
):
    SHOTS.mkdir(parents=True, exist_ok=True)
    settings.SANDBOX_OPENFACTURA_RATE_LIMIT = "off"
    flows.install(http, sandbox, "tienda", "Tienda Ñuñoa")
    shop = Store.objects.get(code="tienda")
    flows.create_order(http, sandbox, "tienda", flows.example_order("mixta", id=8401))
    flows.pay(http, sandbox, "tienda", 8401)
    boleta = Document.objects.get(store=shop, order_id=8401, kind="boleta")
    assert boleta.mnt_total == 40980

    page.context.add_cookies(  # the merchant's session from the OAuth install
        [{"name": c.name, "value": c.value, "url": sandbox.url} for c in http.cookies if c.value]
    )
    first = merchant_refund(page, sandbox, boleta, "10.000")
    second = merchant_refund(page, sandbox, boleta, "7.000")
    assert (first.mnt_total, second.mnt_total) == (10000, 7000)

    page.context.clear_cookies()  # the customer is someone else
    url = emission_services.selfservice_url_for(store_id=shop.pk, order_id=8401)
    page.set_viewport_size({"width": 1280, "height": 900})
    page.goto(url)
    refunds = page.locator("#devoluciones")
    text = refunds.inner_text()
    assert f"Nota de crédito N° {first.folio}" in text and f"Nota de crédito N° {second.folio}" in text
    assert "-$10.000" in text and "-$7.000" in text
    assert first.fecha_emision.strftime("%d-%m-%Y") in text
    assert "$23.980" in text  # 40.980 − 10.000 − 7.000
    page.screenshot(path=str(SHOTS / "customer-refunds-1280.png"), full_page=True)
    page.set_viewport_size({"width": 800, "height": 900})
    page.screenshot(path=str(SHOTS / "customer-refunds-800.png"), full_page=True)

    page.locator("#id_rut").press_sequentially("764304985")
    page.wait_for_function("document.getElementById('id_razon_social').value === 'HOSTY SPA'")
    page.locator("#id_email").fill("compras@hosty.cl")
    page.get_by_role("button", name="Continuar").click()
    page.get_by_role("button", name="Emitir mi factura").click()
    page.wait_for_selector("text=Factura electrónica N°")
    page.screenshot(path=str(SHOTS / "customer-done-800.png"), full_page=True)

    conversion = Conversion.objects.get(store=shop, order_id=8401)
    assert conversion.state == "done"
    nota, factura = conversion.nota, conversion.factura
    assert factura.state == DocumentState.EMITTED and factura.tipo == 33
    assert factura.mnt_total == nota.mnt_total == 23980  # not the original $40.980
    assert (factura.mnt_neto, factura.iva, factura.mnt_exe) == (nota.mnt_neto, nota.iva, nota.mnt_exe)
    assert [d["tipo"] for d in flows.openfactura_documents(http, sandbox)] == [39, 61, 61, 61, 33]
