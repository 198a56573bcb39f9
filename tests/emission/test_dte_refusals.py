"""One case per refusal: the typed error, its stable code and the Spanish message the merchant reads."""

from __future__ import annotations

import copy
import re
from decimal import Decimal

import pytest

from emission.dte import (
    BoletaOver135UF,
    CurrencyNotSupported,
    DteRefusal,
    EmisorInvalid,
    OrderInvalid,
    Receptor,
    ReceptorMissing,
    ReceptorRutInvalid,
    SchemaInvalid,
    SettingsInvalid,
    StoreDteSettings,
    TooManyLines,
    TotalsMismatch,
    UnsupportedTax,
    builder,
)
from emission.dte.store_settings import DEMO_ORGANIZATION

from .dte_support import IVA_INCLUDED, SHIPPING_IVA_INCLUDED, build, fixture, paid_order, product

COMPANY = Receptor(
    rut="76.430.498-5",
    razon_social="HOSTY SPA",
    giro="Servicios informáticos",
    direccion="Arturo Prat 527",
    comuna="Curicó",
)


def refusal(order, document="boleta", **kwargs) -> DteRefusal:
    with pytest.raises(DteRefusal) as caught:
        build(order, document, **kwargs)
    return caught.value


def test_non_clp_currency():
    error = refusal(fixture("jumpseller", "order_paid__usd"))
    assert isinstance(error, CurrencyNotSupported)
    assert error.code == "currency"
    assert error.message == (
        "El pedido está en USD y los documentos tributarios se emiten solo en pesos chilenos (CLP): "
        "emite este documento manualmente en OpenFactura."
    )


def test_fixed_tax_beside_iva_is_named():
    error = refusal(fixture("jumpseller", "order_paid__impuesto_fijo"))
    assert isinstance(error, UnsupportedTax)
    assert error.code == "unsupported_tax"
    assert error.message == (
        "El producto «Vino reserva 750 ml» tiene un impuesto no soportado además del IVA: «Impuesto "
        "adicional alcoholes» (monto fijo). Solo se emiten documentos con IVA 19 %: corrige los impuestos "
        "en Jumpseller (Configuración > Impuestos) y vuelve a emitir."
    )


def test_other_rate_is_refused_with_its_rate():
    tax = {"name": "IVA reducido", "rate": 10, "fixed": False, "tax_on_product_price": True}
    error = refusal(paid_order([product("Libro", 1, 10000, taxes=(tax,))]))
    assert error.code == "unsupported_tax"
    assert "impuesto no soportado: «IVA reducido» (tasa 10 %)" in error.message


def test_two_iva_entries_are_refused():
    error = refusal(paid_order([product("Libro", 1, 10000, taxes=(IVA_INCLUDED, IVA_INCLUDED))]))
    assert error.code == "unsupported_tax"
    assert "además del IVA: «IVA»" in error.message


def test_unsupported_shipping_tax():
    tax = {**SHIPPING_IVA_INCLUDED, "name": "Tasa envío", "rate": 5}
    error = refusal(paid_order([product("Polera", 1, 10000)], shipping=3000, shipping_taxes=(tax,)))
    assert error.code == "unsupported_tax"
    assert error.message.startswith("El despacho tiene un impuesto no soportado: «Tasa envío» (tasa 5 %).")


def test_factura_without_giro_names_the_missing_field_and_where_to_fill_it():
    order = fixture("jumpseller", "order_paid__empresa")
    order["order"]["billing_information"]["business_activity"] = None
    error = refusal(order, "factura")
    assert isinstance(error, ReceptorMissing)
    assert error.code == "receptor_missing"
    assert error.field == "giro"
    assert error.message == (
        "Falta el giro del receptor (en el pedido: billing_information.business_activity). La factura "
        "necesita RUT, razón social, giro, dirección y comuna del comprador: complétalos y vuelve a emitir."
    )


def test_factura_for_an_order_without_any_buyer_data():
    error = refusal(fixture("jumpseller", "order_paid__boleta_afecta"), "factura")
    assert error.code == "receptor_missing"
    assert error.message.startswith("Faltan el RUT, la razón social y el giro del receptor")


def test_factura_receptor_file_without_comuna():
    receptor = Receptor(
        rut="76430498-5", razon_social="HOSTY SPA", giro="TI", direccion="Prat 527", comuna=""
    )
    error = refusal(fixture("jumpseller", "order_paid__boleta_afecta"), "factura", receptor=receptor)
    assert error.code == "receptor_missing"
    assert error.message.startswith("Falta la comuna del receptor. La factura necesita")


def test_factura_with_a_wrong_check_digit():
    order = fixture("jumpseller", "order_paid__empresa")
    order["order"]["billing_address"]["taxid"] = "76.430.498-4"
    error = refusal(order, "factura")
    assert isinstance(error, ReceptorRutInvalid)
    assert error.code == "receptor_rut_invalid"
    assert error.message == "El RUT del receptor «76.430.498-4» no es válido (revisa el dígito verificador)."


def test_factura_to_the_generic_consumer_rut():
    error = refusal(
        fixture("jumpseller", "order_paid__boleta_afecta"),
        "factura",
        receptor=Receptor(rut="66.666.666-6", razon_social="X", giro="X", direccion="X", comuna="X"),
    )
    assert error.code == "receptor_rut_invalid"
    assert "consumidor final" in error.message


def test_totals_that_differ_by_more_than_one_peso():
    order = paid_order([product("Polera", 1, 11990)], total=11988)
    error = refusal(order)
    assert isinstance(error, TotalsMismatch)
    assert error.code == "totals_mismatch"
    assert error.message == (
        "Los montos del pedido no cuadran: el documento sumaría $11.990 y el pedido indica $11.988 pagados "
        "(diferencia de $2; se admite hasta $1 por redondeo del IVA). Revisa descuentos, impuestos y "
        "despacho del pedido en Jumpseller."
    )


def test_one_peso_of_difference_is_accepted_and_reported():
    built = build(paid_order([product("Polera", 1, 11990)], total=11989))
    assert built.difference == 1
    assert built.warnings == ["El total del documento difiere en $1 del total pagado por redondeo del IVA."]


def test_net_priced_factura_tolerates_half_a_peso_per_line():
    # Four lines of 102 net: Jumpseller charges 4 × round(121.38) = 484, the SII 408 + round(77.52) = 486.
    lines = [
        product(f"Item {n}", 1, 102, taxes=({**IVA_INCLUDED, "tax_on_product_price": False},))
        for n in range(4)
    ]
    built = build(paid_order(lines, buyer=True), "factura")
    assert built.difference == 2
    error = refusal(paid_order(lines[:1], buyer=True, total=119), "factura")
    assert error.code == "totals_mismatch"  # one line: 121 charged, 119 claimed → 2 > 1


def test_factura_over_60_lines():
    order = paid_order([product(f"Producto {n}", 1, 1000) for n in range(61)], buyer=True)
    error = refusal(order, "factura")
    assert isinstance(error, TooManyLines)
    assert error.code == "too_many_lines"
    assert error.message == (
        "La factura tendría 61 líneas de detalle y el SII admite como máximo 60. Emite una boleta o divide "
        "el pedido."
    )
    assert build(order).tipo == 39  # the same order as a boleta is fine


def test_factura_counts_the_shipping_line():
    order = paid_order([product(f"Producto {n}", 1, 1000) for n in range(60)], shipping=2000, buyer=True)
    assert refusal(order, "factura").code == "too_many_lines"


def test_boleta_over_1000_lines():
    order = paid_order([product(f"P{n}", 1, 100) for n in range(1001)])
    error = refusal(order)
    assert error.code == "too_many_lines"
    assert (
        error.message
        == "La boleta tendría 1001 líneas de detalle y el SII admite como máximo 1000. Divide el pedido."
    )


def test_boleta_over_135_uf_without_buyer():
    order = paid_order([product("Notebook", 1, 5_400_001)])
    error = refusal(order)
    assert isinstance(error, BoletaOver135UF)
    assert error.code == "boleta_over_135_uf"
    assert error.message == (
        "La boleta supera 135 UF ($5.400.001; límite $5.400.000) y la ley exige identificar al comprador: "
        "agrega su RUT y razón social, o emite una factura."
    )
    assert build(paid_order([product("Notebook", 1, 5_400_000)])).tipo == 39  # exactly 135 UF is fine


def test_boleta_over_135_uf_with_the_buyer(sii_schemas):
    built = build(paid_order([product("Notebook", 1, 5_400_001)]), receptor=COMPANY)
    sii_schemas.validate(built.body)
    encabezado = built.body["dte"]["Encabezado"]
    assert encabezado["IdDoc"] == {
        "TipoDTE": 39,
        "Folio": 0,
        "FchEmis": "2026-11-29",
        "IndServicio": 3,
        "MedioPago": 2,
    }
    assert encabezado["Receptor"] == {
        "RUTRecep": "76430498-5",
        "CdgIntRecep": "76430498-5",
        "RznSocRecep": "HOSTY SPA",
        "DirRecep": "Arturo Prat 527",
        "CmnaRecep": "Curicó",
    }


def test_uf_value_is_a_store_setting():
    settings = StoreDteSettings(organization=DEMO_ORGANIZATION, uf_clp=Decimal("30000"))
    assert (
        refusal(paid_order([product("Notebook", 1, 4_050_001)]), settings=settings).code
        == "boleta_over_135_uf"
    )


def test_schema_failure_never_leaves_the_builder(monkeypatch):
    real = builder.detalle

    def broken(lines):
        entries = real(lines)
        entries[0]["NmbItem"] = "x" * 81  # past NmbItem's maxLength 80
        return entries

    monkeypatch.setattr(builder, "detalle", broken)
    error = refusal(paid_order([product("Polera", 1, 11990)]))
    assert isinstance(error, SchemaInvalid)
    assert error.code == "schema_invalid"
    assert error.message == (
        "El documento no pasó la validación previa al envío y no se envió a OpenFactura: Detalle línea 1: "
        "«NmbItem» supera 80 caracteres."
    )


def test_schema_failure_of_a_factura_reports_the_xsd_message(monkeypatch):
    real = builder.detalle

    def broken(lines):
        entries = real(lines)
        entries[0]["QtyItem"] = 1.1234567  # seven decimals; the rules check is bypassed below
        return entries

    monkeypatch.setattr(builder, "detalle", broken)
    monkeypatch.setattr("emission.dte.validation.check_rules", lambda body: [])
    error = refusal(paid_order([product("Polera", 1, 11990)], buyer=True), "factura")
    assert error.code == "schema_invalid"
    assert re.search(r"esquema SII: Element 'QtyItem': .*fractionDigits", error.message)


def test_negative_price_is_an_invalid_order():
    error = refusal(paid_order([product("Polera", 1, -10)], total=0))
    assert isinstance(error, OrderInvalid)
    assert error.code == "order_invalid"
    assert error.message == "La línea «Polera» del pedido tiene una cantidad, precio o descuento negativo."


def test_non_numeric_amount_is_an_invalid_order():
    order = paid_order([product("Polera", 1, 11990)])
    order["order"]["products"][0]["price"] = "doce mil"
    error = refusal(order)
    assert error.code == "order_invalid"
    assert error.message == "El pedido trae un valor no numérico en products[1].price: 'doce mil'."


def test_order_without_lines():
    error = refusal(paid_order([], total=0))
    assert error.code == "order_invalid"
    assert error.message == "El pedido no tiene productos ni despacho que documentar."


def test_emisor_without_rut():
    organization = copy.deepcopy(DEMO_ORGANIZATION)
    organization["rut"] = None
    error = refusal(
        paid_order([product("Polera", 1, 11990)]), settings=StoreDteSettings(organization=organization)
    )
    assert isinstance(error, EmisorInvalid)
    assert error.code == "emisor_invalid"
    assert error.message == "El RUT de la empresa en OpenFactura no es válido (None)."


def test_unknown_untaxed_items_setting():
    with pytest.raises(SettingsInvalid) as caught:
        StoreDteSettings(organization=DEMO_ORGANIZATION, untaxed_items="afecto")
    assert caught.value.code == "settings_invalid"
    assert (
        caught.value.message
        == "Valor desconocido para «productos sin impuesto»: 'afecto' (use «exempt» o «taxed»)."
    )


def test_refusal_accepts_an_explicit_code():
    error = DteRefusal("Mensaje", code="schema_invalid")
    assert (error.code, error.message, str(error)) == ("schema_invalid", "Mensaje", "Mensaje")
