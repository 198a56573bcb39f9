"""The emission pipeline end to end against the sandbox, over real sockets (Celery eager).

Install the app → pay an order in the fake Jumpseller → signed webhooks → the product re-reads the order,
builds the document, sends it to the fake OpenFactura once, emails the customer and attaches it to the
Jumpseller order. Failure paths assert what the merchant sees and that nothing was sent twice or lost.
"""

from __future__ import annotations

import pytest

from emission import services
from emission.models import Document, DocumentState, EmissionAttempt, EmissionSettings
from tests import flows

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def shop(sandbox, http, settings):
    """A store called ``tienda`` with the app installed (demo company, mode 2: the defaults), its demo
    documents attached in Jumpseller (off by default; ``tests/merchant/test_demo_mode.py``)."""
    store = flows.installed_store(http, sandbox, settings, "tienda", "Tienda Ñuñoa")
    flows.configure(store, demo_attach_documents=True)
    return store


def test_paid_order_gets_one_boleta_emailed_and_attached(sandbox, http, shop):
    order = flows.create_order(http, sandbox, "tienda", flows.example_order("mixta", id=7001))
    deliveries = flows.pay(http, sandbox, "tienda", 7001, deliveries=5)
    assert [d["status"] for d in deliveries] == [200] * 5

    sent = flows.openfactura_documents(http, sandbox)
    assert len(sent) == 1, "five deliveries of the same payment must produce one document"
    [document] = Document.objects.filter(store=shop)
    assert document.state == DocumentState.EMITTED
    assert (document.kind, document.tipo, document.demo) == ("boleta", 39, True)
    assert sent[0]["token"] == document.token and sent[0]["folio"] == document.folio
    assert sent[0]["idempotency_key"] == document.idempotency_key
    assert document.idempotency_key.startswith("js:tienda:7001:") and document.idempotency_key.endswith(
        ":venta"
    )
    assert sent[0]["request"] == document.request_body
    assert document.mnt_total == order["total"] == 40980
    assert (document.mnt_neto, document.mnt_exe, document.iva) == (24353, 12000, 4627)

    [mail] = flows.mails(http, sandbox, to=shop.email)  # demo: the store's address, never the customer's
    assert mail["subject"] == f"[DEMO] Boleta electrónica N° {document.folio} — Tienda Ñuñoa"
    assert mail["attachments"] == [f"39-{document.folio}.pdf"]
    pdf_link = next(link for link in mail["links"] if "/documentos/" in link)
    assert any("/documento/" in link for link in mail["links"]), "mode 2 emails carry the self-service link"
    pdf = http.get(pdf_link, timeout=10)
    assert pdf.status_code == 200 and pdf.headers["Content-Type"] == "application/pdf"
    assert pdf.content.startswith(b"%PDF")

    [attached] = flows.jumpseller_documents(http, sandbox, "tienda", 7001)
    assert (attached["document_type"], attached["public_id"]) == (1, f"39-{document.folio}")
    assert attached["url"] == pdf_link and attached["external_id"] == document.token
    history = http.get(sandbox("/sandbox/jumpseller/stores/tienda/orders/7001/history"), timeout=10).json()
    assert any(f"N° {document.folio}" in str(entry) for entry in history)
    assert document.emission_attempts.get().outcome == "emitted"

    # A late duplicate delivery (Jumpseller retry) changes nothing.
    flows.pay(http, sandbox, "tienda", 7001)
    assert len(flows.openfactura_documents(http, sandbox)) == 1
    assert len(flows.mails(http, sandbox, to=shop.email)) == 1
    assert len(flows.jumpseller_documents(http, sandbox, "tienda", 7001)) == 1


def test_cancelled_order_gets_a_nota_de_credito_that_annuls_the_boleta(sandbox, http, shop):
    flows.create_order(http, sandbox, "tienda", flows.example_order("afecta", id=7002))
    flows.pay(http, sandbox, "tienda", 7002)
    boleta = Document.objects.get(store=shop, order_id=7002, kind="boleta")

    flows.cancel(http, sandbox, "tienda", 7002)
    flows.cancel(http, sandbox, "tienda", 7002)  # a repeated delivery: still one nota
    nota = Document.objects.get(store=shop, order_id=7002, kind="nota_credito")
    assert nota.state == DocumentState.EMITTED and nota.tipo == 61 and nota.annuls_id == boleta.pk
    [reference] = nota.request_body["dte"]["Referencia"]
    assert (reference["TpoDocRef"], str(reference["FolioRef"]), str(reference["CodRef"])) == (
        "39",
        str(boleta.folio),
        "1",
    )
    assert nota.mnt_total == boleta.mnt_total
    tipos = [d["tipo"] for d in flows.openfactura_documents(http, sandbox)]
    assert tipos == [39, 61]
    attached = flows.jumpseller_documents(http, sandbox, "tienda", 7002)
    assert sorted((d["document_type"], d["public_id"]) for d in attached) == [
        (0, f"61-{nota.folio}"),
        (1, f"39-{boleta.folio}"),
    ]


def test_refused_order_waits_for_review_and_nothing_is_sent(sandbox, http, shop):
    flows.create_order(http, sandbox, "tienda", flows.example_order("afecta", id=7003, currency="USD"))
    flows.pay(http, sandbox, "tienda", 7003)
    [document] = Document.objects.filter(store=shop, order_id=7003)
    assert document.state == DocumentState.REQUIRES_REVIEW
    assert document.error_code == "currency"
    assert "CLP" in document.error_message
    assert flows.openfactura_documents(http, sandbox) == []
    assert flows.customer_mails(http, sandbox) == []
    [alert] = flows.merchant_alerts(http, sandbox)  # the merchant is told, once
    assert "revisión" in alert["subject"]
    assert flows.jumpseller_documents(http, sandbox, "tienda", 7003) == []
    assert document.emission_attempts.get().outcome == "refused"


def test_mode_3_emails_the_link_and_emits_nothing(sandbox, http, shop):
    flows.configure(shop, mode=3)
    flows.create_order(http, sandbox, "tienda", flows.example_order("afecta", id=7004))
    flows.pay(http, sandbox, "tienda", 7004, deliveries=3)
    assert flows.openfactura_documents(http, sandbox) == []
    assert not Document.objects.filter(store=shop).exists()
    [mail] = flows.mails(http, sandbox)
    assert mail["attachments"] == []
    assert "Obtén tu documento tributario" in mail["subject"]
    assert any("/documento/" in link for link in mail["links"])


def test_factura_directa_when_the_buyer_gave_company_data(sandbox, http, shop):
    flows.configure(shop, factura_directa=True)
    flows.create_order(http, sandbox, "tienda", flows.example_order("empresa", id=7005))
    flows.pay(http, sandbox, "tienda", 7005)
    [document] = Document.objects.filter(store=shop, order_id=7005)
    assert (document.state, document.kind, document.tipo) == (DocumentState.EMITTED, "factura", 33)
    receptor = document.request_body["dte"]["Encabezado"]["Receptor"]
    assert receptor["RUTRecep"] != "66666666-6"
    assert set(receptor) >= {"RUTRecep", "RznSocRecep", "GiroRecep", "DirRecep", "CmnaRecep"}


def test_openfactura_down_pauses_then_resume_emits_each_order_once(sandbox, http, shop, settings):
    settings.EMISSION_PAUSE_AFTER_FAILURES = 2
    flows.faults(http, sandbox, status=503, error_rate=1)
    for order_id in (7006, 7007):
        flows.create_order(http, sandbox, "tienda", flows.example_order("afecta", id=order_id))
        flows.pay(http, sandbox, "tienda", order_id)
    first = Document.objects.get(store=shop, order_id=7006)
    assert first.state == DocumentState.FAILED_RETRYING
    assert "se reintentará" in first.error_message
    services.emission_sweep(now=first.next_attempt_at)  # the retry: fails again → the queue pauses
    cfg = EmissionSettings.objects.get(store=shop)
    assert cfg.queue_paused and "OpenFactura no responde" in cfg.queue_paused_reason
    assert flows.openfactura_documents(http, sandbox) == []

    flows.faults(http, sandbox)  # OpenFactura is back; the merchant resumes
    services.queue_resume(store_id=shop.pk)
    states = dict(Document.objects.filter(store=shop).values_list("order_id", "state"))
    assert states == {7006: DocumentState.EMITTED, 7007: DocumentState.EMITTED}
    assert sorted(d["idempotency_key"].split(":")[2] for d in flows.openfactura_documents(http, sandbox)) == [
        "7006",
        "7007",
    ]
    assert EmissionAttempt.objects.filter(document=first, outcome="transient").count() == 2


def test_lost_response_is_recovered_with_the_same_key(sandbox, http, shop, settings):
    settings.OPENFACTURA_TIMEOUT = (2.0, 1.0)
    flows.faults(http, sandbox, timeout_after_emit=True, timeout_seconds=2)
    flows.create_order(http, sandbox, "tienda", flows.example_order("afecta", id=7008))
    flows.pay(http, sandbox, "tienda", 7008)
    document = Document.objects.get(store=shop, order_id=7008)
    assert document.state == DocumentState.FAILED_RETRYING  # our read timed out after OpenFactura emitted
    assert len(flows.openfactura_documents(http, sandbox)) == 1

    flows.faults(http, sandbox)
    services.emission_sweep(now=document.next_attempt_at)
    document.refresh_from_db()
    [sent] = flows.openfactura_documents(http, sandbox)
    assert document.state == DocumentState.EMITTED and document.token == sent["token"]
    assert document.folio == sent["folio"]
    assert [a.outcome for a in document.emission_attempts.all()] == ["transient", "duplicate"]
    assert len(flows.mails(http, sandbox)) == 1
