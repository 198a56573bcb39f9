"""Contract of the fake Jumpseller's OAuth 2 (jumpseller-api.md §1.2): authorize form, token, refresh."""

from __future__ import annotations

import base64
from datetime import timedelta
from html.parser import HTMLParser
from urllib.parse import parse_qs, urlencode, urljoin, urlsplit

import pytest
import requests
from django.test import Client
from django.utils import timezone

from sandbox.models import OAuthGrant, OAuthToken

from .conftest import js_token

AUTHORIZE = "/sandbox/jumpseller/accounts/oauth/authorize"
TOKEN = "/sandbox/jumpseller/accounts/oauth/token"
CALLBACK = "http://testserver/jumpseller/callback"
SCOPE = "read_store read_orders write_orders read_hooks write_hooks"
CLIENT = {"client_id": "sandbox-client-id", "client_secret": "sandbox-client-secret"}


def authorize_params(**overrides) -> dict:
    return {
        "client_id": "sandbox-client-id",
        "redirect_uri": CALLBACK,
        "response_type": "code",
        "scope": SCOPE,
        "state": "st-123",
        **overrides,
    }


class FormParser(HTMLParser):
    """The first <form> of a page: its action and its named inputs and buttons."""

    def __init__(self) -> None:
        super().__init__()
        self.forms: list[dict] = []

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "form":
            self.forms.append(
                {"action": attrs.get("action"), "method": attrs.get("method"), "fields": {}, "buttons": []}
            )
        elif tag == "input" and self.forms and attrs.get("name"):
            self.forms[-1]["fields"][attrs["name"]] = attrs.get("value", "")
        elif tag == "button" and self.forms:
            self.forms[-1]["buttons"].append(attrs)


def parse_forms(html: str) -> list[dict]:
    parser = FormParser()
    parser.feed(html)
    return parser.forms


def grant_code(client: Client, store_code: str = "tienda-test", **overrides) -> str:
    response = client.post(
        AUTHORIZE, {**authorize_params(**overrides), "store": store_code, "decision": "allow"}
    )
    assert response.status_code == 302
    return parse_qs(urlsplit(response["Location"]).query)["code"][0]


def exchange(client: Client, code: str, **overrides):
    data = {"grant_type": "authorization_code", "code": code, "redirect_uri": CALLBACK, **CLIENT, **overrides}
    return client.post(TOKEN, urlencode(data), content_type="application/x-www-form-urlencoded")


# --- authorize ----------------------------------------------------------------------------------


def test_authorize_shows_one_form_with_store_demo_and_autorizar(client, js_store):
    response = client.get(AUTHORIZE, authorize_params())
    assert response.status_code == 200
    html = response.content.decode()
    form = parse_forms(html)[0]
    assert form["method"] == "post"
    assert form["action"] == AUTHORIZE
    assert form["fields"]["store"] == "demo"
    assert form["fields"]["state"] == "st-123"
    assert form["fields"]["redirect_uri"] == CALLBACK
    assert form["fields"]["scope"] == SCOPE
    assert [b.get("value") for b in form["buttons"]] == ["allow"]
    assert ">Autorizar</button>" in html
    assert "Rechazar" in html


def test_authorize_allow_redirects_with_a_code_and_the_state(client, js_store):
    response = client.post(AUTHORIZE, {**authorize_params(), "store": "tienda-test", "decision": "allow"})
    assert response.status_code == 302
    location = urlsplit(response["Location"])
    assert f"{location.scheme}://{location.netloc}{location.path}" == CALLBACK
    query = parse_qs(location.query)
    assert query["state"] == ["st-123"]
    grant = OAuthGrant.objects.get(code=query["code"][0])
    assert grant.store == js_store
    assert grant.scope == SCOPE
    assert grant.used_at is None


def test_authorize_without_a_decision_field_means_allow(client, js_store):
    """A plain client that submits the form's inputs only (no button) still authorizes."""
    response = client.post(AUTHORIZE, {**authorize_params(), "store": "tienda-test"})
    assert response.status_code == 302
    assert "code=" in response["Location"]


def test_authorize_deny_redirects_with_access_denied(client, js_store):
    response = client.post(AUTHORIZE, {**authorize_params(), "store": "tienda-test", "decision": "deny"})
    assert response.status_code == 302
    query = parse_qs(urlsplit(response["Location"]).query)
    assert query["error"] == ["access_denied"]
    assert query["state"] == ["st-123"]
    assert "code" not in query
    assert not OAuthGrant.objects.exists()


@pytest.mark.parametrize("method", ["get", "post"])
def test_authorize_unknown_client_is_shown_not_redirected(client, js_store, method):
    response = getattr(client, method)(
        AUTHORIZE, {**authorize_params(client_id="otra-app"), "store": "tienda-test"}
    )
    assert response.status_code == 401
    assert "invalid_client" in response.content.decode()
    assert not OAuthGrant.objects.exists()


@pytest.mark.parametrize("uri", ["", "ftp://x.example/cb", "not a url", "https://x.example/cb#frag"])
def test_authorize_invalid_redirect_uri_is_shown_not_redirected(client, js_store, uri):
    response = client.get(AUTHORIZE, authorize_params(redirect_uri=uri))
    assert response.status_code == 400
    assert "invalid_redirect_uri" in response.content.decode()


def test_authorize_other_response_type_redirects_with_unsupported_response_type(client, js_store):
    response = client.get(AUTHORIZE, authorize_params(response_type="token"))
    assert response.status_code == 302
    query = parse_qs(urlsplit(response["Location"]).query)
    assert query["error"] == ["unsupported_response_type"]
    assert query["state"] == ["st-123"]


def test_authorize_unknown_scope_redirects_with_invalid_scope(client, js_store):
    response = client.get(AUTHORIZE, authorize_params(scope="read_orders launch_rockets"))
    assert parse_qs(urlsplit(response["Location"]).query)["error"] == ["invalid_scope"]


def test_authorize_unknown_store_shows_the_form_again(client, js_store):
    response = client.post(AUTHORIZE, {**authorize_params(), "store": "no-existe", "decision": "allow"})
    assert response.status_code == 400
    assert "No existe la tienda «no-existe»" in response.content.decode()
    assert not OAuthGrant.objects.exists()


def test_authorize_out_of_band_shows_the_code(client, js_store):
    response = client.post(
        AUTHORIZE, {**authorize_params(redirect_uri="urn:ietf:wg:oauth:2.0:oob"), "store": "tienda-test"}
    )
    assert response.status_code == 200
    assert OAuthGrant.objects.get().code in response.content.decode()


# --- token --------------------------------------------------------------------------------------


def test_code_exchange_returns_the_documented_body(client, js_store):
    before = int(timezone.now().timestamp())
    response = exchange(client, grant_code(client))
    assert response.status_code == 200
    assert response["Cache-Control"] == "no-store"
    body = response.json()
    assert set(body) == {"access_token", "token_type", "expires_in", "refresh_token", "created_at", "scope"}
    assert body["token_type"] == "bearer"
    assert body["expires_in"] == 3600
    assert body["scope"] == SCOPE
    assert before <= body["created_at"] <= int(timezone.now().timestamp())
    token = OAuthToken.objects.get(access_token=body["access_token"])
    assert token.refresh_token == body["refresh_token"]
    assert token.store == js_store


def test_code_exchange_accepts_multipart_json_and_basic_auth(client, js_store):
    data = {"grant_type": "authorization_code", "redirect_uri": CALLBACK, **CLIENT}
    multipart = client.post(TOKEN, {**data, "code": grant_code(client)})  # the test client sends multipart
    assert multipart.status_code == 200, multipart.content
    as_json = client.post(TOKEN, {**data, "code": grant_code(client)}, content_type="application/json")
    assert as_json.status_code == 200, as_json.content
    basic = base64.b64encode(b"sandbox-client-id:sandbox-client-secret").decode()
    form = urlencode(
        {"grant_type": "authorization_code", "redirect_uri": CALLBACK, "code": grant_code(client)}
    )
    with_basic = client.post(
        TOKEN, form, content_type="application/x-www-form-urlencoded", HTTP_AUTHORIZATION=f"Basic {basic}"
    )
    assert with_basic.status_code == 200, with_basic.content


def test_a_code_works_once(client, js_store):
    code = grant_code(client)
    assert exchange(client, code).status_code == 200
    again = exchange(client, code)
    assert again.status_code == 400
    assert again.json()["error"] == "invalid_grant"
    assert OAuthToken.objects.count() == 1


def test_a_code_must_come_back_with_its_redirect_uri(client, js_store):
    response = exchange(client, grant_code(client), redirect_uri="http://testserver/otro")
    assert (response.status_code, response.json()["error"]) == (400, "invalid_grant")


def test_an_expired_code_is_refused(client, js_store):
    code = grant_code(client)
    OAuthGrant.objects.filter(code=code).update(created_at=timezone.now() - timedelta(minutes=11))
    response = exchange(client, code)
    assert (response.status_code, response.json()["error"]) == (400, "invalid_grant")


def test_an_unknown_code_is_refused(client, js_store):
    response = exchange(client, "no-such-code")
    assert (response.status_code, response.json()["error"]) == (400, "invalid_grant")


def test_wrong_client_secret_is_invalid_client(client, js_store):
    response = exchange(client, grant_code(client), client_secret="nope")
    assert response.status_code == 401
    assert response.json() == {
        "error": "invalid_client",
        "error_description": response.json()["error_description"],
    }
    assert "Client authentication failed" in response.json()["error_description"]


@pytest.mark.parametrize(
    ("data", "error"),
    [
        ({}, "invalid_request"),
        ({"grant_type": "password"}, "unsupported_grant_type"),
        ({"grant_type": "authorization_code"}, "invalid_request"),
        ({"grant_type": "refresh_token"}, "invalid_request"),
    ],
)
def test_malformed_token_requests(client, js_store, data, error):
    response = client.post(
        TOKEN, urlencode({**CLIENT, **data}), content_type="application/x-www-form-urlencoded"
    )
    assert response.status_code == 400
    assert response.json()["error"] == error


def test_token_endpoint_is_post_only(client):
    assert client.get(TOKEN).status_code == 405


def refresh(client: Client, refresh_token: str):
    data = {"grant_type": "refresh_token", "refresh_token": refresh_token, **CLIENT}
    return client.post(TOKEN, urlencode(data), content_type="application/x-www-form-urlencoded")


def test_refresh_rotates_the_refresh_token(client, js_store):
    first = exchange(client, grant_code(client)).json()
    response = refresh(client, first["refresh_token"])
    assert response.status_code == 200
    second = response.json()
    assert second["access_token"] != first["access_token"]
    assert second["refresh_token"] != first["refresh_token"]
    assert second["expires_in"] == 3600
    assert second["scope"] == SCOPE
    old = refresh(client, first["refresh_token"])
    assert old.status_code == 400
    assert old.json()["error"] == "invalid_grant"
    assert refresh(client, second["refresh_token"]).status_code == 200


def test_refresh_with_a_revoked_token_is_invalid_grant(client, js_store):
    token = js_token(js_store)
    token.revoked_at = timezone.now()
    token.save()
    assert refresh(client, token.refresh_token).json()["error"] == "invalid_grant"


def test_access_token_expires_after_3600_seconds(client, js_store):
    token = js_token(js_store)
    headers = {"HTTP_AUTHORIZATION": f"Bearer {token.access_token}"}
    assert client.get("/sandbox/jumpseller/api/v1/store/info.json", **headers).status_code == 200
    OAuthToken.objects.filter(pk=token.pk).update(created_at=timezone.now() - timedelta(seconds=3601))
    response = client.get("/sandbox/jumpseller/api/v1/store/info.json", **headers)
    assert response.status_code == 401
    assert response.json() == {"message": "Unauthorized: the access token expired"}
    assert refresh(client, token.refresh_token).status_code == 200  # the refresh token still works


def test_token_info(client, js_store):
    token = js_token(js_store, scope="read_store read_orders")
    response = client.get(
        "/sandbox/jumpseller/accounts/oauth/token/info", HTTP_AUTHORIZATION=f"Bearer {token.access_token}"
    )
    body = response.json()
    assert response.status_code == 200
    assert body["scope"] == ["read_store", "read_orders"]
    assert 3590 <= body["expires_in"] <= 3600
    assert body["application"] == {"uid": "sandbox-client-id"}
    bad = client.get("/sandbox/jumpseller/accounts/oauth/token/info", HTTP_AUTHORIZATION="Bearer nope")
    assert (bad.status_code, bad.json()["error"]) == (401, "invalid_token")


def test_revoke_endpoint(client, js_store):
    token = js_token(js_store)
    data = urlencode({"token": token.access_token, **CLIENT})
    response = client.post(
        "/sandbox/jumpseller/accounts/oauth/revoke", data, content_type="application/x-www-form-urlencoded"
    )
    assert response.status_code == 200
    token.refresh_from_db()
    assert token.revoked_at is not None


# --- the whole flow over real sockets -----------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_plain_http_client_can_go_through_the_flow(live_server):
    from sandbox import services

    services.store_ensure(code="demo", name="Tienda Demo")
    base = live_server.url
    callback = f"{base}/jumpseller/callback"
    session = requests.Session()
    page = session.get(f"{base}{AUTHORIZE}", params=authorize_params(redirect_uri=callback), timeout=10)
    assert page.status_code == 200
    form = parse_forms(page.text)[0]
    submit = session.post(
        urljoin(page.url, form["action"]), data=form["fields"], allow_redirects=False, timeout=10
    )
    assert submit.status_code == 302
    location = urlsplit(submit.headers["Location"])
    assert f"{location.scheme}://{location.netloc}{location.path}" == callback
    code = parse_qs(location.query)["code"][0]
    tokens = session.post(
        f"{base}{TOKEN}",
        data={"grant_type": "authorization_code", "code": code, "redirect_uri": callback, **CLIENT},
        timeout=10,
    ).json()
    info = session.get(
        f"{base}/sandbox/jumpseller/api/v1/store/info.json",
        headers={"Authorization": f"Bearer {tokens['access_token']}"},
        timeout=10,
    )
    assert info.status_code == 200
    assert info.json()["store"]["code"] == "demo"
