"""``POST /v2/dte/document`` (openfactura-api.md §2–§3): success bodies and every error form."""

from __future__ import annotations

import base64
import copy
import json
import re
import zlib

import pytest
from lxml import etree

from sandbox.openfactura import companies, dte_xml
from sandbox.openfactura.models import Document, FolioCounter, IdempotencyClaim
from tests.emission.sii_schemas import SiiSchemas

from .conftest import HOSTY_KEY, OpenFacturaClient, as_emisor, body

TOKEN = re.compile(r"^[0-9a-f]{64}$")


def pdf_text(data: bytes) -> bytes:
    """The text operators of every (deflated) content stream of a PDF."""
    assert data.startswith(b"%PDF-")
    chunks = []
    for stream in re.findall(rb"stream\r?\n(.*?)\r?\nendstream", data, re.S):
        try:
            chunks.append(zlib.decompress(stream))
        except zlib.error:
            continue
    return b"\n".join(chunks)


def assert_nothing_stored():
    assert Document.objects.count() == 0
    assert IdempotencyClaim.objects.count() == 0
    assert FolioCounter.objects.count() == 0


# --- success -------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("name", "tipo", "first_folio"),
    [
        ("boleta__docs", 39, 1000),
        ("boleta__27970", 39, 1000),
        ("boleta_exenta__docs", 41, 1000),
        ("factura__docs", 33, 100),
        ("factura_exenta__docs", 34, 100),
        ("nota_credito__docs", 61, 500),
    ],
)
def test_documented_examples_are_accepted(of_api, name, tipo, first_folio):
    document = body(name)
    document["response"] = ["FOLIO"]
    response = of_api.emit(document)
    assert response.status_code == 200, response.content
    data = response.json()
    assert list(data) == ["TOKEN", "FOLIO"]
    assert TOKEN.match(data["TOKEN"])
    assert data["FOLIO"] == first_folio
    stored = Document.objects.get()
    assert (stored.token, stored.tipo, stored.folio, stored.rut_emisor) == (
        data["TOKEN"],
        tipo,
        first_folio,
        "76795561-8",
    )


def test_only_the_token_when_no_response_parts(of_api):
    document = body("boleta__27970")
    del document["response"]
    response = of_api.emit(document)
    assert response.status_code == 200
    assert list(response.json()) == ["TOKEN"]


def test_every_response_part(of_api):
    document = body("boleta__27970")
    document["response"] = ["XML", "PDF", "TIMBRE", "LOGO", "FOLIO", "RESOLUCION", "SELF_SERVICE"]
    data = of_api.emit(document).json()
    assert list(data) == ["TOKEN", "FOLIO", "RESOLUCION", "TIMBRE", "XML", "LOGO", "PDF", "SELF_SERVICE"]
    assert data["RESOLUCION"] == {"fecha": "2022-09-07", "numero": 0}
    assert base64.b64decode(data["TIMBRE"]).startswith(b"\x89PNG\r\n\x1a\n")
    assert base64.b64decode(data["LOGO"]).startswith(b"\x89PNG\r\n\x1a\n")
    assert data["SELF_SERVICE"]["url"].endswith(f"/sandbox/openfactura/autoservicio/{data['TOKEN']}")

    xml = base64.b64decode(data["XML"])
    assert xml.startswith(b"<?xml version='1.0' encoding='ISO-8859-1'?>")
    assert "Polera algodón".encode("iso-8859-1") in xml
    root = etree.fromstring(xml)
    ns = {"s": dte_xml.SII_NS}
    assert root.findtext("s:Documento/s:Encabezado/s:IdDoc/s:Folio", namespaces=ns) == "1000"
    assert root.findtext("s:Documento/s:Encabezado/s:Totales/s:MntTotal", namespaces=ns) == "27970"

    text = pdf_text(base64.b64decode(data["PDF"]))
    for expected in (
        "BOLETA ELECTRÓNICA",
        "N° 1000",
        "R.U.T.: 76.795.561-8",
        "HAULMER CHILE SPA",
        "Polera algodón",
        r"Despacho \(exento\)",  # parentheses are escaped in PDF strings
        "$27.970",
        "$3.829",
        "DOCUMENTO DE PRUEBA — SANDBOX",
    ):
        assert expected.encode("windows-1252") in text, expected


@pytest.mark.parametrize(("name", "tipo"), [("boleta__27970", 39), ("factura__docs", 33)])
def test_the_xml_part_is_schema_valid(of_api, schemas_dir, name, tipo):
    document = body(name)
    document["response"] = ["XML"]
    xml = base64.b64decode(of_api.emit(document).json()["XML"])
    root = etree.fromstring(xml)
    ns = {"s": dte_xml.SII_NS}
    assert root.findtext("s:Documento/s:Encabezado/s:IdDoc/s:TipoDTE", namespaces=ns) == str(tipo)
    schema = SiiSchemas(schemas_dir).xsd(tipo)  # a boleta without its XSD stops here (skipped; CI: failed)
    assert schema.validate(root), schema.error_log


def test_folios_increase_per_emisor_and_type(of_api):
    folios = []
    for name in (
        "boleta__docs",
        "boleta__docs",
        "factura__docs",
        "boleta__docs",
        "boleta_exenta__docs",
        "factura__docs",
    ):
        document = body(name)
        document["response"] = ["FOLIO"]
        folios.append(of_api.emit(document).json()["FOLIO"])
    assert folios == [1000, 1001, 100, 1002, 1000, 101]

    hosty = as_emisor(body("boleta__docs"), companies.HOSTY)
    hosty["response"] = ["FOLIO"]
    assert OpenFacturaClient(HOSTY_KEY).emit(hosty).json()["FOLIO"] == 1000


def test_sandbox_keys_issue_as_the_sandbox_company(of_api):
    document = as_emisor(body("factura__docs"), companies.SANDBOX_COMPANY)
    document["response"] = ["FOLIO"]
    response = OpenFacturaClient("sandbox-tienda-1").emit(document)
    assert response.status_code == 200
    assert Document.objects.get().rut_emisor == "77123456-9"


def test_tolerated_boleta_keys_give_a_warning(of_api):
    # §9 #5/#6: Woo/PS send TasaIVA and Acteco in boletas; accepted, ignored, and pointed out.
    document = body("boleta__docs")
    document["dte"]["Encabezado"]["Emisor"]["Acteco"] = 479100
    document["dte"]["Encabezado"]["Totales"] = {
        "MntNeto": 840,
        "TasaIVA": "19.00",
        "IVA": 160,
        "MntTotal": 1000,
    }
    response = of_api.emit(document)
    assert response.status_code == 200, response.content
    assert response.json()["WARNING"] == (
        "TasaIVA no corresponde a una boleta: se ignora; Acteco no corresponde a una boleta: se ignora"
    )


def test_self_service_body_in_the_plugins_style(of_api):
    document = {
        "response": ["FOLIO", "SELF_SERVICE"],
        "customer": {"fullName": "Juan Pérez", "email": "juan@example.cl"},
        "selfService": {
            "issueBoleta": True,
            "allowFactura": True,
            "documentReference": [{"type": "801", "ID": 1042, "date": "2026-10-05"}],
        },
        "dte": {
            "Encabezado": {
                "IdDoc": {"FchEmis": "2026-10-05"},
                "Emisor": {
                    "RUTEmisor": "76795561-8",
                    "RznSocEmisor": "HAULMER CHILE SPA",
                    "GiroEmisor": "VENTAS",
                    "Acteco": 479100,
                    "CdgSIISucur": "81303347",
                    "DirOrigen": "A PRAT 545 DP 2",
                    "CmnaOrigen": "Curicó",
                },
                "Totales": {"MntNeto": 840, "IVA": 160, "MntTotal": 1000},
            },
            "Detalle": [
                {"NroLinDet": 1, "NmbItem": "Item 1", "QtyItem": 1, "PrcItem": 1000, "MontoItem": 1000}
            ],
            "DscRcgGlobal": [],
        },
        "custom": {"origin": "JUMPSELLER"},
    }
    response = of_api.emit(document)
    assert response.status_code == 200, response.content
    data = response.json()
    assert data["FOLIO"] == 1000
    assert "url" in data["SELF_SERVICE"]
    stored = Document.objects.get()
    assert stored.tipo == 39
    assert stored.dte["Encabezado"]["IdDoc"] == {
        "TipoDTE": 39,
        "Folio": 1000,
        "FchEmis": "2026-10-05",
        "IndServicio": 3,
    }


def test_line_discounts_and_global_discounts(of_api):
    # V3 (dte-rules.md §6): 1 × 1190 with a global 10 % discount → 900 / 171 / 1071.
    document = body("boleta__docs")
    dte = document["dte"]
    dte["Detalle"] = [{"NroLinDet": 1, "NmbItem": "Item", "QtyItem": 1, "PrcItem": 1190, "MontoItem": 1190}]
    dte["DscRcgGlobal"] = [{"NroLinDR": 1, "TpoMov": "D", "TpoValor": "%", "ValorDR": 10}]
    dte["Encabezado"]["Totales"] = {"MntNeto": 900, "IVA": 171, "MntTotal": 1071}
    assert of_api.emit(document).status_code == 200
    # V10: factura 1 × 104097 with DescuentoMonto 10000 → 94097 / 17878 / 111975.
    document = body("factura__docs")
    dte = document["dte"]
    dte["Detalle"] = [
        {
            "NroLinDet": 1,
            "NmbItem": "Item",
            "QtyItem": 1,
            "PrcItem": 104097,
            "DescuentoMonto": 10000,
            "MontoItem": 94097,
        }
    ]
    dte["Encabezado"]["Totales"] = {"MntNeto": 94097, "TasaIVA": "19", "IVA": 17878, "MntTotal": 111975}
    assert of_api.emit(document).status_code == 200, of_api.emit(document).content


def test_net_prices_with_six_decimals(of_api):
    # 2 × 11 990 gross as net 10075.630252 → MontoItem 20151 (dte-semantics.md §4, decimals allowed).
    document = body("factura__docs")
    dte = document["dte"]
    dte["Detalle"] = [
        {"NroLinDet": 1, "NmbItem": "Polera", "QtyItem": 2, "PrcItem": 10075.630252, "MontoItem": 20151}
    ]
    dte["Encabezado"]["Totales"] = {"MntNeto": 20151, "TasaIVA": "19", "IVA": 3829, "MntTotal": 23980}
    response = of_api.emit(document)
    assert response.status_code == 200, response.content
    # The stored request is the body as received, numbers and key order included.
    assert Document.objects.get().request == json.loads(json.dumps(document))


# --- errors --------------------------------------------------------------------------------------
def test_of10_boleta_iva_computed_on_the_neto_is_rejected(of_api):
    # V17: gross 680 → MntNeto 571, IVA 109. round(571 × 0.19) = 108 is the mistake.
    document = body("boleta__docs")
    dte = document["dte"]
    dte["Detalle"] = [{"NroLinDet": 1, "NmbItem": "Item", "QtyItem": 1, "PrcItem": 680, "MontoItem": 680}]
    dte["Encabezado"]["Totales"] = {"MntNeto": 571, "IVA": 108, "MntTotal": 679}
    response = of_api.emit(document)
    assert response.status_code == 400
    assert response.json() == {
        "error": {
            "message": "Validación de Campos",
            "code": "OF-10",
            "details": [
                {"field": "IVA", "issue": "Monto erróneo : 108", "expected": 109},
                {"field": "MntTotal", "issue": "Monto erróneo : 679", "expected": 680},
            ],
        }
    }
    assert_nothing_stored()


def test_of10_line_amount_and_factura_totals(of_api):
    document = body("factura__docs")
    dte = document["dte"]
    dte["Detalle"][0]["MontoItem"] = 2001
    dte["Encabezado"]["Totales"]["MntNeto"] = 1000
    response = of_api.emit(document)
    assert response.status_code == 400
    details = response.json()["error"]["details"]
    assert details[0] == {"field": "MontoItem", "issue": "Monto erróneo : 2001", "line": 1, "expected": 2000}
    assert {"field": "MntNeto", "issue": "Monto erróneo : 1000", "expected": 2001} in details
    assert_nothing_stored()


@pytest.mark.parametrize(
    ("change", "field", "issue"),
    [
        (lambda d: d["Detalle"][0].update(QtyItem=0), "QtyItem", "0 es Incorrecto: debe ser mayor que 0"),
        (
            lambda d: d["Detalle"][0].update(PrcItem=1.1234567),
            "PrcItem",
            "1.1234567 es Incorrecto: máximo 6 decimales",
        ),
        (lambda d: d["Detalle"][0].update(NmbItem="x" * 81), "NmbItem", "Largo máximo 80 caracteres"),
        (
            lambda d: d["Encabezado"]["Receptor"].update(RUTRecep="76430498-4"),
            "RUTRecep",
            "RUT inválido : 76430498-4",
        ),
        (
            lambda d: d["Encabezado"]["Receptor"].update(GiroRecep="x" * 41),
            "GiroRecep",
            "Largo máximo 40 caracteres",
        ),
        (lambda d: d["Encabezado"]["IdDoc"].update(FchEmis="2026-02-30"), "FchEmis", "Fecha Incorrecta"),
        (lambda d: d["Encabezado"]["Totales"].update(TasaIVA="10"), "TasaIVA", "Tasa erronea : 10"),
    ],
)
def test_of10_formats(of_api, change, field, issue):
    document = body("factura__docs")
    change(document["dte"])
    response = of_api.emit(document)
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "OF-10"
    assert error["details"][0]["field"] == field
    assert error["details"][0]["issue"] == issue
    assert_nothing_stored()


def test_of10_line_limits(of_api):
    line = {"NroLinDet": 1, "NmbItem": "x", "QtyItem": 1, "PrcItem": 10, "MontoItem": 10}
    factura = body("factura__docs")
    factura["dte"]["Detalle"] = [{**line, "NroLinDet": n} for n in range(1, 62)]
    factura["dte"]["Encabezado"]["Totales"] = {"MntNeto": 610, "TasaIVA": "19", "IVA": 116, "MntTotal": 726}
    response = of_api.emit(factura)
    assert response.json()["error"]["details"] == [
        {"field": "Detalle", "issue": "Máximo 60 líneas de detalle (61)"}
    ]

    boleta = body("boleta__docs")
    boleta["dte"]["Detalle"] = [{**line, "NroLinDet": n} for n in range(1, 1001)]
    boleta["dte"]["Encabezado"]["Totales"] = {"MntNeto": 8403, "IVA": 1597, "MntTotal": 10000}
    assert of_api.emit(boleta).status_code == 200


def test_of10_all_exempt_factura_must_be_a_34(of_api):
    document = body("factura__docs")
    document["dte"]["Detalle"][0] = {
        "NroLinDet": 1,
        "IndExe": 1,
        "NmbItem": "item",
        "QtyItem": 1,
        "PrcItem": 2000,
        "MontoItem": 2000,
    }
    document["dte"]["Encabezado"]["Totales"] = {
        "MntNeto": 0,
        "TasaIVA": "19",
        "IVA": 0,
        "MntExe": 2000,
        "MntTotal": 2000,
    }
    details = of_api.emit(document).json()["error"]["details"]
    assert details == [{"field": "TipoDTE", "issue": "Documento sin montos afectos: corresponde tipo 34"}]


def test_of10_unknown_response_part(of_api):
    document = body("boleta__docs")
    document["response"] = ["FOLIO", "FOO"]
    assert of_api.emit(document).json() == {
        "error": {
            "message": "Validación de Campos",
            "code": "OF-10",
            "details": [{"field": "response", "issue": "FOO es Incorrecto"}],
        }
    }


def test_of02_missing_fields_of_the_family(of_api):
    # A boleta written with factura names: RznSoc/GiroEmis instead of RznSocEmisor/GiroEmisor.
    document = body("boleta__docs")
    emisor = document["dte"]["Encabezado"]["Emisor"]
    emisor["RznSoc"] = emisor.pop("RznSocEmisor")
    emisor["GiroEmis"] = emisor.pop("GiroEmisor")
    del document["dte"]["Encabezado"]["IdDoc"]["IndServicio"]
    response = of_api.emit(document)
    assert response.status_code == 400
    assert response.json() == {
        "error": {
            "message": "Faltan campos obligatorios en el dte",
            "code": "OF-02",
            "details": [
                {"field": "RznSocEmisor", "issue": "Campo requerido"},
                {"field": "GiroEmisor", "issue": "Campo requerido"},
                {"field": "IndServicio", "issue": "Campo requerido"},
            ],
        }
    }
    assert_nothing_stored()


def test_of02_factura_receptor_and_nota_referencia(of_api):
    factura = body("factura__docs")
    del factura["dte"]["Encabezado"]["Receptor"]["GiroRecep"]
    del factura["dte"]["Encabezado"]["Emisor"]["Acteco"]
    details = of_api.emit(factura).json()["error"]["details"]
    assert details == [
        {"field": "Acteco", "issue": "Campo requerido"},
        {"field": "GiroRecep", "issue": "Campo requerido"},
    ]

    nota = body("nota_credito__docs")
    del nota["dte"]["Referencia"][0]["CodRef"]
    assert of_api.emit(nota).json()["error"] == {
        "message": "Faltan campos obligatorios en el dte",
        "code": "OF-02",
        "details": [{"field": "CodRef", "issue": "Campo requerido", "line": 1}],
    }
    del nota["dte"]["Referencia"]
    assert of_api.emit(nota).json()["error"]["details"] == [
        {"field": "Referencia", "issue": "Campo requerido"}
    ]
    assert_nothing_stored()


@pytest.mark.parametrize("tipo", [52, 43, 110, "abc"])
def test_of05_unsupported_type(of_api, tipo):
    document = body("factura__docs")
    document["dte"]["Encabezado"]["IdDoc"]["TipoDTE"] = tipo
    response = of_api.emit(document)
    assert response.status_code == 400
    assert response.json() == {
        "error": {
            "message": "Tipo DTE no soportado",
            "code": "OF-05",
            "details": [{"field": "TipoDTE", "issue": f"{tipo} no soportado"}],
        }
    }


def test_of07_folio_must_be_zero(of_api):
    document = body("boleta__docs")
    document["dte"]["Encabezado"]["IdDoc"]["Folio"] = 15
    assert of_api.emit(document).json()["error"] == {
        "message": "Validación de Folios",
        "code": "OF-07",
        "details": [{"field": "Folio", "issue": "El folio debe ser 0: OpenFactura lo asigna"}],
    }
    assert_nothing_stored()


def test_of03_emisor_of_another_taxpayer(of_api):
    document = as_emisor(body("boleta__docs"), companies.HOSTY)
    error = of_api.emit(document).json()["error"]
    assert error["code"] == "OF-03"
    assert error["details"][0]["field"] == "RUTEmisor"
    assert_nothing_stored()


def test_of08_keys_out_of_the_schema_order(of_api):
    # The docs' own factura example as printed: Telefono after CmnaOrigen.
    document = body("factura__docs")
    emisor = document["dte"]["Encabezado"]["Emisor"]
    emisor["Telefono"] = emisor.pop("Telefono")
    response = of_api.emit(document)
    assert response.status_code == 400
    error = response.json()["error"]
    assert (error["code"], error["message"]) == ("OF-08", "Validación de Esquema")
    assert error["details"][0]["field"] == "Telefono"
    assert "This element is not expected" in error["details"][0]["issue"]
    assert_nothing_stored()


def test_of08_without_the_schemas_folder_checks_facturas_against_cl_sii(of_api, settings, tmp_path):
    settings.SANDBOX_OPENFACTURA_SCHEMAS_DIR = str(tmp_path)  # a clone with no ../shared/sii-schemas
    assert dte_xml.schema_path(33).match("cl_sii/data/ref/factura_electronica/schemas-xml/DTE_v10.xsd")
    assert dte_xml.schema_path(61) == dte_xml.schema_path(33)
    assert dte_xml.schema_path(39) is None  # no package ships the boleta schema
    document = body("factura__docs")
    emisor = document["dte"]["Encabezado"]["Emisor"]
    emisor["Telefono"] = emisor.pop("Telefono")
    error = of_api.emit(document).json()["error"]
    assert error["code"] == "OF-08"
    assert error["details"][0]["field"] == "Telefono"
    assert_nothing_stored()
    assert of_api.emit(body("factura__docs")).status_code == 200


@pytest.mark.parametrize(("name", "tipo"), [("boleta__docs", 39), ("factura__docs", 33)])
def test_of08_unknown_key(of_api, schemas_dir, name, tipo):
    SiiSchemas(schemas_dir).path(tipo)  # the fake checks a boleta only against its XSD: skipped without it
    document = body(name)
    document["dte"]["Encabezado"]["Receptor"]["Apodo"] = "x"
    error = of_api.emit(document).json()["error"]
    assert error["code"] == "OF-08"
    assert error["details"][0]["field"] == "Apodo"


@pytest.mark.parametrize(
    ("raw", "code"),
    [(b"{not json", "OF-20"), (b"[]", "OF-20"), (b'{"response": ["FOLIO"]}', "OF-01")],
)
def test_bodies_that_are_not_documents(of_api, raw, code):
    response = of_api.emit({}, raw=raw)
    assert response.status_code == 400
    assert response.json()["error"]["code"] == code
    assert_nothing_stored()


# --- idempotency ---------------------------------------------------------------------------------
def test_of06_repeat_returns_the_original_token_in_both_places(of_api):
    document = body("boleta__27970")
    first = of_api.emit(document, key="js:1:1001:39")
    token = first.json()["TOKEN"]
    other = copy.deepcopy(document)
    other["dte"]["Detalle"][0]["NmbItem"] = "Otra cosa"  # even a different body
    repeat = of_api.emit(other, key="js:1:1001:39")
    assert repeat.status_code == 400
    assert repeat.json() == {
        "error": {
            "message": "Este DTE ya fue emitido (Idempotency-Key)",
            "code": "OF-06",
            "token": token,
            "details": [{"field": "token", "issue": token}],
        }
    }
    assert Document.objects.count() == 1
    assert Document.objects.get().idempotency_key == "js:1:1001:39"


def test_of06_wins_over_validation_and_keys_are_per_api_key(of_api):
    of_api.emit(body("boleta__docs"), key="k-1")
    assert of_api.emit({"nothing": "valid"}, key="k-1").json()["error"]["code"] == "OF-06"
    assert of_api.emit({}, key="k-1", raw=b"{not json").json()["error"]["code"] == "OF-06"
    # Another API key may use the same Idempotency-Key.
    hosty = as_emisor(body("boleta__docs"), companies.HOSTY)
    assert OpenFacturaClient(HOSTY_KEY).emit(hosty, key="k-1").status_code == 200
    assert Document.objects.count() == 2


def test_a_rejected_body_does_not_claim_the_key(of_api):
    bad = body("boleta__docs")
    bad["dte"]["Encabezado"]["Totales"]["IVA"] = 1
    assert of_api.emit(bad, key="k-2").json()["error"]["code"] == "OF-10"
    assert of_api.emit(body("boleta__docs"), key="k-2").status_code == 200


def test_the_key_expires_after_24_hours(of_api):
    from datetime import timedelta

    of_api.emit(body("boleta__docs"), key="k-3")
    IdempotencyClaim.objects.update(
        expires_at=IdempotencyClaim.objects.get().created_at - timedelta(seconds=1)
    )
    again = of_api.emit(body("boleta__docs"), key="k-3")
    assert again.status_code == 200
    assert [d.folio for d in Document.objects.all()] == [1000, 1001]


def test_of06_without_token_while_the_first_is_in_flight(of_api):
    from django.utils import timezone

    account = companies.account_for(companies.DEMO_KEY_HAULMER)
    now = timezone.now()
    IdempotencyClaim.objects.create(
        api_key_hash=account.key_hash,
        key="k-4",
        created_at=now,
        expires_at=now + timezone.timedelta(hours=24),
    )
    assert of_api.emit(body("boleta__docs"), key="k-4").json() == {
        "error": {"message": "Este DTE está siendo procesado (R).", "code": "OF-06"}
    }
    assert Document.objects.count() == 0
