"""Every nota de crédito the merchant issues is first shown exactly as it will be issued (built by the code
that issues it), issued only on confirmation, once, and announced by its folio; amounts are read the
Chilean way and a refused one keeps what the merchant typed."""

from __future__ import annotations

import re

import pytest

from emission import services
from emission.models import Document, DocumentState
from tests import flows

pytestmark = pytest.mark.django_db(transaction=True)


def forms_of(html: str) -> dict[str, dict[str, str]]:
    """The page's POST forms by action, with their named inputs as a browser would send them."""
    parser = flows.FormParser()
    parser.feed(html)
    return {form["action"].split("#")[0]: form["fields"] for form in parser.forms if form["action"]}


def detail(http, sandbox, document: Document):
    page = http.get(sandbox(f"/app/documentos/{document.pk}/"), timeout=10)
    assert page.status_code == 200
    return page


def post(http, sandbox, action: str, fields: dict, referer: str):
    return http.post(sandbox(action), data=fields, headers={"Referer": referer}, timeout=30)


def text_of(response) -> str:
    """The page's text without tags (and without the thousands of the CSS)."""
    body = re.sub(r"<style.*?</style>", " ", response.text, flags=re.S)
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", body))


@pytest.fixture
def boleta(http, sandbox, settings):
    store = flows.installed_store(http, sandbox, settings, "confirma", "Tienda Confirma")
    document = flows.paid_boleta(http, sandbox, store, 9701)
    assert document.state == DocumentState.EMITTED and document.mnt_total == 32970
    return document


def _parcial_confirmation(http, sandbox, boleta, amount: str, razon: str):
    page = detail(http, sandbox, boleta)
    action = f"/app/documentos/{boleta.pk}/nota-credito-parcial"
    fields = {**forms_of(page.text)[action], "amount": amount, "razon": razon}
    return post(http, sandbox, action, fields, page.url)


def test_a_partial_nota_typed_as_10_000_is_shown_then_issued_once_by_its_folio(http, sandbox, boleta):
    shown = _parcial_confirmation(http, sandbox, boleta, "10.000", "Cliente devolvió la taza")
    text = text_of(shown)
    assert shown.status_code == 200 and "Confirma la nota de crédito" in text
    for expected in (
        "Nota de crédito electrónica",
        f"Boleta electrónica N° {boleta.folio}",
        "Devolución parcial",
        "Cliente devolvió la taza",
        "$10.000",
        "Todavía no se ha enviado nada",
    ):
        assert expected in text, expected
    # Nothing was issued, nor kept: the preview was built by the issuing code and undone.
    assert [d["tipo"] for d in flows.openfactura_documents(http, sandbox)] == [39]
    assert not Document.objects.filter(kind="nota_credito").exists()

    # Cancel is a link back: nothing is sent.
    assert f'href="/app/documentos/{boleta.pk}/">Cancelar' in shown.text
    assert not Document.objects.filter(kind="nota_credito").exists()

    action = f"/app/documentos/{boleta.pk}/nota-credito-parcial"
    confirm = {**forms_of(shown.text)[action], "confirmacion": "confirma"}
    done = post(http, sandbox, action, confirm, shown.url)
    [nota] = Document.objects.filter(kind="nota_credito")
    assert (nota.state, nota.tipo, nota.mnt_total) == (DocumentState.EMITTED, 61, 10000)
    # What was shown is what was issued (same neto and IVA, not a second calculation).
    for amount in (nota.mnt_neto, nota.iva):
        assert f"${amount:,}".replace(",", ".") in text
    message = text_of(done)
    assert (
        f"Nota de crédito N° {nota.folio} emitida por $10.000: devolución parcial del documento N° "
        f"{boleta.folio}." in message
    )
    assert f"#{nota.pk}" not in message and "documento #" not in message
    assert 'class="success"' in done.text

    # The same confirmation submitted again (double click, back + resubmit) issues nothing more.
    again = post(http, sandbox, action, confirm, shown.url)
    assert f"Nota de crédito N° {nota.folio} emitida" in text_of(again)
    assert [d["tipo"] for d in flows.openfactura_documents(http, sandbox)] == [39, 61]
    assert Document.objects.filter(kind="nota_credito").count() == 1


@pytest.mark.parametrize("typed", ["", "otra"])
def test_a_partial_nota_confirmed_without_the_store_code_is_shown_again_and_not_issued(
    http, sandbox, boleta, typed
):
    shown = _parcial_confirmation(http, sandbox, boleta, "$5.000", "Devolución de un producto")
    action = f"/app/documentos/{boleta.pk}/nota-credito-parcial"
    refused = post(http, sandbox, action, {**forms_of(shown.text)[action], "confirmacion": typed}, shown.url)
    assert refused.status_code == 400 and "Confirma la nota de crédito" in text_of(refused)
    assert "$5.000" in text_of(refused) and "Devolución de un producto" in text_of(refused)
    assert [d["tipo"] for d in flows.openfactura_documents(http, sandbox)] == [39]
    assert not Document.objects.filter(kind="nota_credito").exists()


def test_the_total_nota_is_confirmed_with_the_store_code_and_then_the_document_is_annulled(
    http, sandbox, boleta
):
    page = detail(http, sandbox, boleta)
    action = f"/app/documentos/{boleta.pk}/nota-credito"
    shown = post(http, sandbox, action, {**forms_of(page.text)[action], "razon": "Pedido anulado"}, page.url)
    text = text_of(shown)
    assert "Anula el documento completo" in text and "Pedido anulado" in text
    assert f"Boleta electrónica N° {boleta.folio}" in text and "$32.970" in text
    assert not Document.objects.filter(kind="nota_credito").exists()

    confirm = forms_of(shown.text)[action]
    refused = post(http, sandbox, action, {**confirm, "confirmacion": "otra"}, shown.url)
    assert refused.status_code == 400 and "Confirma la nota de crédito" in text_of(refused)
    assert [d["tipo"] for d in flows.openfactura_documents(http, sandbox)] == [39]

    done = post(http, sandbox, action, {**confirm, "confirmacion": "confirma"}, shown.url)
    [nota] = Document.objects.filter(kind="nota_credito")
    assert nota.state == DocumentState.EMITTED and nota.mnt_total == 32970
    assert f"Nota de crédito N° {nota.folio} emitida: anula el documento N° {boleta.folio}." in text_of(done)
    assert "Anulado" in text_of(done)

    again = post(http, sandbox, action, {**confirm, "confirmacion": "confirma"}, shown.url)
    assert f"Nota de crédito N° {nota.folio} emitida" in text_of(again)
    assert [d["tipo"] for d in flows.openfactura_documents(http, sandbox)] == [39, 61]
    assert Document.objects.filter(kind="nota_credito").count() == 1


def test_a_nota_that_changed_since_it_was_shown_is_shown_again_and_not_issued(http, sandbox, boleta):
    page = detail(http, sandbox, boleta)
    action = f"/app/documentos/{boleta.pk}/nota-credito"
    shown = post(http, sandbox, action, forms_of(page.text)[action], page.url)
    assert "$32.970" in text_of(shown)
    # Meanwhile another partial nota credits $2.970: the total nota now credits only what remains.
    services.nota_credito_parcial_create(
        store_id=boleta.store_id, document_id=boleta.pk, request_key="otra", amount=2970, razon="Devolución"
    )
    changed = post(
        http, sandbox, action, {**forms_of(shown.text)[action], "confirmacion": "confirma"}, shown.url
    )
    assert changed.status_code == 409
    text = text_of(changed)
    assert "La nota de crédito cambió desde que la revisaste" in text and "$30.000" in text
    assert not Document.objects.filter(purpose=f"nc:{boleta.pk}").exists()


@pytest.mark.parametrize("typed", ["10,5", "10.00"])
def test_a_refused_amount_keeps_the_amount_and_reason_typed_and_sends_nothing(http, sandbox, boleta, typed):
    refused = _parcial_confirmation(http, sandbox, boleta, typed, "Polera con falla de fábrica")
    assert refused.status_code == 400
    text = text_of(refused)
    assert "Escribe el monto en pesos, sin decimales: por ejemplo 10.000 o $10.000." in text
    assert f'value="{typed}"' in refused.text
    assert 'value="Polera con falla de fábrica"' in refused.text
    assert 'class="error"' in refused.text
    assert [d["tipo"] for d in flows.openfactura_documents(http, sandbox)] == [39]
    assert not Document.objects.filter(kind="nota_credito").exists()


def test_a_partial_nota_by_returned_units_is_shown_and_issued_for_those_units(http, sandbox, boleta):
    page = detail(http, sandbox, boleta)
    assert "O indica las unidades devueltas de cada producto" in page.text
    action = f"/app/documentos/{boleta.pk}/nota-credito-parcial"
    fields = {**forms_of(page.text)[action], "amount": "", "linea_1": "1", "razon": "Devolvió una polera"}

    both = post(http, sandbox, action, {**fields, "amount": "5.000"}, page.url)
    assert both.status_code == 400
    assert "Indica el monto a devolver o las unidades devueltas, no ambos." in text_of(both)

    shown = post(http, sandbox, action, fields, page.url)
    text = text_of(shown)
    assert "Confirma la nota de crédito" in text and "Polera algodón orgánico" in text
    assert "$12.990" in text and "Devolvió una polera" in text
    assert not Document.objects.filter(kind="nota_credito").exists()

    done = post(
        http, sandbox, action, {**forms_of(shown.text)[action], "confirmacion": "confirma"}, shown.url
    )
    [nota] = Document.objects.filter(kind="nota_credito")
    assert (nota.state, nota.mnt_total) == (DocumentState.EMITTED, 12990)
    assert f"Nota de crédito N° {nota.folio} emitida por $12.990" in text_of(done)


def test_a_nota_confirmed_on_another_day_is_shown_again():
    """The confirmation's digest covers the emission date: shown on 31-10 at 23:59 and confirmed after
    midnight, the nota would be dated (and declared) in November — it is shown again instead."""
    from emission.services.review import shown_digest

    def body(fecha: str) -> dict:
        return {
            "dte": {"Encabezado": {"IdDoc": {"TipoDTE": 61, "FchEmis": fecha}, "Totales": {"MntTotal": 1}}}
        }

    assert shown_digest(body("2026-10-31")) != shown_digest(body("2026-11-01"))
    assert shown_digest(body("2026-10-31")) == shown_digest(body("2026-10-31"))
