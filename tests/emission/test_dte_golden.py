"""Golden tests: the worked examples V1–V18 of dte-rules.md §6 and openfactura-api.md §3.1.

Each example is written as the Jumpseller order that produces it (gross prices for boletas; prices
without IVA, ``tax_on_product_price`` false, for the facturas whose lines the source gives as net), then
the document's exact lines and totals are asserted and the body is validated against the SII schema
(``sii_schemas.py``: facturas always, boletas when their XSD is at hand). Where an example uses something
a Jumpseller order cannot express (a percentage line discount, a non-billable line) the adaptation is
explained next to it.
"""

from __future__ import annotations

import pytest

from emission.dte.money import gross_of_net

from .dte_support import (
    IVA_INCLUDED,
    IVA_ON_TOP,
    SHIPPING_IVA_INCLUDED,
    amounts,
    build,
    detalle,
    fixture,
    paid_order,
    product,
    totales,
)


def _valid(built, sii_schemas):
    sii_schemas.validate(built.body)
    return built


# --- Boletas --------------------------------------------------------------------------------------


def test_v1_boleta_simple(sii_schemas):
    built = _valid(build(paid_order([product("Item", 1, 1190)])), sii_schemas)
    assert built.tipo == 39
    assert totales(built) == {"MntNeto": 1000, "IVA": 190, "MntTotal": 1190}
    assert amounts(built) == [(1, 1190, None, 1190, None)]


def test_v2_boleta_multiple_items_net_is_rounded_on_the_total(sii_schemas):
    order = paid_order([product("A", 2, 1000), product("B", 1, 1500), product("C", 3, 500)])
    built = _valid(build(order), sii_schemas)
    assert totales(built) == {"MntNeto": 4202, "IVA": 798, "MntTotal": 5000}
    assert [line["MontoItem"] for line in detalle(built)] == [2000, 1500, 1500]


def test_v3_boleta_global_discount(sii_schemas):
    # 10 % of 1190 = 119, sent as a peso discount (TpoValor $): Jumpseller gives the order discount in pesos.
    built = _valid(build(paid_order([product("Item", 1, 1190)], order_discount=119)), sii_schemas)
    assert totales(built) == {"MntNeto": 900, "IVA": 171, "MntTotal": 1071}
    assert built.body["dte"]["DscRcgGlobal"] == [
        {"NroLinDR": 1, "TpoMov": "D", "GlosaDR": "Descuento", "TpoValor": "$", "ValorDR": 119}
    ]


def test_v4_boleta_mixed_taxed_and_exempt(sii_schemas):
    # The source publishes only the sums (taxed 375000, exempt 250000); three taxed lines make them up.
    order = paid_order(
        [
            product("Afecto 1", 1, 125000),
            product("Afecto 2", 2, 125000),
            product("Exento", 1, 250000, taxes=()),
        ]
    )
    built = _valid(build(order), sii_schemas)
    assert totales(built) == {"MntNeto": 315126, "MntExe": 250000, "IVA": 59874, "MntTotal": 625000}
    second = _valid(build(paid_order([product("Afecto", 1, 125000)])), sii_schemas)
    assert totales(second) == {"MntNeto": 105042, "IVA": 19958, "MntTotal": 125000}


def test_v5_boleta_certification_case_4(sii_schemas):
    order = paid_order([product("item afecto", 8, 1590), product("item exento", 2, 1000, taxes=())])
    built = _valid(build(order), sii_schemas)
    assert totales(built) == {"MntNeto": 10689, "MntExe": 2000, "IVA": 2031, "MntTotal": 14720}
    assert amounts(built) == [(8, 1590, None, 12720, None), (2, 1000, None, 2000, 1)]


def test_v6_boleta_exenta_with_global_discount(sii_schemas):
    built = _valid(build(paid_order([product("Exento", 1, 1000, taxes=())], order_discount=100)), sii_schemas)
    assert built.tipo == 41
    assert totales(built) == {"MntExe": 900, "MntTotal": 900}
    assert built.body["dte"]["DscRcgGlobal"] == [
        {"NroLinDR": 1, "TpoMov": "D", "GlosaDR": "Descuento", "TpoValor": "$", "ValorDR": 100, "IndExeDR": 1}
    ]


@pytest.mark.parametrize(
    ("gross", "neto", "iva"),
    [(680, 571, 109), (86710, 72866, 13844)],
    ids=["v17", "v18"],
)
def test_v17_v18_boleta_iva_is_the_remainder_of_the_gross(gross, neto, iva, sii_schemas):
    # IVA = T − round(T / 1.19); round(neto × 0.19) would give 108 / 13845 and a total off by one.
    built = _valid(build(paid_order([product("Item", 1, gross)])), sii_schemas)
    assert totales(built) == {"MntNeto": neto, "IVA": iva, "MntTotal": gross}


def test_openfactura_3_1_boleta_with_exempt_shipping(sii_schemas):
    order = fixture("jumpseller", "order_paid__mixta_despacho_exento")
    built = _valid(build(order), sii_schemas)
    assert built.tipo == 39
    assert totales(built) == {"MntNeto": 20151, "MntExe": 3990, "IVA": 3829, "MntTotal": 27970}
    assert detalle(built) == [
        {"NroLinDet": 1, "NmbItem": "Polera algodón", "QtyItem": 2, "PrcItem": 11990, "MontoItem": 23980},
        {
            "NroLinDet": 2,
            "IndExe": 1,
            "NmbItem": "Despacho",
            "QtyItem": 1,
            "PrcItem": 3990,
            "MontoItem": 3990,
        },
    ]
    assert built.difference == 0


def test_openfactura_3_1_as_factura(sii_schemas):
    order = fixture("jumpseller", "order_paid__mixta_despacho_exento")
    built = _valid(build(_with_buyer(order), "factura"), sii_schemas)
    assert built.tipo == 33
    assert totales(built) == {"MntNeto": 20151, "MntExe": 3990, "TasaIVA": 19, "IVA": 3829, "MntTotal": 27970}
    assert amounts(built) == [(2, 10075.5, None, 20151, None), (1, 3990, None, 3990, 1)]


def _with_buyer(order):
    data = fixture("jumpseller", "order_paid__empresa")["order"]
    inner = dict(order["order"])
    for key in ("billing_address", "billing_information", "customer"):
        inner[key] = data[key]
    return {"order": inner}


# --- Facturas (lines given net by the sources: prices without IVA in Jumpseller) --------------------


def test_v7_factura_official_sii_sample(sii_schemas):
    order = paid_order(
        [
            product("Item 1", 20, 4500, taxes=(IVA_ON_TOP,)),
            product("Item 2", 1, 5000, taxes=(IVA_ON_TOP,)),
            product("Item 3", 5, 1000, taxes=(IVA_ON_TOP,)),
        ],
        buyer=True,
    )
    built = _valid(build(order, "factura"), sii_schemas)
    assert built.tipo == 33
    assert totales(built) == {"MntNeto": 100000, "TasaIVA": 19, "IVA": 19000, "MntTotal": 119000}
    assert amounts(built) == [
        (20, 4500, None, 90000, None),
        (1, 5000, None, 5000, None),
        (5, 1000, None, 5000, None),
    ]


def test_v8_factura_global_discount_carries_its_net_value(sii_schemas):
    # 10 % of 104090 net = 10409 net; in Jumpseller the coupon is gross: 123867 − 111480 = 12387.
    order = paid_order([product("Item", 1, 104090, taxes=(IVA_ON_TOP,))], order_discount=12387, buyer=True)
    built = _valid(build(order, "factura"), sii_schemas)
    assert totales(built) == {"MntNeto": 93681, "TasaIVA": 19, "IVA": 17799, "MntTotal": 111480}
    assert built.body["dte"]["DscRcgGlobal"][0]["ValorDR"] == 10409
    assert built.difference == 0


def test_v9_factura_line_discount(sii_schemas):
    # The source's DescuentoPct 10 → DescuentoMonto 10409; Jumpseller gives the line discount in pesos.
    order = paid_order([product("Item", 1, 104090, taxes=(IVA_ON_TOP,), discount=10409)], buyer=True)
    built = _valid(build(order, "factura"), sii_schemas)
    assert totales(built) == {"MntNeto": 93681, "TasaIVA": 19, "IVA": 17799, "MntTotal": 111480}
    assert amounts(built) == [(1, 104090, 10409, 93681, None)]


def test_v10_factura_line_discount_amount(sii_schemas):
    order = paid_order([product("Item", 1, 104097, taxes=(IVA_ON_TOP,), discount=10000)], buyer=True)
    built = _valid(build(order, "factura"), sii_schemas)
    assert totales(built) == {"MntNeto": 94097, "TasaIVA": 19, "IVA": 17878, "MntTotal": 111975}
    assert amounts(built) == [(1, 104097, 10000, 94097, None)]


def test_v11_factura_mixed_with_line_discount(sii_schemas):
    order = paid_order(
        [
            product("Afecto", 1, 6000, taxes=(IVA_ON_TOP,), discount=3000),
            product("Exento", 10, 10000, taxes=()),
        ],
        buyer=True,
    )
    built = _valid(build(order, "factura"), sii_schemas)
    assert totales(built) == {
        "MntNeto": 3000,
        "MntExe": 100000,
        "TasaIVA": 19,
        "IVA": 570,
        "MntTotal": 103570,
    }
    assert amounts(built) == [(1, 6000, 3000, 3000, None), (10, 10000, None, 100000, 1)]


def test_v12_factura_certification_case_with_global_discount(sii_schemas):
    # 22 % of the taxed net (3711166) = 816457 net; in Jumpseller the coupon is the gross difference.
    lines = [
        product("Afecto 1", 414, 5919, taxes=(IVA_ON_TOP,)),
        product("Afecto 2", 175, 7204, taxes=(IVA_ON_TOP,)),
        product("Servicio exento", 2, 6833, taxes=()),
    ]
    taxed_gross = gross_of_net(414 * 5919) + gross_of_net(175 * 7204)
    coupon = taxed_gross - (2894709 + 549995)
    built = _valid(build(paid_order(lines, order_discount=coupon, buyer=True), "factura"), sii_schemas)
    assert totales(built) == {
        "MntNeto": 2894709,
        "MntExe": 13666,
        "TasaIVA": 19,
        "IVA": 549995,
        "MntTotal": 3458370,
    }
    assert built.body["dte"]["DscRcgGlobal"][0]["ValorDR"] == 816457


def test_v13_factura_line_discounts_differ_from_per_item_iva_by_one_peso(sii_schemas):
    # Line discounts of 10 % and 23 % → 445837 and 796323 pesos. Jumpseller charges
    # round(4012529 × 1.19) + round(2665952 × 1.19) = 7947393; the SII's IVA on the total gives 7947392.
    order = paid_order(
        [
            product("Afecto 1", 759, 5874, taxes=(IVA_ON_TOP,), discount=445837),
            product("Afecto 2", 703, 4925, taxes=(IVA_ON_TOP,), discount=796323),
        ],
        buyer=True,
    )
    built = _valid(build(order, "factura"), sii_schemas)
    assert totales(built) == {"MntNeto": 6678481, "TasaIVA": 19, "IVA": 1268911, "MntTotal": 7947392}
    assert built.difference == -1
    assert "difiere en $1" in built.warnings[0]


def test_v14_factura_price_with_decimals(sii_schemas):
    order = paid_order([product("Servicio", 1.0, 8942.86, taxes=(IVA_ON_TOP,))], buyer=True)
    built = _valid(build(order, "factura"), sii_schemas)
    assert totales(built) == {"MntNeto": 8943, "TasaIVA": 19, "IVA": 1699, "MntTotal": 10642}
    assert amounts(built) == [(1, 8942.86, None, 8943, None)]


def test_v16_factura_exenta(sii_schemas):
    # V16 adds a 35000 non-billable line (IndExe 2): a Jumpseller order has no such line, so only the
    # exempt part is reproduced (MntExe 20000, MntTotal 20000).
    built = _valid(
        build(paid_order([product("Exento", 1, 20000, taxes=())], buyer=True), "factura"), sii_schemas
    )
    assert built.tipo == 34
    assert totales(built) == {"MntExe": 20000, "MntTotal": 20000}
    assert amounts(built) == [(1, 20000, None, 20000, 1)]


# --- Gross-priced facturas (the common Chilean store: prices include IVA) ------------------------------


def test_factura_from_gross_prices_spreads_the_net_and_matches_the_paid_total(sii_schemas):
    # dte-rules.md §2.2: per-line net would give 840 + 1672 = 2512 and a total of 2989 ≠ 2990.
    order = paid_order([product("A", 1, 1000), product("B", 1, 1990)], buyer=True)
    built = _valid(build(order, "factura"), sii_schemas)
    assert totales(built) == {"MntNeto": 2513, "TasaIVA": 19, "IVA": 477, "MntTotal": 2990}
    assert [line["MontoItem"] for line in detalle(built)] == [840, 1673]
    assert built.difference == 0


def test_factura_gross_line_discount_and_taxed_shipping(sii_schemas):
    order = paid_order(
        [product("Café", 3, 5990, discount=1000)],
        shipping=3990,
        shipping_taxes=(SHIPPING_IVA_INCLUDED,),
        shipping_method_name="Chilexpress",
        buyer=True,
    )
    built = _valid(build(order, "factura"), sii_schemas)
    # T = 16970 + 3990 = 20960 → MntNeto 17613, IVA 3346, total 20959 (no exact net for 20960).
    assert totales(built) == {"MntNeto": 17613, "TasaIVA": 19, "IVA": 3346, "MntTotal": 20959}
    # 17613 spread by gross: 17613 × 16970 / 20960 = 14260.07 and 3352.93 → 14260 and 3353.
    assert amounts(built) == [(3, 5033.333333, 840, 14260, None), (1, 3353, None, 3353, None)]
    assert detalle(built)[1]["NmbItem"] == "Despacho - Chilexpress"
    assert built.difference == -1


def test_boleta_with_prices_without_iva(sii_schemas):
    order = fixture("jumpseller", "order_paid__iva_adicional")
    built = _valid(build(order), sii_schemas)
    assert built.tipo == 39
    assert totales(built) == {"MntNeto": 34980, "IVA": 6646, "MntTotal": 41626}
    assert amounts(built) == [(1, 29750, None, 29750, None), (2, 5938.1, None, 11876, None)]


def test_factura_with_prices_without_iva_keeps_the_exact_net(sii_schemas):
    order = _with_buyer(fixture("jumpseller", "order_paid__iva_adicional"))
    built = _valid(build(order, "factura"), sii_schemas)
    assert totales(built) == {"MntNeto": 34980, "TasaIVA": 19, "IVA": 6646, "MntTotal": 41626}
    assert amounts(built) == [(1, 25000, None, 25000, None), (2, 4990, None, 9980, None)]


def test_mixed_gross_and_net_priced_lines_on_a_factura(sii_schemas):
    order = paid_order(
        [
            product("Con IVA", 1, 11990, taxes=(IVA_INCLUDED,)),
            product("Sin IVA", 3, 990, taxes=(IVA_ON_TOP,)),
        ],
        buyer=True,
    )
    built = _valid(build(order, "factura"), sii_schemas)
    # T = 11990 + round(2970 × 1.19) = 15524 → MntNeto 13045: 2970 exact, 10075 for the gross line.
    assert totales(built) == {"MntNeto": 13045, "TasaIVA": 19, "IVA": 2479, "MntTotal": 15524}
    assert amounts(built) == [(1, 10075, None, 10075, None), (3, 990, None, 2970, None)]
