"""Fixtures of the fake Jumpseller's contract tests (``js_`` prefix; openfactura/ has its own)."""

from __future__ import annotations

import json

import pytest
from django.test import Client

from sandbox import services
from sandbox.models import OAuthToken, Store

ALL_SCOPES = "read_store read_orders write_orders read_hooks write_hooks read_apps"


@pytest.fixture(autouse=True)
def _js_no_background_retries(settings):
    """Retries of failed deliveries run in a background thread; tests that want them turn them on."""
    settings.SANDBOX_WEBHOOK_RETRY_SCALE = 0


@pytest.fixture
def js_store(db) -> Store:
    store, _ = services.store_ensure(code="tienda-test", name="Tienda Test")
    return store


def js_token(store: Store, scope: str = ALL_SCOPES) -> OAuthToken:
    return services.token_issue(store=store, client_id="sandbox-client-id", scope=scope)


class ApiClient:
    """Django's test client speaking to ``/sandbox/jumpseller/api/v1`` with a bearer token."""

    def __init__(self, token: str | None) -> None:
        self.client = Client()
        self.token = token

    def _headers(self) -> dict:
        return {"HTTP_AUTHORIZATION": f"Bearer {self.token}"} if self.token else {}

    def get(self, path: str, params: dict | None = None):
        return self.client.get(f"/sandbox/jumpseller/api/v1{path}", params or {}, **self._headers())

    def send(self, method: str, path: str, body=None, *, raw: bytes | None = None):
        data = raw if raw is not None else json.dumps(body)
        call = getattr(self.client, method.lower())
        return call(
            f"/sandbox/jumpseller/api/v1{path}", data, content_type="application/json", **self._headers()
        )


@pytest.fixture
def js_api(js_store) -> ApiClient:
    return ApiClient(js_token(js_store).access_token)


def create_order(store: Store, **fields) -> int:
    order = {
        "currency": "CLP",
        "total": 11900,
        "customer": {"email": "ana@example.cl", "fullname": "Ana Pérez"},
        "products": [],
        **fields,
    }
    return services.order_create(store=store, order=order, notify=False).order_id
