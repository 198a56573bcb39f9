"""Error pages 400/403/404/410/429/500 (issue 15 point 9): Spanish, in the layout of the URL's audience,
with DEBUG off and, for merchant and customer URLs, with DEBUG on too; never a trace or internal detail."""

from __future__ import annotations

import pytest
from django.test import Client, override_settings

from core.errors import CSRF_TEXT, CUSTOMER_TEXTS, TEXTS
from tests.core.error_urls import SECRET

pytestmark = [pytest.mark.django_db, pytest.mark.urls("tests.core.error_urls")]

STATUSES = [400, 403, 404, 410, 429, 500]
# What tells the three layouts apart.
MERCHANT_NAV = 'aria-label="Secciones"'
CUSTOMER_HEADER = '<div class="store">Documento tributario</div>'
NEUTRAL_HEADER = '<header class="top"><span class="brand">OpenFactura para Jumpseller</span></header>'
AREAS = {
    "/app/prueba-error/{}/": ("merchant", MERCHANT_NAV),
    "/jumpseller/app/prueba-error/{}/": ("merchant", MERCHANT_NAV),
    "/documento/prueba-error/{}/": ("customer", CUSTOMER_HEADER),
    "/prueba-error/{}/": ("other", NEUTRAL_HEADER),
}
LEAKS = [SECRET, "Traceback", "RuntimeError", "Http404", "PermissionDenied", "BadRequest", "DEBUG", "Django"]


def _client() -> Client:
    return Client(raise_request_exception=False)


def _title(status: int, area: str) -> str:
    if area == "customer" and status in CUSTOMER_TEXTS:
        return CUSTOMER_TEXTS[status].title
    return TEXTS[status].title


def _assert_product_page(response, status: int, area: str, marker: str) -> None:
    html = response.content.decode()
    assert response.status_code == status
    assert response["Content-Type"].startswith("text/html")
    assert '<html lang="es-CL">' in html
    assert f'<h1 style="margin:4px 0 8px">{_title(status, area)}</h1>' in html
    assert f"Error {status}" in html
    assert marker in html
    for other_marker in {MERCHANT_NAV, CUSTOMER_HEADER, NEUTRAL_HEADER} - {marker}:
        assert other_marker not in html
    for leak in LEAKS:
        assert leak not in html, leak


@pytest.mark.parametrize("status", STATUSES)
@pytest.mark.parametrize("url", list(AREAS))
@override_settings(DEBUG=False)
def test_error_page_in_the_layout_of_the_url(url, status):
    area, marker = AREAS[url]
    _assert_product_page(_client().get(url.format(status)), status, area, marker)


@pytest.mark.parametrize("status", STATUSES)
@pytest.mark.parametrize("url", [u for u in AREAS if AREAS[u][0] != "other"])
@override_settings(DEBUG=True)
def test_debug_shows_the_same_pages_on_merchant_and_customer_urls(url, status):
    area, marker = AREAS[url]
    _assert_product_page(_client().get(url.format(status)), status, area, marker)


UNKNOWN_URLS = [
    ("/app/no-existe/", "merchant", MERCHANT_NAV),
    ("/jumpseller/app/no-existe/", "merchant", MERCHANT_NAV),
    ("/documentos/no-existe.txt", "customer", CUSTOMER_HEADER),
    ("/no-existe/", "other", NEUTRAL_HEADER),
]


@pytest.mark.parametrize(
    ("url", "area", "marker", "debug"),
    [(*row, False) for row in UNKNOWN_URLS] + [(*row, True) for row in UNKNOWN_URLS if row[1] != "other"],
)
def test_unknown_urls_get_the_404_page(url, area, marker, debug):
    with override_settings(DEBUG=debug):
        _assert_product_page(_client().get(url), 404, area, marker)


@override_settings(DEBUG=True)
def test_debug_keeps_the_technical_pages_for_developer_urls():
    """The sandbox, OAuth and the rest are read only by developers: Django's pages help them there."""
    response = _client().get("/prueba-error/500/")
    assert response.status_code == 500
    assert SECRET in response.content.decode()
    assert "Algo salió mal" not in response.content.decode()


@pytest.mark.parametrize("debug", [False, True])
def test_merchant_error_page_can_be_framed_by_the_admin(debug):
    with override_settings(DEBUG=debug, JUMPSELLER_ADMIN_ORIGINS=["https://{store}.jumpseller.com"]):
        response = _client().get("/app/prueba-error/404/")
    assert response["Content-Security-Policy"] == "frame-ancestors 'self' https://*.jumpseller.com"
    assert "X-Frame-Options" not in response
    customer = _client().get("/documento/prueba-error/404/")
    assert customer["X-Frame-Options"] == "DENY"
    assert "Content-Security-Policy" not in customer


@pytest.mark.parametrize(
    ("url", "area", "marker"),
    [
        ("/app/configuracion/", "merchant", MERCHANT_NAV),
        ("/documento/prueba-error/404/", "customer", CUSTOMER_HEADER),
        ("/jumpseller/callback", "other", NEUTRAL_HEADER),
    ],
)
@pytest.mark.parametrize("debug", [False, True])
def test_csrf_failure_is_the_spanish_403(url, area, marker, debug):
    with override_settings(DEBUG=debug):
        response = Client(enforce_csrf_checks=True).post(url, {"x": "1"})
    html = response.content.decode()
    assert response.status_code == 403
    assert f">{CSRF_TEXT.title}</h1>" in html
    assert marker in html
    assert "CSRF" not in html and "Forbidden" not in html
    assert ("«Abrir en una pestaña nueva»" in html) == (area == "merchant")
