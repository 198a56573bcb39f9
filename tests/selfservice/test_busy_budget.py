"""A customer's click that meets the OpenFactura key's budget spent for a moment (the issuer read, while
other orders of the store go out) waits for it, or says so in Spanish — never a 500, nothing lost."""

from __future__ import annotations

import pytest

from emission.client import OpenFacturaRateLimited
from emission.models import Document
from selfservice import services
from tests import flows
from tests.selfservice import test_selfservice_pages as pages
from tests.selfservice.test_selfservice_pages import TAXPAYER, link, paid_order, submit, tipos

pytestmark = pytest.mark.django_db(transaction=True)
shop = pages.shop  # the store "tienda" (fixture)


def _budget_spent(monkeypatch, times: int) -> list[float]:
    real = services.document_build
    calls: list[float] = []

    def build(**kwargs):
        calls.append(1)
        if len(calls) <= times:
            raise OpenFacturaRateLimited("Límite de solicitudes por segundo alcanzado", retry_after=0.2)
        return real(**kwargs)

    monkeypatch.setattr(services, "document_build", build)
    monkeypatch.setattr(services, "WEB_MAX_WAIT", 1.0)
    return calls


def test_a_moment_of_spent_budget_is_waited_for_and_the_factura_is_issued(sandbox, http, shop, monkeypatch):
    flows.configure(shop, mode=3)
    paid_order(http, sandbox, 8601)
    calls = _budget_spent(monkeypatch, times=2)
    done = submit(http, link(shop, 8601), documento="factura", **TAXPAYER)
    assert done.status_code == 200 and "Factura electrónica N°" in done.text
    assert len(calls) == 3 and tipos(http, sandbox) == [33]


def test_a_budget_spent_for_longer_says_so_and_loses_nothing(sandbox, http, shop, monkeypatch):
    flows.configure(shop, mode=3)
    paid_order(http, sandbox, 8602)
    _budget_spent(monkeypatch, times=100)
    busy = submit(http, link(shop, 8602), documento="factura", **TAXPAYER)
    assert busy.status_code == 409 and "intenta de nuevo en unos segundos" in busy.text
    assert tipos(http, sandbox) == []
    assert 'value="HOSTY SPA"' in busy.text  # the form comes back with what the customer typed
    assert not Document.objects.filter(store=shop, order_id=8602).exists()  # nothing half-made is left

    monkeypatch.undo()  # the budget frees: the next click issues the same document
    done = submit(http, link(shop, 8602), documento="factura", **TAXPAYER)
    assert "Factura electrónica N°" in done.text and tipos(http, sandbox) == [33]
