"""Tokens, refresh tokens, hooks tokens and the client secret never reach the logs."""

from __future__ import annotations

import logging
import time
from datetime import timedelta

import pytest
import responses
from django.test import Client
from django.utils import timezone

from integration import services
from integration.models import Store, StoreHook

from .conftest import ACCOUNTS, API, PUBLIC, deliver, fixture_bytes, sign
from .test_install import start_install

pytestmark = pytest.mark.django_db

SECRETS = [
    "access-install-0001",
    "refresh-install-0001",
    "access-rotated-0002",
    "refresh-rotated-0002",
    "hooks-token-1234567890abcdef",
    "hooks-token-reset-555",
    "client-secret-test-5678",
]


def token(access: str, refresh: str) -> dict:
    return {
        "access_token": access,
        "token_type": "bearer",
        "expires_in": 3600,
        "refresh_token": refresh,
        "created_at": int(time.time()),
    }


@responses.activate
def test_install_refresh_webhooks_and_disconnect_log_no_secret(
    caplog, settings, django_capture_on_commit_callbacks
):
    caplog.set_level(logging.DEBUG)
    settings.JUMPSELLER_EVENT_HANDLERS = {"order_paid": "tests.integration.handlers.record"}
    hook_url = f"{PUBLIC}/jumpseller/webhooks/"
    responses.post(f"{ACCOUNTS}/oauth/token", json=token("access-install-0001", "refresh-install-0001"))
    responses.get(
        f"{API}/store/info.json",
        json={"store": {"code": "tienda-nunoa", "name": "T", "hooks_token": "hooks-token-1234567890abcdef"}},
    )
    responses.get(f"{API}/hooks.json", json=[])
    responses.post(f"{API}/hooks.json", json={"hook": {"id": 1, "event": "order_paid", "url": hook_url}})
    responses.post(f"{API}/hooks.json", json={"hook": {"id": 2, "event": "order_canceled", "url": hook_url}})

    browser = Client()
    browser.get("/jumpseller/callback", {"code": "code-1", "state": start_install(browser)}, follow=True)
    store = Store.objects.get()
    assert StoreHook.objects.count() == 2

    # A refresh (rotation), a verified delivery, a bad one, a reset hooks token.
    Store.objects.filter(pk=store.pk).update(token_expires_at=timezone.now() + timedelta(seconds=10))
    responses.replace(
        responses.POST, f"{ACCOUNTS}/oauth/token", json=token("access-rotated-0002", "refresh-rotated-0002")
    )
    services.store_access_token(store_id=store.pk)
    body = fixture_bytes("webhook_order_paid__basic")
    webhook_client = Client(enforce_csrf_checks=True)
    with django_capture_on_commit_callbacks(execute=True):
        assert deliver(webhook_client, body).status_code == 200
    responses.replace(
        responses.GET,
        f"{API}/store/info.json",
        json={"store": {"code": "tienda-nunoa", "hooks_token": "hooks-token-reset-555"}},
    )
    assert deliver(webhook_client, body, signature=sign(body, "nope")).status_code == 401
    store.refresh_from_db()
    assert store.hooks_token == "hooks-token-reset-555"  # re-read from the API on the bad signature

    # A revoked app and a disconnect.
    responses.replace(responses.POST, f"{ACCOUNTS}/oauth/token", status=400, json={"error": "invalid_grant"})
    Store.objects.filter(pk=store.pk).update(token_expires_at=timezone.now())
    with pytest.raises(services.StoreDisconnected):
        services.store_access_token(store_id=store.pk)
    services.store_disconnect(store_id=store.pk)

    assert caplog.records, "the flow logs what it does"
    text = caplog.text + "".join(repr(record.args) for record in caplog.records)
    for secret in SECRETS:
        assert secret not in text, secret
