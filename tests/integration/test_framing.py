"""Who may frame the merchant pages, and what one click inside a frame cannot do (issue 14, fix 7).

``frame-ancestors`` names only the admin origin(s) of the session's own store, computed per request from
``JUMPSELLER_ADMIN_ORIGINS`` (``{store}`` = the store's code); without a store (pages that hold nothing)
any Jumpseller admin. The destructive actions (Desconectar, nota de crédito total and parcial, pausar la
cola) also need the store's code typed into ``confirmacion``; without it nothing happens.
"""

from __future__ import annotations

import pytest
import responses
from django.test import Client

from emission import services as emission_services
from emission.models import EmissionSettings
from integration.models import Store, StoreHook
from merchant.models import AuditEntry
from tests.merchant.conftest import csrf_token, make_document

from .conftest import API, make_store, merchant_client

pytestmark = pytest.mark.django_db

CSP_A = "frame-ancestors 'self' https://tienda-a.jumpseller.com https://jumpseller.com"
CONFIRM = "Para confirmar, escribe el código de tu tienda (tienda-a) en el campo de confirmación."


@pytest.fixture
def store_a():
    return make_store(code="tienda-a", name="Tienda A")


@pytest.fixture
def store_b():
    return make_store(code="tienda-b", name="Tienda B")


@pytest.fixture
def merchant_a(store_a):
    return merchant_client(store_a)


@pytest.fixture
def publish(monkeypatch) -> list[tuple]:
    calls: list[tuple] = []
    monkeypatch.setattr("core.queue.publish", lambda name, *args, **kw: calls.append((name, *args)))
    return calls


# --- frame-ancestors ---------------------------------------------------------------------------------
def test_merchant_pages_may_be_framed_only_by_the_session_stores_admin(merchant_a, store_a, store_b):
    document = make_document(store_a, state="emitted", token="t", folio=1, pdf=b"%PDF-1.4")
    for url in (
        "/jumpseller/app/",
        "/jumpseller/app/desconectar",
        "/jumpseller/app/notificaciones/",
        "/app/",
        "/app/configuracion/",
        "/app/cola/",
        f"/app/documentos/{document.pk}/",
        f"/app/documentos/{document.pk}/pdf",  # framed by the app's own page inside the admin: 'self'
    ):
        response = merchant_a.get(url)
        assert response.status_code == 200, url
        assert response["Content-Security-Policy"] == CSP_A, url
        assert "X-Frame-Options" not in response, url
    # Another store's storefront (its merchant writes its theme's HTML) is not an ancestor any more.
    assert "tienda-b" not in CSP_A and "*" not in CSP_A
    assert merchant_client(store_b).get("/app/")["Content-Security-Policy"] == (
        "frame-ancestors 'self' https://tienda-b.jumpseller.com https://jumpseller.com"
    )


def test_without_a_store_only_jumpseller_admins_may_frame_the_pages_that_hold_nothing():
    """The install and error pages (no session, no data, no action) must show inside the admin, whichever
    store's: a merchant whose browser blocks the iframe's cookies reads there how to continue."""
    response = Client().get("/jumpseller/callback", {"error": "access_denied", "state": "x"})
    assert response["Content-Security-Policy"] == (
        "frame-ancestors 'self' https://*.jumpseller.com https://jumpseller.com"
    )
    assert "X-Frame-Options" not in response


def test_the_admin_origins_setting_is_a_per_store_template(settings, merchant_a):
    settings.JUMPSELLER_ADMIN_ORIGINS = ["https://{store}.jumpseller.cl", "https://admin.example:8443"]
    assert merchant_a.get("/app/")["Content-Security-Policy"] == (
        "frame-ancestors 'self' https://tienda-a.jumpseller.cl https://admin.example:8443"
    )
    # An entry that would smuggle a directive into the header is dropped.
    settings.JUMPSELLER_ADMIN_ORIGINS = ["https://{store}.jumpseller.com; script-src *", "https://ok.example"]
    assert merchant_a.get("/app/")["Content-Security-Policy"] == "frame-ancestors 'self' https://ok.example"


def test_a_store_code_that_is_not_a_hostname_label_frames_nothing():
    odd = make_store(code="tienda a; script-src *")
    response = merchant_client(odd).get("/app/")
    assert response["Content-Security-Policy"] == "frame-ancestors 'none'"
    assert response["X-Frame-Options"] == "DENY"


# --- typed confirmation of the destructive actions -------------------------------------------------
@responses.activate
def test_desconectar_needs_the_store_code_typed(merchant_a, store_a):
    StoreHook.objects.create(store=store_a, event="order_paid", url="https://x/", hook_id=11)
    deleted = responses.delete(f"{API}/hooks/11.json", json="Hook deleted.")
    page = merchant_a.get("/jumpseller/app/desconectar")
    text = page.content.decode()
    assert 'name="confirmacion"' in text and "Para desconectar, escribe el código de tu tienda" in text
    token = csrf_token(page)

    for typed in (None, "", "Sí", "tienda-b"):
        data = {"csrfmiddlewaretoken": token} | ({} if typed is None else {"confirmacion": typed})
        response = merchant_a.post("/jumpseller/app/desconectar", data, follow=True)
        assert response.redirect_chain == [("/jumpseller/app/desconectar", 302)], typed
        assert CONFIRM in response.content.decode()
        store_a.refresh_from_db()
        assert store_a.status == Store.Status.CONNECTED and store_a.access_token
        assert deleted.call_count == 0 and StoreHook.objects.count() == 1

    done = merchant_a.post(
        "/jumpseller/app/desconectar", {"csrfmiddlewaretoken": token, "confirmacion": " Tienda-A "}
    )
    assert done.status_code == 200 and "Aplicación desconectada" in done.content.decode()
    # The goodbye page is still shown inside the store's admin although the session has ended.
    assert done["Content-Security-Policy"] == CSP_A
    store_a.refresh_from_db()
    assert store_a.status == Store.Status.UNINSTALLED and deleted.call_count == 1


def test_pausar_needs_the_store_code_typed_and_reanudar_does_not(merchant_a, store_a, publish):
    page = merchant_a.get("/app/cola/")
    assert "Para pausar, escribe el código de tu tienda" in page.content.decode()
    token = csrf_token(page)

    response = merchant_a.post("/app/cola/", {"csrfmiddlewaretoken": token, "accion": "pausar"}, follow=True)
    assert CONFIRM in response.content.decode()
    assert not emission_services.emission_settings_for(store_id=store_a.pk).queue_paused
    assert not AuditEntry.objects.exists()

    response = merchant_a.post(
        "/app/cola/",
        {"csrfmiddlewaretoken": token, "accion": "pausar", "confirmacion": "tienda-a"},
        follow=True,
    )
    assert "Cola pausada" in response.content.decode()
    assert EmissionSettings.objects.get(store=store_a).queue_paused

    response = merchant_a.post(
        "/app/cola/", {"csrfmiddlewaretoken": token, "accion": "reanudar"}, follow=True
    )
    assert "Cola reanudada" in response.content.decode()
    assert not EmissionSettings.objects.get(store=store_a).queue_paused


# --- in a real browser -------------------------------------------------------------------------------
APP = "https://app.openfactura.test"
FRAMING_PAGE = f'<!doctype html><title>Admin</title><iframe id="app" src="{APP}/app/cola/"></iframe>'


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_chromium_shows_the_app_in_the_stores_admin_and_not_in_another_storefront(page, live_server):
    """Jumpseller's hosts and the app's are served by Playwright routes (the app's from the live server),
    so Chromium itself applies frame-ancestors to real origins."""
    from importlib import import_module

    from django.conf import settings

    store = make_store(code="tienda-a", name="Tienda A")
    session = import_module(settings.SESSION_ENGINE).SessionStore()
    session.update({"store_id": store.pk, "store_code": store.code})
    session.save()

    def app(route):
        path = route.request.url.removeprefix(APP)
        headers = {**route.request.headers, "cookie": f"{settings.SESSION_COOKIE_NAME}={session.session_key}"}
        route.fulfill(response=route.fetch(url=live_server.url + path, headers=headers, max_redirects=0))

    def jumpseller(route):
        route.fulfill(body=FRAMING_PAGE, content_type="text/html")

    page.context.route(f"{APP}/**", app)
    page.context.route("https://*.jumpseller.com/**", jumpseller)
    refused: list[str] = []
    page.on(
        "console", lambda message: refused.append(message.text) if "frame-ancestors" in message.text else None
    )

    page.goto("https://tienda-a.jumpseller.com/admin/cl/apps")
    app_frame = page.frame_locator("#app")
    app_frame.get_by_role("heading", name="Cola de emisión").wait_for()
    assert refused == []

    page.goto("https://tienda-b.jumpseller.com/")
    page.wait_for_load_state("load")
    page.wait_for_timeout(300)
    assert refused and "frame-ancestors" in refused[0]
    assert page.frame_locator("#app").get_by_role("heading", name="Cola de emisión").count() == 0
