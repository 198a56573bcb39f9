"""Reading the order, classifying its lines, the emisor from OpenFactura's organization, the receptor."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest

from emission.dte import OrderInvalid, Receptor, StoreDteSettings
from emission.dte.classify import classify_order
from emission.dte.order import parse_jumpseller_datetime, parse_order
from emission.dte.parties import emisor_from_organization
from emission.dte.text import clean_text

from .dte_support import (
    IVA_INCLUDED,
    SHIPPING_IVA_ON_TOP,
    build,
    detalle,
    fixture,
    paid_order,
    product,
    totales,
)

HOSTY = fixture("openfactura", "organization__hosty")


# --- order ----------------------------------------------------------------------------------------


def test_numbers_as_strings_and_floats_go_through_decimal():
    order = parse_order(fixture("jumpseller", "order_paid__empresa"))
    assert order.total == Decimal("30000.0")
    assert order.products[0].price == Decimal("30000.00")
    assert parse_order(paid_order([product("A", 0.1, 29.99)])).products[0].qty * 3 == Decimal("0.3")


@pytest.mark.parametrize(
    "text",
    [
        "2023-02-10 13:56:35 UTC",
        "2023-02-10T13:56:35+00:00",
        "2023-02-10T13:56:35Z",
        "2023-02-10T10:56:35-03:00",
    ],
)
def test_the_three_jumpseller_date_formats(text):
    assert parse_jumpseller_datetime(text) == datetime(2023, 2, 10, 13, 56, 35, tzinfo=UTC)


def test_unreadable_dates_are_none():
    assert parse_jumpseller_datetime("ayer") is None
    assert parse_jumpseller_datetime(None) is None


def test_bare_order_object_is_accepted():
    assert parse_order(paid_order([product("A", 1, 1190)])["order"]).total == 1190


def test_payload_without_order():
    with pytest.raises(OrderInvalid) as caught:
        parse_order({"webhook": "order_paid"})
    assert caught.value.message == 'El pedido no trae el objeto "order".'


def test_gift_cards_amount_is_read_under_either_name():
    order = paid_order([product("A", 1, 1190)], total=190)
    del order["order"]["gift_cards_discount"]
    order["order"]["gift_cards_amount"] = 1000
    assert parse_order(order).gift_cards == 1000


# --- classification -------------------------------------------------------------------------------


def test_products_and_shipping_are_classified_independently():
    order = parse_order(
        paid_order(
            [product("Con IVA", 1, 1190, taxes=(IVA_INCLUDED,)), product("Sin impuesto", 1, 500, taxes=())],
            shipping=1000,
            shipping_taxes=(SHIPPING_IVA_ON_TOP,),
            shipping_method_name="Blue Express <b>24h</b>",
        )
    )
    lines, _ = classify_order(order, untaxed_items="exempt")
    assert [(line.name, line.taxed, line.price_includes_iva, line.gross) for line in lines] == [
        ("Con IVA", True, True, 1190),
        ("Sin impuesto", False, True, 500),
        ("Despacho - Blue Express <b>24h</b>", True, False, 1190),
    ]


def test_untaxed_items_as_taxed_covers_shipping():
    settings = StoreDteSettings(organization=StoreDteSettings.demo().organization, untaxed_items="taxed")
    built = build(paid_order([product("Sin impuesto", 1, 1190, taxes=())], shipping=2380), settings=settings)
    assert built.tipo == 39
    assert totales(built) == {"MntNeto": 3000, "IVA": 570, "MntTotal": 3570}


def test_gift_card_product_is_exempt_and_payment_with_a_gift_card_is_noted():
    built = build(fixture("jumpseller", "order_paid__gift_card"))
    assert totales(built) == {"MntNeto": 21008, "MntExe": 15000, "IVA": 3992, "MntTotal": 40000}
    assert [line.get("IndExe") for line in detalle(built)] == [1, None]
    assert built.body["custom"] == {
        "origin": "JUMPSELLER",
        "informationNote": "Pagado en parte con gift card: $10.000",
    }
    assert built.expected_total == 40000
    assert built.difference == 0


def test_order_wholly_paid_with_a_gift_card():
    built = build(paid_order([product("Taza", 1, 9990)], gift_cards=9990))
    assert built.body["custom"]["informationNote"] == "Pagado con gift card: $9.990"


def test_free_item_keeps_its_quantity_and_omits_the_price():
    built = build(paid_order([product("Polera", 1, 11990), product("Regalo", 2, 0)]))
    assert detalle(built)[1] == {"NroLinDet": 2, "NmbItem": "Regalo", "QtyItem": 2, "MontoItem": 0}


def test_item_names_are_cleaned_and_cut():
    assert (
        clean_text("  Polera <b>“Premium”</b> &amp; gorro\u200b\x07 🎁  ")
        == 'Polera <b>"Premium"</b> & gorro'
    )
    built = build(paid_order([product("x" * 100, 1, 1190)]))
    assert detalle(built)[0]["NmbItem"] == "x" * 80
    assert built.warnings == [f"El nombre del producto «{'x' * 80}» se recortó a 80 caracteres."]


def test_order_level_discount_exceeding_the_taxed_gross_makes_an_exempt_boleta():
    built = build(fixture("jumpseller", "order_paid__descuento_global"))
    assert built.tipo == 41
    assert totales(built) == {"MntExe": 10990, "MntTotal": 10990}
    assert [line.get("IndExe") for line in detalle(built)] == [1, 1]
    assert built.body["dte"]["DscRcgGlobal"] == [
        {
            "NroLinDR": 1,
            "TpoMov": "D",
            "GlosaDR": "Descuento",
            "TpoValor": "$",
            "ValorDR": 6000,
            "IndExeDR": 1,
        }
    ]
    assert "boleta exenta" in built.warnings[-1]


# --- emisor ---------------------------------------------------------------------------------------


def test_demo_emisor_uses_the_principal_activity_and_head_office():
    emisor, warnings = emisor_from_organization(
        StoreDteSettings.demo().organization, acteco=None, sucursal=None
    )
    assert emisor.factura_dict() == {
        "RUTEmisor": "76795561-8",
        "RznSoc": "HAULMER CHILE SPA",
        "GiroEmis": "PRODUCTOS Y SERVICIOS RELACIONADOS CON INTERNET, SOFTWARE, DISPOSITIVO",
        "Acteco": 641990,
        "CdgSIISucur": "81303347",
        "DirOrigen": "A PRAT 545 DP 2",
        "CmnaOrigen": "Curicó",
    }
    assert emisor.boleta_dict() == {
        "RUTEmisor": "76795561-8",
        "RznSocEmisor": "HAULMER CHILE SPA",
        "GiroEmisor": "PRODUCTOS Y SERVICIOS RELACIONADOS CON INTERNET, SOFTWARE, DISPOSITIVO",
        "CdgSIISucur": "81303347",
        "DirOrigen": "A PRAT 545 DP 2",
        "CmnaOrigen": "Curicó",
    }
    assert warnings == []


def test_chosen_activity_as_integer_and_branch_with_its_own_comuna():
    emisor, warnings = emisor_from_organization(HOSTY, acteco="631100", sucursal="79457966")
    assert (emisor.acteco, emisor.cdg_sii_sucur, emisor.direccion, emisor.comuna) == (
        631100,
        "79457966",
        "AV LIBERTADOR BERNARDO O'HIGGINS 1302 OF 41",
        "Santiago",
    )
    assert warnings == []


def test_unknown_branch_falls_back_to_the_head_office():
    emisor, warnings = emisor_from_organization(HOSTY, acteco=None, sucursal="123")
    assert (emisor.acteco, emisor.cdg_sii_sucur, emisor.comuna) == (620200, "79457965", "Curicó")
    assert warnings == ["La sucursal 123 no figura en OpenFactura; se usa la casa matriz."]


def test_store_settings_from_json_defaults_to_the_demo():
    settings = StoreDteSettings.from_json({"untaxed_items": "taxed"})
    assert settings.organization["rut"] == "76795561-8"
    assert (settings.acteco, settings.sucursal, settings.untaxed_items) == (None, None, "taxed")
    assert settings.uf_clp == Decimal(40000)


# --- receptor -------------------------------------------------------------------------------------


def test_receptor_from_order_is_cut_to_sii_lengths():
    receptor = Receptor.from_order(fixture("jumpseller", "order_paid__empresa")).validated()
    assert receptor == Receptor(
        rut="76430498-5",
        razon_social="HOSTY SPA",
        giro="EMPRESAS DE SERVICIOS INTEGRALES DE INFO",
        direccion="Arturo Prat 527",
        comuna="Curicó",
        email="facturacion@hosty.cl",
    )
    assert receptor.factura_dict() == {
        "RUTRecep": "76430498-5",
        "RznSocRecep": "HOSTY SPA",
        "GiroRecep": "EMPRESAS DE SERVICIOS INTEGRALES DE INFO",
        "CorreoRecep": "facturacion@hosty.cl",
        "DirRecep": "Arturo Prat 527",
        "CmnaRecep": "Curicó",
    }


def test_receptor_rut_with_lowercase_k_is_canonical():
    receptor = Receptor(rut="96.874.030-k", razon_social="X", giro="X", direccion="X", comuna="X").validated()
    assert receptor.rut == "96874030-K"


def test_receptor_from_json_and_invalid_email_is_dropped():
    receptor = Receptor.from_json(
        {
            "rut": "76430498-5",
            "razon_social": "HOSTY",
            "giro": "TI",
            "direccion": "Prat",
            "comuna": "Curicó",
            "email": "no",
        }
    ).validated()
    assert receptor.email is None


def test_factura_body_for_a_company():
    built = build(fixture("jumpseller", "order_paid__empresa"), "factura")
    encabezado = built.body["dte"]["Encabezado"]
    assert list(encabezado) == ["IdDoc", "Emisor", "Receptor", "Totales"]
    assert encabezado["IdDoc"] == {"TipoDTE": 33, "Folio": 0, "FchEmis": "2026-11-29", "FmaPago": 1}
    assert encabezado["Totales"] == {"MntNeto": 25210, "TasaIVA": 19, "IVA": 4790, "MntTotal": 30000}
    assert built.body["response"] == ["FOLIO", "PDF"]


def test_receptor_rut_typed_without_hyphen_or_dots():
    receptor = Receptor(rut="764304985", razon_social="X", giro="X", direccion="X", comuna="X").validated()
    assert receptor.rut == "76430498-5"
