"""The embedded session token of the admin's iframe without third-party cookies (issue 15.11).

Every client here drops the cookies the app sets, as Chromium does inside a cross-site frame when
third-party cookies are blocked: the page's ``of_sesion`` token is all that carries the session.
"""

from __future__ import annotations

import json
import re
import time
from importlib import import_module
from urllib.parse import parse_qs, urlsplit

import pytest
import responses
from django.conf import settings
from django.test import Client

from core.fields import fernet
from core.redaction import redact_capabilities
from emission.models import EmissionSettings
from integration.decorators import EMBEDDED_TOKEN_MAX_AGE, embedded_session_start, merchant_login
from integration.models import EmbeddedHandoff, OAuthState

from .conftest import make_store
from .test_install import fake_jumpseller

pytestmark = pytest.mark.django_db

# A navigation inside the frame, started by the app's own page (a link, a form, a redirect).
IN_FRAME = {"HTTP_SEC_FETCH_DEST": "iframe", "HTTP_SEC_FETCH_SITE": "same-origin"}


class CookielessFrame(Client):
    """A browser inside the admin's frame with third-party cookies blocked: it keeps no cookie."""

    def request(self, **request):
        request = {**IN_FRAME, **request}
        response = super().request(**request)
        self.cookies.clear()
        return response


def _token(response) -> str:
    return re.search(r'name="of_sesion" value="([^"]+)"', response.content.decode())[1]


def _csrf(response) -> str:
    return re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', response.content.decode())[1]


def _seal(payload: dict, *, age: int = 0) -> str:
    data = json.dumps(payload).encode()
    return fernet().encrypt_at_time(data, int(time.time()) - age).decode()


def _session_key(store) -> str:
    session = import_module(settings.SESSION_ENGINE).SessionStore()
    session.update({"store_id": store.pk, "store_code": store.code})
    session.save()
    return session.session_key


@pytest.fixture
def store_a():
    return make_store(code="tienda-a", name="Tienda A")


@pytest.fixture
def store_b():
    return make_store(code="tienda-b", name="Tienda B")


def test_without_cookies_the_token_carries_the_session_its_csrf_and_its_messages(store_a):
    frame = CookielessFrame(enforce_csrf_checks=True)
    token = embedded_session_start(store_a)
    # Without the token the frame has no session: back to the App URL.
    assert frame.get("/app/configuracion/")["Location"] == "/jumpseller/"

    page = frame.get("/app/configuracion/", {"of_sesion": token})
    assert page.status_code == 200 and "Tienda A" in page.content.decode()
    assert "of_sesion" in page.content.decode() and "<script>" in page.content.decode()
    data = {
        "csrfmiddlewaretoken": _csrf(page),
        "store": "tienda-a",
        "of_sesion": _token(page),
        "mode": "2",
        "demo_mode": "on",
        "email_customer": "on",
        "email_copy_merchant": "on",
        "merchant_email": "a@tienda.example.cl",
    }
    # CSRF still holds: a POST without the page's CSRF token is refused, nothing saved.
    refused = frame.post("/app/configuracion/", {**data, "csrfmiddlewaretoken": "x" * 64})
    assert refused.status_code == 403
    assert not EmissionSettings.objects.filter(store=store_a, email_copy_merchant=True).exists()

    saved = frame.post("/app/configuracion/", data)
    assert saved.status_code == 302
    location = urlsplit(saved["Location"])
    assert location.path == "/app/configuracion/"
    next_token = parse_qs(location.query)["of_sesion"][0]  # the redirect carries a fresh token
    assert EmissionSettings.objects.get(store=store_a).merchant_email == "a@tienda.example.cl"
    after = frame.get(saved["Location"])
    assert after.status_code == 200
    assert 'class="success"' in after.content.decode()  # the message survived without its cookie
    assert next_token != token


def test_an_expired_token_is_refused(store_a):
    key = _session_key(store_a)
    frame = CookielessFrame()
    fresh = _seal({"k": key, "s": store_a.pk}, age=EMBEDDED_TOKEN_MAX_AGE - 60)
    assert frame.get("/app/", {"of_sesion": fresh}).status_code == 200
    expired = _seal({"k": key, "s": store_a.pk}, age=EMBEDDED_TOKEN_MAX_AGE + 1)
    assert frame.get("/app/", {"of_sesion": expired})["Location"] == "/jumpseller/"


def test_a_forged_or_tampered_token_is_refused(store_a):
    key = _session_key(store_a)
    frame = CookielessFrame()
    good = _seal({"k": key, "s": store_a.pk})
    tampered = good[:-6] + ("A" if good[-6] != "A" else "B") + good[-5:]
    from django.core import signing

    signed_not_sealed = signing.dumps({"k": key, "s": store_a.pk})
    for token in (tampered, signed_not_sealed, key, "", "x" * 5000):
        assert frame.get("/app/", {"of_sesion": token})["Location"] == "/jumpseller/", token[:20]
    # Nor is the session key itself readable from a good token.
    assert key not in good


def test_a_token_is_accepted_only_for_its_own_store(store_a, store_b):
    frame = CookielessFrame()
    key_b = _session_key(store_b)
    # A token naming store A over store B's session (or the other way round) opens nothing.
    assert (
        frame.get("/app/", {"of_sesion": _seal({"k": key_b, "s": store_a.pk})})["Location"] == "/jumpseller/"
    )
    # A's token dies when its session logs into B (merchant_login flushes the session of another store).
    token_a = embedded_session_start(store_a)
    page = frame.get("/app/", {"of_sesion": token_a})
    assert "Tienda A" in page.content.decode()
    key_a = json.loads(fernet().decrypt(token_a.encode()))["k"]
    browser = Client()
    browser.cookies[settings.SESSION_COOKIE_NAME] = key_a
    request = browser.get("/jumpseller/").wsgi_request
    merchant_login(request, store_b)
    request.session.save()
    assert frame.get("/app/", {"of_sesion": token_a})["Location"] == "/jumpseller/"


def test_a_store_field_of_another_store_is_still_refused_with_a_token(store_a):
    frame = CookielessFrame(enforce_csrf_checks=True)
    page = frame.get("/app/cola/", {"of_sesion": embedded_session_start(store_a)})
    response = frame.post(
        "/app/cola/",
        {
            "csrfmiddlewaretoken": _csrf(page),
            "of_sesion": _token(page),
            "store": "otra",
            "accion": "reanudar",
        },
    )
    assert response.status_code == 409


def test_a_token_in_a_link_from_another_site_is_ignored(store_a):
    """Login CSRF: a link with someone's token, followed from another site, opens no session."""
    token = embedded_session_start(store_a)
    for site in ("cross-site", "same-site", "none"):
        response = CookielessFrame().get("/app/", {"of_sesion": token}, HTTP_SEC_FETCH_SITE=site)
        assert response["Location"] == "/jumpseller/", site
    browser = Client()  # top level, a link in an email: no session either, and no cookie set
    response = browser.get("/app/", {"of_sesion": token}, HTTP_SEC_FETCH_SITE="cross-site")
    assert response["Location"] == "/jumpseller/" and settings.SESSION_COOKIE_NAME not in response.cookies


def test_the_token_never_reaches_logs_or_third_parties(store_a):
    token = embedded_session_start(store_a)
    line = f"GET /app/documentos/?estado=emitted&of_sesion={token} HTTP/1.1"
    assert redact_capabilities(line) == "GET /app/documentos/?estado=emitted&of_sesion=[redactado] HTTP/1.1"
    encoded = f"/jumpseller/?next=%2Fapp%2F%3Fof_sesion%3D{token}"
    assert token not in redact_capabilities(encoded)
    page = CookielessFrame().get("/app/", {"of_sesion": token})
    assert page["Referrer-Policy"] == "same-origin"
    # The page's script adds the token to same-origin links only.
    assert "url.origin !== location.origin" in page.content.decode()


def test_a_top_level_tab_with_its_cookie_keeps_clean_urls(store_a):
    browser = Client()
    session = browser.session
    session.update({"store_id": store_a.pk, "store_code": store_a.code})
    session.save()
    page = browser.get("/app/")
    assert page.status_code == 200 and "of_sesion" not in page.content.decode()


# --- the OAuth round trip never runs in the frame ------------------------------------------------------
def test_the_app_url_and_install_in_a_frame_offer_a_top_level_window_instead_of_the_authorize_page():
    frame = CookielessFrame()
    for path in ("/jumpseller/", "/jumpseller/install", "/jumpseller/install?cookie=1"):
        response = frame.get(path, HTTP_SEC_FETCH_SITE="cross-site")  # the admin frames the App URL
        assert response.status_code == 200, path
        text = response.content.decode()
        assert "Conecta OpenFactura con tu tienda" in text and "oauth/authorize" not in text
        # The no-JavaScript way out: the whole admin tab goes to the install.
        assert 'href="/jumpseller/install" target="_top"' in text
    assert not OAuthState.objects.exists()
    # Outside a frame nothing changes: the signed-cookie hop, then Jumpseller.
    assert Client().get("/jumpseller/")["Location"] == "/jumpseller/install?cookie=1"


def _window_secret(frame_page) -> str:
    escaped = re.search(r'var secret = "([^"]+)"', frame_page.content.decode())[1]
    return json.loads(f'"{escaped}"')  # escapejs writes "-" as \u002D


@responses.activate
def test_the_window_opened_by_the_frame_installs_and_the_frame_claims_its_session_once():
    fake_jumpseller()
    frame = CookielessFrame()
    secret = _window_secret(frame.get("/jumpseller/"))
    claim = "/jumpseller/conectar/estado"
    assert frame.post(claim, {"secreto": secret}).json() == {"estado": "esperando"}

    window = Client(enforce_csrf_checks=True)  # top level: first-party cookies
    page = window.get("/jumpseller/conectar/")
    assert page["Cross-Origin-Opener-Policy"] == "unsafe-none"  # keeps its opener, the frame
    posted = window.post("/jumpseller/conectar/", {"csrfmiddlewaretoken": _csrf(page), "secreto": secret})
    assert posted["Location"] == "/jumpseller/install"
    authorize = window.get("/jumpseller/install")
    state = parse_qs(urlsplit(authorize["Location"]).query)["state"][0]
    done = window.get("/jumpseller/callback", {"code": "c", "state": state})
    assert done.status_code == 200 and "quedó conectada" in done.content.decode()

    answer = frame.post(claim, {"secreto": secret}).json()
    assert answer["estado"] == "listo"
    landing = frame.get(answer["url"])
    assert landing.status_code == 200 and "Primeros pasos" in landing.content.decode()
    # Single use: nobody claims it again.
    assert frame.post(claim, {"secreto": secret}).status_code == 410
    assert EmbeddedHandoff.objects.get().claimed_at is not None


def test_a_link_to_the_window_with_someone_elses_secret_binds_nothing():
    """The secret reaches the window only from its opener; a wrong or used one is refused in Spanish."""
    window = Client(enforce_csrf_checks=True)
    page = window.get("/jumpseller/conectar/")
    assert "window.opener" in page.content.decode()
    refused = window.post(
        "/jumpseller/conectar/", {"csrfmiddlewaretoken": _csrf(page), "secreto": "adivinado"}
    )
    assert refused.status_code == 400 and "La conexión con el panel expiró" in refused.content.decode()
    assert "embedded_handoff" not in window.session
    # A cross-site POST into the window (no CSRF token) is refused as well.
    assert Client(enforce_csrf_checks=True).post("/jumpseller/conectar/", {"secreto": "x"}).status_code == 403
    assert CookielessFrame().post("/jumpseller/conectar/estado", {"secreto": "adivinado"}).status_code == 410


def test_an_open_page_renews_its_token_before_it_expires(store_a):
    key = _session_key(store_a)
    frame = CookielessFrame()
    old = _seal({"k": key, "s": store_a.pk}, age=EMBEDDED_TOKEN_MAX_AGE - 30)
    renewed = frame.get("/jumpseller/app/sesion", HTTP_X_OF_SESION=old).json()["token"]
    assert json.loads(fernet().decrypt(renewed.encode(), ttl=5))["k"] == key
    assert frame.get("/jumpseller/app/sesion")["Location"] == "/jumpseller/"  # no token, no session


# --- browsers without Fetch Metadata (Safari < 16.4) -------------------------------------------------
class OldSafariFrame(CookielessFrame):
    """The same cookie-less frame in a browser that sends no ``Sec-Fetch-*`` header at all."""

    def request(self, **request):
        response = Client.request(self, **request)
        self.cookies.clear()
        return response


def test_without_fetch_metadata_a_token_from_another_site_or_from_nowhere_is_ignored(store_a):
    """Login CSRF in an old browser: no Sec-Fetch-Site does not mean "same-origin"."""
    token = embedded_session_start(store_a)
    frame = OldSafariFrame()
    for referer in (
        None,  # a link in an email, a typed URL, a page with Referrer-Policy: no-referrer
        "https://atacante.example/tienda",
        "http://testserver.atacante.example/app/",  # a look-alike host
        "http://testserver:8080/app/",  # another port is another origin
        "https://testserver/app/",  # and another scheme
        "no es una url",
    ):
        extra = {} if referer is None else {"HTTP_REFERER": referer}
        response = frame.get("/app/", {"of_sesion": token}, **extra)
        assert response["Location"] == "/jumpseller/", referer
    # A same-origin Referer does not outweigh a foreign (or opaque) Origin.
    for origin in ("https://atacante.example", "null"):
        response = frame.get(
            "/app/", {"of_sesion": token}, HTTP_ORIGIN=origin, HTTP_REFERER="http://testserver/app/"
        )
        assert response["Location"] == "/jumpseller/", origin
    # Top level (a link followed from another site): no session, no cookie.
    response = Client().get("/app/", {"of_sesion": token}, HTTP_REFERER="https://atacante.example/")
    assert response["Location"] == "/jumpseller/" and settings.SESSION_COOKIE_NAME not in response.cookies


def test_without_fetch_metadata_the_apps_own_pages_still_carry_the_session(store_a):
    """Old Safari's frame keeps working: the app's pages send a same-origin Referer (Referrer-Policy:
    same-origin) on links, redirects and fetches, and an Origin on POSTs."""
    frame = OldSafariFrame(enforce_csrf_checks=True)
    own = "http://testserver/app/"
    page = frame.get("/app/configuracion/", {"of_sesion": embedded_session_start(store_a)}, HTTP_REFERER=own)
    assert page.status_code == 200 and "Tienda A" in page.content.decode()
    renewed = frame.get("/jumpseller/app/sesion", HTTP_X_OF_SESION=_token(page), HTTP_REFERER=own)
    assert renewed.status_code == 200 and renewed.json()["token"]
    data = {
        "csrfmiddlewaretoken": _csrf(page),
        "store": "tienda-a",
        "of_sesion": _token(page),
        "mode": "2",
        "demo_mode": "on",
        "email_customer": "on",
        "merchant_email": "viejo@tienda.example.cl",
    }
    # A POST from another site (its Origin) opens no session and saves nothing.
    refused = frame.post("/app/configuracion/", data, HTTP_ORIGIN="https://atacante.example")
    assert refused.status_code != 302 or "of_sesion" not in refused["Location"]
    assert not EmissionSettings.objects.filter(merchant_email="viejo@tienda.example.cl").exists()
    # The page's own POST: a same-origin Origin (no Referer needed).
    saved = frame.post("/app/configuracion/", data, HTTP_ORIGIN="http://testserver")
    assert saved.status_code == 302 and "of_sesion=" in saved["Location"]
    assert EmissionSettings.objects.get(store=store_a).merchant_email == "viejo@tienda.example.cl"


def test_without_fetch_metadata_the_requests_own_origin_counts_as_the_apps(store_a, settings):
    """Locally the server may be reached under another name than PUBLIC_BASE_URL's: the request's own
    origin (its Host, validated by ALLOWED_HOSTS) is the app's origin as well."""
    settings.PUBLIC_BASE_URL = "https://openfactura.example"
    token = embedded_session_start(store_a)
    frame = OldSafariFrame()
    assert frame.get("/app/", {"of_sesion": token}, HTTP_REFERER="http://testserver/app/").status_code == 200
    assert (
        frame.get("/app/", {"of_sesion": token}, HTTP_REFERER="https://openfactura.example/app/").status_code
        == 200
    )
    assert (
        frame.get("/app/", {"of_sesion": token}, HTTP_REFERER="https://otra.example/")["Location"]
        == "/jumpseller/"
    )


def test_a_typed_or_bookmarked_url_with_a_token_opens_nothing(store_a):
    """``Sec-Fetch-Site: none`` (typed, pasted, bookmarked, opened from another app) is refused: a pasted
    link is exactly how someone else's token would arrive, and the app's own pages never start one."""
    token = embedded_session_start(store_a)
    response = Client().get(
        "/app/", {"of_sesion": token}, HTTP_SEC_FETCH_SITE="none", HTTP_REFERER="http://testserver/app/"
    )
    assert response["Location"] == "/jumpseller/" and settings.SESSION_COOKIE_NAME not in response.cookies
