"""Fixtures of the fake OpenFactura's contract tests (``of_`` prefix).

Bodies are the documented examples of openfactura-api.md §3 (``fixtures/document__*.json``), with one
change: the keys of ``Emisor`` and ``Detalle`` lines are in the SII schema's order (the docs' factura,
exenta and NC examples put ``Telefono`` after ``CmnaOrigen``, and the §3.1 27970 boleta puts ``IndExe``
last; the fake rejects both with OF-08, see ``test_emission.py``).
"""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest
from django.core.cache import cache
from django.test import Client

from sandbox.openfactura import companies, gateway

FIXTURES = Path(__file__).resolve().parent / "fixtures"
HAULMER_KEY = companies.DEMO_KEY_HAULMER
HOSTY_KEY = companies.DEMO_KEY_HOSTY
API = "/sandbox/openfactura/v2/dte"


def body(name: str) -> dict:
    """A documented example body (a fresh copy)."""
    return json.loads((FIXTURES / f"document__{name}.json").read_text(encoding="utf-8"))


def as_emisor(document: dict, organization: dict) -> dict:
    """``document`` re-issued by ``organization`` (e.g. HOSTY or the sandbox company)."""
    document = copy.deepcopy(document)
    emisor = document["dte"]["Encabezado"]["Emisor"]
    emisor["RUTEmisor"] = organization["rut"]
    name_key = "RznSocEmisor" if "RznSocEmisor" in emisor else "RznSoc"
    emisor[name_key] = organization["razonSocial"]
    return document


@pytest.fixture(autouse=True)
def _of_isolated(settings):
    """Every test starts with empty rate-limit windows; limits off unless a test turns them on."""
    cache.clear()
    settings.SANDBOX_OPENFACTURA_RATE_LIMIT = "off"
    yield
    cache.clear()


@pytest.fixture
def of_clock(monkeypatch):
    """Freeze the gateway's clock in the middle of a second (rate-limit windows)."""
    moment = {"now": 1_800_000_000.25}
    monkeypatch.setattr(gateway, "_now", lambda: moment["now"])
    return moment


@pytest.fixture
def of_sleeps(monkeypatch):
    """Record the gateway's sleeps instead of sleeping."""
    slept: list[float] = []
    monkeypatch.setattr(gateway, "_sleep", slept.append)
    return slept


class OpenFacturaClient:
    """Django's test client speaking to the fake's ``/v2/dte`` with an ``apikey``."""

    def __init__(self, api_key: str | None = HAULMER_KEY) -> None:
        self.client = Client()
        self.api_key = api_key

    def headers(self, **extra: str) -> dict:
        headers = {"apikey": self.api_key} if self.api_key is not None else {}
        return {**headers, **extra}

    def emit(self, document: dict, *, key: str | None = None, raw: bytes | None = None):
        headers = self.headers(**({"Idempotency-Key": key} if key else {}))
        data = raw if raw is not None else json.dumps(document, ensure_ascii=False)
        return self.client.post(f"{API}/document", data, content_type="application/json", headers=headers)

    def get(self, path: str, **params):
        return self.client.get(f"{API}{path}", params, headers=self.headers())

    def post(self, path: str, data):
        return self.client.post(
            f"{API}{path}", json.dumps(data), content_type="application/json", headers=self.headers()
        )


@pytest.fixture
def of_api(db) -> OpenFacturaClient:
    return OpenFacturaClient()


@pytest.fixture
def of_control(db) -> Client:
    return Client()
