"""The browser harness works: Chromium opens the product's home page served by the live server."""

import pytest

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_home_page_in_chromium(page, sandbox):
    page.goto(sandbox("/"))
    assert page.locator("h1").inner_text() == "OpenFactura para Jumpseller"
    assert page.get_by_role("link", name="Abrir la aplicación").is_visible()
