"""Property tests over random Jumpseller orders (hypothesis).

For every generated order, priced the way Jumpseller charges it (tests/emission/dte_support.py):

* boleta: ``MntTotal`` = Σ lines − global discounts = the paid total, to the peso; ``IVA = T − MntNeto``
  with ``MntNeto = round(T / 1.19)``;
* factura: ``IVA == round(MntNeto × 0.19)``, ``MntNeto`` = Σ taxed lines − taxed discount, and the total
  within the tolerance of dte-semantics.md §4 of the paid total;
* every line: ``MontoItem == round(QtyItem × PrcItem) − DescuentoMonto``, at most 6 decimals, no zeros;
* every document (and the nota de crédito that annuls it, mirroring its taxed/exempt split) is valid
  against the SII schema (``sii_schemas.py``: boletas when their XSD is at hand).
"""

from __future__ import annotations

import os
from decimal import ROUND_HALF_UP, Decimal

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from emission.dte import DEMO_ORGANIZATION, StoreDteSettings, build_nota_credito_anula

from .dte_support import (
    IVA_INCLUDED,
    IVA_ON_TOP,
    SHIPPING_IVA_INCLUDED,
    SHIPPING_IVA_ON_TOP,
    TODAY,
    build,
    charged_total,
    paid_order,
    product,
)

PROPERTY_SETTINGS = settings(
    max_examples=int(os.environ.get("DTE_PROPERTY_EXAMPLES", "150")),
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
# Random orders reach millions of pesos; the 135 UF rule has its own tests, so it is lifted here.
STORE = StoreDteSettings(organization=DEMO_ORGANIZATION, uf_clp=Decimal(10**9))
STORES = {
    untaxed: StoreDteSettings(organization=DEMO_ORGANIZATION, uf_clp=Decimal(10**9), untaxed_items=untaxed)
    for untaxed in ("exempt", "taxed")
}
TAXES = {"included": (IVA_INCLUDED,), "on_top": (IVA_ON_TOP,), "exempt": ()}
SHIPPING_TAXES = {"included": (SHIPPING_IVA_INCLUDED,), "on_top": (SHIPPING_IVA_ON_TOP,), "exempt": ()}


def half_up(value: Decimal) -> int:
    return int(value.quantize(Decimal(1), rounding=ROUND_HALF_UP))


quantities = st.one_of(
    st.integers(min_value=1, max_value=12),
    st.decimals(min_value=Decimal("0.25"), max_value=Decimal("20"), places=3),
)
prices = st.one_of(
    st.integers(min_value=0, max_value=250_000),
    st.decimals(min_value=Decimal("0.5"), max_value=Decimal("99999"), places=2),
)


@st.composite
def lines(draw):
    qty = draw(quantities)
    price = draw(prices)
    listed = half_up(Decimal(str(qty)) * Decimal(str(price)))
    discount = draw(st.integers(min_value=0, max_value=max(listed, 0))) if draw(st.booleans()) else 0
    tax = draw(st.sampled_from(sorted(TAXES)))
    kind = draw(st.sampled_from([None, None, None, "gift_card"]))
    as_number = float if isinstance(qty, Decimal) else int
    return product(
        f"Producto {draw(st.integers(0, 9999))}",
        as_number(qty),
        float(price) if isinstance(price, Decimal) else price,
        taxes=TAXES[tax],
        discount=discount,
        type=kind,
    )


@st.composite
def orders(draw):
    products = draw(st.lists(lines(), min_size=1, max_size=8))
    shipping = draw(st.sampled_from([0, 0, 2990, 3990, 4500, 7990]))
    shipping_taxes = SHIPPING_TAXES[draw(st.sampled_from(sorted(SHIPPING_TAXES)))]
    charged = charged_total(products, shipping=shipping, shipping_taxes=shipping_taxes)
    order_discount = draw(st.integers(min_value=0, max_value=max(charged, 0))) if draw(st.booleans()) else 0
    gift_cards = (
        draw(st.integers(min_value=0, max_value=max(charged - order_discount, 0)))
        if draw(st.booleans())
        else 0
    )
    return paid_order(
        products,
        shipping=shipping,
        shipping_taxes=shipping_taxes,
        shipping_method_name="Envío",
        order_discount=order_discount,
        gift_cards=gift_cards,
        buyer=True,
    )


def _check_lines(body):
    for line in body["dte"]["Detalle"]:
        qty = Decimal(repr(line["QtyItem"])) if "QtyItem" in line else Decimal(1)
        assert qty > 0 and -qty.normalize().as_tuple().exponent <= 6
        if "PrcItem" in line:
            price = Decimal(repr(line["PrcItem"]))
            assert price > 0 and max(0, -price.normalize().as_tuple().exponent) <= 6
            assert line["MontoItem"] == half_up(qty * price) - line.get("DescuentoMonto", 0)
        else:
            assert line["MontoItem"] == 0 and "DescuentoMonto" not in line


def _class_sums(body):
    taxed = exempt = 0
    for line in body["dte"]["Detalle"]:
        if line.get("IndExe") == 1:
            exempt += line["MontoItem"]
        else:
            taxed += line["MontoItem"]
    for dr in body["dte"].get("DscRcgGlobal", []):
        if dr.get("IndExeDR") == 1:
            exempt -= dr["ValorDR"]
        else:
            taxed -= dr["ValorDR"]
    return taxed, exempt


@PROPERTY_SETTINGS
@given(order=orders(), untaxed=st.sampled_from(sorted(STORES)))
def test_boleta_totals_are_the_lines_and_the_paid_total(order, untaxed, sii_schemas):
    built = build(order, settings=STORES[untaxed])
    body = built.body
    totals = body["dte"]["Encabezado"]["Totales"]
    taxed, exempt = _class_sums(body)
    paid = order["order"]["total"] + order["order"]["gift_cards_discount"]
    assert totals["MntTotal"] == taxed + exempt == paid
    assert built.difference == 0
    if built.tipo == 39:
        assert totals["MntNeto"] == half_up(Decimal(taxed) / Decimal("1.19"))
        assert totals["IVA"] == taxed - totals["MntNeto"]
        assert totals.get("MntExe", 0) == exempt
    else:
        assert built.tipo == 41 and taxed == 0
        assert set(totals) == {"MntExe", "MntTotal"}
    _check_lines(body)
    sii_schemas.validate(body)


@PROPERTY_SETTINGS
@given(order=orders(), untaxed=st.sampled_from(sorted(STORES)))
def test_factura_iva_is_the_rate_on_the_net_total(order, untaxed, sii_schemas):
    built = build(order, "factura", settings=STORES[untaxed])
    body = built.body
    totals = body["dte"]["Encabezado"]["Totales"]
    taxed, exempt = _class_sums(body)
    if built.tipo == 33:
        assert totals["MntNeto"] == taxed
        assert totals["IVA"] == half_up(Decimal(totals["MntNeto"]) * Decimal("0.19"))
        assert totals["TasaIVA"] == 19
    else:
        assert built.tipo == 34 and taxed == 0
    assert totals["MntTotal"] == totals.get("MntNeto", 0) + totals.get("IVA", 0) + exempt
    net_priced = sum(
        1
        for item in order["order"]["products"]
        if item.get("type") != "gift_card" and item["taxes"] and not item["taxes"][0]["tax_on_product_price"]
    ) + (
        1
        if order["order"]["shipping"] and order["order"]["shipping_taxes"][:1] == [SHIPPING_IVA_ON_TOP]
        else 0
    )
    assert abs(built.difference) <= max(1, (net_priced + 1) // 2)
    _check_lines(body)
    sii_schemas.validate(body)


@PROPERTY_SETTINGS
@given(order=orders(), document=st.sampled_from(["boleta", "factura"]))
def test_annulment_mirrors_the_original(order, document, sii_schemas):
    original = build(order, document, settings=STORE)
    nota = build_nota_credito_anula(
        original.body,
        original_tipo=original.tipo,
        original_folio=4242,
        original_fecha=TODAY,
        settings=STORE,
        today=TODAY,
    )
    before = original.body["dte"]["Encabezado"]["Totales"]
    after = nota.body["dte"]["Encabezado"]["Totales"]
    assert after.get("MntExe") == before.get("MntExe")
    assert ("MntNeto" in after) == ("MntNeto" in before)
    assert abs(after["MntTotal"] - before["MntTotal"]) <= (0 if document == "factura" else 1)
    if "MntNeto" in after:
        assert after["IVA"] == half_up(Decimal(after["MntNeto"]) * Decimal("0.19"))
    _check_lines(nota.body)
    sii_schemas.validate(nota.body)
