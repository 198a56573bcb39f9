"""A tab left open for store A cannot write into store B (issue 14, fix 6).

One browser installs A, keeps a page of A open, installs B, then submits A's page. The login rotated the
session key and the CSRF token, and every merchant form carries the hidden ``store`` field, which
``StoreBindingMiddleware`` compares with the session's store before CSRF and before the view: a 409 page
in Spanish, nothing saved, nothing sent.
"""

from __future__ import annotations

import re
import time
from html.parser import HTMLParser
from urllib.parse import parse_qs, urlsplit

import pytest
import responses
from django.test import Client
from django.urls import URLPattern, get_resolver

from emission import services as emission_services
from emission.models import Document, EmissionSettings
from integration.decorators import MERCHANT_VIEW
from integration.models import Store
from merchant.models import AuditEntry
from tests.integration.conftest import fixture_json

from .conftest import ACCOUNTS, API, OF_DEMO, OF_PROD, make_document

pytestmark = pytest.mark.django_db

STALE = "Esta página era de otra tienda"
NOTHING = "no se guardó ni se envió nada"
KEY = "f3a9c0d1e2b34a5f8899aabbccdd7e41"


class Forms(HTMLParser):
    """The POST forms of a page: action and what the browser would submit (checked boxes only)."""

    def __init__(self, html: str) -> None:
        super().__init__()
        self.forms: list[dict] = []
        self.feed(html)

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "form":
            self.forms.append(
                {"method": (attrs.get("method") or "get").lower(), "action": attrs.get("action"), "data": {}}
            )
        elif tag == "input" and self.forms and attrs.get("name"):
            checkable = attrs.get("type") in ("checkbox", "radio")
            if checkable and "checked" not in attrs:
                return
            self.forms[-1]["data"][attrs["name"]] = attrs.get("value") or ("on" if checkable else "")

    def post_forms(self) -> list[dict]:
        return [f for f in self.forms if f["method"] == "post"]


def post_form(response, index: int = 0) -> dict:
    return Forms(response.content.decode()).post_forms()[index]


def install(client: Client, code: str, name: str) -> Store:
    """The OAuth round trip for store ``code`` in this browser (Jumpseller faked with ``responses``)."""
    location = "/jumpseller/install"  # "Reconectar", or the App URL without a session
    while not location.startswith(ACCOUNTS):  # the app's own redirects (a cookie check) until Jumpseller
        location = client.get(location)["Location"]
    state = parse_qs(urlsplit(location).query)["state"][0]
    responses.upsert(
        responses.POST,
        f"{ACCOUNTS}/oauth/token",
        json={
            "access_token": f"access-{code}",
            "token_type": "bearer",
            "expires_in": 3600,
            "refresh_token": f"refresh-{code}",
            "created_at": int(time.time()),
        },
    )
    info = fixture_json("store_info__wrapped")
    info["store"].update(code=code, name=name, url=f"https://{code}.jumpseller.com")
    responses.upsert(responses.GET, f"{API}/store/info.json", json=info)
    responses.upsert(responses.GET, f"{API}/hooks.json", json=[])
    responses.upsert(responses.POST, f"{API}/hooks.json", json={"hook": {"id": 1, "event": "order_paid"}})
    done = client.get("/jumpseller/callback", {"code": f"code-{code}", "state": state})
    assert done.status_code == 302 and done["Location"] == "/app/primeros-pasos/"
    return Store.objects.get(code=code)


def openfactura_calls() -> list[str]:
    return [c.request.url for c in responses.calls if c.request.url.startswith((OF_PROD, OF_DEMO))]


@pytest.fixture
def enqueued(monkeypatch) -> list[tuple]:
    calls: list[tuple] = []
    monkeypatch.setattr("core.queue.publish", lambda name, *args, **kw: calls.append((name, *args)))
    return calls


@responses.activate
def test_logging_in_rotates_the_csrf_token_and_the_session_key():
    browser = Client(enforce_csrf_checks=True)
    install(browser, "tienda-a", "Tienda A")
    browser.get("/app/configuracion/")
    token_a, session_a = browser.cookies["csrftoken"].value, browser.cookies["of_session"].value

    install(browser, "tienda-b", "Tienda B")
    token_b, session_b = browser.cookies["csrftoken"].value, browser.cookies["of_session"].value
    assert token_b != token_a and session_b != session_a

    install(browser, "tienda-b", "Tienda B")  # Reconectar the same store: a new token too
    assert browser.cookies["csrftoken"].value not in (token_a, token_b)
    assert browser.cookies["of_session"].value not in (session_a, session_b)


@responses.activate
def test_a_stale_configuration_tab_does_not_save_its_api_key_into_the_other_store():
    browser = Client(enforce_csrf_checks=True)
    store_a = install(browser, "tienda-a", "Tienda A")
    stale = post_form(browser.get("/app/configuracion/"))
    assert stale["data"]["store"] == "tienda-a"
    stale["data"].update(api_key=KEY, mode="1")
    stale["data"].pop("demo_mode", None)

    store_b = install(browser, "tienda-b", "Tienda B")
    response = browser.post("/app/configuracion/", stale["data"])

    assert response.status_code == 409
    text = response.content.decode()
    assert STALE in text and "«tienda-a»" in text and "«Tienda B»" in text and NOTHING in text
    assert response["Content-Security-Policy"] == (
        "frame-ancestors 'self' https://tienda-b.jumpseller.com https://jumpseller.com"
    )
    for store in (store_a, store_b):
        cfg = emission_services.emission_settings_for(store_id=store.pk)
        assert (cfg.api_key, cfg.mode, cfg.demo_mode) == ("", 2, True)
    assert openfactura_calls() == []
    assert not AuditEntry.objects.exists()

    # Refused on the store field itself, not only because the login killed the old CSRF token: the same
    # form with B's live token is refused too, and so is one without the field.
    fresh = post_form(browser.get("/app/configuracion/"))
    forged = {**stale["data"], "csrfmiddlewaretoken": fresh["data"]["csrfmiddlewaretoken"]}
    assert browser.post("/app/configuracion/", forged).status_code == 409
    missing = {k: v for k, v in forged.items() if k != "store"}
    response = browser.post("/app/configuracion/", missing)
    assert response.status_code == 409 and "Recarga la página" in response.content.decode()
    assert emission_services.emission_settings_for(store_id=store_b.pk).api_key == ""

    # B's own page still saves.
    response = browser.post("/app/configuracion/", {**fresh["data"], "mode": "3"})
    assert response.status_code == 302, response.content.decode()
    assert emission_services.emission_settings_for(store_id=store_b.pk).mode == 3
    assert emission_services.emission_settings_for(store_id=store_a.pk).mode == 2


@responses.activate
def test_a_stale_queue_tab_neither_pauses_nor_resumes_the_other_store(enqueued):
    browser = Client(enforce_csrf_checks=True)
    store_a = install(browser, "tienda-a", "Tienda A")
    pause_a = post_form(browser.get("/app/cola/"))
    assert pause_a["data"]["accion"] == "pausar"
    emission_services.queue_pause(store_id=store_a.pk, reason="Inventario")
    resume_a = post_form(browser.get("/app/cola/"))
    assert resume_a["data"]["accion"] == "reanudar"
    emission_services.queue_resume(store_id=store_a.pk)

    store_b = install(browser, "tienda-b", "Tienda B")
    response = browser.post("/app/cola/", {**pause_a["data"], "confirmacion": "tienda-a"})
    assert response.status_code == 409 and STALE in response.content.decode()
    assert not emission_services.emission_settings_for(store_id=store_b.pk).queue_paused

    emission_services.queue_pause(store_id=store_b.pk, reason="Revisando precios")
    response = browser.post("/app/cola/", resume_a["data"])
    assert response.status_code == 409 and STALE in response.content.decode()
    cfg_b = EmissionSettings.objects.get(store=store_b)
    assert cfg_b.queue_paused and cfg_b.queue_paused_reason == "Revisando precios"
    assert not EmissionSettings.objects.get(store=store_a).queue_paused
    assert not AuditEntry.objects.exists() and enqueued == []


@responses.activate
def test_stale_document_actions_do_nothing_in_the_other_store(enqueued):
    browser = Client(enforce_csrf_checks=True)
    store_a = install(browser, "tienda-a", "Tienda A")
    document = make_document(store_a, state="requires_review", error_message="RUT inválido")
    retry = post_form(browser.get(f"/app/documentos/{document.pk}/"))
    assert retry["action"] == f"/app/documentos/{document.pk}/reintentar"
    emit_order = post_form(browser.get("/app/documentos/"))
    assert emit_order["action"] == "/app/documentos/emitir-orden"

    install(browser, "tienda-b", "Tienda B")
    response = browser.post(retry["action"], retry["data"])
    assert response.status_code == 409 and STALE in response.content.decode()
    response = browser.post(emit_order["action"], {**emit_order["data"], "order_id": "7001"})
    assert response.status_code == 409 and STALE in response.content.decode()

    document.refresh_from_db()
    assert (document.state, document.error_message) == ("requires_review", "RUT inválido")
    assert Document.objects.count() == 1
    assert enqueued == [] and not AuditEntry.objects.exists()


def _merchant_routes() -> list[tuple[str, object]]:
    routes = []
    for prefix, urlconf, under in (
        ("/app/", "merchant.urls", ""),
        ("/jumpseller/", "integration.urls", "app/"),
    ):
        for pattern in get_resolver(urlconf).url_patterns:
            assert isinstance(pattern, URLPattern)
            if str(pattern.pattern).startswith(under):
                routes.append((prefix + str(pattern.pattern), pattern.callback))
    return routes


def test_every_merchant_view_is_store_bound():
    routes = _merchant_routes()
    assert len(routes) >= 18
    unbound = [route for route, view in routes if not getattr(view, MERCHANT_VIEW, False)]
    assert unbound == []


def test_every_merchant_post_without_the_store_field_is_refused_and_changes_nothing(store, enqueued):
    from tests.integration.conftest import merchant_client

    from .conftest import csrf_token

    document = make_document(store, state="emitted", token="tok", folio=4521, mnt_total=1190)
    browser = merchant_client(store)
    token = csrf_token(browser.get("/app/documentos/"))
    before = list(Document.objects.order_by("pk").values())
    for route, _view in _merchant_routes():
        url = re.sub(r"<int:\w+>", "1", route.replace("<int:pk>", str(document.pk)))
        data = {"csrfmiddlewaretoken": token, "confirmacion": store.code, "accion": "pausar"}
        response = Client.post(browser, url, data)  # the plain post: no store field added
        assert response.status_code == 409, url
        assert "Recarga la página" in response.content.decode()
    assert list(Document.objects.order_by("pk").values()) == before
    assert Store.objects.get().status == Store.Status.CONNECTED
    assert not EmissionSettings.objects.filter(queue_paused=True).exists()
    assert enqueued == [] and not AuditEntry.objects.exists()


def test_every_post_form_of_the_merchant_pages_names_its_store(store):
    from tests.integration.conftest import merchant_client

    EmissionSettings.objects.create(
        store=store, organization={"rut": "76430498-5", "razonSocial": "HOSTY SPA", "actividades": []}
    )
    emitted = make_document(store, state="emitted", token="tok", folio=1, mnt_total=1190)
    failed = make_document(store, state="requires_review")
    browser = merchant_client(store)
    pages = [
        "/app/configuracion/",
        "/app/emisor/",
        "/app/cola/",
        "/app/documentos/",
        f"/app/documentos/{emitted.pk}/",
        f"/app/documentos/{failed.pk}/",
        "/jumpseller/app/desconectar",
    ]
    emission_services.queue_pause(store_id=store.pk, reason="x")
    pages.append("/app/cola/")  # the Reanudar form
    seen = 0
    for url in pages:
        response = browser.get(url)
        assert response.status_code == 200, url
        for form in Forms(response.content.decode()).post_forms():
            assert form["data"].get("store") == store.code, (url, form["action"])
            seen += 1
    assert seen >= 12
