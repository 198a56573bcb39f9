"""Fixtures of the merchant pages: a store with a merchant session and OpenFactura at fake hosts."""

from __future__ import annotations

import itertools
import re

import pytest

from emission.models import Document
from tests.integration.conftest import ACCOUNTS, API, make_store, merchant_client

OF_PROD = "https://api.openfactura.test"
OF_DEMO = "https://dev-api.openfactura.test"

_keys = itertools.count(1)


@pytest.fixture(autouse=True)
def _merchant_settings(settings):
    settings.JUMPSELLER_API_URL = API
    settings.JUMPSELLER_ACCOUNTS_URL = ACCOUNTS
    settings.OPENFACTURA_URL = OF_PROD
    settings.OPENFACTURA_DEMO_URL = OF_DEMO
    settings.PUBLIC_BASE_URL = "https://app.openfactura.test"
    settings.ALLOWED_HOSTS = ["testserver", "app.openfactura.test", "localhost", "127.0.0.1"]


@pytest.fixture(autouse=True)
def _no_backoff_sleeps(monkeypatch):
    """Clients' retry backoff is recorded by their own tests; here it is not slept."""
    import functools

    from emission.client import OpenFacturaClient

    monkeypatch.setattr("integration.client.sleep_for", lambda seconds: None)
    monkeypatch.setattr(
        "merchant.services.OpenFacturaClient",
        functools.partial(OpenFacturaClient, sleep=lambda seconds: None),
    )


@pytest.fixture(autouse=True)
def _clear_cache():
    from django.core.cache import cache

    from core import ratelimit

    cache.clear()
    ratelimit._memory.logs.clear()
    yield
    cache.clear()


@pytest.fixture
def store(db):
    return make_store()


@pytest.fixture
def other_store(db):
    return make_store(code="tienda-providencia", name="Tienda Providencia")


@pytest.fixture
def merchant(store):
    return merchant_client(store)


def make_document(store, **fields) -> Document:
    n = next(_keys)
    values = {
        "order_id": 1000 + n,
        "order_number": str(1000 + n),
        "purpose": "boleta",
        "kind": "boleta",
        "tipo": 39,
        "idempotency_key": f"test-{store.code}-{n}",
        "customer_name": "Ana Pérez",
        "customer_email": "ana@example.cl",
        **fields,
    }
    return Document.objects.create(store=store, **values)


def csrf_token(response) -> str:
    return re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', response.content.decode()).group(1)
