"""Regressions found by checking the engine against dte-semantics.md with an independent oracle.

Each test names the rule of the contract it pins down.
"""

from __future__ import annotations

import pytest

from emission.dte import DteRefusal, OrderInvalid, Receptor

from .dte_support import (
    IVA_INCLUDED,
    IVA_ON_TOP,
    SHIPPING_IVA_INCLUDED,
    build,
    detalle,
    paid_order,
    product,
    totales,
)

BUYER = Receptor(
    rut="76.430.498-5",
    razon_social="HOSTY SPA",
    giro="Servicios informáticos",
    direccion="Arturo Prat 527",
    comuna="Curicó",
)


def test_boleta_under_135_uf_is_for_the_consumidor_final_even_with_a_receptor(sii_schemas):
    # §5 Receptor: "boleta: RUTRecep 66666666-6" — only a boleta over 135 UF names the real buyer.
    built = build(paid_order([product("Polera", 2, 11990)], buyer=True), receptor=BUYER)
    sii_schemas.validate(built.body)
    assert built.body["dte"]["Encabezado"]["Receptor"] == {"RUTRecep": "66666666-6"}
    assert "MedioPago" not in built.body["dte"]["Encabezado"]["IdDoc"]


def test_boleta_over_135_uf_takes_the_buyer_from_the_order_billing_data(sii_schemas):
    # §5: a boleta over 135 UF needs the real buyer; "refuse clearly if absent" — here it is present.
    order = paid_order(
        [product("Notebook", 1, 6_000_000)],
        billing_address={
            "name": "Ana",
            "surname": "Pérez",
            "taxid": "12.345.678-5",
            "address": "Prat",
            "street_number": "12",
            "municipality": "Santiago",
        },
        payment_method_name="Transferencia bancaria",
        payment_method_type="manual",
    )
    built = build(order)
    sii_schemas.validate(built.body)
    encabezado = built.body["dte"]["Encabezado"]
    assert encabezado["IdDoc"]["MedioPago"] == 3
    assert encabezado["Receptor"] == {
        "RUTRecep": "12345678-5",
        "CdgIntRecep": "12345678-5",
        "RznSocRecep": "Ana Pérez",
        "CorreoRecep": "cliente@example.cl",
        "DirRecep": "Prat 12",
        "CmnaRecep": "Santiago",
    }


def test_boleta_over_135_uf_with_the_generic_rut_is_refused():
    generic = Receptor(rut="66666666-6", razon_social="Cliente", giro="", direccion="", comuna="")
    with pytest.raises(DteRefusal) as caught:
        build(paid_order([product("Notebook", 1, 6_000_000)]), receptor=generic)
    assert caught.value.code == "boleta_over_135_uf"


def test_factura_chooses_the_net_that_lands_on_the_paid_total(sii_schemas):
    # §4: a factura's MntTotal must be within 1 peso of order.total. The lines add up to 134 774 and
    # Jumpseller says 134 775 (one peso off, accepted as for a boleta). round(134774 / 1.19) = 113255
    # gives 134 773 (2 pesos from what was paid); the neighbouring net 113256 gives 134 775.
    order = paid_order(
        [product("Polera", 2, 65137)],
        shipping=4500,
        shipping_taxes=(SHIPPING_IVA_INCLUDED,),
        buyer=True,
        total=134775,
    )
    built = build(order, "factura")
    sii_schemas.validate(built.body)
    assert totales(built) == {"MntNeto": 113256, "TasaIVA": 19, "IVA": 21519, "MntTotal": 134775}
    assert built.difference == 0
    assert sum(line["MontoItem"] for line in detalle(built)) == 113256


def test_factura_of_a_consistent_order_keeps_round_t_over_119():
    order = paid_order(
        [product("Polera", 2, 65137)], shipping=4500, shipping_taxes=(SHIPPING_IVA_INCLUDED,), buyer=True
    )
    built = build(order, "factura")
    assert totales(built) == {"MntNeto": 113255, "TasaIVA": 19, "IVA": 21518, "MntTotal": 134773}
    assert built.difference == -1


def test_order_discount_excess_below_one_peso_is_not_a_global_discount():
    # §1: the order-level discount is order.discount − Σ products[].discount "when that is ≥ 1 peso".
    order = paid_order([product("Taza", 1, 1190, discount=100)], total=1090)
    order["order"]["discount"] = 100.6
    built = build(order)
    assert "DscRcgGlobal" not in built.body["dte"]
    assert totales(built) == {"MntNeto": 916, "IVA": 174, "MntTotal": 1090}


def test_order_discount_excess_of_one_and_a_half_pesos_is_rounded_half_up():
    order = paid_order([product("Taza", 1, 1190)], total=1188)
    order["order"]["discount"] = "1.5"
    built = build(order)
    assert [entry["ValorDR"] for entry in built.body["dte"]["DscRcgGlobal"]] == [2]
    assert totales(built)["MntTotal"] == 1188


def test_gift_card_already_inside_order_total_is_accepted():
    # jumpseller-api.md §4.1 [D]: whether order.total is before or after the gift card is not
    # documented; both readings are accepted, the note is printed either way.
    order = paid_order([product("Taza", 1, 25000)], gift_cards=10000, total=25000)
    built = build(order)
    assert totales(built)["MntTotal"] == 25000
    assert built.difference == 0
    assert built.body["custom"]["informationNote"] == "Pagado en parte con gift card: $10.000"


def test_totals_refusal_with_a_gift_card_says_the_card_is_counted():
    order = paid_order([product("Taza", 1, 25000)], gift_cards=10000, total=14000)
    with pytest.raises(DteRefusal) as caught:
        build(order)
    assert caught.value.code == "totals_mismatch"
    assert "pedido indica $24.000 pagados, incluidos $10.000 con gift card" in caught.value.message


def test_order_discount_larger_than_every_line_says_what_to_check():
    order = paid_order([product("Taza", 1, 1190)], order_discount=5000, total=0)
    with pytest.raises(OrderInvalid) as caught:
        build(order)
    assert caught.value.message == (
        "El descuento del pedido ($5.000) supera el total de sus líneas ($1.190): revisa los descuentos "
        "del pedido en Jumpseller."
    )


def test_net_priced_line_with_seven_decimal_quantity(sii_schemas):
    # §4: QtyItem at most 6 decimals, MontoItem = round(QtyItem × PrcItem) − DescuentoMonto exactly,
    # and the gross is Jumpseller's round(N × 1.19) with N = round(qty × price) on the real quantity.
    order = paid_order([product("Queso", "0.1234567", 182505, taxes=(IVA_ON_TOP,)), product("Pan", 1, 990)])
    built = build(order)
    sii_schemas.validate(built.body)
    first = detalle(built)[0]
    assert first["QtyItem"] == 0.123457
    assert first["MontoItem"] == 26812  # round(22531 × 1.19)
    assert totales(built)["MntTotal"] == 26812 + 990


@pytest.mark.parametrize("taxes", [(IVA_INCLUDED,), ()], ids=["afecto", "exento"])
def test_receptor_fields_missing_are_listed_in_spanish(taxes):
    with pytest.raises(DteRefusal) as caught:
        build(paid_order([product("Taza", 1, 1190, taxes=taxes)]), "factura")
    assert caught.value.message.startswith(
        "Faltan el RUT, la razón social, el giro, la dirección y la comuna del receptor"
    )
