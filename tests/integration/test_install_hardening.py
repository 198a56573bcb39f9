"""Issue 14, point 10: the install flow stores nothing for anonymous visitors and shows nothing it was sent.

* The OAuth callback checks ``state`` before anything else; Jumpseller's ``error`` is explained with fixed
  texts per known code and never shown.
* The App URL (and every merchant page) answers anonymous visitors without a session row or an OAuth
  state: the state is created by ``/jumpseller/install`` in a browser that keeps cookies, the request that
  redirects to Jumpseller's authorize page. Crawlers without cookies store nothing.
"""

from __future__ import annotations

from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

import pytest
import responses
from django.contrib.sessions.models import Session
from django.test import Client
from django.utils import timezone

from integration import services
from integration.models import OAuthState, Store

from .conftest import ACCOUNTS, make_store
from .test_install import start_install

pytestmark = pytest.mark.django_db

FORGED = "Tu tienda fue suspendida: llama al +56 2 2940 0000"


def nothing_stored() -> bool:
    return not Session.objects.exists() and not OAuthState.objects.exists()


# --- The callback: state first, fixed texts ----------------------------------------------------------
@responses.activate
@pytest.mark.parametrize("error", [FORGED, "access_denied"])
@pytest.mark.parametrize("state", ["missing", "forged", "other_browser"])
def test_a_bad_state_is_refused_before_the_error_is_looked_at(error, state):
    client = Client()
    good = start_install(client)
    params = {"error": error, "error_description": FORGED}
    if state == "forged":
        params["state"] = good[:-2] + "xx"
    elif state == "other_browser":
        params["state"] = good
        client = Client()
    response = client.get("/jumpseller/callback", params)
    assert response.status_code == 400
    text = response.content.decode()
    assert "El enlace de instalación no es válido" in text
    assert "No se autorizó la aplicación" not in text
    assert "llama al" not in text and "suspendida" not in text
    assert Store.objects.count() == 0 and len(responses.calls) == 0


@responses.activate
@pytest.mark.parametrize(
    ("error", "title", "status"),
    [
        ("access_denied", "No se autorizó la aplicación", 403),
        ("invalid_scope", "Jumpseller no completó la autorización", 400),
        ("temporarily_unavailable", "Jumpseller no está disponible", 503),
        (FORGED, "Jumpseller no completó la autorización", 400),
        ("<b>access_denied</b>", "Jumpseller no completó la autorización", 400),
    ],
)
def test_with_a_valid_state_jumpseller_s_error_gets_a_fixed_text(error, title, status, caplog):
    client = Client()
    state = start_install(client)
    response = client.get(
        "/jumpseller/callback", {"error": error, "error_description": FORGED, "state": state}
    )
    assert response.status_code == status
    text = response.content.decode()
    assert title in text and "no se conectó nada" in text.lower()
    assert "llama al" not in text and "&lt;b&gt;" not in text and "<b>access" not in text
    assert "llama al" not in caplog.text  # nor in the logs
    assert OAuthState.objects.get().used_at is not None  # the state is spent all the same
    assert Store.objects.count() == 0 and len(responses.calls) == 0
    assert "store_id" not in client.session


# --- No session, no state for anonymous visitors -----------------------------------------------------
def test_the_app_url_stores_nothing_and_sends_the_browser_to_install():
    client = Client()
    for _ in range(3):
        response = client.get("/jumpseller/")
        assert response.status_code == 302
        assert response["Location"] == "/jumpseller/install?cookie=1"
    assert nothing_stored()
    cookie = response.cookies["of_install"]
    assert cookie["httponly"] and cookie["path"] == "/jumpseller/" and int(cookie["max-age"]) == 900


@pytest.mark.parametrize(
    "path", ["/jumpseller/app/", "/jumpseller/app/notificaciones/", "/app/", "/app/configuracion/"]
)
def test_anonymous_merchant_pages_store_no_session(path):
    response = Client().get(path)
    assert response.status_code == 302 and response["Location"] == "/jumpseller/"
    assert nothing_stored()


def test_head_requests_store_nothing():
    client = Client()
    assert client.head("/jumpseller/").status_code == 405
    assert client.head("/jumpseller/install").status_code == 405
    assert nothing_stored()


def test_a_client_without_cookies_gets_one_try_then_a_page_and_nothing_is_stored():
    crawler = Client()
    first = crawler.get("/jumpseller/install")  # straight to install: one redirect that sets the cookie
    assert first.status_code == 302 and first["Location"] == "/jumpseller/install?cookie=1"
    crawler.cookies.clear()  # a crawler keeps no cookies
    page = crawler.get(first["Location"])
    assert page.status_code == 400
    text = page.content.decode()
    assert "Tu navegador no guardó la sesión" in text and "Abrir en una pestaña nueva" in text
    assert nothing_stored()


def test_a_tampered_install_cookie_counts_as_none():
    client = Client()
    client.get("/jumpseller/")
    client.cookies["of_install"] = "1:forged:signature"
    assert client.get("/jumpseller/install?cookie=1").status_code == 400
    assert nothing_stored()


def test_the_state_is_created_by_the_request_that_redirects_to_jumpseller():
    browser = Client()
    hop = browser.get("/jumpseller/")
    assert nothing_stored()
    response = browser.get(hop["Location"])
    parts = urlsplit(response["Location"])
    assert f"{parts.scheme}://{parts.netloc}{parts.path}" == f"{ACCOUNTS}/oauth/authorize"
    state = parse_qs(parts.query)["state"][0]
    assert OAuthState.objects.count() == 1 and Session.objects.count() == 1
    assert browser.session["oauth_state"] == state
    assert response.cookies["of_install"].value == ""  # used: deleted


def test_reconectar_with_a_session_goes_straight_to_jumpseller():
    store = make_store(status=Store.Status.DISCONNECTED)
    browser = Client()
    session = browser.session
    session.update({"store_id": store.pk, "store_code": store.code})
    session.save()
    response = browser.get("/jumpseller/install")
    assert response.status_code == 302 and response["Location"].startswith(f"{ACCOUNTS}/oauth/authorize?")
    assert OAuthState.objects.count() == 1


def test_starting_an_install_prunes_the_states_past_their_window():
    old = OAuthState.objects.create(
        state_hash="0" * 64, created_at=timezone.now() - services.OAUTH_STATE_TTL - timedelta(seconds=1)
    )
    start_install(Client())
    assert not OAuthState.objects.filter(pk=old.pk).exists()
    assert OAuthState.objects.count() == 1
