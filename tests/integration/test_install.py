"""App URL, OAuth callback and the merchant session (Jumpseller faked with responses)."""

from __future__ import annotations

import hashlib
import time
from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

import pytest
import responses
from django.db import connection
from django.test import Client
from django.utils import timezone
from responses import matchers

from integration.models import OAuthState, Store, StoreHook

from .conftest import ACCOUNTS, API, HOOKS_TOKEN, PUBLIC, fixture_json, make_store

pytestmark = pytest.mark.django_db

HOOK_URL = f"{PUBLIC}/jumpseller/webhooks/"
CSP = "frame-ancestors 'self' https://tienda-nunoa.jumpseller.com https://jumpseller.com"


def start_install(client: Client) -> str:
    """Open the App URL like a browser: one hop to /jumpseller/install (which creates the state), then
    the redirect to Jumpseller; returns the state."""
    hop = client.get("/jumpseller/")
    assert hop.status_code == 302 and hop["Location"] == "/jumpseller/install?cookie=1"
    response = client.get(hop["Location"])
    assert response.status_code == 302
    query = parse_qs(urlsplit(response["Location"]).query)
    return query["state"][0]


def fake_jumpseller(
    *,
    store_info: str = "store_info__wrapped",
    existing_hooks: list | None = None,
    access: str = "access-install-0001",
) -> dict:
    calls = {
        "token": responses.post(
            f"{ACCOUNTS}/oauth/token",
            json={
                "access_token": access,
                "token_type": "bearer",
                "expires_in": 3600,
                "refresh_token": "refresh-install-0001",
                "created_at": int(time.time()),
                "scope": "read_store read_orders write_orders read_hooks write_hooks",
            },
        ),
        "info": responses.get(
            f"{API}/store/info.json",
            json=fixture_json(store_info),
            match=[matchers.header_matcher({"Authorization": f"Bearer {access}"})],
        ),
        "hooks": responses.get(f"{API}/hooks.json", json=existing_hooks or []),
    }
    for hook_id, event in ((301, "order_paid"), (302, "order_canceled")):
        calls[event] = responses.post(
            f"{API}/hooks.json",
            json={"hook": {"id": hook_id, "event": event, "url": HOOK_URL}},
            match=[matchers.json_params_matcher({"hook": {"event": event, "url": HOOK_URL}})],
        )
    return calls


def test_app_url_without_a_session_starts_the_authorization_code_flow():
    client = Client()
    hop = client.get("/jumpseller/")  # the state is created by /jumpseller/install, not the App URL
    assert hop.status_code == 302 and hop["Location"] == "/jumpseller/install?cookie=1"
    response = client.get(hop["Location"])
    assert response.status_code == 302
    parts = urlsplit(response["Location"])
    assert f"{parts.scheme}://{parts.netloc}{parts.path}" == f"{ACCOUNTS}/oauth/authorize"
    query = parse_qs(parts.query)
    assert query["response_type"] == ["code"]
    assert query["redirect_uri"] == [f"{PUBLIC}/jumpseller/callback"]
    assert query["scope"] == ["read_store read_orders write_orders read_hooks write_hooks read_customers"]
    state = query["state"][0]
    assert len(state) >= 40
    assert client.session["oauth_state"] == state
    row = OAuthState.objects.get()
    assert row.state_hash == hashlib.sha256(state.encode()).hexdigest()
    assert row.used_at is None
    # Every request gets its own state.
    assert start_install(Client()) != state


@responses.activate
def test_callback_installs_the_store_with_encrypted_secrets_and_registers_the_hooks():
    calls = fake_jumpseller()
    client = Client()
    state = start_install(client)
    anonymous_key = client.session.session_key
    response = client.get("/jumpseller/callback", {"code": "code-1", "state": state})
    assert response.status_code == 302
    assert response["Location"] == "/app/primeros-pasos/"

    store = Store.objects.get()
    assert (
        store.code,
        store.name,
        store.url,
        store.currency,
        store.country,
        store.timezone,
        store.email,
    ) == (
        "tienda-nunoa",
        "Tienda Ñuñoa",
        "https://tienda-nunoa.jumpseller.com",
        "CLP",
        "CL",
        "America/Santiago",
        "contacto@tienda-nunoa.example.cl",
    )
    assert store.status == Store.Status.CONNECTED
    assert store.access_token == "access-install-0001"
    assert store.refresh_token == "refresh-install-0001"
    assert store.hooks_token == HOOKS_TOKEN
    assert (
        timezone.now() + timedelta(minutes=59) < store.token_expires_at <= timezone.now() + timedelta(hours=1)
    )
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT access_token, refresh_token, hooks_token FROM integration_store WHERE id = %s", [store.pk]
        )
        stored = cursor.fetchone()
    assert all(value.startswith("gAAAA") for value in stored)
    assert not {"access-install-0001", "refresh-install-0001", HOOKS_TOKEN} & set(stored)

    assert calls["token"].call_count == 1 and calls["info"].call_count == 1
    assert calls["order_paid"].call_count == 1 and calls["order_canceled"].call_count == 1
    assert sorted(StoreHook.objects.values_list("event", "hook_id", "url")) == [
        ("order_canceled", 302, HOOK_URL),
        ("order_paid", 301, HOOK_URL),
    ]
    # The merchant session: a new key, bound to the store; the state is spent.
    assert client.session.session_key != anonymous_key
    assert client.session["store_id"] == store.pk and client.session["store_code"] == "tienda-nunoa"
    assert "oauth_state" not in client.session
    assert OAuthState.objects.get().used_at is not None

    page = client.get("/jumpseller/app/")
    assert page.status_code == 200
    text = page.content.decode()
    assert "Tienda Ñuñoa" in text and "tienda-nunoa" in text and "Conectada" in text
    assert "Tu tienda «Tienda Ñuñoa» quedó conectada." in text
    assert "Abrir en una pestaña nueva" in text
    assert "Pedido pagado" in text and "Pedido anulado" in text
    # The App URL with a session goes to the merchant home.
    assert client.get("/jumpseller/")["Location"] == "/jumpseller/app/"


@responses.activate
def test_the_store_info_may_come_flat():
    fake_jumpseller(store_info="store_info__flat")
    client = Client()
    response = client.get("/jumpseller/callback", {"code": "c", "state": start_install(client)})
    assert response.status_code == 302
    assert Store.objects.get().code == "tienda-nunoa"


@responses.activate
def test_reinstalling_restores_the_same_store_row_and_keeps_existing_hooks():
    store = make_store(status=Store.Status.UNINSTALLED, access_token="", refresh_token="", hooks_token="")
    existing = [
        {"hook": {"id": 301, "event": "order_paid", "url": HOOK_URL}},
        {"hook": {"id": 302, "event": "order_canceled", "url": HOOK_URL}},
    ]
    calls = fake_jumpseller(existing_hooks=existing, access="access-again-0003")
    client = Client()
    client.get("/jumpseller/callback", {"code": "c", "state": start_install(client)})
    assert Store.objects.count() == 1
    again = Store.objects.get()
    assert again.pk == store.pk
    assert again.status == Store.Status.CONNECTED and again.disconnected_reason == ""
    assert again.access_token == "access-again-0003" and again.hooks_token == HOOKS_TOKEN
    assert calls["order_paid"].call_count == 0 and calls["order_canceled"].call_count == 0
    assert sorted(StoreHook.objects.values_list("hook_id", flat=True)) == [301, 302]


@responses.activate
def test_access_denied_is_explained_and_nothing_is_stored():
    client = Client()
    state = start_install(client)
    response = client.get(
        "/jumpseller/callback",
        {
            "error": "access_denied",
            "error_description": "The resource owner denied the request.",
            "state": state,
        },
    )
    assert response.status_code == 403
    text = response.content.decode()
    assert "No se autorizó la aplicación" in text
    assert "Rechazaste el acceso de OpenFactura a tu tienda Jumpseller" in text
    assert "Intentar de nuevo" in text
    # No store yet: any Jumpseller admin may show this page (it holds nothing), no other site.
    assert response["Content-Security-Policy"] == (
        "frame-ancestors 'self' https://*.jumpseller.com https://jumpseller.com"
    )
    assert Store.objects.count() == 0 and len(responses.calls) == 0
    assert "store_id" not in client.session


@responses.activate
@pytest.mark.parametrize("case", ["missing", "forged", "other_browser", "reused", "expired"])
def test_a_bad_state_is_refused_before_anything_is_exchanged(case):
    fake_jumpseller()
    client = Client()
    state = start_install(client)
    params = {"code": "code-1", "state": state}
    if case == "missing":
        del params["state"]
    elif case == "forged":
        params["state"] = state[:-2] + "xx"
    elif case == "other_browser":
        client = Client()  # the state is valid server-side but this browser never started the flow
    elif case == "reused":
        assert client.get("/jumpseller/callback", params).status_code == 302
        Store.objects.all().delete()
        responses.calls.reset()
        client.session["oauth_state"] = state
        session = client.session
        session["oauth_state"] = state  # even if the browser replays the same state
        session.save()
    elif case == "expired":
        OAuthState.objects.update(created_at=timezone.now() - timedelta(minutes=16))
    response = client.get("/jumpseller/callback", params)
    assert response.status_code == 400
    assert "El enlace de instalación no es válido" in response.content.decode()
    assert Store.objects.count() == 0
    assert len(responses.calls) == 0


@responses.activate
def test_a_refused_code_shows_a_page_and_stores_nothing():
    responses.post(f"{ACCOUNTS}/oauth/token", status=400, json={"error": "invalid_grant"})
    client = Client()
    response = client.get("/jumpseller/callback", {"code": "old", "state": start_install(client)})
    assert response.status_code == 502
    assert "No pudimos conectar con Jumpseller" in response.content.decode()
    assert Store.objects.count() == 0 and "store_id" not in client.session


@responses.activate
def test_wrong_app_credentials_are_not_blamed_on_the_merchant():
    responses.post(f"{ACCOUNTS}/oauth/token", status=401, json={"error": "invalid_client"})
    client = Client()
    response = client.get("/jumpseller/callback", {"code": "c", "state": start_install(client)})
    assert response.status_code == 502
    assert "La aplicación no está bien configurada en Jumpseller" in response.content.decode()
    assert Store.objects.count() == 0


@responses.activate
def test_a_failing_store_info_stores_nothing():
    fake_jumpseller()
    responses.replace(responses.GET, f"{API}/store/info.json", status=500)
    client = Client()
    response = client.get("/jumpseller/callback", {"code": "c", "state": start_install(client)})
    assert response.status_code == 502
    assert Store.objects.count() == 0 and StoreHook.objects.count() == 0


@responses.activate
def test_failing_hook_registration_still_installs_and_warns():
    fake_jumpseller()
    responses.replace(responses.GET, f"{API}/hooks.json", status=503)
    client = Client()
    response = client.get("/jumpseller/callback", {"code": "c", "state": start_install(client)}, follow=True)
    assert response.status_code == 200
    text = response.content.decode()
    assert "Aún no pudimos registrar las notificaciones de pedidos en Jumpseller" in text
    assert Store.objects.get().status == Store.Status.CONNECTED
    assert StoreHook.objects.count() == 0


@responses.activate
def test_the_session_cookie_works_inside_the_admin_iframe_in_production(settings):
    settings.SESSION_COOKIE_SAMESITE = "None"
    settings.SESSION_COOKIE_SECURE = True
    fake_jumpseller()
    client = Client()
    state = start_install(client)
    response = client.get("/jumpseller/callback", {"code": "c", "state": state}, secure=True)
    cookie = response.cookies["of_session"]
    assert cookie["secure"] and cookie["httponly"]
    # Partitioned (CHIPS): kept by browsers that block third-party cookies, one jar per top-level site.
    assert "; Secure" in cookie.OutputString() and "SameSite=None; Partitioned" in cookie.OutputString()


def test_merchant_pages_may_be_framed_only_by_jumpseller(settings):
    store = make_store()
    client = Client()
    session = client.session
    session.update({"store_id": store.pk, "store_code": store.code})
    session.save()
    response = client.get("/jumpseller/app/")
    assert response.status_code == 200
    assert response["Content-Security-Policy"] == CSP
    assert "X-Frame-Options" not in response
    settings.JUMPSELLER_ADMIN_ORIGINS = ["https://admin.example"]
    assert (
        client.get("/jumpseller/app/")["Content-Security-Policy"]
        == "frame-ancestors 'self' https://admin.example"
    )
    # Pages outside the app keep the project's DENY.
    assert Client().get("/")["X-Frame-Options"] == "DENY"


def test_merchant_pages_without_a_session_go_to_the_app_url():
    response = Client().get("/jumpseller/app/")
    assert response.status_code == 302 and response["Location"] == "/jumpseller/"


def test_a_session_whose_code_does_not_match_the_store_is_not_a_merchant_session():
    store = make_store()
    client = Client()
    session = client.session
    session.update({"store_id": store.pk, "store_code": "otra-tienda"})
    session.save()
    assert client.get("/jumpseller/app/")["Location"] == "/jumpseller/"
