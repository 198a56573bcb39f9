"""Alerts to the merchant (issue 15 §7): the queue paused itself, documents need review, the API key was
rejected. One email per episode (never per document), a banner on every merchant page until resolved, and
a new email only for a new episode. Driven through the sandbox like the real pipeline."""

from __future__ import annotations

import re

import pytest

from emission import services
from emission.models import Document, DocumentState, EmissionSettings
from tests import flows

pytestmark = pytest.mark.django_db(transaction=True)

CODE = "tienda-alertas"
MERCHANT = f"contacto@{CODE}.example.cl"  # the store's address in Jumpseller (store info)
PAGES = ["/app/", "/app/documentos/", "/app/configuracion/", "/jumpseller/app/"]


@pytest.fixture
def shop(sandbox, http, settings):
    return flows.live_store(http, sandbox, settings, CODE, "Tienda Alertas")


def _alert_mails(http, sandbox) -> list[dict]:
    return [m for m in flows.mails(http, sandbox, to=MERCHANT) if m["subject"].startswith("Acción requerida")]


def _banners(http, sandbox, path: str) -> list[str]:
    response = http.get(sandbox(path), timeout=10)
    assert response.status_code == 200, path
    return re.findall(r'<div class="banner error alert" role="alert" data-alert="([a-z_]+)">', response.text)


def _everywhere(http, sandbox) -> set[tuple[str, ...]]:
    return {tuple(_banners(http, sandbox, path)) for path in PAGES}


def _pay(http, sandbox, *order_ids: int) -> None:
    for order_id in order_ids:
        flows.create_order(http, sandbox, CODE, flows.example_order("afecta", id=order_id))
        flows.pay(http, sandbox, CODE, order_id)


def test_documents_in_review_send_one_email_per_episode_and_a_banner_until_resolved(sandbox, http, shop):
    flows.faults(http, sandbox, status="OF-02")  # OpenFactura rejects every body: a data error
    _pay(http, sandbox, 8101, 8102, 8103)
    assert Document.objects.filter(store=shop, state=DocumentState.REQUIRES_REVIEW).count() == 3
    services.emission_sweep()  # the sweep finds the episode already open: nothing more
    [mail] = _alert_mails(http, sandbox)
    assert mail["subject"] == "Acción requerida: 1 documento requiere tu revisión — Tienda Alertas"
    assert "/app/documentos/?state=requires_review" in " ".join(mail["links"])
    assert _everywhere(http, sandbox) == {("review",)}
    page = http.get(sandbox("/app/"), timeout=10).text
    assert "3 documentos requieren tu revisión" in page and "Ver los documentos por revisar" in page

    flows.faults(http, sandbox)  # the merchant fixed it: every document retried and emitted
    for document in Document.objects.filter(store=shop, state=DocumentState.REQUIRES_REVIEW):
        services.document_retry(store_id=shop.pk, document_id=document.pk)
    assert set(Document.objects.filter(store=shop).values_list("state", flat=True)) == {DocumentState.EMITTED}
    assert _everywhere(http, sandbox) == {()}
    assert len(_alert_mails(http, sandbox)) == 1

    flows.faults(http, sandbox, status="OF-02")  # a new episode: a new email
    _pay(http, sandbox, 8104, 8105)
    assert len(_alert_mails(http, sandbox)) == 2
    assert _everywhere(http, sandbox) == {("review",)}


def test_the_queue_pausing_itself_sends_one_email_and_the_cola_page_says_why(sandbox, http, shop, settings):
    settings.EMISSION_PAUSE_AFTER_FAILURES = 2
    flows.faults(http, sandbox, status=503, error_rate=1)
    _pay(http, sandbox, 8201, 8202)
    first = Document.objects.get(store=shop, order_id=8201)
    services.emission_sweep(now=first.next_attempt_at)  # the retry fails again: the queue pauses
    assert EmissionSettings.objects.get(store=shop).queue_paused
    _pay(http, sandbox, 8203)  # more orders wait: no more email
    services.emission_sweep()
    [mail] = _alert_mails(http, sandbox)
    assert mail["subject"] == "Acción requerida: La emisión de documentos se pausó sola — Tienda Alertas"
    assert "/app/cola/" in " ".join(mail["links"])
    assert _everywhere(http, sandbox) == {("queue_paused",)}
    cola = http.get(sandbox("/app/cola/"), timeout=10).text
    assert "OpenFactura no respondió a varios intentos seguidos" in cola
    assert "no se pierde ninguno" in cola and "misma clave" not in cola

    flows.faults(http, sandbox)
    services.queue_resume(store_id=shop.pk)
    assert _everywhere(http, sandbox) == {()}
    assert "En marcha" in http.get(sandbox("/app/cola/"), timeout=10).text

    flows.faults(http, sandbox, status=503, error_rate=1)  # a new episode
    _pay(http, sandbox, 8204)
    again = Document.objects.get(store=shop, order_id=8204)
    services.emission_sweep(now=again.next_attempt_at)
    assert len(_alert_mails(http, sandbox)) == 2


def test_a_rejected_api_key_sends_one_email_and_a_banner_until_a_good_key_resumes(sandbox, http, shop):
    flows.configure(shop, api_key="0" * 32)  # well formed, unknown to OpenFactura: 401
    _pay(http, sandbox, 8301, 8302, 8303)
    cfg = EmissionSettings.objects.get(store=shop)
    assert cfg.queue_paused and cfg.queue_paused_reason == services.AUTH_ERROR_REASON
    [mail] = _alert_mails(http, sandbox)
    assert mail["subject"] == "Acción requerida: OpenFactura rechazó tu API key — Tienda Alertas"
    assert "/app/configuracion/" in " ".join(mail["links"])
    assert _everywhere(http, sandbox) == {("api_key_rejected",)}
    cola = http.get(sandbox("/app/cola/"), timeout=10).text
    assert "OpenFactura rechazó tu API key" in cola and "Ingresa una API key válida" in cola

    flows.configure(shop, api_key=f"sandbox-{CODE}")
    services.queue_resume(store_id=shop.pk)
    assert _everywhere(http, sandbox) == {()}
    assert len(_alert_mails(http, sandbox)) == 1

    flows.configure(shop, api_key="1" * 32, organization={})  # rejected again: a new episode
    _pay(http, sandbox, 8304)
    assert len(_alert_mails(http, sandbox)) == 2
    assert _everywhere(http, sandbox) == {("api_key_rejected",)}


def test_a_pause_the_merchant_made_is_no_alert(sandbox, http, shop):
    assert services.queue_pause(store_id=shop.pk, reason="Inventario")
    assert _everywhere(http, sandbox) == {()}
    assert "La pausaste tú. Motivo: Inventario" in http.get(sandbox("/app/cola/"), timeout=10).text
    services.emission_sweep()
    assert _alert_mails(http, sandbox) == []


def test_an_order_canceled_before_its_document_went_out_is_no_alert(sandbox, http, shop):
    flows.create_order(http, sandbox, CODE, flows.example_order("afecta", id=8401))
    flows.cancel(http, sandbox, CODE, 8401)  # never paid: nothing to issue, nothing for the merchant to do
    services.emission_sweep()
    assert flows.openfactura_documents(http, sandbox) == []
    assert _alert_mails(http, sandbox) == []
    assert _everywhere(http, sandbox) == {()}


def test_canceling_an_order_already_refunded_in_full_is_no_alert(sandbox, http, shop):
    _pay(http, sandbox, 8402)
    [boleta] = Document.objects.filter(store=shop, order_id=8402)
    services.nota_credito_parcial_create(
        store_id=shop.pk,
        document_id=boleta.pk,
        request_key="todo",
        amount=boleta.mnt_total,
        razon="Devolución",
    )
    flows.cancel(http, sandbox, CODE, 8402)  # the annulling nota has nothing left to credit
    annulling = Document.objects.get(store=shop, purpose=f"nc:{boleta.pk}")
    assert (annulling.state, annulling.error_code) == (DocumentState.REQUIRES_REVIEW, "nothing_remains")
    services.emission_sweep()
    assert _alert_mails(http, sandbox) == []
    assert _everywhere(http, sandbox) == {()}
