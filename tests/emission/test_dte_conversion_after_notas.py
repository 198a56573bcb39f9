"""Boleta → factura after earlier notas de crédito (dte-semantics.md §4, "Boleta → factura after earlier
notas"): the annulling nota (CodRef 1) and the factura both cover exactly what remains of the sale, per tax
class; the factura shows the original lines with the earlier notas as global discounts.

The figures of the worked example are computed by hand in the comments, not by the engine.
"""

from __future__ import annotations

import re
from datetime import date
from decimal import Decimal

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from emission.dte import (
    EarlierNota,
    NotaInvalid,
    NothingRemains,
    StoreDteSettings,
    build_nota_credito_anula,
    build_nota_credito_parcial,
    sale_remainder,
)

from .dte_support import (
    SHIPPING_IVA_INCLUDED,
    TODAY,
    amounts,
    build,
    detalle,
    paid_order,
    product,
    totales,
)
from .test_dte_properties import PROPERTY_SETTINGS, STORE, _check_lines, orders

SETTINGS = StoreDteSettings.demo()
FECHA = date(2026, 11, 20)
BOLETA_FOLIO = 812


def mixed_order():
    """2 × Polera $12.990 with a $2.000 line discount (taxed, IVA included) = $23.980; Libro $8.990
    (exempt); Despacho Starken $3.990 (taxed): paid $36.960."""
    return paid_order(
        [product("Polera algodón", 2, 12990, discount=2000), product("Libro", 1, 8990, taxes=())],
        shipping=3990,
        shipping_taxes=(SHIPPING_IVA_INCLUDED,),
        shipping_method_name="Starken",
        buyer=True,
    )


def parcial(boleta, **kwargs):
    return build_nota_credito_parcial(
        boleta.body,
        original_tipo=boleta.tipo,
        original_folio=BOLETA_FOLIO,
        original_fecha=FECHA,
        settings=SETTINGS,
        today=TODAY,
        razon="Devolución parcial",
        **kwargs,
    )


def anula(boleta, earlier, settings=SETTINGS):
    return build_nota_credito_anula(
        boleta.body,
        original_tipo=boleta.tipo,
        original_folio=BOLETA_FOLIO,
        original_fecha=FECHA,
        settings=settings,
        today=TODAY,
        razon="Anula boleta; se emite factura",
        earlier_notas=earlier,
    )


def earlier_of(*notas):
    return [EarlierNota.from_totals(totales(nota), folio=900 + n) for n, nota in enumerate(notas, start=1)]


def test_the_worked_example_nota_and_factura_cover_exactly_what_remains(sii_schemas):
    order = mixed_order()
    boleta = build(order)
    # T = 23980 + 3990 = 27970 → MntNeto round(27970 / 1.19) = 23504, IVA 4466; MntExe 8990.
    assert totales(boleta) == {"MntNeto": 23504, "MntExe": 8990, "IVA": 4466, "MntTotal": 36960}

    # Nota 1, $5.000 by amount: taxed round(5000 × 27970 / 36960) = 3784 → net 3180 + IVA 604; exempt 1216.
    by_amount = parcial(boleta, amount=5000)
    assert totales(by_amount) == {
        "MntNeto": 3180,
        "MntExe": 1216,
        "TasaIVA": 19,
        "IVA": 604,
        "MntTotal": 5000,
    }
    # Nota 2, one polera of line 1: 23980 / 2 = 11990 → net 10076 + IVA 1914.
    by_lines = parcial(boleta, lines=[(1, Decimal(1))])
    assert totales(by_lines) == {"MntNeto": 10076, "TasaIVA": 19, "IVA": 1914, "MntTotal": 11990}

    earlier = earlier_of(by_amount, by_lines)
    # What remains: taxed 27970 − 3784 − 11990 = 12196, exempt 8990 − 1216 = 7774; 19970 in all
    # (= 36960 − 5000 − 11990). Net of 12196: round(12196 / 1.19) = 10249, IVA round(10249 × 0.19) = 1947.
    expected_totales = {"MntNeto": 10249, "MntExe": 7774, "TasaIVA": 19, "IVA": 1947, "MntTotal": 19970}
    nota = anula(boleta, earlier)
    factura = build(order, "factura", remainder=sale_remainder(totales(boleta), earlier))
    assert totales(nota) == expected_totales
    assert totales(factura) == expected_totales
    assert nota.body["dte"]["Referencia"][0]["CodRef"] == 1
    assert factura.tipo == 33 and factura.difference == 0 and nota.difference == 0

    # The factura: the ORIGINAL lines (net), aimed at 10249 + Σ notas' net (3180 + 10076 = 13256) = 23505:
    # 23505 spread 23980 : 3990 → 20152 (+1 largest remainder) and 3353; line discount net 1681.
    assert [line["NmbItem"] for line in detalle(factura)] == ["Polera algodón", "Libro", "Despacho - Starken"]
    assert amounts(factura) == [
        (2, 10916.5, 1681, 20152, None),
        (1, 8990, None, 8990, 1),
        (1, 3353, None, 3353, None),
    ]
    # …and the earlier notas as global discounts: taxed in net (Σ MntNeto 13256), exempt (1216) with
    # IndExeDR 1.
    notas_dr = [
        {
            "NroLinDR": 1,
            "TpoMov": "D",
            "GlosaDR": "Notas de crédito N° 901, 902",
            "TpoValor": "$",
            "ValorDR": 13256,
        },
        {
            "NroLinDR": 2,
            "TpoMov": "D",
            "GlosaDR": "Notas de crédito N° 901, 902",
            "TpoValor": "$",
            "ValorDR": 1216,
            "IndExeDR": 1,
        },
    ]
    assert factura.body["dte"]["DscRcgGlobal"] == notas_dr
    # 20152 + 3353 − 13256 = 10249 and 8990 − 1216 = 7774: the lines add up to the totals.
    # The nota mirrors it from the boleta's lines.
    assert amounts(nota) == amounts(factura)
    assert nota.body["dte"]["DscRcgGlobal"] == notas_dr
    sii_schemas.validate(nota.body)
    sii_schemas.validate(factura.body)


def test_an_order_discount_stays_its_own_global_discount(sii_schemas):
    order = paid_order(
        [product("Polera", 1, 20000), product("Libro", 1, 10000, taxes=())], order_discount=2000, buyer=True
    )
    boleta = build(order)
    # Coupon on the taxed lines first: T = 18000 → 15126 + 2874; MntExe 10000; paid 28000.
    assert totales(boleta) == {"MntNeto": 15126, "MntExe": 10000, "IVA": 2874, "MntTotal": 28000}
    refund = parcial(boleta, amount=7000)  # taxed round(7000 × 18000 / 28000) = 4500 → 3782 + 719 (4501)
    assert totales(refund) == {"MntNeto": 3782, "MntExe": 2500, "TasaIVA": 19, "IVA": 719, "MntTotal": 7001}
    earlier = earlier_of(refund)
    # Remains: taxed 18000 − 4501 = 13499 → net 11344 (11344 + 2155 = 13499); exempt 10000 − 2500 = 7500.
    expected = {"MntNeto": 11344, "MntExe": 7500, "TasaIVA": 19, "IVA": 2155, "MntTotal": 20999}
    nota = anula(boleta, earlier)
    factura = build(order, "factura", remainder=sale_remainder(totales(boleta), earlier))
    assert totales(nota) == totales(factura) == expected
    glosas = [
        (dr["GlosaDR"], dr["ValorDR"], dr.get("IndExeDR")) for dr in factura.body["dte"]["DscRcgGlobal"]
    ]
    # The coupon's net (round(2000 / 1.19) = 1681), then the nota: its net 3782 and its exempt 2500.
    assert glosas == [
        ("Descuento", 1681, None),
        ("Nota de crédito N° 901", 3782, None),
        ("Nota de crédito N° 901", 2500, 1),
    ]
    sii_schemas.validate(nota.body)
    sii_schemas.validate(factura.body)


def test_a_taxed_remainder_no_net_reaches_is_never_exceeded(sii_schemas):
    # Remains 680 taxed: round(680 / 1.19) = 571 gives 571 + 108 = 679; 572 would give 681 > 680.
    order = paid_order([product("A", 1, 1680)], buyer=True)
    boleta = build(order)
    refund = parcial(boleta, amount=1000)  # 1000 → 840 + 160
    assert totales(refund)["MntTotal"] == 1000
    earlier = earlier_of(refund)
    remainder = sale_remainder(totales(boleta), earlier)
    assert (remainder.expected, remainder.neto) == (680, 571)
    nota = anula(boleta, earlier)
    factura = build(order, "factura", remainder=remainder)
    assert totales(nota) == totales(factura) == {"MntNeto": 571, "TasaIVA": 19, "IVA": 108, "MntTotal": 679}
    assert nota.difference == factura.difference == -1
    sii_schemas.validate(nota.body)
    sii_schemas.validate(factura.body)


def test_exempt_part_fully_refunded_leaves_a_taxed_nota_and_factura(sii_schemas):
    order = mixed_order()
    boleta = build(order)
    refund = parcial(boleta, lines=[(2, Decimal(1))])  # the book: exempt 8990
    earlier = earlier_of(refund)
    nota = anula(boleta, earlier)
    factura = build(order, "factura", remainder=sale_remainder(totales(boleta), earlier))
    # Remains taxed 27970 only: 23504 + 4466, exactly the boleta's taxed part.
    assert totales(nota) == {"MntNeto": 23504, "TasaIVA": 19, "IVA": 4466, "MntTotal": 27970}
    assert totales(factura) == totales(nota)
    assert factura.tipo == 33
    # The factura keeps the book's line, discounted away by the nota; the nota credits only taxed lines.
    assert [dr.get("IndExeDR") for dr in factura.body["dte"]["DscRcgGlobal"]] == [1]
    assert all(line.get("IndExe") is None for line in detalle(nota))
    sii_schemas.validate(nota.body)
    sii_schemas.validate(factura.body)


def test_taxed_part_fully_refunded_gives_a_factura_exenta(sii_schemas):
    order = mixed_order()
    boleta = build(order)
    refunds = [parcial(boleta, lines=[(1, Decimal(2)), (3, Decimal(1))])]  # polera and shipping: 27970
    earlier = earlier_of(*refunds)
    nota = anula(boleta, earlier)
    factura = build(order, "factura", remainder=sale_remainder(totales(boleta), earlier))
    assert totales(nota) == {"MntExe": 8990, "MntTotal": 8990}
    assert factura.tipo == 34 and totales(factura) == {"MntExe": 8990, "MntTotal": 8990}
    assert all(dr["IndExeDR"] == 1 for dr in factura.body["dte"]["DscRcgGlobal"])
    sii_schemas.validate(nota.body)
    sii_schemas.validate(factura.body)


def test_nothing_remains_refuses_both_documents_in_spanish():
    order = mixed_order()
    boleta = build(order)
    by_lines = parcial(boleta, lines=[(1, Decimal(2))])  # 23980
    by_amount = parcial(boleta, amount=12980)  # 36960 − 23980: taxed 9823 + exempt 3157
    assert totales(by_lines)["MntTotal"] + totales(by_amount)["MntTotal"] == 36960
    earlier = earlier_of(by_lines, by_amount)
    message = re.escape(
        "ya fue devuelta por completo con notas de crédito ($36.960): no queda monto que anular ni facturar"
    )
    with pytest.raises(NothingRemains, match=message) as refused:
        sale_remainder(totales(boleta), earlier)
    assert refused.value.code == "nothing_remains"
    with pytest.raises(NothingRemains, match=message):
        anula(boleta, earlier)


def test_without_earlier_notas_the_annulment_is_unchanged():
    boleta = build(mixed_order())
    assert (
        anula(boleta, []).body
        == build_nota_credito_anula(
            boleta.body,
            original_tipo=39,
            original_folio=BOLETA_FOLIO,
            original_fecha=FECHA,
            settings=SETTINGS,
            today=TODAY,
            razon="Anula boleta; se emite factura",
        ).body
    )


@st.composite
def refunds(draw):
    """1–3 partial refunds: ``("amount", fraction of what remains)`` or ``("lines", line index, share)``."""
    kinds = st.one_of(
        st.tuples(st.just("amount"), st.integers(min_value=1, max_value=100)),
        st.tuples(
            st.just("lines"), st.integers(min_value=0, max_value=20), st.integers(min_value=1, max_value=4)
        ),
    )
    return draw(st.lists(kinds, min_size=1, max_size=3))


@PROPERTY_SETTINGS
@given(order=orders(), plan=refunds())
def test_nota_total_equals_factura_total_equals_what_remains(order, plan, sii_schemas):
    boleta = build(order, settings=STORE)
    original_total = totales(boleta)["MntTotal"]
    issued = []
    for step in plan:
        credited = sum(totales(nota)["MntTotal"] for nota in issued)
        left = original_total - credited
        if left <= 0:
            break
        try:
            if step[0] == "amount":
                nota = parcial(boleta, amount=max(1, left * step[1] // 100))
            else:
                line = detalle(boleta)[step[1] % len(detalle(boleta))]
                qty = Decimal(str(line.get("QtyItem", 1)))
                share = (qty * step[2] / 4).quantize(Decimal("0.001"))
                nota = parcial(boleta, lines=[(line["NroLinDet"], max(share, Decimal("0.001")))])
        except Exception as refused:  # noqa: BLE001 - a free line or a zero share has nothing to refund
            assert getattr(refused, "code", "") == "nota_invalid", refused
            continue
        if credited + totales(nota)["MntTotal"] > original_total:  # the merchant's guard (services)
            continue
        issued.append(nota)
    assume(issued)
    earlier = earlier_of(*issued)
    expected = original_total - sum(totales(nota)["MntTotal"] for nota in issued)
    if expected <= 0:
        with pytest.raises(NothingRemains):
            sale_remainder(totales(boleta), earlier)
        return
    remainder = sale_remainder(totales(boleta), earlier)
    nota = anula(boleta, earlier, settings=STORE)
    factura = build(order, "factura", settings=STORE, remainder=remainder)
    assert totales(nota)["MntTotal"] == totales(factura)["MntTotal"]
    for name in ("MntNeto", "IVA", "MntExe"):
        assert totales(nota).get(name) == totales(factura).get(name)
    total = totales(factura)["MntTotal"]
    # Exactly what remains; one peso less only when no net reaches the taxed remainder (never more).
    assert total == expected or (
        total == expected - 1 and remainder.neto + (remainder.neto * 19 + 50) // 100 < remainder.taxed
    )
    assert remainder.expected == expected
    assert [line["NmbItem"] for line in detalle(factura)] == [
        line["NmbItem"] for line in detalle(build(order, "factura", settings=STORE))
    ]
    _check_lines(nota.body)
    _check_lines(factura.body)
    sii_schemas.validate(nota.body)
    sii_schemas.validate(factura.body)


def test_a_merchant_s_partial_nota_after_earlier_notas_never_exceeds_what_remains(sii_schemas):
    boleta = build(mixed_order())
    book = parcial(boleta, lines=[(2, Decimal(1))])  # the exempt book: 8990
    earlier = earlier_of(book)
    # $10.000 more: split in the proportion of what remains (taxed 27970, exempt 0), not of the original.
    more = parcial(boleta, amount=10000, earlier_notas=earlier)
    # round(10000 / 1.19) = 8403 → IVA round(1596.57) = 1597: 10000, all taxed.
    assert totales(more) == {"MntNeto": 8403, "TasaIVA": 19, "IVA": 1597, "MntTotal": 10000}
    sii_schemas.validate(more.body)
    with pytest.raises(NotaInvalid, match=re.escape("no superar lo que queda de la boleta N° 812")):
        parcial(boleta, amount=27971, earlier_notas=earlier)  # 36960 − 8990 = 27970 remain
    with pytest.raises(NotaInvalid, match="supera lo que queda de la boleta N° 812"):
        parcial(boleta, lines=[(2, Decimal(1))], earlier_notas=earlier)  # the book again
    with pytest.raises(NothingRemains):
        parcial(
            boleta,
            amount=1,
            earlier_notas=earlier_of(book, parcial(boleta, amount=27970, earlier_notas=earlier)),
        )


def test_annulling_a_factura_after_a_refund_credits_what_remains(sii_schemas):
    factura = build(mixed_order(), "factura")
    assert totales(factura) == {
        "MntNeto": 23504,
        "MntExe": 8990,
        "TasaIVA": 19,
        "IVA": 4466,
        "MntTotal": 36960,
    }
    # A factura's amounts are net: $5.000 → taxed 3784 gross → net 3180 + IVA 604; exempt 1216.
    refund = parcial(factura, amount=5000)
    assert totales(refund) == {"MntNeto": 3180, "MntExe": 1216, "TasaIVA": 19, "IVA": 604, "MntTotal": 5000}
    nota = anula(factura, earlier_of(refund))
    # Remains taxed 27970 − 3784 = 24186 → net 20324 (+ IVA 3862 = 24186), exempt 7774: 31960.
    assert totales(nota) == {"MntNeto": 20324, "MntExe": 7774, "TasaIVA": 19, "IVA": 3862, "MntTotal": 31960}
    # The factura's own net lines, copied, less the nota's net (23504 − 20324 = 3180) and exempt part.
    assert [(dr["ValorDR"], dr.get("IndExeDR")) for dr in nota.body["dte"]["DscRcgGlobal"]] == [
        (3180, None),
        (1216, 1),
    ]
    sii_schemas.validate(nota.body)
