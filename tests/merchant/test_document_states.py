"""Clear states on the merchant's documents: an annulled document says "Anulado" everywhere and offers no
further nota, a refused action is an error, notas de crédito count negative, and the detail's lines add
up to its total with their discounts."""

from __future__ import annotations

import csv
import io
import json
import re

import pytest
from django.utils import timezone

from .conftest import csrf_token, make_document

pytestmark = pytest.mark.django_db

LIST = "/app/documentos/"


def emitted(store, **fields):
    values = {
        "state": "emitted",
        "token": f"tok-{fields.get('folio', 4521)}",
        "folio": 4521,
        "mnt_neto": 10916,
        "mnt_exe": 0,
        "iva": 2074,
        "mnt_total": 12990,
        "emitted_at": timezone.now(),
        **fields,
    }
    return make_document(store, **values)


def nota_for(store, original, *, state="emitted", purpose=None, **fields):
    values = {
        "order_id": original.order_id,
        "order_number": original.order_number,
        "purpose": purpose or f"nc:{original.pk}",
        "kind": "nota_credito",
        "tipo": 61,
        "annuls": original,
        "state": state,
        "mnt_neto": 10916,
        "mnt_exe": 0,
        "iva": 2074,
        "mnt_total": 12990,
    }
    if state == "emitted":
        values |= {"token": f"tok-nc-{original.pk}", "folio": 88, "emitted_at": timezone.now()}
    return make_document(store, **(values | fields))


def csv_rows(merchant) -> list[list[str]]:
    response = merchant.get(LIST, {"formato": "csv"})
    return list(csv.reader(io.StringIO(response.content.decode())))


def row_for(rows: list[list[str]], pk: int) -> list[str]:
    return next(row for row in rows[1:] if row[0] == str(pk))


@pytest.mark.parametrize("nota_state", ["emitted", "pending"])
def test_an_annulled_document_says_anulado_in_the_list_detail_and_csv_and_offers_no_nota(
    merchant, store, nota_state
):
    boleta = emitted(store)
    nota_for(store, boleta, state=nota_state)

    listed = merchant.get(LIST).content.decode()
    boleta_row = re.search(rf'<tr>\s*<td><a href="/app/documentos/{boleta.pk}/">.*?</tr>', listed, re.S)
    assert '<span class="pill bad">Anulado</span>' in boleta_row.group(0)

    assert row_for(csv_rows(merchant), boleta.pk)[4] == "Anulado"

    page = merchant.get(f"/app/documentos/{boleta.pk}/").content.decode()
    assert '<span class="pill bad" id="estado">Anulado</span>' in page
    assert "no admite más notas de crédito" in page
    assert f"/app/documentos/{boleta.pk}/nota-credito" not in page
    assert "Emitir nota de crédito" not in page


def test_a_nota_stuck_in_review_does_not_annul_its_document(merchant, store):
    boleta = emitted(store)
    nota_for(store, boleta, state="requires_review")
    page = merchant.get(f"/app/documentos/{boleta.pk}/").content.decode()
    assert "Anulado" not in page and "Emitir nota de crédito total" in page
    assert row_for(csv_rows(merchant), boleta.pk)[4] == "Emitido"


def test_a_refused_action_is_shown_as_an_error_not_as_success(merchant, store):
    boleta = emitted(store)
    nota_for(store, boleta)
    page = merchant.get(f"/app/documentos/{boleta.pk}/")
    token = csrf_token(page)
    for action, data in (
        ("nota-credito", {"razon": "Anula documento"}),
        ("nota-credito-parcial", {"amount": "1.000", "razon": "Devolución", "request_key": "k1"}),
        ("reintentar", {}),
    ):
        response = merchant.post(
            f"/app/documentos/{boleta.pk}/{action}",
            {"csrfmiddlewaretoken": token, "store": store.code, **data},
            follow=True,
        )
        text = response.content.decode()
        [message] = re.findall(r'<ul class="messages"><li class="([^"]*)">', text)
        assert message == "error", (action, text[:200])


def test_notas_de_credito_are_negative_in_the_list_the_csv_and_the_summary(merchant, store):
    boleta = emitted(store, mnt_total=32970, mnt_neto=27706, iva=5264)
    nota_for(store, boleta, purpose=f"ncp:{boleta.pk}:k1", mnt_total=10000, mnt_neto=8403, iva=1597)

    listed = merchant.get(LIST).content.decode()
    assert "-$10.000" in listed and "$32.970" in listed

    rows = csv_rows(merchant)
    nota_row = next(row for row in rows[1:] if row[2] == "Nota de crédito electrónica")
    assert nota_row[7:11] == ["-8403", "0", "-1597", "-10000"]
    assert row_for(rows, boleta.pk)[7:11] == ["27706", "0", "5264", "32970"]

    summary = merchant.get("/app/").content.decode()
    assert "-$10.000" in summary
    assert re.search(r"Total, descontadas las notas de crédito.*?\$22\.970", summary, re.S)


def test_the_detail_shows_line_and_global_discounts_so_the_lines_add_up_to_the_total(merchant, store):
    body = {
        "dte": {
            "Encabezado": {
                "IdDoc": {"TipoDTE": 39, "Folio": 0, "FchEmis": "2026-12-03"},
                "Totales": {"MntNeto": 16807, "IVA": 3193, "MntTotal": 20000},
            },
            "Detalle": [
                {
                    "NroLinDet": 1,
                    "NmbItem": "Polera",
                    "QtyItem": 2,
                    "PrcItem": 9990,
                    "DescuentoMonto": 1980,
                    "MontoItem": 18000,
                },
                {"NroLinDet": 2, "NmbItem": "Despacho", "QtyItem": 1, "PrcItem": 3000, "MontoItem": 3000},
            ],
            "DscRcgGlobal": [
                {
                    "NroLinDR": 1,
                    "TpoMov": "D",
                    "GlosaDR": "Cupón BIENVENIDA",
                    "TpoValor": "$",
                    "ValorDR": 1000,
                }
            ],
        }
    }
    document = emitted(store, mnt_total=20000, mnt_neto=16807, iva=3193, request_json=json.dumps(body))
    page = merchant.get(f"/app/documentos/{document.pk}/").content.decode()
    table = re.search(r'<table id="detalle">.*?</table>', page, re.S).group(0)
    cells = re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", table))
    for expected in (
        "Descuento",
        "Polera 2 $9.990 -$1.980 $18.000",
        "Despacho 1 $3.000 $3.000",
        "Suma de las líneas $21.000",
        "Descuento global: Cupón BIENVENIDA -$1.000",
        "Total (IVA incluido: neto $16.807, IVA $3.193) $20.000",
    ):
        assert expected in cells, (expected, cells)
