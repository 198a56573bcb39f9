"""Boleta → factura after partial refunds (issue 15 point 2; dte-semantics.md §4, "Boleta → factura after
earlier notas"), end to end against the sandbox: the annulling nota and the factura cover exactly what
remains of the sale; nothing left → refused; the merchant's total nota also credits only what remains.

Order ``mixta`` (sandbox/examples): Café 2 × $15.990 − $2.000 (taxed) + Libro $12.000 (exempt), coupon
$1.000 → paid $40.980; boleta MntNeto 24353 + IVA 4627 (taxed 28980), MntExe 12000.
"""

from __future__ import annotations

from decimal import Decimal

import pytest

from emission import services as emission_services
from emission.models import Document, DocumentState
from selfservice import services
from selfservice.models import Conversion
from tests import flows

from .test_selfservice_pages import TAXPAYER, link, submit, tipos

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def shop(sandbox, http, settings):
    """Mode 2 (boleta, convertible by the customer), the default of a new install."""
    return flows.installed_store(http, sandbox, settings, "tienda", "Tienda Ñuñoa")


def paid_mixta(http, sandbox, order_id: int) -> Document:
    flows.create_order(http, sandbox, "tienda", flows.example_order("mixta", id=order_id))
    flows.pay(http, sandbox, "tienda", order_id)
    return Document.objects.get(store__code="tienda", order_id=order_id, kind="boleta")


def refund(store, boleta: Document, key: str, **kwargs) -> Document:
    nota = emission_services.nota_credito_parcial_create(
        store_id=store.pk, document_id=boleta.pk, request_key=key, razon="Devolución parcial", **kwargs
    )
    nota.refresh_from_db()
    assert nota.state == DocumentState.EMITTED
    return nota


def totales(document: Document) -> dict:
    return document.request_body["dte"]["Encabezado"]["Totales"]


def test_the_customer_s_factura_after_two_refunds_is_what_remains(sandbox, http, shop):
    boleta = paid_mixta(http, sandbox, 8301)
    assert totales(boleta) == {"MntNeto": 24353, "MntExe": 12000, "IVA": 4627, "MntTotal": 40980}
    # $7.000 by amount: taxed round(7000 × 28980 / 40980) = 4950 → 4160 + 790; exempt 2050.
    by_amount = refund(shop, boleta, "r1", amount=7000)
    assert totales(by_amount) == {
        "MntNeto": 4160,
        "MntExe": 2050,
        "TasaIVA": 19,
        "IVA": 790,
        "MntTotal": 7000,
    }
    # One café back: 29980 × 1/2 × 28980/29980 (its share of the coupon) = 14490 → 12176 + 2313 = 14489.
    by_lines = refund(shop, boleta, "r2", lines=[(1, Decimal(1))])
    assert totales(by_lines) == {"MntNeto": 12176, "TasaIVA": 19, "IVA": 2313, "MntTotal": 14489}

    url = link(shop, 8301)
    page = http.get(url, timeout=30)
    assert page.status_code == 200
    listed = page.text.split('id="devoluciones"')[1].split("</div>")[0]
    assert f"N° {by_amount.folio}" in listed and f"N° {by_lines.folio}" in listed
    assert "-$7.000" in listed and "-$14.489" in listed and "$19.491" in listed

    done = submit(http, url, paso="confirmar", **TAXPAYER)
    assert done.status_code == 200, done.text
    conversion = Conversion.objects.get(store=shop, order_id=8301)
    assert conversion.state == "done"
    nota, factura = conversion.nota, conversion.factura
    # What remains: taxed 28980 − 4950 − 14489 = 9541 → 8018 + 1523; exempt 12000 − 2050 = 9950;
    # 19491 = 40980 − 7000 − 14489, on the nota and on the factura alike.
    expected = {"MntNeto": 8018, "MntExe": 9950, "TasaIVA": 19, "IVA": 1523, "MntTotal": 19491}
    assert totales(nota) == expected
    assert nota.request_body["dte"]["Referencia"][0]["CodRef"] == 1
    assert totales(factura) == expected
    assert (nota.mnt_total, factura.mnt_total, factura.state) == (19491, 19491, DocumentState.EMITTED)
    # The factura: the original lines, the coupon, and the two notas as discounts (taxed net, exempt).
    dte = factura.request_body["dte"]
    assert [line["NmbItem"] for line in dte["Detalle"]] == ["Café de grano 1 kg", "Libro de recetas"]
    glosa = f"Notas de crédito N° {by_amount.folio}, {by_lines.folio}"
    assert [(dr["GlosaDR"], dr["ValorDR"], dr.get("IndExeDR")) for dr in dte["DscRcgGlobal"]] == [
        ("Descuento", 840, None),  # the order's coupon: round(1000 / 1.19)
        (glosa, 4160 + 12176, None),
        (glosa, 2050, 1),
    ]
    assert tipos(http, sandbox) == [39, 61, 61, 61, 33]


def test_nothing_left_to_invoice_is_refused_in_spanish_and_issues_nothing(sandbox, http, shop):
    boleta = paid_mixta(http, sandbox, 8302)
    refund(shop, boleta, "r1", lines=[(1, Decimal(2))])  # the café: 28980 → 24353 + 4627
    refund(shop, boleta, "r2", lines=[(2, Decimal(1))])  # the book: 12000
    receptor = services.Receptor(**TAXPAYER)
    with pytest.raises(services.SelfserviceRefused, match="ya fue devuelta por completo"):
        services.conversion_request(store_id=shop.pk, order_id=8302, receptor=receptor)
    assert not Conversion.objects.exists()
    assert tipos(http, sandbox) == [39, 61, 61]
    assert not Document.objects.filter(order_id=8302, purpose__in=["factura", f"nc:{boleta.pk}"]).exists()


def test_a_boleta_the_store_annulled_is_not_converted(sandbox, http, shop):
    boleta = paid_mixta(http, sandbox, 8303)
    nota = emission_services.document_annul(store_id=shop.pk, document_id=boleta.pk)
    assert nota.state == DocumentState.EMITTED
    receptor = services.Receptor(**TAXPAYER)
    with pytest.raises(services.SelfserviceRefused, match="La tienda anuló tu boleta"):
        services.conversion_request(store_id=shop.pk, order_id=8303, receptor=receptor)
    assert tipos(http, sandbox) == [39, 61]


def test_the_merchant_s_total_nota_after_a_refund_credits_what_remains_per_class(sandbox, http, shop):
    boleta = paid_mixta(http, sandbox, 8304)
    refund(shop, boleta, "r1", lines=[(2, Decimal(1))])  # the exempt book, 12000
    nota = emission_services.document_annul(store_id=shop.pk, document_id=boleta.pk)
    # An annulment (CodRef 1) of the taxed part only — not $28.980 split 71/29 over both classes.
    assert totales(nota) == {"MntNeto": 24353, "TasaIVA": 19, "IVA": 4627, "MntTotal": 28980}
    assert nota.request_body["dte"]["Referencia"][0]["CodRef"] == 1
    assert all("IndExe" not in line for line in nota.request_body["dte"]["Detalle"])
    # And nothing beyond what remains: no further partial nota.
    with pytest.raises(emission_services.ActionRefused):
        emission_services.nota_credito_parcial_create(
            store_id=shop.pk, document_id=boleta.pk, request_key="r2", amount=1000, razon="x"
        )
