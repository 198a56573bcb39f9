"""Regressions from the review of the key-revision, demo-mode and Desconectar changes.

* A rejection proves only that its own request created nothing: after a timeout under the same key, the
  key is kept, and "Reintentar" recovers the original document (OF-06) instead of issuing a second one.
* A document is sent in the environment it was born in; a store that changed mode (demo ↔ real) before
  it was sent parks it for the merchant; a real store without an API key never falls back to the demo
  company and cannot resume its queue.
"""

from __future__ import annotations

import pytest

from emission import services
from emission.models import Document, DocumentState, EmissionSettings
from tests import flows

CODE = "revisor"


@pytest.fixture
def shop(sandbox, http, settings):
    return flows.live_store(http, sandbox, settings, CODE, "Tienda Revisor")


@pytest.mark.django_db(transaction=True)
def test_a_rejection_after_a_timeout_keeps_the_key_and_reintentar_recovers_the_original(
    sandbox, http, shop, settings
):
    settings.OPENFACTURA_TIMEOUT = (2.0, 1.0)
    # The first POST creates the boleta but its answer is lost.
    flows.faults(http, sandbox, timeout_after_emit=True, timeout_seconds=2, scope="emit")
    document = flows.paid_boleta(http, sandbox, shop, 9901)
    assert document.state == DocumentState.FAILED_RETRYING
    assert len(flows.openfactura_documents(http, sandbox)) == 1
    # The retry under the same key is rejected with a data error.
    flows.faults(http, sandbox, status="OF-10", count=1, scope="emit")
    services.document_send(store_id=shop.pk, document_id=document.pk)
    document.refresh_from_db()
    assert document.state == DocumentState.REQUIRES_REVIEW
    assert (document.key_revision, document.idempotency_key.endswith(":r1")) == (0, False)

    flows.faults(http, sandbox)
    services.document_retry(store_id=shop.pk, document_id=document.pk)
    document.refresh_from_db()
    sent = flows.openfactura_documents(http, sandbox)
    assert len(sent) == 1, "the boleta was issued twice"
    assert document.state == DocumentState.EMITTED
    assert document.folio == sent[0]["folio"]


@pytest.mark.django_db(transaction=True)
def test_an_unknown_4xx_keeps_the_key(sandbox, http, shop):
    from emission.client import OpenFacturaRejected

    assert OpenFacturaRejected("x", status=400, code="OF-10").fresh_key
    assert not OpenFacturaRejected("gateway", status=400, code=None).fresh_key
    assert not OpenFacturaRejected("conflict", status=409, code="OF-07").fresh_key


@pytest.mark.django_db(transaction=True)
def test_a_demo_document_is_not_sent_live_after_the_store_goes_live(sandbox, http, settings):
    store = flows.installed_store(http, sandbox, settings, CODE, "Tienda Revisor")
    services.emission_settings_for(store_id=store.pk)
    services.queue_pause(store_id=store.pk, reason="revisión")
    document = flows.paid_boleta(http, sandbox, store, 9911)
    assert document.demo and document.state == DocumentState.PENDING
    EmissionSettings.objects.filter(store=store).update(
        demo_mode=False, api_key=f"sandbox-{CODE}", organization={}
    )

    services.queue_resume(store_id=store.pk)
    document.refresh_from_db()
    assert document.state == DocumentState.REQUIRES_REVIEW
    assert document.error_message == services.documents.DEMO_DOCUMENT_NOW_LIVE
    assert flows.openfactura_documents(http, sandbox) == []
    assert flows.customer_mails(http, sandbox) == []

    # "Reintentar" issues it as what the store is now: a real boleta, to the customer.
    services.document_retry(store_id=store.pk, document_id=document.pk)
    document.refresh_from_db()
    assert (document.state, document.demo) == (DocumentState.EMITTED, False)
    assert [m["to"] for m in flows.customer_mails(http, sandbox)] == [["camila.rojas@example.cl"]]


@pytest.mark.django_db(transaction=True)
def test_a_demo_boletas_nota_is_never_issued_by_the_real_company(sandbox, http, settings):
    store = flows.installed_store(http, sandbox, settings, CODE, "Tienda Revisor")
    boleta = flows.paid_boleta(http, sandbox, store, 9921)
    assert boleta.demo and boleta.state == DocumentState.EMITTED
    EmissionSettings.objects.filter(store=store).update(
        demo_mode=False, api_key=f"sandbox-{CODE}", organization={}
    )

    flows.cancel(http, sandbox, CODE, 9921)
    nota = Document.objects.get(store=store, order_id=9921, kind="nota_credito")
    assert (nota.state, nota.error_message) == (
        DocumentState.REQUIRES_REVIEW,
        services.documents.DEMO_NOTA_NOT_NEEDED,
    )
    assert [d["tipo"] for d in flows.openfactura_documents(http, sandbox)] == [39]
    services.document_retry(store_id=store.pk, document_id=nota.pk)
    nota.refresh_from_db()
    assert nota.state == DocumentState.REQUIRES_REVIEW
    assert [d["tipo"] for d in flows.openfactura_documents(http, sandbox)] == [39]


@pytest.mark.django_db(transaction=True)
def test_a_real_store_without_its_key_waits_paused_and_cannot_resume(sandbox, http, shop):
    from integration import services as integration_services

    integration_services.store_disconnect(store_id=shop.pk)
    assert flows.authorize(http, sandbox, store_code=CODE).url == sandbox("/app/primeros-pasos/")
    cfg = services.emission_settings_for(store_id=shop.pk)
    assert (cfg.queue_paused, cfg.api_key, cfg.demo_mode) == (True, "", False)
    with pytest.raises(services.ActionRefused) as refused:
        services.queue_resume(store_id=shop.pk)
    assert refused.value.message == services.configuration.API_KEY_MISSING

    # Even with the queue running (resumed before the key was lost), nothing goes to the demo company.
    EmissionSettings.objects.filter(store=shop).update(queue_paused=False, queue_paused_reason="")
    document = flows.paid_boleta(http, sandbox, shop, 9931)
    cfg.refresh_from_db()
    assert document.state == DocumentState.PENDING
    assert (cfg.queue_paused, cfg.queue_paused_reason) == (True, services.configuration.API_KEY_MISSING)
    assert flows.openfactura_documents(http, sandbox) == []
    assert flows.customer_mails(http, sandbox) == []
