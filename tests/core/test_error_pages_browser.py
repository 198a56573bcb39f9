"""Error pages in Chromium (issue 15 point 9): a newcomer running with DEBUG on opens a wrong merchant or
customer link and sees the product's Spanish page, which fits 1280 and 800 px."""

from __future__ import annotations

from pathlib import Path

import pytest

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SHOTS = Path("/tmp/shots-C2")


PAGES = [
    ("comercio-404", "/app/documentos/999999/no-existe", "Página no encontrada"),
    ("cliente-404", "/documentos/no-es-un-enlace.pdf", "Enlace no válido"),
    ("otra-404", "/no-existe/", "Página no encontrada"),
]


# With DEBUG on, other URLs keep Django's technical page (tests/core/test_error_pages.py).
@pytest.mark.parametrize(
    ("name", "path", "title", "debug"),
    [(*row, False) for row in PAGES] + [(*row, True) for row in PAGES if row[0] != "otra-404"],
)
def test_a_wrong_link_shows_the_spanish_page(sandbox, page, settings, name, path, title, debug):
    settings.DEBUG = debug
    response = page.goto(sandbox(path))
    assert response.status == 404
    assert page.locator("h1").inner_text() == title
    body = page.locator("body").inner_text()
    assert "Error 404" in body
    assert "Page not found" not in body and "URLconf" not in body
    SHOTS.mkdir(exist_ok=True)
    for width in (1280, 800):
        page.set_viewport_size({"width": width, "height": 700})
        scroll, inner = page.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")
        assert scroll <= inner
        page.screenshot(path=str(SHOTS / f"error-{name}-{'debug' if debug else 'prod'}-{width}.png"))
