"""The sandbox pages for people (issue 15 point 12): they fit 1280 and 800 px without horizontal scroll,
speak Spanish (statuses, the "Entregas" box) and show times in Chile's time zone."""

from __future__ import annotations

from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from sandbox.models import Email, Order
from sandbox.openfactura.models import Document as OpenFacturaDocument
from tests import flows

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

CHILE = ZoneInfo("America/Santiago")
SHOTS = Path("/tmp/shots-C2")
WIDTHS = (1280, 800)
ENGLISH = ("Pending Payment", "Paid", "Canceled", "UTC", "+00:00", "pending_payment")


@pytest.fixture
def tienda(sandbox, http, settings):
    """An installed store with one paid order (a demo boleta: webhook delivery, email, OpenFactura
    document) and one canceled order, so every box of the pages has rows."""
    store = flows.installed_store(http, sandbox, settings, "tienda", "Tienda Ñuñoa")
    flows.create_order(http, sandbox, "tienda", flows.example_order("empresa", id=5001))
    flows.pay(http, sandbox, "tienda", 5001)
    flows.create_order(http, sandbox, "tienda", flows.example_order("afecta", id=5002))
    flows.cancel(http, sandbox, "tienda", 5002)
    return store


def _fits(page, name: str, width: int) -> None:
    page.set_viewport_size({"width": width, "height": 900})
    page.wait_for_load_state()
    scroll, inner = page.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")
    SHOTS.mkdir(exist_ok=True)
    page.screenshot(path=str(SHOTS / f"sandbox-{name}-{width}.png"), full_page=True)
    assert scroll <= inner, f"{name} at {width} px scrolls sideways ({scroll} > {inner})"


def test_every_sandbox_page_fits_1280_and_800_px(sandbox, page, tienda):
    email = Email.objects.order_by("-id").first()
    pages = {
        "inicio": "/sandbox/",
        "tienda": "/sandbox/jumpseller/stores/tienda/",
        "pedido": "/sandbox/jumpseller/stores/tienda/orders/5001/",
        "correos": "/sandbox/emails/",
        "correo": f"/sandbox/emails/{email.pk}/",
        "autorizar": "/jumpseller/",  # the App URL redirects to the fake Jumpseller's consent form
    }
    for name, path in pages.items():
        page.goto(sandbox(path))
        if name == "autorizar":
            assert "/sandbox/jumpseller/accounts/oauth/authorize" in page.url
        for width in WIDTHS:
            _fits(page, name, width)


def test_statuses_and_times_are_spanish_and_chilean(sandbox, page, tienda):
    page.goto(sandbox("/sandbox/jumpseller/stores/tienda/"))
    text = page.locator("main").inner_text()
    for english in ENGLISH:
        assert english not in text, english

    rows = page.locator("tr", has=page.locator("a", has_text="#5001"))
    paid = Order.objects.get(store__code="tienda", order_id=5001).created_at.astimezone(CHILE)
    row = rows.first.inner_text()
    assert "Pagado" in row
    assert paid.strftime("%d-%m-%Y") in row and paid.strftime("%H:%M") in row
    assert "Anulado" in page.locator("tr", has=page.locator("a", has_text="#5002")).first.inner_text()

    received = OpenFacturaDocument.objects.order_by("-id").first().received_at.astimezone(CHILE)
    documents = page.locator(".card", has=page.locator("h2", has_text="Documentos recibidos por OpenFactura"))
    assert received.strftime("%d-%m-%Y %H:%M:%S") in documents.inner_text()

    # The store's own demo email is listed with the store (a new install is in demo mode).
    emails = page.locator(".card", has=page.locator("h2", has_text="Correos de esta tienda"))
    assert "contacto@tienda.example.cl" in emails.inner_text()


def test_a_new_order_is_announced_in_spanish(sandbox, page, tienda):
    page.goto(sandbox("/sandbox/jumpseller/stores/tienda/"))
    page.locator("form:has(input[value=afecta]) button").click()
    message = page.locator(".messages").inner_text()
    assert "creado (Pendiente de pago)" in message
    assert "Pending" not in message


@pytest.mark.parametrize(
    "path", ["/sandbox/jumpseller/stores/tienda/", "/sandbox/jumpseller/stores/tienda/orders/5001/"]
)
def test_the_deliveries_box_has_a_spanish_label(sandbox, page, tienda, path):
    page.goto(sandbox(path))
    box = page.get_by_label("Entregas", exact=True).first
    assert box.get_attribute("name") == "deliveries"
    assert box.is_visible()
