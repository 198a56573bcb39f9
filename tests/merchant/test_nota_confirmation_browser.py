"""In Chromium: a partial nota typed "10.000" is confirmed as $10.000 and announced by its folio; a refused
"10,5" keeps the typed reason; an annulled document and the review actions as the merchant sees them.
Screenshots (1280 and 800 px wide) go to ``$SCREENSHOTS_DIR/notas`` (tests/shots.py)."""

from __future__ import annotations

import pytest

from emission.models import Document, DocumentState
from tests import flows
from tests.shots import screenshots

from .test_merchant_flow_browser import browser_session

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def shoot(page, name: str) -> None:
    screenshots(page, name, folder="notas")


@pytest.fixture
def boleta(page, http, sandbox, settings):
    store = flows.installed_store(http, sandbox, settings, "navegador", "Tienda Navegador")
    browser_session(page, http, sandbox)
    return flows.paid_boleta(http, sandbox, store, 9901)


def test_a_partial_nota_typed_10_000_is_confirmed_as_10_000_and_announced_by_its_folio(page, sandbox, boleta):
    page.goto(sandbox(f"/app/documentos/{boleta.pk}/"))
    partial = page.locator("#nota-parcial")
    partial.get_by_text("O indica las unidades devueltas de cada producto").click()
    shoot(page, "nota-parcial-formulario")
    partial.get_by_label("Monto a devolver (con IVA)").fill("10.000")
    partial.get_by_label("Motivo").fill("Cliente devolvió la taza")
    partial.get_by_role("button", name="Emitir nota de crédito parcial…").click()

    page.get_by_role("heading", name="Confirma la nota de crédito").wait_for()
    assert page.locator("#total").inner_text() == "$10.000"
    assert page.locator("#motivo").inner_text() == "Cliente devolvió la taza"
    assert f"Boleta electrónica N° {boleta.folio}" in page.locator("#corrige").inner_text()
    assert not Document.objects.filter(kind="nota_credito").exists()
    shoot(page, "nota-confirmacion")

    page.get_by_label("Para emitir esta nota de crédito, escribe el código de tu tienda").fill("navegador")
    page.get_by_role("button", name="Confirmar y emitir la nota de crédito").click()
    page.locator(".messages li.success").wait_for()
    [nota] = Document.objects.filter(kind="nota_credito")
    assert nota.state == DocumentState.EMITTED and nota.mnt_total == 10000
    assert f"Nota de crédito N° {nota.folio} emitida por $10.000" in page.locator(".messages").inner_text()
    shoot(page, "nota-emitida")


def test_a_refused_10_5_keeps_the_typed_amount_and_reason(page, sandbox, boleta):
    page.goto(sandbox(f"/app/documentos/{boleta.pk}/"))
    partial = page.locator("#nota-parcial")
    partial.get_by_label("Monto a devolver (con IVA)").fill("10,5")
    partial.get_by_label("Motivo").fill("Polera con falla de fábrica")
    partial.get_by_role("button", name="Emitir nota de crédito parcial…").click()

    page.locator(".messages li.error").wait_for()
    partial = page.locator("#nota-parcial")
    assert "Escribe el monto en pesos, sin decimales" in partial.inner_text()
    assert partial.get_by_label("Motivo").input_value() == "Polera con falla de fábrica"
    assert partial.get_by_label("Monto a devolver (con IVA)").input_value() == "10,5"
    assert not Document.objects.filter(kind="nota_credito").exists()
    shoot(page, "nota-monto-rechazado")


def test_an_annulled_document_and_the_review_actions(page, http, sandbox, boleta):
    page.goto(sandbox(f"/app/documentos/{boleta.pk}/"))
    page.get_by_role("button", name="Emitir nota de crédito total…").click()
    page.get_by_role("heading", name="Confirma la nota de crédito").wait_for()
    page.get_by_label("Para emitir esta nota de crédito, escribe el código de tu tienda").fill("navegador")
    page.get_by_role("button", name="Confirmar y emitir la nota de crédito").click()
    page.locator(".messages li.success").wait_for()
    assert page.locator("#estado").inner_text() == "Anulado"
    assert page.get_by_role("button", name="Emitir nota de crédito parcial…").count() == 0
    shoot(page, "documento-anulado")

    flows.configure(boleta.store, factura_directa=True)
    order = flows.example_order("empresa", id=9902)
    order["billing_address"]["taxid"] = "76.543.210-4"
    flows.create_order(http, sandbox, "navegador", order)
    flows.pay(http, sandbox, "navegador", 9902)
    factura = Document.objects.get(store=boleta.store, order_id=9902)
    assert factura.state == DocumentState.REQUIRES_REVIEW
    page.goto(sandbox(f"/app/documentos/{factura.pk}/"))
    assert page.get_by_role("button", name="Reintentar").count() == 1
    shoot(page, "revision-acciones")

    form = page.locator("#receptor")
    form.get_by_label("RUT").fill("76.543.210-3")
    form.get_by_label("Razón social").fill("Comercial Los Andes SpA")
    form.get_by_label("Giro").fill("Venta al por menor de artículos de ferretería")
    form.get_by_label("Dirección").fill("San Diego 850")
    form.get_by_label("Comuna").fill("Santiago")
    form.get_by_role("button", name="Revisar la factura corregida").click()
    page.get_by_role("heading", name="Confirma los datos del receptor").wait_for()
    shoot(page, "receptor-confirmacion")
    page.get_by_role("button", name="Confirmar y emitir la factura").click()
    page.locator(".messages li.success").wait_for()
    factura.refresh_from_db()
    assert factura.state == DocumentState.EMITTED
    assert f"factura N° {factura.folio} emitida" in page.locator(".messages").inner_text()
