""" "Emitir para una orden" reads the order from Jumpseller and says what happened, in Spanish: not found,
not paid (with its status), already documented (with the link), or queued."""

from __future__ import annotations

import re

import pytest
import responses

from emission.models import EmissionMode, EmissionSettings
from tests.integration.conftest import API

from .conftest import csrf_token, make_document

pytestmark = pytest.mark.django_db

LIST = "/app/documentos/"


@pytest.fixture
def enqueued(monkeypatch) -> list[tuple]:
    calls: list[tuple] = []
    monkeypatch.setattr("core.queue.publish", lambda name, *args, **kw: calls.append((name, *args)))
    return calls


def emit(merchant, store, order_id: str, capture) -> tuple[str, str]:
    """Post the form; the message's class and text."""
    page = merchant.get(LIST)
    with capture(execute=True):
        response = merchant.post(
            "/app/documentos/emitir-orden",
            {"csrfmiddlewaretoken": csrf_token(page), "store": store.code, "order_id": order_id},
            follow=True,
        )
    [(tag, text)] = re.findall(
        r'<ul class="messages"><li class="([^"]*)">(.*?)</li>', response.content.decode()
    )
    return tag, text


def order(order_id: int, status: str, label: str) -> dict:
    return {"order": {"id": order_id, "status": label, "status_enum": status, "customer": {}}}


@responses.activate
def test_an_order_jumpseller_does_not_know_is_not_found(
    merchant, store, enqueued, django_capture_on_commit_callbacks
):
    responses.get(f"{API}/orders/7001.json", status=404, json={"message": "Not Found"})
    tag, text = emit(merchant, store, "7001", django_capture_on_commit_callbacks)
    assert tag == "error"
    assert text == "No encontramos la orden 7001 en tu tienda de Jumpseller: revisa el número."
    assert enqueued == []


@responses.activate
@pytest.mark.parametrize(
    ("status", "label", "said"),
    [("pending_payment", "Pending Payment", "pendiente de pago"), ("canceled", "Canceled", "anulada")],
)
def test_an_unpaid_order_says_its_status_and_nothing_is_emitted(
    merchant, store, enqueued, django_capture_on_commit_callbacks, status, label, said
):
    responses.get(f"{API}/orders/7002.json", json=order(7002, status, label))
    tag, text = emit(merchant, store, "7002", django_capture_on_commit_callbacks)
    assert tag == "error"
    assert text == (
        f"La orden 7002 no está pagada (en Jumpseller está {said}): no se emitió nada. Su documento se "
        "emitirá solo cuando se pague."
    )
    assert enqueued == []


@responses.activate
def test_an_order_with_its_document_links_to_it(
    merchant, store, enqueued, django_capture_on_commit_callbacks
):
    document = make_document(store, order_id=7003, state="emitted", token="t", folio=4521, mnt_total=12990)
    tag, text = emit(merchant, store, "7003", django_capture_on_commit_callbacks)
    assert tag == "info"
    assert text == (
        f'La orden 7003 ya tiene su documento: <a href="/app/documentos/{document.pk}/">Boleta electrónica '
        "N° 4521</a> (emitido). No se emitió otro."
    )
    assert enqueued == [] and len(responses.calls) == 0


@responses.activate
def test_a_paid_order_is_queued_and_says_so(merchant, store, enqueued, django_capture_on_commit_callbacks):
    responses.get(f"{API}/orders/7004.json", json=order(7004, "paid", "Paid"))
    tag, text = emit(merchant, store, "7004", django_capture_on_commit_callbacks)
    assert tag == "success"
    assert text == "La orden 7004 está pagada: su documento se está emitiendo y aparecerá en esta lista."
    assert enqueued == [("emission.emit_for_order", store.pk, 7004)]


@responses.activate
def test_a_paid_order_in_a_link_mode_says_the_customer_gets_the_link(
    merchant, store, enqueued, django_capture_on_commit_callbacks
):
    EmissionSettings.objects.create(store=store, mode=EmissionMode.LINK_BOLETA_O_FACTURA)
    responses.get(f"{API}/orders/7005.json", json=order(7005, "paid", "Paid"))
    tag, text = emit(merchant, store, "7005", django_capture_on_commit_callbacks)
    assert tag == "success" and "enviamos al cliente el enlace para emitir su documento" in text
    assert enqueued == [("emission.emit_for_order", store.pk, 7005)]
