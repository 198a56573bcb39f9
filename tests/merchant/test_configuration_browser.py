"""Configuración in Chromium: change the emission mode, save, see the confirmation (screenshot kept)."""

from __future__ import annotations

import os
from importlib import import_module

import pytest
from django.conf import settings

from emission.models import EmissionSettings
from merchant.models import AuditEntry
from tests.integration.conftest import make_store

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SCREENSHOT = os.environ.get("MERCHANT_SCREENSHOT", "/tmp/merchant_config.png")


def login(page, base_url: str, store) -> None:
    """The session the OAuth callback leaves (tests/integration covers the callback itself)."""
    session = import_module(settings.SESSION_ENGINE).SessionStore()
    session["store_id"] = store.pk
    session["store_code"] = store.code
    session.save()
    page.context.add_cookies(
        [{"name": settings.SESSION_COOKIE_NAME, "value": session.session_key, "url": base_url}]
    )


def test_change_the_mode_save_and_see_the_confirmation(page, sandbox):
    store = make_store(code="tienda-browser", name="Tienda Ñuñoa")
    login(page, sandbox.url, store)
    page.set_viewport_size({"width": 1000, "height": 1400})
    page.goto(sandbox("/app/configuracion/"))
    assert page.get_by_text("Modo demostración activo").is_visible()

    page.get_by_label("Boleta al pagar", exact=False).first.check()
    page.get_by_role("button", name="Guardar cambios").click()

    confirmation = page.locator(".messages li.success")
    confirmation.wait_for()
    assert "Configuración guardada" in confirmation.inner_text()
    assert "Modo de emisión" in confirmation.inner_text()
    assert page.locator("#id_mode_0").is_checked()
    page.screenshot(path=SCREENSHOT, full_page=True)

    page.set_viewport_size({"width": 390, "height": 844})  # a phone: nothing scrolls sideways
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    page.screenshot(path=SCREENSHOT.replace(".png", "_phone.png"), full_page=False)

    assert EmissionSettings.objects.get(store=store).mode == 1
    assert AuditEntry.objects.filter(store=store).count() == 1
