"""Merchant actions and recovery paths of the pipeline, against the sandbox (Celery eager)."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from emission import services
from emission.models import Document, DocumentState, EmissionSettings
from integration.services import jumpseller_client_for
from tests import flows

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def shop(sandbox, http, settings):
    return flows.installed_store(http, sandbox, settings, "acciones", "Tienda Acciones")


def paid_boleta(http, sandbox, shop, order_id: int, example: str = "afecta") -> Document:
    flows.create_order(http, sandbox, "acciones", flows.example_order(example, id=order_id))
    flows.pay(http, sandbox, "acciones", order_id)
    return Document.objects.get(store=shop, order_id=order_id, kind="boleta")


def test_rejected_api_key_pauses_the_queue_and_resume_sends_after_the_fix(sandbox, http, shop):
    services.emission_settings_for(store_id=shop.pk)
    EmissionSettings.objects.filter(store=shop).update(
        demo_mode=False, organization={}, api_key="ffffffffffffffffffffffffffffffff"
    )
    flows.create_order(http, sandbox, "acciones", flows.example_order("afecta", id=9001))
    flows.pay(http, sandbox, "acciones", 9001)
    cfg = EmissionSettings.objects.get(store=shop)
    assert cfg.queue_paused and "API key" in cfg.queue_paused_reason
    document = Document.objects.get(store=shop, order_id=9001)
    assert document.state == DocumentState.FAILED_RETRYING and "API key" in document.error_message
    assert flows.openfactura_documents(http, sandbox) == []

    # A second order arrives while paused: it waits, nothing is sent, nothing is lost.
    flows.create_order(http, sandbox, "acciones", flows.example_order("afecta", id=9002))
    flows.pay(http, sandbox, "acciones", 9002)
    assert flows.openfactura_documents(http, sandbox) == []

    EmissionSettings.objects.filter(store=shop).update(api_key="sandbox-acciones")  # the merchant fixes it
    assert services.queue_resume(store_id=shop.pk) == 2
    emitted = Document.objects.filter(store=shop, state=DocumentState.EMITTED).order_by("emitted_at")
    assert [d.order_id for d in emitted] == [9001, 9002]  # resumed in order
    assert [d["rut_emisor"] for d in flows.openfactura_documents(http, sandbox)] == ["77123456-9"] * 2


def test_partial_nota_de_credito_for_an_amount_once_per_request(sandbox, http, shop):
    boleta = paid_boleta(http, sandbox, shop, 9101)
    nota = services.nota_credito_parcial_create(
        store_id=shop.pk, document_id=boleta.pk, request_key="form-1", amount=5000, razon="Devolución parcial"
    )
    again = services.nota_credito_parcial_create(
        store_id=shop.pk, document_id=boleta.pk, request_key="form-1", amount=5000, razon="Devolución parcial"
    )
    assert again.pk == nota.pk
    nota.refresh_from_db()
    assert (nota.state, nota.tipo, nota.mnt_total) == (DocumentState.EMITTED, 61, 5000)
    [reference] = nota.request_body["dte"]["Referencia"]
    assert str(reference["CodRef"]) == "3" and str(reference["FolioRef"]) == str(boleta.folio)
    assert [d["tipo"] for d in flows.openfactura_documents(http, sandbox)] == [39, 61]

    with pytest.raises(services.ActionRefused, match="no superar lo que queda"):
        services.nota_credito_parcial_create(
            store_id=shop.pk, document_id=boleta.pk, request_key="form-2", amount=boleta.mnt_total, razon="x"
        )
    assert len(flows.openfactura_documents(http, sandbox)) == 2


def test_partial_nota_de_credito_for_returned_lines(sandbox, http, shop):
    boleta = paid_boleta(http, sandbox, shop, 9102)
    nota = services.nota_credito_parcial_create(
        store_id=shop.pk, document_id=boleta.pk, request_key="l1", lines=[(1, Decimal(1))], razon="Devolución"
    )
    nota.refresh_from_db()
    assert nota.state == DocumentState.EMITTED
    assert 0 < nota.mnt_total <= boleta.mnt_total
    assert len(nota.request_body["dte"]["Detalle"]) == 1


def test_resend_email_sends_again_and_reports_failures(sandbox, http, shop):
    boleta = paid_boleta(http, sandbox, shop, 9201)
    customer = shop.email  # a demo boleta: emailed to the store's own address (demo recipient), not the buyer
    assert len(flows.mails(http, sandbox, to=customer)) == 1
    services.document_email_resend(store_id=shop.pk, document_id=boleta.pk)
    assert len(flows.mails(http, sandbox, to=customer)) == 2

    Document.objects.filter(pk=boleta.pk).update(customer_email="")
    with pytest.raises(services.ActionRefused, match="no tiene correo"):
        services.document_email_resend(store_id=shop.pk, document_id=boleta.pk)
    assert len(flows.mails(http, sandbox)) == 2


def test_reconcile_emits_for_paid_orders_that_never_reached_us(sandbox, http, shop):
    # Orders paid while the hooks were gone (deleted in Jumpseller): no webhook ever arrived.
    with jumpseller_client_for(shop.pk) as client:
        for hook in client.list_hooks():
            client.delete_hook(hook.id)
    for order_id in (9301, 9302):
        flows.create_order(http, sandbox, "acciones", flows.example_order("afecta", id=order_id))
        http.post(sandbox(f"/sandbox/jumpseller/stores/acciones/orders/{order_id}/pay"), timeout=30)
    flows.create_order(http, sandbox, "acciones", flows.example_order("afecta", id=9303))  # not paid
    assert not Document.objects.filter(store=shop).exists()

    today = timezone.localdate()
    assert (
        services.orders_reconcile(store_id=shop.pk, date_from=today - timedelta(days=1), date_to=today) == 2
    )
    assert (
        services.orders_reconcile(store_id=shop.pk, date_from=today - timedelta(days=1), date_to=today) == 0
    )
    emitted = set(
        Document.objects.filter(store=shop, state=DocumentState.EMITTED).values_list("order_id", flat=True)
    )
    assert emitted == {9301, 9302}
    assert len(flows.openfactura_documents(http, sandbox)) == 2


def test_retry_after_the_24h_key_window_finds_the_document_instead_of_emitting_again(
    sandbox, http, shop, settings
):
    settings.OPENFACTURA_TIMEOUT = (2.0, 1.0)
    flows.faults(http, sandbox, timeout_after_emit=True, timeout_seconds=2, scope="emit")
    flows.create_order(http, sandbox, "acciones", flows.example_order("afecta", id=9401))
    flows.pay(http, sandbox, "acciones", 9401)
    flows.faults(http, sandbox)
    document = Document.objects.get(store=shop, order_id=9401)
    assert document.state == DocumentState.FAILED_RETRYING
    Document.objects.filter(pk=document.pk).update(first_attempt_at=timezone.now() - timedelta(hours=25))

    services.document_send(store_id=shop.pk, document_id=document.pk)
    document.refresh_from_db()
    [sent] = flows.openfactura_documents(http, sandbox)
    assert document.state == DocumentState.EMITTED and document.token == sent["token"]
    assert document.emission_attempts.last().outcome == "recovered"


def test_a_partial_nota_retried_from_review_never_credits_beyond_the_document(sandbox, http, shop):
    """A partial nota parked in review is not counted while it waits; "Reintentar" checks again that it
    still fits what remains (review finding: A in review, B issued, retrying A credited 2 × 60 %)."""
    boleta = paid_boleta(http, sandbox, shop, 9121)
    part = boleta.mnt_total * 6 // 10
    flows.faults(http, sandbox, status="OF-02")  # OpenFactura rejects the body: A goes to review
    first = services.nota_credito_parcial_create(
        store_id=shop.pk, document_id=boleta.pk, request_key="form-a", amount=part, razon="Devolución A"
    )
    first.refresh_from_db()
    assert first.state == DocumentState.REQUIRES_REVIEW
    flows.faults(http, sandbox)
    second = services.nota_credito_parcial_create(
        store_id=shop.pk, document_id=boleta.pk, request_key="form-b", amount=part, razon="Devolución B"
    )
    second.refresh_from_db()
    assert second.state == DocumentState.EMITTED

    with pytest.raises(services.ActionRefused, match="supera el total del documento"):
        services.document_retry(store_id=shop.pk, document_id=first.pk)
    first.refresh_from_db()
    assert first.state == DocumentState.REQUIRES_REVIEW
    assert [d["tipo"] for d in flows.openfactura_documents(http, sandbox)] == [39, 61]


def test_a_partial_nota_resolved_by_hand_without_a_folio_credits_nothing(sandbox, http, shop):
    boleta = paid_boleta(http, sandbox, shop, 9122)
    flows.faults(http, sandbox, status="OF-02")
    nota = services.nota_credito_parcial_create(
        store_id=shop.pk, document_id=boleta.pk, request_key="form-a", amount=5000, razon="Devolución"
    )
    flows.faults(http, sandbox)
    services.document_resolve(store_id=shop.pk, document_id=nota.pk, folio=None, reason="No correspondía")
    assert services.orders._credited(boleta) == 0  # never issued: nothing was credited
    resolved_elsewhere = services.nota_credito_parcial_create(
        store_id=shop.pk, document_id=boleta.pk, request_key="form-b", amount=boleta.mnt_total, razon="Todo"
    )  # the whole document still fits: the resolved nota did not count
    resolved_elsewhere.refresh_from_db()
    assert (resolved_elsewhere.state, resolved_elsewhere.mnt_total) == (
        DocumentState.EMITTED,
        boleta.mnt_total,
    )


def test_a_sale_document_keeps_its_path_when_the_store_changes_mode_before_it_is_retried(sandbox, http, shop):
    """Review finding: a mode-2 boleta in review, the store switched to mode 3, "Reintentar" re-dispatched
    the order through the new mode — a link email and the boleta pending forever."""
    flows.faults(http, sandbox, status="OF-02")
    boleta = paid_boleta(http, sandbox, shop, 9123)
    assert boleta.state == DocumentState.REQUIRES_REVIEW
    flows.faults(http, sandbox)
    flows.configure(shop, mode=3)
    services.document_retry(store_id=shop.pk, document_id=boleta.pk)
    boleta.refresh_from_db()
    assert (boleta.state, boleta.tipo) == (DocumentState.EMITTED, 39)
    assert not any("Obtén tu documento" in m["subject"] for m in flows.mails(http, sandbox))
