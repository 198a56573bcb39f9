"""Pre-flight validation: the SII schemas (all five types) and the rules they leave out."""

from __future__ import annotations

import copy
from datetime import date

import pytest

from emission.dte import (
    Receptor,
    SchemaInvalid,
    StoreDteSettings,
    build_nota_credito_anula,
    dte_to_string,
    dte_to_xml,
    validate_body,
)
from emission.dte.validation import check_rules, check_schema, cl_sii_factura_schema_path

from .dte_support import TODAY, build, fixture, paid_order, product

COMPANY = Receptor(
    rut="76430498-5", razon_social="HOSTY SPA", giro="TI", direccion="Prat 527", comuna="Curicó"
)


def _documents():
    boleta = build(fixture("jumpseller", "order_paid__mixta_despacho_exento"))
    boleta_exenta = build(paid_order([product("Libro", 1, 12000, taxes=())]))
    factura = build(fixture("jumpseller", "order_paid__empresa"), "factura")
    factura_exenta = build(paid_order([product("Curso", 1, 50000, taxes=())]), "factura", receptor=COMPANY)
    nota = build_nota_credito_anula(
        boleta.body,
        original_tipo=39,
        original_folio=10,
        original_fecha=date(2026, 11, 1),
        settings=StoreDteSettings.demo(),
        today=TODAY,
    )
    return {39: boleta, 41: boleta_exenta, 33: factura, 34: factura_exenta, 61: nota}


DOCUMENTS = _documents()


@pytest.mark.parametrize("tipo", [33, 34, 39, 41, 61])
def test_every_type_is_valid_against_the_official_schema(tipo, sii_schemas):
    built = DOCUMENTS[tipo]
    assert built.tipo == tipo
    sii_schemas.validate(built.body)
    schema = sii_schemas.xsd(tipo)  # DTE_v10.xsd (the folder's or cl-sii's) or BoletaDTE_wrapper.xsd
    document = dte_to_xml(built.body["dte"])
    assert schema.validate(document), schema.error_log


@pytest.mark.parametrize("tipo", [33, 34, 61])
def test_run_time_factura_schema_is_the_one_shipped_by_cl_sii(tipo):
    assert cl_sii_factura_schema_path().endswith(
        "cl_sii/data/ref/factura_electronica/schemas-xml/DTE_v10.xsd"
    )
    assert check_schema(DOCUMENTS[tipo].body) == []


def test_boletas_without_a_schema_folder_are_checked_by_the_rules(monkeypatch):
    monkeypatch.delenv("SII_SCHEMAS_DIR", raising=False)
    assert check_schema(DOCUMENTS[39].body) == []  # no boleta schema shipped: nothing to run
    body = copy.deepcopy(DOCUMENTS[39].body)
    body["dte"]["Encabezado"]["Totales"]["IVA"] = 3830
    with pytest.raises(SchemaInvalid) as caught:
        validate_body(body)
    assert caught.value.details == ("Totales: IVA 3830 no cuadra con las líneas (3829)",)
    assert caught.value.message == (
        "El documento no pasó la validación previa al envío y no se envió a OpenFactura: "
        "Totales: IVA 3830 no cuadra con las líneas (3829)."
    )


def test_boleta_schema_from_the_environment(monkeypatch, sii_schemas):
    monkeypatch.setenv("SII_SCHEMAS_DIR", str(sii_schemas.path(41).parent))
    body = copy.deepcopy(DOCUMENTS[41].body)
    assert check_schema(body) == []
    body["dte"]["Encabezado"]["IdDoc"]["IndServicio"] = 9
    assert check_schema(body)[0].startswith("esquema SII: Element 'IndServicio'")


def test_xml_is_in_the_sii_namespace_with_sii_numbers():
    xml = dte_to_string(DOCUMENTS[33].body["dte"]).decode("iso-8859-1")
    assert xml.startswith(
        "<?xml version='1.0' encoding='ISO-8859-1'?>\n<DTE xmlns=\"http://www.sii.cl/SiiDte\""
    )
    assert "<Folio>0</Folio>" in xml  # placeholders (and folio 1) only for the schema check
    factura_xml = dte_to_string(
        build(paid_order([product("A", 2, 11990)], buyer=True), "factura").body["dte"]
    )
    assert b"<QtyItem>2</QtyItem><PrcItem>10075.5</PrcItem><MontoItem>20151</MontoItem>" in factura_xml


def _broken(tipo, change):
    body = copy.deepcopy(DOCUMENTS[tipo].body)
    change(body["dte"])
    return check_rules(body)


def test_rules_catch_what_the_schemas_leave_out():
    assert _broken(39, lambda d: d["Encabezado"]["Totales"].pop("IVA")) == [
        "Totales: falta IVA",
        "Totales: IVA None no cuadra con las líneas (3829)",
    ]
    assert _broken(33, lambda d: d["Encabezado"]["Receptor"].pop("GiroRecep")) == [
        "Receptor: falta GiroRecep (obligatorio en facturas)"
    ]
    assert _broken(33, lambda d: d["Encabezado"]["Receptor"].update(RUTRecep="76430498-4")) == [
        "Receptor: RUTRecep '76430498-4' no es un RUT válido (formato 12345678-5)"
    ]
    assert _broken(39, lambda d: d["Encabezado"]["IdDoc"].update(Folio=15)) == [
        "IdDoc: Folio debe ser 0 (OpenFactura asigna el folio)"
    ]
    assert _broken(61, lambda d: d["Referencia"][0].pop("CodRef")) == [
        "Referencia 1: CodRef es obligatorio en notas de crédito (1 anula, 2 texto, 3 montos)"
    ]
    assert (
        _broken(
            41,
            lambda d: d.update(DscRcgGlobal=[{"NroLinDR": 1, "TpoMov": "D", "TpoValor": "$", "ValorDR": 1}]),
        )[0]
        == "DscRcgGlobal 1: en un documento exento el descuento debe llevar IndExeDR 1"
    )


def test_rules_catch_wrong_key_order_and_unknown_keys():
    def swap(dte):
        line = dte["Detalle"][0]
        dte["Detalle"][0] = {"MontoItem": line.pop("MontoItem"), **line}

    assert (
        _broken(39, swap)[0]
        == "Detalle línea 1: «NroLinDet» debe ir antes de «MontoItem» (orden del esquema del SII)"
    )
    assert _broken(39, lambda d: d["Encabezado"]["Emisor"].update(Acteco=641990)) == [
        "Emisor: campo «Acteco» no corresponde a este tipo de documento"
    ]
    assert _broken(39, lambda d: d["Encabezado"]["Totales"].update(TasaIVA=19))[0] == (
        "Totales: campo «TasaIVA» no corresponde a este tipo de documento"
    )


def test_rules_catch_zero_prices_long_names_and_line_amounts():
    assert _broken(39, lambda d: d["Detalle"][0].update(PrcItem=0))[0] == (
        "Detalle línea 1: PrcItem 0 debe ser un número mayor que 0"
    )
    assert _broken(39, lambda d: d["Detalle"][0].update(QtyItem=1.1234567))[0] == (
        "Detalle línea 1: QtyItem 1.1234567 tiene más de 6 decimales"
    )
    assert _broken(39, lambda d: d["Detalle"][0].update(NmbItem="x" * 81)) == [
        "Detalle línea 1: «NmbItem» supera 80 caracteres"
    ]
    assert _broken(39, lambda d: d["Detalle"][0].update(MontoItem=23981))[0] == (
        "Detalle línea 1: MontoItem 23981 ≠ round(QtyItem × PrcItem) − DescuentoMonto = 23980"
    )


def test_rules_catch_61_lines_on_a_factura_family_document():
    def many(dte):
        line = dte["Detalle"][0]
        dte["Detalle"] = [{**line, "NroLinDet": n} for n in range(1, 62)]

    assert "Detalle: 61 líneas; el SII admite 60" in _broken(33, many)


def test_schema_rejects_what_the_rules_would_too(sii_schemas):
    body = copy.deepcopy(DOCUMENTS[33].body)
    body["dte"]["Detalle"][0]["NmbItem"] = "x" * 81
    assert "maxLength" in check_schema(body, schemas_dir=sii_schemas.factura_dir)[0]
