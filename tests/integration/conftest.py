"""Fixtures of the ``integration`` tests: stores, signed webhook deliveries, Jumpseller fixtures.

The real worker (``celery_worker``) is a separate process started once per session; it reads
``JUMPSELLER_EVENT_HANDLERS`` from the environment, so the probe event of the worker test is mapped
here, at import time (before any test starts the worker). The probe event is not a Jumpseller event,
so the mapping never changes how other tests' workers handle real events.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
from datetime import timedelta
from pathlib import Path

import pytest
from django.test import Client
from django.utils import timezone

from integration.models import Store

WORKER_PROBE_EVENT = "test_worker_probe"
_handlers = json.loads(os.environ.get("JUMPSELLER_EVENT_HANDLERS") or "{}")
_handlers.setdefault(WORKER_PROBE_EVENT, "tests.integration.handlers.record")
os.environ["JUMPSELLER_EVENT_HANDLERS"] = json.dumps(_handlers)

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "jumpseller"
API = "https://api.jumpseller.test/v1"
ACCOUNTS = "https://accounts.jumpseller.test"
PUBLIC = "https://app.openfactura.test"
HOOKS_TOKEN = "hooks-token-1234567890abcdef"


def fixture_bytes(name: str) -> bytes:
    return (FIXTURES / f"{name}.json").read_bytes()


def fixture_json(name: str) -> dict:
    return json.loads(fixture_bytes(name))


def sign(body: bytes, token: str = HOOKS_TOKEN) -> str:
    return base64.b64encode(hmac.new(token.encode(), body, hashlib.sha256).digest()).decode()


@pytest.fixture(autouse=True)
def _jumpseller_settings(settings):
    """Jumpseller at fake hosts (``responses`` intercepts them); no handler unless a test sets one."""
    settings.JUMPSELLER_API_URL = API
    settings.JUMPSELLER_ACCOUNTS_URL = ACCOUNTS
    settings.PUBLIC_BASE_URL = PUBLIC
    settings.ALLOWED_HOSTS = ["testserver", "app.openfactura.test", "localhost", "127.0.0.1"]
    settings.JUMPSELLER_CLIENT_ID = "client-id-test"
    settings.JUMPSELLER_CLIENT_SECRET = "client-secret-test-5678"
    settings.JUMPSELLER_EVENT_HANDLERS = {}


@pytest.fixture(autouse=True)
def client_sleeps(monkeypatch) -> list[float]:
    """Backoff sleeps of the Jumpseller clients are recorded, not slept."""
    sleeps: list[float] = []
    monkeypatch.setattr("integration.client.sleep_for", sleeps.append)
    return sleeps


@pytest.fixture(autouse=True)
def _clear_cache():
    from django.core.cache import cache

    from core import ratelimit

    cache.clear()
    ratelimit._memory.logs.clear()
    yield
    cache.clear()


def make_store(code: str = "tienda-nunoa", **fields) -> Store:
    values = {
        "name": "Tienda Ñuñoa",
        "url": f"https://{code}.jumpseller.com",
        "currency": "CLP",
        "country": "CL",
        "timezone": "America/Santiago",
        "access_token": f"access-{code}-0001",
        "refresh_token": f"refresh-{code}-0001",
        "hooks_token": HOOKS_TOKEN,
        "token_expires_at": timezone.now() + timedelta(hours=1),
        "scopes": "read_store read_orders write_orders read_hooks write_hooks",
        "status": Store.Status.CONNECTED,
        **fields,
    }
    return Store.objects.create(code=code, **values)


@pytest.fixture
def store(db) -> Store:
    return make_store()


@pytest.fixture
def csrf_client() -> Client:
    return Client(enforce_csrf_checks=True)


def deliver(
    client: Client,
    body: bytes,
    *,
    event: str = "order_paid",
    store_code: str = "tienda-nunoa",
    signature: str | None = None,
    token: str = HOOKS_TOKEN,
    omit: tuple[str, ...] = (),
):
    """POST a delivery to the receiver the way Jumpseller does (jumpseller-api.md §3.2)."""
    headers = {
        "HTTP_JUMPSELLER_EVENT": event,
        "HTTP_JUMPSELLER_STORE_CODE": store_code,
        "HTTP_JUMPSELLER_HMAC_SHA256": signature if signature is not None else sign(body, token),
        "HTTP_JUMPSELLER_TRIGGERED_AT": "2026-05-04 14:23:41.120 UTC",
    }
    for name in omit:
        headers.pop(f"HTTP_{name.upper().replace('-', '_')}")
    return client.post("/jumpseller/webhooks/", data=body, content_type="application/json", **headers)


class MerchantBrowser(Client):
    """Posts as the merchant pages' forms do: each carries the hidden ``store`` field, its store's code
    (``{% store_field %}``; ``tests/merchant/test_store_binding.py`` tests the field itself)."""

    def __init__(self, store_code: str, **kwargs):
        super().__init__(**kwargs)
        self.store_code = store_code

    def post(self, path, data=None, *args, **kwargs):
        if data is None or (isinstance(data, dict) and "store" not in data):
            data = {**(data or {}), "store": self.store_code}
        return super().post(path, data, *args, **kwargs)


def merchant_client(store: Store) -> Client:
    """A browser with a merchant session of ``store`` (as the OAuth callback leaves it)."""
    client = MerchantBrowser(store.code, enforce_csrf_checks=True)
    session = client.session
    session["store_id"] = store.pk
    session["store_code"] = store.code
    session.save()
    return client
