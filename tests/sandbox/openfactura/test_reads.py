"""Reads of the fake OpenFactura (openfactura-api.md §4.6, §5): documents, issued list, organization,
taxpayers."""

from __future__ import annotations

import base64

import pytest

from sandbox.openfactura import companies

from .conftest import HOSTY_KEY, OpenFacturaClient, body


@pytest.fixture
def emitted(of_api) -> dict:
    document = body("boleta__27970")
    document["response"] = ["FOLIO", "80MM"]
    return of_api.emit(document).json()


# --- by token and by folio -----------------------------------------------------------------------
def test_status_by_token(of_api, emitted):
    response = of_api.get(f"/document/{emitted['TOKEN']}/status")
    assert response.status_code == 200
    assert response.json() == {"estado": "Aceptado", "token": emitted["TOKEN"]}


def test_json_by_token_is_the_dte_with_its_folio(of_api, emitted):
    data = of_api.get(f"/document/{emitted['TOKEN']}/json").json()
    assert list(data) == ["json", "token", "FchRecepSII", "FchRecepOF"]
    assert data["token"] == emitted["TOKEN"]
    expected = body("boleta__27970")["dte"]
    expected["Encabezado"]["IdDoc"]["Folio"] = 1000
    assert data["json"] == expected
    assert list(data["json"]["Encabezado"]["Emisor"]) == list(expected["Encabezado"]["Emisor"])


def test_pdf_and_xml_by_token(of_api, emitted):
    pdf = of_api.get(f"/document/{emitted['TOKEN']}/pdf").json()
    assert list(pdf) == ["pdf", "folio"]
    assert pdf["folio"] == 1000
    data = base64.b64decode(pdf["pdf"])
    assert data.startswith(b"%PDF-")
    assert b"/MediaBox [0 0 226.77" in data  # asked for 80MM at emission: an 80 mm wide page
    xml = of_api.get(f"/document/{emitted['TOKEN']}/xml").json()
    assert xml["token"] == emitted["TOKEN"]
    assert base64.b64decode(xml["xml"]).startswith(b"<?xml version='1.0' encoding='ISO-8859-1'?>")


def test_cedible_exists_only_for_facturas(of_api, emitted):
    assert of_api.get(f"/document/{emitted['TOKEN']}/cedible").json() == {
        "error": {
            "message": "Validación de Campos",
            "code": "OF-10",
            "details": [{"field": "Error", "issue": "Documento sin cedible"}],
        }
    }
    token = of_api.emit(body("factura__docs")).json()["TOKEN"]
    assert base64.b64decode(of_api.get(f"/document/{token}/cedible").json()["cedible"]).startswith(b"%PDF-")


def test_read_errors(of_api, emitted):
    bad = of_api.get(f"/document/{emitted['TOKEN']}/foo")
    assert bad.status_code == 400
    assert bad.json() == {
        "error": {
            "message": "Validación de Campos",
            "code": "OF-10",
            "details": [{"field": "Error", "issue": "foo es Incorrecto"}],
        }
    }
    unknown = of_api.get(f"/document/{'0' * 64}/status")
    assert unknown.status_code == 400
    assert unknown.json() == {
        "error": {
            "message": "Problema al procesar los datos",
            "code": "OF-22",
            "details": [{"field": "Error", "issue": "Documento no encontrado"}],
        }
    }
    # Another API key does not see this document.
    assert (
        OpenFacturaClient(HOSTY_KEY).get(f"/document/{emitted['TOKEN']}/status").json()["error"]["code"]
        == "OF-22"
    )


def test_reads_by_rut_tipo_folio(of_api, emitted):
    assert of_api.get("/document/76795561-8/39/1000/status").json() == {"estado": "Aceptado", "folio": 1000}
    assert of_api.get("/document/76795561-8/39/1000/json").json()["token"] == emitted["TOKEN"]
    assert of_api.get("/document/76795561-8/39/1001/status").json()["error"]["code"] == "OF-22"
    assert of_api.get("/document/76795561-8/39/1000/nope").json()["error"]["code"] == "OF-10"


# --- issued list ---------------------------------------------------------------------------------
def _emit_many(of_api, count: int, name: str = "boleta__docs", fecha: str = "2026-11-29") -> list[str]:
    tokens = []
    for _ in range(count):
        document = body(name)
        document["dte"]["Encabezado"]["IdDoc"]["FchEmis"] = fecha
        tokens.append(of_api.emit(document).json()["TOKEN"])
    return tokens


def test_issued_pages_of_thirty_newest_first(of_api):
    tokens = _emit_many(of_api, 31)
    first = of_api.post("/document/issued", {"Page": 1})
    assert first.status_code == 200
    data = first.json()
    assert (data["current_page"], data["last_page"], data["total"]) == (1, 2, 31)
    assert len(data["data"]) == 30
    assert data["data"][0]["token"] == tokens[-1]
    assert data["data"][0] == {
        "token": tokens[-1],
        "TipoDTE": 39,
        "Folio": 1030,
        "FchEmis": "2026-11-29",
        "RUTEmisor": "76795561-8",
        "RUTRecep": "66666666-6",
        "RznSocRecep": "",
        "MntNeto": 840,
        "MntExe": 0,
        "IVA": 160,
        "MntTotal": 1000,
        "estado": "Aceptado",
        "FchRecepOF": data["data"][0]["FchRecepOF"],
    }
    assert "idempotency_key" not in data["data"][0]
    second = of_api.post("/document/issued", {"Page": 2}).json()
    assert [row["token"] for row in second["data"]] == [tokens[0]]
    assert of_api.post("/document/issued", {"Page": 3}).status_code == 204


def test_issued_filters(of_api):
    _emit_many(of_api, 2, fecha="2026-11-28")
    _emit_many(of_api, 1, fecha="2026-11-29")
    _emit_many(of_api, 1, name="factura__docs", fecha="2026-11-29")

    def total(filters):
        response = of_api.post("/document/issued", filters)
        return 0 if response.status_code == 204 else response.json()["total"]

    assert total({"Page": 1, "FchEmis": {"eq": "2026-11-29"}}) == 2
    assert total({"FchEmis": {"lt": "2026-11-29"}}) == 2
    assert total({"FchEmis": {"gte": "2026-11-28", "lte": "2026-11-29"}}) == 4
    assert total({"TipoDTE": {"eq": 39}}) == 3
    assert total({"TipoDTE": {"ne": 39}}) == 1
    assert total({"RUTRecep": {"eq": 76430498}}) == 1
    assert total({"FchEmis": {"eq": "2026-11-29"}, "TipoDTE": {"eq": 39}, "RUTRecep": {"eq": 66666666}}) == 1
    assert total({"TipoDTE": 33}) == 1  # a bare value means eq
    assert total({"Unknown": {"eq": 1}}) == 4  # unknown filters are ignored (§4.6)
    assert total({"FchEmis": {"eq": "2027-01-01"}}) == 0
    # Another key sees nothing.
    assert OpenFacturaClient(HOSTY_KEY).post("/document/issued", {"Page": 1}).status_code == 204


@pytest.mark.parametrize(
    ("filters", "error"),
    [
        ({"FchEmis": {"eq": "29-11-2026"}}, "Fecha Incorrecta"),
        ({"TipoDTE": {"in": [33, 39]}}, "Operador no encontrado"),
        ({"TipoDTE": [33, 39]}, "Operador no encontrado"),
    ],
)
def test_issued_filter_errors_use_the_flat_form(of_api, filters, error):
    response = of_api.post("/document/issued", filters)
    assert response.status_code == 400
    assert response.json() == {
        "message": "Validación de Campos.",
        "code": "OF-10",
        "details": {"Error": error},
    }


# --- organization and taxpayers ------------------------------------------------------------------
def test_organization_of_each_demo_key(of_api):
    haulmer = of_api.get("/organization").json()
    assert haulmer == companies.HAULMER
    assert haulmer["sucursales"] == []
    assert [(a["codigoActividadEconomica"], a["actividadPrincipal"]) for a in haulmer["actividades"]] == [
        ("641990", True),
        ("479100", False),
    ]
    hosty = OpenFacturaClient(HOSTY_KEY).get("/organization").json()
    assert (hosty["rut"], hosty["razonSocial"], hosty["cdgSIISucur"]) == (
        "76430498-5",
        "HOSTY SPA",
        "79457965",
    )
    assert hosty["actividades"][0]["codigoActividadEconomica"] == 620200
    assert len(hosty["sucursales"]) == 2
    assert set(hosty["sucursales"][0]) == {"cdgSIISucur", "comuna", "direccion", "ciudad", "telefono"}
    sandbox = OpenFacturaClient("sandbox-any-merchant").get("/organization").json()
    assert sandbox["rut"] == "77123456-9"
    logo = of_api.get("/organization", extra_fields="logo").json()["logo"]
    assert base64.b64decode(logo).startswith(b"\x89PNG")


def test_organization_documents(of_api):
    _emit_many(of_api, 2)
    data = of_api.get("/organization/document").json()
    assert data["rut"] == "76795561-8"
    boletas = next(row for row in data["documentos"] if row["dte"] == 39)
    assert boletas["disponibles"] == 99_998


def test_taxpayer_known_unknown_and_without_giro(of_api):
    hosty = of_api.get("/taxpayer/76430498-5").json()
    assert hosty["razonSocial"] == "HOSTY SPA"
    assert set(hosty) == {
        "rut",
        "razonSocial",
        "email",
        "telefono",
        "direccion",
        "comuna",
        "actividades",
        "sucursales",
    }
    assert hosty["actividades"][0]["giro"] == "EMPRESAS DE SERVICIOS INTEGRALES DE INFORMÁTICA"
    assert of_api.get("/taxpayer/76.795.561-8").json()["rut"] == "76795561-8"

    unknown = of_api.get("/taxpayer/11111111-1")
    assert unknown.status_code == 200
    assert unknown.json() == {
        "rut": None,
        "razonSocial": None,
        "email": None,
        "telefono": None,
        "direccion": None,
        "comuna": None,
        "actividades": [],
        "sucursales": [],
    }

    without_giro = of_api.get("/taxpayer/12345678-5").json()
    assert without_giro["razonSocial"] == "JUAN ANDRÉS PÉREZ GONZÁLEZ"
    assert without_giro["actividades"] == [
        {
            "giro": None,
            "actividadEconomica": None,
            "codigoActividadEconomica": None,
            "actividadPrincipal": None,
        }
    ]

    invalid = of_api.get("/taxpayer/76430498-4")
    assert invalid.status_code == 400
    assert invalid.json() == {
        "error": {
            "message": "Validación de Campos",
            "code": "OF-10",
            "details": [{"field": "rut", "issue": "RUT inválido : 76430498-4"}],
        }
    }


def test_the_taxpayer_fixture_is_consistent():
    rows = companies.taxpayers()
    assert 25 <= len(rows) <= 40
    for row in rows:
        assert companies.taxpayer(row["rut"]) == row  # every RUT has a valid check digit
        assert set(row) == {
            "rut",
            "razonSocial",
            "email",
            "telefono",
            "direccion",
            "comuna",
            "actividades",
            "sucursales",
        }
    ruts = {row["rut"] for row in rows}
    assert {"76795561-8", "76430498-5", "77123456-9", "12345678-5"} <= ruts
