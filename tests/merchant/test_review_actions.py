""" "Requiere revisión" is no dead end: besides Reintentar, the merchant marks a document resolved by hand
(audited, handled, never sent) or corrects the buyer of a factura that failed on it (validated, shown,
sent only once confirmed)."""

from __future__ import annotations

import re

import pytest

from emission import services
from emission.models import Document, DocumentState
from merchant.models import AuditEntry
from tests import flows

from .conftest import csrf_token, make_document

pytestmark = pytest.mark.django_db


@pytest.fixture
def enqueued(monkeypatch) -> list[tuple]:
    calls: list[tuple] = []
    monkeypatch.setattr("core.queue.publish", lambda name, *args, **kw: calls.append((name, *args)))
    return calls


def test_marcar_como_resuelto_records_it_and_the_document_is_handled_and_never_sent(
    merchant, store, enqueued, django_capture_on_commit_callbacks
):
    document = make_document(
        store, state="requires_review", error_code="OF-23", error_message="Boletas bloqueadas"
    )
    page = merchant.get(f"/app/documentos/{document.pk}/")
    text = page.content.decode()
    assert "Reintentar" in text and "Marcar como resuelto" in text
    assert "Corregir datos del receptor" not in text  # a boleta's buyer is not what failed
    url = f"/app/documentos/{document.pk}/resolver"

    refused = merchant.post(
        url, {"csrfmiddlewaretoken": csrf_token(page), "store": store.code, "folio": "4599"}
    )
    assert refused.status_code == 400
    assert "Indica por qué lo marcas como resuelto." in refused.content.decode()
    assert 'value="4599"' in refused.content.decode()
    document.refresh_from_db()
    assert document.state == DocumentState.REQUIRES_REVIEW

    with django_capture_on_commit_callbacks(execute=True):
        done = merchant.post(
            url,
            {
                "csrfmiddlewaretoken": csrf_token(page),
                "store": store.code,
                "folio": "4599",
                "motivo": "Emitida a mano en OpenFactura",
            },
            follow=True,
        )
    text = done.content.decode()
    assert "Marcado como resuelto a mano (folio 4599 emitido en otro sistema)" in text
    assert "Resuelto a mano" in text and 'class="success"' in text
    document.refresh_from_db()
    assert (document.state, document.resolved_folio, document.resolved_reason) == (
        DocumentState.RESOLVED,
        4599,
        "Emitida a mano en OpenFactura",
    )
    [entry] = AuditEntry.objects.filter(store=store)
    assert "Emitida a mano en OpenFactura" in entry.what and "4599" in entry.what

    # Handled: out of the review list and the Resumen's count; never sent again.
    review = merchant.get("/app/documentos/", {"state": "requires_review"}).content.decode()
    assert "No hay documentos" in review
    assert "Nada pendiente de revisión" in merchant.get("/app/").content.decode()
    with django_capture_on_commit_callbacks(execute=True):
        services.emission_sweep()
        retry = merchant.post(
            f"/app/documentos/{document.pk}/reintentar",
            {"csrfmiddlewaretoken": csrf_token(page), "store": store.code},
            follow=True,
        )
    assert "resuelto a mano: no se envía" in retry.content.decode()
    assert enqueued == []
    document.refresh_from_db()
    assert document.state == DocumentState.RESOLVED


@pytest.mark.django_db(transaction=True)
def test_corregir_datos_del_receptor_validates_shows_and_sends_only_when_confirmed(http, sandbox, settings):
    store = flows.installed_store(http, sandbox, settings, "receptor", "Tienda Receptor")
    flows.configure(store, factura_directa=True)
    order = flows.example_order("empresa", id=9801)
    order["billing_address"]["taxid"] = "76.543.210-4"  # wrong check digit
    flows.create_order(http, sandbox, "receptor", order)
    flows.pay(http, sandbox, "receptor", 9801)
    factura = Document.objects.get(store=store, order_id=9801)
    assert (factura.kind, factura.state, factura.error_code) == (
        "factura",
        DocumentState.REQUIRES_REVIEW,
        "receptor_rut_invalid",
    )
    detail = sandbox(f"/app/documentos/{factura.pk}/")
    page = http.get(detail, timeout=10)
    assert "Corregir datos del receptor" in page.text
    url = sandbox(f"/app/documentos/{factura.pk}/receptor")
    fields = {
        "csrfmiddlewaretoken": re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text).group(1),
        "store": "receptor",
        "rut": "76.543.210-4",
        "razon_social": "Comercial Los Andes SpA",
        "giro": "Venta al por menor de artículos de ferretería",
        "direccion": "San Diego 850",
        "comuna": "Santiago",
    }
    headers = {"Referer": detail}

    refused = http.post(url, data=fields, headers=headers, timeout=30)
    assert refused.status_code == 400
    assert "no es válido (revisa el dígito verificador)" in refused.text
    assert 'value="Comercial Los Andes SpA"' in refused.text

    shown = http.post(url, data={**fields, "rut": "76543210-3"}, headers=headers, timeout=30)
    assert shown.status_code == 200 and "Confirma los datos del receptor" in shown.text
    assert "76.543.210-3" in shown.text and "Todavía no se ha enviado nada" in shown.text
    assert flows.openfactura_documents(http, sandbox) == []
    factura.refresh_from_db()
    assert factura.state == DocumentState.REQUIRES_REVIEW and factura.receptor_override is None

    done = http.post(
        url, data={**fields, "rut": "76543210-3", "paso": "confirmar"}, headers=headers, timeout=30
    )
    factura.refresh_from_db()
    assert factura.state == DocumentState.EMITTED and factura.tipo == 33
    assert factura.receptor["RUTRecep"] == "76543210-3"
    assert f"factura N° {factura.folio} emitida a Comercial Los Andes SpA" in done.text
    assert [d["tipo"] for d in flows.openfactura_documents(http, sandbox)] == [33]
