"""The merchant's day in Chromium against the sandbox: install → configure the company's API key → a paid
order's boleta appears with its PDF → pause and resume the queue. Screenshots are kept in /tmp."""

from __future__ import annotations

import os

import pytest

from emission.models import Document, EmissionSettings
from integration.models import Store
from tests import flows

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SHOTS = os.environ.get("MERCHANT_SCREENSHOTS", "/tmp")


def browser_session(page, http, sandbox) -> None:
    """Hand the session the OAuth install left in ``http`` to the browser."""
    page.context.add_cookies(
        [{"name": c.name, "value": c.value, "url": sandbox.url} for c in http.cookies if c.value]
    )


def test_install_configure_pay_and_see_the_boleta_with_its_pdf(page, sandbox, http, settings):
    settings.SANDBOX_OPENFACTURA_RATE_LIMIT = "off"
    flows.install(http, sandbox, "tienda", "Tienda Ñuñoa")
    store = Store.objects.get(code="tienda")
    browser_session(page, http, sandbox)
    page.set_viewport_size({"width": 1000, "height": 900})

    page.goto(sandbox("/app/configuracion/"))
    page.get_by_label("API key de OpenFactura").fill("sandbox-tienda-e2e")
    page.get_by_label("Integrar con empresa de demostración en ambiente de pruebas").uncheck()
    page.locator("#id_mode_0").check()
    page.get_by_role("button", name="Guardar cambios").click()
    page.locator(".messages li.success").wait_for()
    assert "API key de OpenFactura: reemplazada" in page.locator(".messages").inner_text()
    assert page.locator("#api-key-masked").inner_text() == "••••••••-e2e"
    assert page.get_by_text("Modo demostración activo").count() == 0
    cfg = EmissionSettings.objects.get(store=store)
    assert (cfg.demo_mode, cfg.mode, cfg.api_key) == (False, 1, "sandbox-tienda-e2e")

    flows.create_order(http, sandbox, "tienda", flows.example_order("mixta", id=7101))
    flows.pay(http, sandbox, "tienda", 7101)
    [document] = Document.objects.filter(store=store)
    assert document.state == "emitted" and not document.demo

    page.goto(sandbox("/app/documentos/"))
    row = page.locator("tbody tr").first
    assert "Emitido" in row.inner_text() and str(document.folio) in row.inner_text()
    page.screenshot(path=f"{SHOTS}/merchant_documents.png", full_page=True)
    row.get_by_role("link").click()
    page.get_by_role("heading", name="Intentos").wait_for()
    assert f"N° {document.folio}" in page.locator("h1").inner_text()
    pdf = page.request.get(sandbox(f"/app/documentos/{document.pk}/pdf"))
    assert pdf.status == 200 and pdf.headers["content-type"] == "application/pdf"
    assert pdf.body().startswith(b"%PDF")
    page.screenshot(path=f"{SHOTS}/merchant_document.png", full_page=True)

    page.goto(sandbox("/app/"))
    assert "$40.980" in page.locator("table").inner_text()
    page.screenshot(path=f"{SHOTS}/merchant_summary.png", full_page=True)
    page.goto(sandbox("/app/emisor/"))
    assert "COMERCIAL SANDBOX SPA" in page.locator("#emisor-preview").inner_text()
    page.screenshot(path=f"{SHOTS}/merchant_issuer.png", full_page=True)

    page.goto(sandbox("/app/cola/"))
    page.get_by_label("Motivo (opcional)").fill("Revisando precios")
    page.get_by_label("Para pausar, escribe el código de tu tienda").fill("tienda")
    page.get_by_role("button", name="Pausar").click()
    page.get_by_text("Motivo: Revisando precios").wait_for()
    assert EmissionSettings.objects.get(store=store).queue_paused
    page.get_by_role("button", name="Reanudar").click()
    page.get_by_text("Cola reanudada").wait_for()
    assert not EmissionSettings.objects.get(store=store).queue_paused
    page.screenshot(path=f"{SHOTS}/merchant_queue.png", full_page=True)


def test_a_failed_document_shows_its_error_and_reintentar_emits_it_once(page, sandbox, http, settings):
    settings.SANDBOX_OPENFACTURA_RATE_LIMIT = "off"
    settings.EMISSION_PAUSE_AFTER_FAILURES = 5
    flows.install(http, sandbox, "tienda", "Tienda Ñuñoa")
    store = Store.objects.get(code="tienda")
    browser_session(page, http, sandbox)
    page.set_viewport_size({"width": 1000, "height": 900})

    flows.faults(http, sandbox, status=503, error_rate=1)
    flows.create_order(http, sandbox, "tienda", flows.example_order("afecta", id=7201))
    flows.pay(http, sandbox, "tienda", 7201)
    [document] = Document.objects.filter(store=store)
    assert document.state == "failed_retrying"

    page.goto(sandbox(f"/app/documentos/{document.pk}/"))
    assert "Falló, se reintentará" in page.locator("h1").inner_text()
    assert "Error temporal, se reintenta" in page.locator("table").last.inner_text()
    page.screenshot(path=f"{SHOTS}/merchant_document_failed.png", full_page=True)

    flows.faults(http, sandbox)
    page.get_by_role("button", name="Reintentar").click()
    page.locator(".messages li.success").wait_for()
    assert "Reintento en curso" in page.locator(".messages").inner_text()
    document.refresh_from_db()
    assert document.state == "emitted"
    page.reload()
    assert "Emitido" in page.locator("h1").inner_text()
    assert len(flows.openfactura_documents(http, sandbox)) == 1
