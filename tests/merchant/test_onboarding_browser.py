"""A new merchant in Chromium against the sandbox (issue 15 §6): install → land on "Primeros pasos" →
choose the issuer, enter the company's API key and leave demo mode → each step shows its tick.
Screenshots of the checklist, an alert banner and the Cola page at 1280 and 800 px go to
``$SCREENSHOTS_DIR/onboarding`` (tests/shots.py)."""

from __future__ import annotations

import pytest

from emission import services
from emission.models import EmissionSettings
from integration.models import Store
from tests import flows
from tests.shots import screenshots

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

CODE = "tienda-nueva"


def _shots(page, name: str) -> None:
    screenshots(page, name, folder="onboarding")


def _state(page, step: str) -> str:
    return page.locator(f'li[data-step="{step}"]').get_attribute("data-state")


def test_install_lands_on_primeros_pasos_and_each_step_ticks_when_done(page, sandbox, http, settings):
    settings.SANDBOX_OPENFACTURA_RATE_LIMIT = "off"
    created = http.post(sandbox("/sandbox/jumpseller/stores"), json={"code": CODE, "name": "Tienda Nueva"})
    assert created.status_code == 201

    page.goto(sandbox("/jumpseller/"))
    page.locator("#store").fill(CODE)
    page.get_by_role("button", name="Autorizar").click()
    page.wait_for_url(lambda url: "/sandbox/" not in url and "/callback" not in url)
    assert page.url == sandbox("/app/primeros-pasos/"), "a completed install lands on Primeros pasos"
    page.get_by_role("heading", name="Primeros pasos", exact=True).wait_for()
    assert page.locator('nav.merchant-menu a[aria-current="page"]').inner_text() == "Primeros pasos"
    assert [_state(page, s) for s in ("openfactura", "mode", "issuer", "tax_check", "go_live")] == [
        "demo",
        "done",
        "pending",
        "done",
        "pending",
    ]
    assert "Modo 2 — Boleta al pagar" in page.locator('li[data-step="mode"]').inner_text()
    _shots(page, "checklist-new")

    # Steps 1 and 5 from the first step's link: the company's API key, and out of demo mode.
    page.locator('li[data-step="openfactura"]').get_by_role("link", name="Ir a Configuración").click()
    page.get_by_label("API key de OpenFactura").fill(f"sandbox-{CODE}")
    page.get_by_label("Integrar con empresa de demostración en ambiente de pruebas").uncheck()
    page.get_by_role("button", name="Guardar cambios").click()
    page.locator(".messages li.success").wait_for()
    page.get_by_role("link", name="Primeros pasos").click()
    assert (_state(page, "openfactura"), _state(page, "go_live")) == ("done", "done")
    # The issuer is chosen for the merchant's own company (the demo company's does not carry over).
    assert _state(page, "issuer") == "pending"

    # Step 3: the issuer, from its link.
    page.locator('li[data-step="issuer"]').get_by_role("link", name="Ir a Emisor").click()
    page.get_by_label("Actividad económica").select_option(index=1)
    page.get_by_role("button", name="Guardar", exact=True).click()
    page.locator(".messages li.success").wait_for()
    page.get_by_role("link", name="Primeros pasos").click()
    steps = [_state(page, s) for s in ("openfactura", "mode", "issuer", "tax_check", "go_live")]
    assert steps == ["done"] * 5
    assert "5 de 5 pasos listos" in page.locator("#h-steps").inner_text()
    _shots(page, "checklist-done")

    # An alert: OpenFactura rejects the key on the next order; every page says so, the Cola page too.
    store = Store.objects.get(code=CODE)
    flows.configure(store, api_key="0" * 32, organization={})
    flows.create_order(http, sandbox, CODE, flows.example_order("afecta", id=8401))
    flows.pay(http, sandbox, CODE, 8401)
    assert EmissionSettings.objects.get(store=store).queue_paused
    page.get_by_role("link", name="Primeros pasos").click()
    banner = page.locator('[data-alert="api_key_rejected"]')
    assert "OpenFactura rechazó tu API key" in banner.inner_text()
    assert _state(page, "openfactura") == "pending"
    _shots(page, "banner")
    page.get_by_role("link", name="Cola", exact=True).click()
    assert "Ingresa una API key válida" in page.locator("#estado-cola").inner_text()
    _shots(page, "cola-paused")

    flows.configure(store, api_key=f"sandbox-{CODE}")
    services.queue_resume(store_id=store.pk)
    page.reload()
    assert page.locator("[data-alert]").count() == 0
    _shots(page, "cola-running")
