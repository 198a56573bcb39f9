"""Regression tests for the exactly-once review: the sale document's type is fixed, a cancellation is
never lost, notas never exceed the original, an ambiguous lookup asks a person instead of guessing."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from emission import services
from emission.models import Document, DocumentState
from tests import flows

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def shop(sandbox, http, settings):
    return flows.installed_store(http, sandbox, settings, "carreras", "Tienda Carreras")


def lose_the_answer(http, sandbox, settings) -> None:
    """OpenFactura emits, but our read times out before its answer arrives."""
    settings.OPENFACTURA_TIMEOUT = (2.0, 1.0)
    flows.faults(http, sandbox, timeout_after_emit=True, timeout_seconds=2, scope="emit")


def test_switching_to_factura_directa_during_a_retry_still_emits_one_document(sandbox, http, shop):
    flows.faults(http, sandbox, status=503, error_rate=1, scope="emit", count=1)
    flows.create_order(http, sandbox, "carreras", flows.example_order("empresa", id=9501))
    flows.pay(http, sandbox, "carreras", 9501)
    document = Document.objects.get(store=shop, order_id=9501)
    assert (document.kind, document.state) == ("boleta", DocumentState.FAILED_RETRYING)

    flows.configure(shop, factura_directa=True)
    services.emission_sweep(now=document.next_attempt_at)
    flows.pay(http, sandbox, "carreras", 9501)  # and a late duplicate delivery
    assert [d["tipo"] for d in flows.openfactura_documents(http, sandbox)] == [39]
    assert list(Document.objects.filter(store=shop).values_list("kind", "state")) == [("boleta", "emitted")]


def test_cancel_while_the_boleta_is_in_flight_annuls_it_once_emitted(sandbox, http, shop, settings):
    lose_the_answer(http, sandbox, settings)
    flows.create_order(http, sandbox, "carreras", flows.example_order("afecta", id=9502))
    flows.pay(http, sandbox, "carreras", 9502)
    boleta = Document.objects.get(store=shop, order_id=9502)
    assert boleta.state == DocumentState.FAILED_RETRYING

    flows.cancel(http, sandbox, "carreras", 9502)  # the boleta exists at OpenFactura, not yet here
    boleta.refresh_from_db()
    assert boleta.cancel_requested and boleta.state == DocumentState.FAILED_RETRYING
    flows.faults(http, sandbox)
    services.emission_sweep(now=boleta.next_attempt_at)

    assert [d["tipo"] for d in flows.openfactura_documents(http, sandbox)] == [39, 61]
    nota = Document.objects.get(store=shop, order_id=9502, kind="nota_credito")
    assert nota.state == DocumentState.EMITTED and nota.annuls_id == boleta.pk


def test_cancel_before_anything_was_sent_withdraws_the_boleta(sandbox, http, shop):
    services.queue_pause(store_id=shop.pk, reason="pausa del comercio")
    flows.create_order(http, sandbox, "carreras", flows.example_order("afecta", id=9503))
    flows.pay(http, sandbox, "carreras", 9503)
    flows.cancel(http, sandbox, "carreras", 9503)
    services.queue_resume(store_id=shop.pk)

    document = Document.objects.get(store=shop, order_id=9503)
    assert document.state == DocumentState.REQUIRES_REVIEW
    assert document.error_message == services.CANCELED_BEFORE_EMISSION
    assert flows.openfactura_documents(http, sandbox) == []


def test_cancel_after_a_partial_nota_credits_only_the_rest(sandbox, http, shop):
    flows.create_order(http, sandbox, "carreras", flows.example_order("afecta", id=9504))
    flows.pay(http, sandbox, "carreras", 9504)
    boleta = Document.objects.get(store=shop, order_id=9504)
    services.nota_credito_parcial_create(
        store_id=shop.pk, document_id=boleta.pk, request_key="p1", amount=5000, razon="Devolución"
    )
    flows.cancel(http, sandbox, "carreras", 9504)
    notas = Document.objects.filter(
        store=shop, order_id=9504, kind="nota_credito", state=DocumentState.EMITTED
    )
    assert sorted(n.mnt_total for n in notas) == sorted([5000, boleta.mnt_total - 5000])
    assert sum(n.mnt_total for n in notas) == boleta.mnt_total


def test_an_ambiguous_lookup_after_24_hours_asks_for_review(sandbox, http, shop, settings):
    lose_the_answer(http, sandbox, settings)
    for order_id in (9505, 9506):  # two anonymous boletas of the same total, both answers lost
        flows.create_order(http, sandbox, "carreras", flows.example_order("afecta", id=order_id))
        flows.pay(http, sandbox, "carreras", order_id)
    flows.faults(http, sandbox)
    assert len(flows.openfactura_documents(http, sandbox)) == 2
    document = Document.objects.get(store=shop, order_id=9505)
    Document.objects.filter(pk=document.pk).update(first_attempt_at=timezone.now() - timedelta(hours=25))

    services.document_send(store_id=shop.pk, document_id=document.pk)
    document.refresh_from_db()
    assert document.state == DocumentState.REQUIRES_REVIEW
    assert "podrían ser este" in document.error_message
    assert len(flows.openfactura_documents(http, sandbox)) == 2  # nothing emitted a third time
