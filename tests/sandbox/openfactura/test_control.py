"""The pinned control API (``/sandbox/openfactura/documents``) and the Python API for the sandbox pages."""

from __future__ import annotations

import json
from datetime import datetime

from django.urls import reverse

from sandbox.openfactura import companies, selectors

from .conftest import HOSTY_KEY, OpenFacturaClient, as_emisor, body


def test_documents_lists_every_accepted_document_oldest_first(of_api, of_control):
    first = body("boleta__27970")
    of_api.emit(first, key="js:1:1001:39")
    rejected = body("boleta__docs")
    rejected["dte"]["Encabezado"]["Totales"]["IVA"] = 159
    of_api.emit(rejected, key="js:1:1002:39")
    second = as_emisor(body("factura__docs"), companies.HOSTY)
    second_token = OpenFacturaClient(HOSTY_KEY).emit(second).json()["TOKEN"]

    for path in ("/sandbox/openfactura/documents", "/sandbox/openfactura/documents/"):
        response = of_control.get(path)
        assert response.status_code == 200
        rows = response.json()
        assert [list(row) for row in rows] == [
            ["token", "folio", "tipo", "rut_emisor", "idempotency_key", "received_at", "request"]
        ] * 2
        assert [(r["folio"], r["tipo"], r["rut_emisor"], r["idempotency_key"]) for r in rows] == [
            (1000, 39, "76795561-8", "js:1:1001:39"),
            (100, 33, "76430498-5", None),
        ]
        assert rows[1]["token"] == second_token
        assert rows[0]["request"] == first
        assert list(rows[0]["request"]["dte"]["Encabezado"]["Emisor"]) == list(
            first["dte"]["Encabezado"]["Emisor"]
        )
        datetime.fromisoformat(rows[0]["received_at"])

    filtered = of_control.get("/sandbox/openfactura/documents", {"rut_emisor": "76430498-5"}).json()
    assert [row["token"] for row in filtered] == [second_token]


def test_the_request_is_kept_exactly_as_received(of_api, of_control):
    raw = json.dumps(body("boleta__docs")).replace('"Folio": 0', '"Folio": 0.0').encode()
    assert of_api.emit({}, raw=raw).status_code == 200
    assert (
        of_control.get("/sandbox/openfactura/documents").json()[0]["request"]["dte"]["Encabezado"]["IdDoc"][
            "Folio"
        ]
        == 0.0
    )


def test_document_pdf_url_and_python_api(of_api, of_control):
    token = of_api.emit(body("factura__docs")).json()["TOKEN"]
    url = reverse("sandbox_openfactura_document_pdf", kwargs={"token": token})
    assert url == f"/sandbox/openfactura/documents/{token}.pdf"
    response = of_control.get(url)
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert response.content.startswith(b"%PDF-")
    assert of_control.get("/sandbox/openfactura/documents/nope.pdf").status_code == 404

    document = selectors.document_by_token(token)
    assert selectors.document_pdf(document) == response.content  # deterministic
    assert [d.token for d in selectors.documents_for_rut("76795561-8")] == [token]
    assert [d.token for d in selectors.documents_for_rut("76.430.498-5", role="receptor")] == [token]
    assert list(selectors.documents_for_rut("76430498-5", role="emisor")) == []
    assert selectors.document_xml(document).startswith(b"<?xml")


def test_self_service_page(of_api, of_control):
    document = body("boleta__docs")
    document["response"] = ["SELF_SERVICE"]
    url = of_api.emit(document).json()["SELF_SERVICE"]["url"]
    page = of_control.get(url)
    assert page.status_code == 200
    assert "BOLETA ELECTRÓNICA" in page.content.decode()


def test_control_methods(of_control):
    assert of_control.post("/sandbox/openfactura/documents").status_code == 405
    assert of_control.put("/sandbox/openfactura/faults").status_code == 405
    assert of_control.get("/sandbox/openfactura/faults/").status_code == 200
