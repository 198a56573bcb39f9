"""OAuth token endpoint and the store-bound client: refresh ahead of expiry, rotation, disconnection."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
import responses
from django.db import connection
from django.utils import timezone
from responses import matchers

from integration import oauth, services
from integration.client import (
    JumpsellerInvalidClient,
    JumpsellerInvalidGrant,
    JumpsellerNotFound,
    JumpsellerUnavailable,
)
from integration.models import Store
from integration.oauth import JumpsellerOAuth
from integration.services import StoreDisconnected, jumpseller_client_for, store_access_token

from .conftest import ACCOUNTS, API, PUBLIC, make_store

TOKEN_URL = f"{ACCOUNTS}/oauth/token"


def token_body(access="access-new-0002", refresh="refresh-new-0002", created_at=None, expires_in=3600):
    return {
        "access_token": access,
        "token_type": "bearer",
        "expires_in": expires_in,
        "refresh_token": refresh,
        "created_at": created_at or int(time.time()),
        "scope": "read_store read_orders write_orders read_hooks write_hooks",
    }


def test_authorize_url_carries_client_callback_scopes_and_state():
    url = oauth.authorize_url(state="st-123")
    parts = urlsplit(url)
    assert f"{parts.scheme}://{parts.netloc}{parts.path}" == f"{ACCOUNTS}/oauth/authorize"
    assert parse_qs(parts.query) == {
        "client_id": ["client-id-test"],
        "redirect_uri": [f"{PUBLIC}/jumpseller/callback"],
        "response_type": ["code"],
        "scope": ["read_store read_orders write_orders read_hooks write_hooks read_customers"],
        "state": ["st-123"],
    }
    assert oauth.webhook_url() == f"{PUBLIC}/jumpseller/webhooks/"


@responses.activate
def test_exchange_code_posts_the_form_and_computes_expiry_from_created_at():
    created = int(time.time()) - 100
    responses.post(
        TOKEN_URL,
        json=token_body(created_at=created),
        match=[
            matchers.urlencoded_params_matcher(
                {
                    "grant_type": "authorization_code",
                    "code": "code-1",
                    "redirect_uri": f"{PUBLIC}/jumpseller/callback",
                    "client_id": "client-id-test",
                    "client_secret": "client-secret-test-5678",
                }
            )
        ],
    )
    tokens = JumpsellerOAuth.from_settings().exchange_code(code="code-1", redirect_uri=oauth.callback_url())
    assert tokens.access_token == "access-new-0002"
    assert tokens.refresh_token == "refresh-new-0002"
    assert tokens.expires_at == datetime.fromtimestamp(created, tz=UTC) + timedelta(seconds=3600)
    assert "access-new" not in repr(tokens) and "refresh-new" not in repr(tokens)


@responses.activate
def test_a_server_clock_ahead_of_ours_never_extends_the_token():
    responses.post(TOKEN_URL, json=token_body(created_at=int(time.time()) + 3000))
    tokens = JumpsellerOAuth.from_settings().refresh(refresh_token="r")
    assert tokens.expires_at <= datetime.now(UTC) + timedelta(seconds=3601)


@responses.activate
@pytest.mark.parametrize(
    ("status", "body", "error"),
    [
        (
            400,
            {"error": "invalid_grant", "error_description": "The provided authorization grant is invalid"},
            JumpsellerInvalidGrant,
        ),
        (
            401,
            {"error": "invalid_client", "error_description": "Client authentication failed"},
            JumpsellerInvalidClient,
        ),
        (503, "down", JumpsellerUnavailable),
    ],
)
def test_token_errors_map_onto_the_tree_and_are_not_retried(status, body, error):
    responses.post(TOKEN_URL, status=status, json=body)
    with pytest.raises(error):
        JumpsellerOAuth.from_settings().refresh(refresh_token="r")
    assert len(responses.calls) == 1


# --- Store-bound tokens ----------------------------------------------------------------------------


@pytest.mark.django_db
@responses.activate
def test_a_fresh_token_is_used_without_refreshing():
    store = make_store(token_expires_at=timezone.now() + timedelta(minutes=30))
    assert store_access_token(store_id=store.pk) == "access-tienda-nunoa-0001"
    assert len(responses.calls) == 0


@pytest.mark.django_db
@responses.activate
def test_a_token_close_to_expiry_is_refreshed_and_the_rotated_refresh_token_persisted():
    store = make_store(token_expires_at=timezone.now() + timedelta(minutes=4))
    responses.post(
        TOKEN_URL,
        json=token_body(),
        match=[
            matchers.urlencoded_params_matcher(
                {
                    "grant_type": "refresh_token",
                    "refresh_token": "refresh-tienda-nunoa-0001",
                    "client_id": "client-id-test",
                    "client_secret": "client-secret-test-5678",
                }
            )
        ],
    )
    assert store_access_token(store_id=store.pk) == "access-new-0002"
    store.refresh_from_db()
    assert store.access_token == "access-new-0002"
    assert store.refresh_token == "refresh-new-0002"
    assert store.token_expires_at > timezone.now() + timedelta(minutes=59)
    with connection.cursor() as cursor:  # encrypted at rest
        cursor.execute("SELECT access_token, refresh_token FROM integration_store WHERE id = %s", [store.pk])
        raw_access, raw_refresh = cursor.fetchone()
    assert "access-new" not in raw_access and "refresh-new" not in raw_refresh


@pytest.mark.django_db
@responses.activate
def test_invalid_grant_marks_the_store_disconnected_and_keeps_the_hooks_token():
    store = make_store(token_expires_at=timezone.now() - timedelta(minutes=1))
    responses.post(TOKEN_URL, status=400, json={"error": "invalid_grant"})
    with pytest.raises(StoreDisconnected):
        store_access_token(store_id=store.pk)
    store.refresh_from_db()
    assert store.status == Store.Status.DISCONNECTED
    assert "revocada o desinstalada" in store.disconnected_reason
    assert (store.access_token, store.refresh_token, store.token_expires_at) == ("", "", None)
    assert store.hooks_token  # deliveries keep verifying: their work waits, nothing is dropped
    with pytest.raises(StoreDisconnected):
        jumpseller_client_for(store.pk)
    assert len(responses.calls) == 1


@pytest.mark.django_db
@responses.activate
def test_a_transient_refresh_failure_falls_back_to_the_still_valid_token():
    store = make_store(token_expires_at=timezone.now() + timedelta(minutes=2))
    responses.post(TOKEN_URL, status=502)
    assert store_access_token(store_id=store.pk) == "access-tienda-nunoa-0001"
    store.refresh_from_db()
    assert store.status == Store.Status.CONNECTED


@pytest.mark.django_db
@responses.activate
def test_a_transient_refresh_failure_of_an_expired_token_is_raised():
    store = make_store(token_expires_at=timezone.now() - timedelta(seconds=1))
    responses.post(TOKEN_URL, status=502)
    with pytest.raises(JumpsellerUnavailable):
        store_access_token(store_id=store.pk)
    store.refresh_from_db()
    assert store.status == Store.Status.CONNECTED


@pytest.mark.django_db
@responses.activate
def test_a_401_refreshes_once_and_retries_with_the_new_token():
    store = make_store()
    responses.get(
        f"{API}/orders/1.json", status=401, json={"message": "Unauthorized: the access token was revoked"}
    )
    responses.get(f"{API}/orders/1.json", json={"order": {"id": 1}})
    responses.post(TOKEN_URL, json=token_body())
    assert jumpseller_client_for(store.pk).get_order(1) == {"id": 1}
    auth = [c.request.headers.get("Authorization") for c in responses.calls if "/orders/" in c.request.url]
    assert auth == ["Bearer access-tienda-nunoa-0001", "Bearer access-new-0002"]
    store.refresh_from_db()
    assert store.status == Store.Status.CONNECTED and store.refresh_token == "refresh-new-0002"


@pytest.mark.django_db
@responses.activate
def test_a_401_that_persists_after_refreshing_disconnects_the_store():
    store = make_store()
    responses.get(f"{API}/orders/1.json", status=401, json={"message": "Unauthorized"})
    responses.post(TOKEN_URL, json=token_body())
    with pytest.raises(StoreDisconnected):
        jumpseller_client_for(store.pk).get_order(1)
    store.refresh_from_db()
    assert store.status == Store.Status.DISCONNECTED
    assert store.disconnected_reason == "Jumpseller rechazó el acceso a la tienda (401)."


@pytest.mark.django_db
@responses.activate
def test_a_401_whose_refresh_is_refused_disconnects_the_store():
    store = make_store()
    responses.get(f"{API}/orders/1.json", status=401, json={"message": "Unauthorized"})
    responses.post(TOKEN_URL, status=400, json={"error": "invalid_grant"})
    with pytest.raises(StoreDisconnected):
        jumpseller_client_for(store.pk).get_order(1)
    store.refresh_from_db()
    assert store.status == Store.Status.DISCONNECTED


@pytest.mark.django_db
@responses.activate
def test_the_store_client_is_not_disconnected_by_other_errors():
    store = make_store()
    responses.get(f"{API}/orders/1.json", status=404, json={"message": "Not Found"})
    with pytest.raises(JumpsellerNotFound):
        jumpseller_client_for(store.pk).get_order(1)
    store.refresh_from_db()
    assert store.status == Store.Status.CONNECTED


@pytest.mark.django_db(transaction=True)
def test_concurrent_refreshes_hit_the_token_endpoint_once(settings):
    """Two workers find the token expiring: the lock makes one refresh, the other reads its result."""
    store = make_store(token_expires_at=timezone.now() + timedelta(seconds=30))
    calls = []
    gate = threading.Event()

    def slow_refresh(self, *, refresh_token):
        calls.append(refresh_token)
        gate.wait(2)
        return oauth._token_set(token_body(), now=datetime.now(UTC))

    results = []

    def worker():
        try:
            results.append(store_access_token(store_id=store.pk))
        finally:
            connection.close()

    original = JumpsellerOAuth.refresh
    JumpsellerOAuth.refresh = slow_refresh
    try:
        threads = [threading.Thread(target=worker) for _ in range(2)]
        for thread in threads:
            thread.start()
        time.sleep(0.5)
        gate.set()
        for thread in threads:
            thread.join(10)
    finally:
        JumpsellerOAuth.refresh = original
    assert calls == ["refresh-tienda-nunoa-0001"]
    assert results == ["access-new-0002", "access-new-0002"]


@pytest.mark.django_db
def test_a_disconnected_or_uninstalled_store_has_no_client():
    for status in (Store.Status.DISCONNECTED, Store.Status.UNINSTALLED):
        store = make_store(code=f"t-{status}", status=status)
        with pytest.raises(StoreDisconnected):
            services.jumpseller_client_for(store.pk)


def test_requests_exceptions_never_escape_the_oauth_client(settings):
    with responses.RequestsMock() as mock:
        mock.post(TOKEN_URL, body=requests.ConnectionError("refused"))
        with pytest.raises(JumpsellerUnavailable):
            JumpsellerOAuth.from_settings().refresh(refresh_token="r")
