"""Documentos: the list (filters, pages, CSV), the detail, and the actions — each scoped to the session's
store, idempotent, and saying what it did."""

from __future__ import annotations

import csv
import io
import json
from datetime import timedelta

import pytest
import responses
from django.utils import timezone

from emission.models import Document, EmissionAttempt, EmissionSettings
from merchant.models import AuditEntry
from tests.integration.conftest import API, merchant_client

from .conftest import csrf_token, make_document

pytestmark = pytest.mark.django_db

LIST = "/app/documentos/"


@pytest.fixture
def enqueued(monkeypatch) -> list[tuple]:
    calls: list[tuple] = []
    monkeypatch.setattr("core.queue.publish", lambda name, *args, **kw: calls.append((name, *args)))
    return calls


def emitted(store, **fields) -> Document:
    values = {
        "state": "emitted",
        "token": "tok-1",
        "folio": 4521,
        "mnt_neto": 10916,
        "mnt_exe": 0,
        "iva": 2074,
        "mnt_total": 12990,
        "emitted_at": timezone.now(),
        **fields,
    }
    return make_document(store, **values)


def test_another_stores_document_is_a_404_everywhere(merchant, other_store):
    theirs = emitted(other_store)
    assert merchant.get(f"/app/documentos/{theirs.pk}/").status_code == 404
    page = merchant.get(LIST)
    for action in ("reintentar", "reenviar-correo", "nota-credito", "nota-credito-parcial"):
        response = merchant.post(
            f"/app/documentos/{theirs.pk}/{action}", {"csrfmiddlewaretoken": csrf_token(page)}
        )
        assert response.status_code == 404, action
    assert "4521" not in page.content.decode()


def test_the_list_shows_only_this_store_and_filters(merchant, store, other_store):
    mine = emitted(store, folio=111)
    make_document(store, state="requires_review", kind="factura", tipo=33, purpose="factura")
    emitted(other_store, folio=98765)
    text = merchant.get(LIST).content.decode()
    assert "111" in text and "98765" not in text
    assert "$12.990" in text
    assert "2 documentos" in text

    text = merchant.get(LIST, {"state": "requires_review"}).content.decode()
    assert "1 documentos" in text and "Requiere revisión" in text
    assert "1 documentos" in merchant.get(LIST, {"folio": "111"}).content.decode()
    assert "1 documentos" in merchant.get(LIST, {"order": mine.order_number}).content.decode()
    assert "1 documentos" in merchant.get(LIST, {"kind": "factura"}).content.decode()
    assert "No hay documentos" in merchant.get(LIST, {"env": "prod"}).content.decode()
    tomorrow = (timezone.localdate() + timedelta(days=1)).isoformat()
    assert "No hay documentos" in merchant.get(LIST, {"date_from": tomorrow}).content.decode()


def test_the_list_is_paginated(merchant, store):
    for _ in range(30):
        make_document(store)
    first = merchant.get(LIST).content.decode()
    assert "Página 1 de 2 (30 documentos)" in first and "Siguiente" in first
    assert "Página 2 de 2" in merchant.get(LIST, {"pagina": "2"}).content.decode()


def test_csv_export_follows_the_filters_and_defuses_formulas(merchant, store, other_store):
    emitted(store, folio=111, customer_name="=HYPERLINK(1)")
    make_document(store, state="pending")
    emitted(other_store, folio=98765)
    response = merchant.get(LIST, {"state": "emitted", "formato": "csv"})
    assert response["Content-Type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(response.content.decode())))
    assert rows[0][:5] == ["id", "orden", "tipo", "folio", "estado"]
    assert len(rows) == 2
    assert rows[1][2:5] == ["Boleta electrónica", "111", "Emitido"]
    assert rows[1][6] == "'=HYPERLINK(1)"
    assert rows[1][10] == "12990"


def test_the_detail_shows_totals_receptor_pdf_selfservice_and_every_attempt(merchant, store):
    document = emitted(
        store,
        receptor={"RUTRecep": "76430498-5", "RznSocRecep": "HOSTY SPA"},
        request_json=json.dumps(
            {"dte": {"Detalle": [{"NmbItem": "Polera", "QtyItem": 1, "PrcItem": 12990, "MontoItem": 12990}]}}
        ),
        attach_error="Jumpseller rechazó el adjunto (422).",
    )
    EmissionAttempt.objects.create(
        document=document,
        store=store,
        started_at=timezone.now(),
        outcome="transient",
        http_status=503,
        error_message="OpenFactura no respondió",
    )
    text = merchant.get(f"/app/documentos/{document.pk}/").content.decode()
    for expected in (
        "Boleta electrónica N° 4521",
        "$10.916",
        "$2.074",
        "$12.990",
        "HOSTY SPA · 76.430.498-5",
        "Polera",
        "/documentos/",
        ".pdf",
        "https://app.openfactura.test/documento/",
        "Jumpseller rechazó el adjunto (422).",
        "OpenFactura no respondió",
        "503",
        "Reenviar correo",
        "Emitir nota de crédito total",
    ):
        assert expected in text, expected


def test_reintentar_sends_a_document_in_review_again_and_says_so(
    merchant, store, enqueued, django_capture_on_commit_callbacks
):
    document = make_document(store, state="requires_review", error_message="RUT inválido")
    page = merchant.get(f"/app/documentos/{document.pk}/")
    with django_capture_on_commit_callbacks(execute=True):
        response = merchant.post(
            f"/app/documentos/{document.pk}/reintentar",
            {"csrfmiddlewaretoken": csrf_token(page)},
            follow=True,
        )
    assert "Reintento en curso" in response.content.decode()
    document.refresh_from_db()
    assert document.state == "pending" and document.error_message == ""
    assert enqueued == [("emission.emit_for_order", store.pk, document.order_id)]
    [entry] = AuditEntry.objects.filter(store=store)
    assert entry.what.startswith(
        f"Boleta electrónica #{document.pk} (orden {document.order_id}): Reintento en curso"
    )


def test_reintentar_an_emitted_document_does_nothing_and_says_so(merchant, store, enqueued):
    document = emitted(store)
    page = merchant.get(f"/app/documentos/{document.pk}/")
    response = merchant.post(
        f"/app/documentos/{document.pk}/reintentar", {"csrfmiddlewaretoken": csrf_token(page)}, follow=True
    )
    assert "ya está emitido: no hay nada que reintentar" in response.content.decode()
    assert enqueued == []


def test_actions_need_csrf(merchant, store, enqueued):
    document = make_document(store, state="requires_review")
    assert merchant.post(f"/app/documentos/{document.pk}/reintentar").status_code == 403
    document.refresh_from_db()
    assert document.state == "requires_review"


def test_reenviar_correo_of_a_pending_document_is_refused_in_spanish(merchant, store):
    document = make_document(store, state="pending")
    page = merchant.get(LIST)
    response = merchant.post(
        f"/app/documentos/{document.pk}/reenviar-correo",
        {"csrfmiddlewaretoken": csrf_token(page)},
        follow=True,
    )
    assert "aún no está emitido" in response.content.decode()


def test_reenviar_correo_sends_it_again(merchant, store, mailoutbox):
    EmissionSettings.objects.create(store=store)
    document = emitted(store, pdf=b"%PDF-1.4 test", demo=False)  # a demo one goes to the merchant instead
    page = merchant.get(LIST)
    response = merchant.post(
        f"/app/documentos/{document.pk}/reenviar-correo",
        {"csrfmiddlewaretoken": csrf_token(page)},
        follow=True,
    )
    assert "Correo reenviado a ana@example.cl." in response.content.decode()
    assert [m.to for m in mailoutbox] == [["ana@example.cl"]]


@responses.activate
def test_emitir_para_una_orden_is_idempotent(merchant, store, enqueued, django_capture_on_commit_callbacks):
    paid = {"order": {"id": 7001, "status": "Paid", "status_enum": "paid", "customer": {}}}
    responses.get(f"{API}/orders/7001.json", json=paid)
    page = merchant.get(LIST)
    with django_capture_on_commit_callbacks(execute=True):
        response = merchant.post(
            "/app/documentos/emitir-orden",
            {"csrfmiddlewaretoken": csrf_token(page), "order_id": "7001"},
            follow=True,
        )
    assert "La orden 7001 está pagada: su documento se está emitiendo" in response.content.decode()
    assert enqueued == [("emission.emit_for_order", store.pk, 7001)]

    make_document(store, order_id=7001)
    response = merchant.post(
        "/app/documentos/emitir-orden",
        {"csrfmiddlewaretoken": csrf_token(page), "order_id": "7001"},
        follow=True,
    )
    assert "La orden 7001 ya tiene su documento" in response.content.decode()
    assert "No se emitió otro." in response.content.decode()
    assert len(enqueued) == 1


def test_reconciliar_refuses_a_backwards_range(merchant, store, monkeypatch):
    called = []
    monkeypatch.setattr("emission.services.orders_reconcile", lambda **kw: called.append(kw) or 0)
    page = merchant.get(LIST)
    response = merchant.post(
        "/app/documentos/reconciliar",
        {"csrfmiddlewaretoken": csrf_token(page), "date_from": "2026-05-10", "date_to": "2026-05-01"},
        follow=True,
    )
    assert "La fecha final debe ser posterior a la inicial." in response.content.decode()
    assert called == []


def test_reconciliar_says_how_many_orders_it_found(
    merchant, store, monkeypatch, django_capture_on_commit_callbacks
):
    called = []
    monkeypatch.setattr("emission.services.orders_reconcile", lambda **kw: called.append(kw) or 3)
    page = merchant.get(LIST)
    # The reconciliation is a background job (issue 17): it runs once the request commits.
    with django_capture_on_commit_callbacks(execute=True):
        response = merchant.post(
            "/app/documentos/reconciliar",
            {"csrfmiddlewaretoken": csrf_token(page), "date_from": "2026-05-01", "date_to": "2026-05-10"},
        )
    response = merchant.get(response["Location"])
    assert "entre 01-05-2026 y 10-05-2026: 3 no tenían documento" in response.content.decode()
    assert called[0]["store_id"] == store.pk


def test_nota_de_credito_parcial_on_a_pending_document_is_refused(merchant, store):
    document = make_document(store, state="pending")
    page = merchant.get(LIST)
    response = merchant.post(
        f"/app/documentos/{document.pk}/nota-credito-parcial",
        {
            "csrfmiddlewaretoken": csrf_token(page),
            "amount": "1000",
            "razon": "Devolución",
            "request_key": "k1",
            "confirmacion": store.code,
        },
        follow=True,
    )
    assert (
        "Solo se puede emitir una nota de crédito sobre una boleta o factura emitida."
        in response.content.decode()
    )
    assert Document.objects.filter(kind="nota_credito").count() == 0


def test_another_store_session_cannot_see_this_list(store, other_store):
    emitted(store, folio=111)
    text = merchant_client(other_store).get(LIST).content.decode()
    assert "No hay documentos" in text


def test_the_pdf_preview_is_served_inline_for_this_store_only(merchant, store, other_store):
    mine = emitted(store, pdf=b"%PDF-1.4 mine")
    theirs = emitted(other_store, pdf=b"%PDF-1.4 theirs")
    response = merchant.get(f"/app/documentos/{mine.pk}/pdf")
    assert response.status_code == 200 and response.content == b"%PDF-1.4 mine"
    assert response["Content-Disposition"].startswith("inline;")
    assert "X-Frame-Options" not in response
    download = merchant.get(f"/app/documentos/{mine.pk}/pdf", {"descargar": "1"})
    assert download["Content-Disposition"] == 'attachment; filename="39-4521.pdf"'
    assert merchant.get(f"/app/documentos/{theirs.pk}/pdf").status_code == 404
    pending = make_document(store, state="pending")
    assert merchant.get(f"/app/documentos/{pending.pk}/pdf").status_code == 404
