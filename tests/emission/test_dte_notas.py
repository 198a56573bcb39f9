"""Notas de crédito: annulment (CodRef 1) of every emitted type and partial refunds (CodRef 3)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from emission.dte import (
    NotaInvalid,
    Receptor,
    StoreDteSettings,
    build_nota_credito_anula,
    build_nota_credito_parcial,
)

from .dte_support import IVA_ON_TOP, TODAY, amounts, build, fixture, paid_order, product, totales

SETTINGS = StoreDteSettings.demo()
FECHA = date(2026, 11, 20)


def anula(original, **kwargs):
    return build_nota_credito_anula(
        original.body,
        original_tipo=original.tipo,
        original_folio=812,
        original_fecha=FECHA,
        settings=SETTINGS,
        today=TODAY,
        **kwargs,
    )


def parcial(original, **kwargs):
    return build_nota_credito_parcial(
        original.body,
        original_tipo=original.tipo,
        original_folio=812,
        original_fecha=FECHA,
        settings=SETTINGS,
        today=TODAY,
        **kwargs,
    )


def test_annulling_a_boleta_converts_its_lines_to_net(sii_schemas):
    boleta = build(fixture("jumpseller", "order_paid__mixta_despacho_exento"))
    nota = anula(boleta)
    sii_schemas.validate(nota.body)
    assert nota.tipo == 61
    assert nota.body["dte"] == {
        "Encabezado": {
            "IdDoc": {"TipoDTE": 61, "Folio": 0, "FchEmis": "2026-11-29"},
            "Emisor": {
                "RUTEmisor": "76795561-8",
                "RznSoc": "HAULMER CHILE SPA",
                "GiroEmis": "PRODUCTOS Y SERVICIOS RELACIONADOS CON INTERNET, SOFTWARE, DISPOSITIVO",
                "Acteco": 641990,
                "CdgSIISucur": "81303347",
                "DirOrigen": "A PRAT 545 DP 2",
                "CmnaOrigen": "Curicó",
            },
            "Receptor": {
                "RUTRecep": "66666666-6",
                "RznSocRecep": "Consumidor final",
                "GiroRecep": "Particular",
                "DirRecep": "Sin dirección",
                "CmnaRecep": "Curicó",
            },
            "Totales": {"MntNeto": 20151, "MntExe": 3990, "TasaIVA": 19, "IVA": 3829, "MntTotal": 27970},
        },
        "Detalle": [
            {
                "NroLinDet": 1,
                "NmbItem": "Polera algodón",
                "QtyItem": 2,
                "PrcItem": 10075.5,
                "MontoItem": 20151,
            },
            {
                "NroLinDet": 2,
                "IndExe": 1,
                "NmbItem": "Despacho",
                "QtyItem": 1,
                "PrcItem": 3990,
                "MontoItem": 3990,
            },
        ],
        "Referencia": [
            {
                "NroLinRef": 1,
                "TpoDocRef": "39",
                "FolioRef": 812,
                "FchRef": "2026-11-20",
                "CodRef": 1,
                "RazonRef": "Anula documento",
            }
        ],
    }
    assert nota.body["custom"] == {"origin": "JUMPSELLER"}
    assert nota.difference == 0


def test_annulling_a_boleta_within_one_peso(sii_schemas):
    # Gross 2 × 1000 + 1990: net 2513 gives IVA 477 → 2990; a boleta of 2989 has no exact net.
    boleta = build(paid_order([product("A", 1, 999), product("B", 1, 1990)]))
    assert totales(boleta) == {"MntNeto": 2512, "IVA": 477, "MntTotal": 2989}
    nota = anula(boleta, razon="Cliente desiste de la compra")
    sii_schemas.validate(nota.body)
    assert totales(nota) == {"MntNeto": 2512, "TasaIVA": 19, "IVA": 477, "MntTotal": 2989}
    assert nota.body["dte"]["Referencia"][0]["RazonRef"] == "Cliente desiste de la compra"


def test_annulling_a_boleta_with_a_global_discount_carries_the_net_discount(sii_schemas):
    boleta = build(paid_order([product("Item", 1, 1190)], order_discount=119))
    nota = anula(boleta)
    sii_schemas.validate(nota.body)
    assert totales(nota) == {"MntNeto": 900, "TasaIVA": 19, "IVA": 171, "MntTotal": 1071}
    assert amounts(nota) == [(1, 1000, None, 1000, None)]
    assert nota.body["dte"]["DscRcgGlobal"][0]["ValorDR"] == 100


def test_annulling_a_boleta_exenta(sii_schemas):
    boleta = build(paid_order([product("Libro", 2, 9990, taxes=())], order_discount=990))
    assert boleta.tipo == 41
    nota = anula(boleta)
    sii_schemas.validate(nota.body)
    assert totales(nota) == {"MntExe": 18990, "MntTotal": 18990}
    assert nota.body["dte"]["DscRcgGlobal"] == [
        {"NroLinDR": 1, "TpoMov": "D", "GlosaDR": "Descuento", "TpoValor": "$", "ValorDR": 990, "IndExeDR": 1}
    ]
    assert nota.body["dte"]["Referencia"][0]["TpoDocRef"] == "41"


def test_annulling_a_factura_copies_it(sii_schemas):
    factura = build(fixture("jumpseller", "order_paid__empresa"), "factura")
    nota = anula(factura)
    sii_schemas.validate(nota.body)
    original, copy = factura.body["dte"], nota.body["dte"]
    assert copy["Encabezado"]["Receptor"] == original["Encabezado"]["Receptor"]
    assert copy["Detalle"] == original["Detalle"]
    assert copy["Encabezado"]["Totales"] == original["Encabezado"]["Totales"]
    assert copy["Referencia"][0]["TpoDocRef"] == "33"
    assert nota.difference == 0


def test_annulling_a_factura_exenta(sii_schemas):
    order = paid_order([product("Curso", 1, 50000, taxes=())], buyer=True)
    factura = build(order, "factura")
    assert factura.tipo == 34
    nota = anula(factura)
    sii_schemas.validate(nota.body)
    assert totales(nota) == {"MntExe": 50000, "MntTotal": 50000}
    assert nota.body["dte"]["Referencia"][0]["TpoDocRef"] == "34"


def test_annulling_a_boleta_of_more_than_60_lines_summarises_it(sii_schemas):
    products = [product(f"Producto {n}", 1, 1990) for n in range(70)] + [
        product(f"Libro {n}", 1, 5000, taxes=()) for n in range(5)
    ]
    boleta = build(paid_order(products, order_discount=1000))
    assert len(boleta.body["dte"]["Detalle"]) == 75
    nota = anula(boleta)
    sii_schemas.validate(nota.body)
    # T = 70 × 1990 − 1000 = 138300 → MntNeto 116218, IVA 22081 (boleta IVA 22082: within 1 peso).
    assert nota.body["dte"]["Detalle"] == [
        {
            "NroLinDet": 1,
            "NmbItem": "Anula boleta N° 812: productos afectos",
            "QtyItem": 1,
            "PrcItem": 116218,
            "MontoItem": 116218,
        },
        {
            "NroLinDet": 2,
            "IndExe": 1,
            "NmbItem": "Anula boleta N° 812: productos exentos",
            "QtyItem": 1,
            "PrcItem": 25000,
            "MontoItem": 25000,
        },
    ]
    assert "DscRcgGlobal" not in nota.body["dte"]
    assert totales(nota) == {
        "MntNeto": 116218,
        "MntExe": 25000,
        "TasaIVA": 19,
        "IVA": 22081,
        "MntTotal": 163299,
    }
    assert totales(boleta)["MntTotal"] == 163300
    assert nota.difference == -1
    assert any("resume las líneas" in warning for warning in nota.warnings)


def test_annulling_a_boleta_with_a_named_buyer_keeps_the_buyer(sii_schemas):
    # Only a boleta over 135 UF names its buyer (dte-semantics.md §5); under it the buyer is 66666666-6.
    buyer = Receptor(
        rut="76430498-5", razon_social="HOSTY SPA", giro="", direccion="Prat 527", comuna="Curicó"
    )
    boleta = build(paid_order([product("Notebook", 1, 5_400_001)]), receptor=buyer)
    nota = anula(boleta)
    sii_schemas.validate(nota.body)
    assert nota.body["dte"]["Encabezado"]["Receptor"] == {
        "RUTRecep": "76430498-5",
        "CdgIntRecep": "76430498-5",
        "RznSocRecep": "HOSTY SPA",
        "GiroRecep": "Particular",
        "DirRecep": "Prat 527",
        "CmnaRecep": "Curicó",
    }


def test_v15_partial_refund_of_a_factura_line(sii_schemas):
    factura = build(paid_order([product("Item", 450, 20, taxes=(IVA_ON_TOP,))], buyer=True), "factura")
    nota = parcial(factura, lines=[(1, Decimal(450))], razon="Devolución de mercadería")
    sii_schemas.validate(nota.body)
    assert totales(nota) == {"MntNeto": 9000, "TasaIVA": 19, "IVA": 1710, "MntTotal": 10710}
    assert amounts(nota) == [(450, 20, None, 9000, None)]
    assert nota.body["dte"]["Referencia"][0] == {
        "NroLinRef": 1,
        "TpoDocRef": "33",
        "FolioRef": 812,
        "FchRef": "2026-11-20",
        "CodRef": 3,
        "RazonRef": "Devolución de mercadería",
    }


def test_partial_refund_of_boleta_lines(sii_schemas):
    boleta = build(paid_order([product("Polera", 3, 11990), product("Libro", 2, 5000, taxes=())]))
    nota = parcial(boleta, lines=[(1, Decimal(1)), (2, Decimal(1))], razon="Devolución")
    sii_schemas.validate(nota.body)
    assert amounts(nota) == [(1, 10076, None, 10076, None), (1, 5000, None, 5000, 1)]
    assert totales(nota) == {"MntNeto": 10076, "MntExe": 5000, "TasaIVA": 19, "IVA": 1914, "MntTotal": 16990}
    assert nota.difference == 0


def test_partial_refund_shares_the_global_discount(sii_schemas):
    # 2 × 10000 with a 2000 coupon: one unit back refunds 9000, not 10000.
    boleta = build(paid_order([product("Polera", 2, 10000)], order_discount=2000))
    nota = parcial(boleta, lines=[(1, Decimal(1))], razon="Devolución")
    sii_schemas.validate(nota.body)
    assert totales(nota) == {"MntNeto": 7563, "TasaIVA": 19, "IVA": 1437, "MntTotal": 9000}


def test_partial_refund_of_an_amount(sii_schemas):
    boleta = build(fixture("jumpseller", "order_paid__boleta_afecta"))
    nota = parcial(boleta, amount=5000, razon="Compensación por atraso")
    sii_schemas.validate(nota.body)
    assert amounts(nota) == [(1, 4202, None, 4202, None)]
    assert detalle_name(nota) == "Devolución parcial boleta N° 812"
    assert totales(nota) == {"MntNeto": 4202, "TasaIVA": 19, "IVA": 798, "MntTotal": 5000}


def detalle_name(nota):
    return nota.body["dte"]["Detalle"][0]["NmbItem"]


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"lines": [(9, Decimal(1))]}, "La línea 9 no existe en la boleta N° 812."),
        (
            {"lines": [(1, Decimal(3))]},
            "La cantidad a devolver de la línea 1 (3) debe ser mayor que 0 y a lo más 2.",
        ),
        (
            {"amount": 30000},
            "El monto a devolver ($30.000) debe ser mayor que 0 y no superar el total de la boleta N° 812 "
            "($27.970).",
        ),
        ({}, "Indica las líneas devueltas o el monto a devolver (uno de los dos)."),
    ],
)
def test_invalid_partial_refunds(kwargs, message):
    boleta = build(fixture("jumpseller", "order_paid__mixta_despacho_exento"))
    with pytest.raises(NotaInvalid) as caught:
        parcial(boleta, razon="Devolución", **kwargs)
    assert caught.value.code == "nota_invalid"
    assert caught.value.message == message


def test_only_emitted_types_can_be_annulled():
    boleta = build(fixture("jumpseller", "order_paid__mixta_despacho_exento"))
    with pytest.raises(NotaInvalid) as caught:
        build_nota_credito_anula(
            boleta.body,
            original_tipo=33,
            original_folio=1,
            original_fecha=FECHA,
            settings=SETTINGS,
            today=TODAY,
        )
    assert caught.value.message == "El documento original guardado es tipo 39, no 33."


def test_partial_refund_of_a_free_line_is_refused():
    boleta = build(paid_order([product("Polera", 1, 11990), product("Regalo", 1, 0)]))
    with pytest.raises(NotaInvalid) as caught:
        parcial(boleta, lines=[(2, Decimal(1))], razon="Devolución")
    assert caught.value.message == "Las líneas indicadas no tienen monto que devolver en la boleta N° 812."
