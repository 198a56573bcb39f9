"""Issue 15.11 in Chromium: the merchant pages inside a cross-site admin frame with third-party cookies
blocked — install (the OAuth round trip in a top-level window, never in the frame), configure, open a
document, issue a nota de crédito.

The app is the live server on ``http://localhost:PORT``; the "admin" is a page on ``http://127.0.0.1:PORT2``
(another site) that frames the App URL. Chromium runs on a profile whose preferences block third-party
cookies, and the test first proves it: a ``SameSite=None; Secure`` cookie that the app's site keeps at the
top level is not sent inside the frame. Screenshots of the framed pages go to ``/tmp/shots-D``.
"""

from __future__ import annotations

import json
import os
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from emission.models import Document, EmissionSettings
from integration.models import Store
from tests import flows
from tests.conftest import CHROMIUM, CHROMIUM_ARGS

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SHOTS = os.environ.get("EMBEDDED_SCREENSHOTS", "/tmp/shots-D")
CODE = "tienda-marco"


class _Admin(BaseHTTPRequestHandler):
    """The admin page (frames ``?src=``) and the cookie probe (``/set`` sets, ``/read`` echoes)."""

    def log_message(self, *args):
        pass

    def _html(self, body: str, *headers: tuple[str, str]) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        for name, value in headers:
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(body.encode())

    def do_GET(self):
        if self.path.startswith("/set"):
            self._html("<title>set</title>", ("Set-Cookie", "probe=1; SameSite=None; Secure; Path=/"))
        elif self.path.startswith("/read"):
            cookie = self.headers.get("Cookie") or "ninguna"
            self._html(f"<title>{cookie}</title><p id='cookie'>{cookie}</p>")
        else:
            src = self.path.split("src=", 1)[-1]
            self._html(
                "<!doctype html><title>Panel de Jumpseller (simulado)</title>"
                "<body style='margin:0;font-family:sans-serif;overflow:hidden'>"
                "<div style='background:#222;color:#fff;padding:10px 16px'>"
                "Panel de Jumpseller · Aplicaciones</div>"
                f"<iframe id='app' src='{src}' style='border:0;width:100%;height:calc(100vh - 42px)'>"
                "</iframe></body>"
            )


@pytest.fixture
def admin_server():
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Admin)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server.server_port
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture
def blocking_context(browser, tmp_path):
    """A persistent Chromium profile whose preferences block third-party cookies (the user's setting)."""
    profile = tmp_path / "profile"
    (profile / "Default").mkdir(parents=True)
    preferences = {"profile": {"cookie_controls_mode": 1, "block_third_party_cookies": True}}
    (profile / "Default" / "Preferences").write_text(json.dumps(preferences))
    context = browser.browser_type.launch_persistent_context(
        str(profile),
        executable_path=CHROMIUM,
        args=CHROMIUM_ARGS,
        headless=True,
        locale="es-CL",
        viewport={"width": 1280, "height": 900},
    )
    try:
        yield context
    finally:
        context.close()


def _frame(page, path_part: str, timeout: float = 15.0):
    """The app's frame once it shows a URL containing ``path_part``."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for frame in page.frames:
            if frame is not page.main_frame and path_part in frame.url:
                frame.wait_for_load_state()
                return frame
        page.wait_for_timeout(100)
    pytest.fail(f"the frame never showed {path_part}: {[f.url for f in page.frames]}")


def _shoot(page, name: str) -> None:
    os.makedirs(SHOTS, exist_ok=True)
    for frame in page.frames:
        frame.evaluate("window.scrollTo(0, 0)")
    for width in (1280, 800):
        page.set_viewport_size({"width": width, "height": 1000})
        page.wait_for_timeout(100)
        page.screenshot(path=f"{SHOTS}/{name}-{width}.png")
    page.set_viewport_size({"width": 1280, "height": 900})


def test_install_configure_and_issue_a_nota_inside_a_cross_site_frame_without_third_party_cookies(
    blocking_context, admin_server, sandbox, http, settings
):
    settings.SANDBOX_OPENFACTURA_RATE_LIMIT = "off"
    settings.JUMPSELLER_EVENT_HANDLERS = {  # the product's own (this package's conftest clears them)
        "order_paid": "emission.services.order_paid_received",
        "order_canceled": "emission.services.order_canceled_received",
    }
    admin = f"http://127.0.0.1:{admin_server}"
    probe = f"http://localhost:{admin_server}"  # the app's site (cookies ignore ports)
    assert sandbox.url.startswith("http://localhost:")
    settings.JUMPSELLER_ADMIN_ORIGINS = [admin]
    page = blocking_context.new_page()

    # The setup really blocks third-party cookies: the app's site keeps a SameSite=None; Secure cookie at
    # the top level, and Chromium does not send it inside the admin's frame.
    page.goto(f"{probe}/set")
    page.goto(f"{probe}/read")
    assert "probe=1" in page.title()
    page.goto(f"{admin}/?src={probe}/read")
    assert _frame(page, "/read").title() == "ninguna"

    created = http.post(sandbox("/sandbox/jumpseller/stores"), json={"code": CODE, "name": "Tienda Marco"})
    assert created.status_code == 201
    frame_urls: list[str] = []
    page.on("framenavigated", lambda f: frame_urls.append(f.url) if f is not page.main_frame else None)
    frame_requests: list = []
    page.on("request", lambda r: frame_requests.append(r) if r.frame.parent_frame is not None else None)

    # 1. Install: the App URL in the frame offers the connection; the OAuth runs in a top-level window.
    page.goto(f"{admin}/?src={sandbox('/jumpseller/')}")
    app = _frame(page, "/jumpseller/")
    app.get_by_role("heading", name="Conecta OpenFactura con tu tienda").wait_for()
    _shoot(page, "1-conectar")
    with page.expect_popup() as opened:
        app.get_by_role("link", name="Continuar con Jumpseller").click()
    window = opened.value
    window_requests: list = []
    window.on("request", lambda r: window_requests.append(r))
    window.wait_for_url("**/sandbox/jumpseller/accounts/oauth/authorize**")
    window.get_by_label("Tienda (código)").fill(CODE)
    window.get_by_role("button", name="Autorizar").click()
    window.get_by_role("heading", name="Tu tienda «Tienda Marco» quedó conectada").wait_for()
    window.screenshot(path=f"{SHOTS}/2-ventana-conectada.png")
    # The window's session cookie is first-party: sent (and Playwright shows request cookies).
    callback = [r for r in window_requests if "/jumpseller/callback" in r.url]
    assert "of_session=" in callback[0].all_headers()["cookie"]
    window.wait_for_event("close")  # it closes itself: the merchant is back in the admin

    app = _frame(page, "/app/primeros-pasos/")
    app.get_by_role("heading", name="Primeros pasos").wait_for()
    store = Store.objects.get(code=CODE)
    assert store.status == Store.Status.CONNECTED
    from integration.models import EmbeddedHandoff

    assert EmbeddedHandoff.objects.get().claimed_at is not None
    assert not [url for url in frame_urls if "/oauth/authorize" in url or "/jumpseller/callback" in url]
    _shoot(page, "3-primeros-pasos")

    # 2. Configure: the Configuración form saves inside the frame (CSRF and messages without cookies).
    app.locator("nav.merchant-menu").get_by_role("link", name="Configuración").click()
    app = _frame(page, "/app/configuracion/")
    app.get_by_label("Enviarme una copia de cada correo").check()
    app.get_by_label("Mi correo para la copia").fill("marco@tienda.example.cl")
    app.get_by_role("button", name="Guardar cambios").click()
    app.locator(".messages li.success").wait_for()
    cfg = EmissionSettings.objects.get(store=store)
    assert (cfg.email_copy_merchant, cfg.merchant_email) == (True, "marco@tienda.example.cl")
    _shoot(page, "4-configuracion")

    # 3. Open a document: a paid order's boleta, from the Documentos list.
    flows.create_order(http, sandbox, CODE, flows.example_order("afecta", id=8801))
    flows.pay(http, sandbox, CODE, 8801)
    boleta = Document.objects.get(store=store, order_id=8801, kind="boleta")
    assert boleta.state == "emitted"
    app.locator("nav.merchant-menu").get_by_role("link", name="Documentos").click()
    app = _frame(page, "/app/documentos/")
    app.locator("tbody tr").first.get_by_role("link").first.click()
    app = _frame(page, f"/app/documentos/{boleta.pk}/")
    app.get_by_role("button", name="Emitir nota de crédito total…").wait_for()
    _shoot(page, "5-documento")

    # 4. Issue the nota de crédito total, through its confirmation step.
    app.get_by_role("button", name="Emitir nota de crédito total…").click()
    confirm = app.get_by_role("button", name="Confirmar y emitir la nota de crédito")
    confirm.wait_for()
    app.get_by_label("escribe el código de tu tienda").fill(CODE)
    _shoot(page, "6-confirmar-nota")
    confirm.click()
    app.locator(".messages li.success").wait_for()
    nota = Document.objects.get(store=store, order_id=8801, kind="nota_credito")
    assert nota.state == "emitted"
    assert f"N° {nota.folio}" in app.locator(".messages").inner_text()
    _shoot(page, "7-nota-emitida")

    # Nothing of this rode on a cookie: the top-level window has its session cookie, the frame never sent it.
    assert [c for c in blocking_context.cookies(sandbox.url) if c["name"] == settings.SESSION_COOKIE_NAME]
    app_requests = [r for r in frame_requests if r.url.startswith(sandbox.url)]
    assert len(app_requests) > 10
    assert not [r.url for r in app_requests if "of_session=" in (r.all_headers().get("cookie") or "")]
