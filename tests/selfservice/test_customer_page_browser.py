"""The customer's page in Chromium (issue 15, point 8): mode 3 chooses nothing for the customer, an unknown
RUT says so, a long giro is shown shortened on a confirmation step before the factura is issued, the
link's deadline is on the page, and a canceled order says so instead of offering a form.

Screenshots of each state at 1280 and 390 px go to ``/tmp/shots-B2/``."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.utils import timezone

from emission.models import Document
from selfservice.services import window_end
from tests import flows
from tests.selfservice import test_selfservice_pages as pages
from tests.selfservice.test_selfservice_pages import link, paid_order, tipos

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
shop = pages.shop  # the store "tienda" (fixture)


SHOTS = Path("/tmp/shots-B2")
WIDTHS = {"escritorio": 1280, "telefono": 390}


def shoot(page, name: str) -> None:
    """The page as it is now, full length, at both widths (back to the phone's width afterwards)."""
    SHOTS.mkdir(exist_ok=True)
    for label, width in WIDTHS.items():
        page.set_viewport_size({"width": width, "height": 844})
        page.screenshot(path=str(SHOTS / f"{name}-{label}.png"), full_page=True)
    page.set_viewport_size({"width": 390, "height": 844})


def test_mode_3_choice_unknown_rut_and_a_confirmed_factura_with_its_giro_shortened(page, sandbox, http, shop):
    flows.configure(shop, mode=3)
    paid_order(http, sandbox, 8401)
    deadline = window_end(timezone.localdate()).strftime("%d-%m-%Y")
    page.set_viewport_size({"width": 390, "height": 844})
    url = link(shop, 8401)
    page.goto(url)

    # 8e: the deadline, dd-mm-aaaa, above the form.
    assert page.locator(".deadline").inner_text() == f"Puedes pedir tu documento hasta el {deadline}."
    assert page.locator(".deadline").is_visible()
    # 8b: nothing chosen; the factura's fields appear only once "Factura" is chosen.
    assert not page.get_by_role("radio", name="Boleta").is_checked()
    assert not page.get_by_role("radio", name="Factura (para tu empresa)").is_checked()
    assert not page.locator("#id_rut").is_visible()
    shoot(page, "1-modo3-sin-eleccion")
    page.get_by_role("button", name="Continuar").click()
    assert page.locator("#error-documento").inner_text() == "Elige si quieres boleta o factura."
    assert tipos(http, sandbox) == []
    shoot(page, "2-modo3-error-eleccion")

    # 8c: a RUT the SII does not know gets a message; the form stays usable.
    page.get_by_role("radio", name="Factura (para tu empresa)").check()
    page.locator("#id_rut").press_sequentially("111111111")
    page.locator("#id_razon_social").click()  # leaves the RUT field
    note = page.locator("#rut-lookup")
    note.wait_for(state="visible")
    assert note.inner_text().startswith("No encontramos ese RUT en el SII")
    assert "completa los datos a mano" in note.inner_text()
    shoot(page, "3-rut-desconocido")

    page.locator("#id_rut").fill("")
    page.locator("#id_rut").press_sequentially("764304985")
    page.wait_for_function("document.getElementById('id_razon_social').value === 'HOSTY SPA'")
    assert page.locator("#id_giro").input_value() == "EMPRESAS DE SERVICIOS INTEGRALES DE INFORMÁTICA"
    assert note.inner_text().startswith("Completamos los datos con lo que informa el SII")
    page.locator("#id_email").fill("compras@hosty.cl")
    page.get_by_role("button", name="Continuar").click()

    # 8d: the confirmation step shows the factura as it will be issued; nothing is issued yet.
    page.get_by_role("heading", name="Revisa tu factura antes de emitirla").wait_for()
    assert page.locator("#confirm-documento").inner_text() == "Factura electrónica"
    assert page.locator("#confirm-rut").inner_text() == "76.430.498-5"
    assert page.locator("#confirm-giro").inner_text() == "EMPRESAS DE SERVICIOS INTEGRALES"
    assert (
        "acortamos «EMPRESAS DE SERVICIOS INTEGRALES DE INFORMÁTICA»"
        in page.locator("#giro-acortado").inner_text()
    )
    assert page.locator("#confirm-total").inner_text() == "$32.970"
    assert page.locator(".deadline").inner_text() == f"Puedes pedir tu documento hasta el {deadline}."
    assert tipos(http, sandbox) == []
    shoot(page, "4-confirmacion-giro-acortado")

    page.get_by_role("button", name="Emitir mi factura").click()
    page.wait_for_selector("text=Factura electrónica N°")
    assert page.url == url  # POST/redirect/GET: the page itself
    assert tipos(http, sandbox) == [33]
    factura = Document.objects.get(store=shop, order_id=8401)
    assert (
        factura.request_body["dte"]["Encabezado"]["Receptor"]["GiroRecep"]
        == "EMPRESAS DE SERVICIOS INTEGRALES"
    )
    shoot(page, "5-factura-emitida")
    page.reload()  # nothing is submitted again
    page.wait_for_selector("text=Factura electrónica N°")
    assert tipos(http, sandbox) == [33]


def test_canceled_order_says_so_without_a_form(page, sandbox, http, shop):
    paid_order(http, sandbox, 8402)
    flows.cancel(http, sandbox, "tienda", 8402)
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto(link(shop, 8402))
    assert page.get_by_role("heading", name="Orden anulada").is_visible()
    assert (
        "la tienda emitió una nota de crédito que anula tu boleta electrónica"
        in page.locator("#cerrada").inner_text()
    )
    assert page.locator("form").count() == 0 and page.get_by_role("button").count() == 0
    assert page.locator(".doc .badge").inner_text() == "Anulado"
    shoot(page, "6-orden-anulada")
