"""The fakes are at least as strict as the documentation where the real services are ambiguous (issue 14).

* Fake OpenFactura: a factura-family document (61 included) needs the whole receptor; the fault
  ``reject_consumes_key`` keeps the Idempotency-Key of a rejected request; the fault ``of06_token_in`` puts
  the OF-06 token in one place at a time.
* Fake Jumpseller: ``document_type`` is taken in exactly one form, ``SANDBOX_JUMPSELLER_DOCUMENT_TYPE_FORM``.
"""

from __future__ import annotations

import json

import pytest
from django.core.cache import cache
from django.core.exceptions import ImproperlyConfigured
from django.test import Client

from sandbox.models import OrderDocument
from sandbox.openfactura.models import Document, IdempotencyClaim
from tests.sandbox.conftest import create_order
from tests.sandbox.openfactura.conftest import OpenFacturaClient, body

FAULTS = "/sandbox/openfactura/faults"
REQUIRED = "Campo requerido"


@pytest.fixture
def of_api(db, settings) -> OpenFacturaClient:
    cache.clear()
    settings.SANDBOX_OPENFACTURA_RATE_LIMIT = "off"
    yield OpenFacturaClient()
    cache.clear()


def set_faults(**faults) -> dict:
    response = Client().post(FAULTS, json.dumps(faults), content_type="application/json")
    assert response.status_code == 200, response.content
    return response.json()


# --- OpenFactura: the receptor of a nota de crédito ------------------------------------------------


@pytest.mark.parametrize(
    "receptor",
    [
        # What the product sent for an anonymous boleta's nota before issue 14.
        {"RUTRecep": "66666666-6", "RznSocRecep": "Consumidor final"},
        {"RUTRecep": "76430498-5", "RznSocRecep": "HOSTY SPA", "Contacto": "+56969195057"},
    ],
)
def test_a_nota_de_credito_without_giro_direccion_or_comuna_is_of02(of_api, receptor):
    nota = body("nota_credito__docs")
    nota["dte"]["Encabezado"]["Receptor"] = receptor
    response = of_api.emit(nota, key="nc-1")
    assert response.status_code == 400
    assert response.json() == {
        "error": {
            "message": "Faltan campos obligatorios en el dte",
            "code": "OF-02",
            "details": [
                {"field": "GiroRecep", "issue": REQUIRED},
                {"field": "DirRecep", "issue": REQUIRED},
                {"field": "CmnaRecep", "issue": REQUIRED},
            ],
        }
    }
    assert not Document.objects.exists()
    assert not IdempotencyClaim.objects.exists()  # by default a rejection keeps no key


def test_a_nota_for_the_consumidor_final_with_every_field_is_accepted(of_api):
    nota = body("nota_credito__docs")
    nota["dte"]["Encabezado"]["Receptor"] = {
        "RUTRecep": "66666666-6",
        "RznSocRecep": "Consumidor final",
        "GiroRecep": "Particular",
        "DirRecep": "Sin dirección",
        "CmnaRecep": "Curicó",
    }
    response = of_api.emit(nota)
    assert response.status_code == 200, response.content
    assert Document.objects.get().rut_recep == "66666666-6"


# --- OpenFactura: keys consumed by rejected requests -----------------------------------------------


def test_with_the_fault_a_rejected_body_consumes_its_key(of_api):
    set_faults(reject_consumes_key=True)
    bad = body("boleta__docs")
    bad["dte"]["Encabezado"]["Totales"]["IVA"] = 1
    assert of_api.emit(bad, key="k-1").json()["error"]["code"] == "OF-10"

    again = of_api.emit(body("boleta__docs"), key="k-1")  # the corrected body, same key
    assert (again.status_code, again.json()) == (
        400,
        {"error": {"message": "Validación Idempotencia", "code": "OF-06"}},
    )
    assert not Document.objects.exists()
    fresh = of_api.emit(body("boleta__docs"), key="k-1:r1")  # the next revision goes through
    assert fresh.status_code == 200
    assert [d.idempotency_key for d in Document.objects.all()] == ["k-1:r1"]
    claim = IdempotencyClaim.objects.get(key="k-1")
    assert (claim.rejected, claim.document) == (True, None)


def test_with_the_fault_an_injected_rejection_consumes_its_key_and_a_5xx_does_not(of_api):
    set_faults(status="OF-10", count=1, scope="emit", reject_consumes_key=True)
    rejected = of_api.emit(body("boleta__docs"), key="k-2")
    assert (rejected.status_code, rejected.json()) == (
        400,
        {
            "error": {
                "message": "Validación de Campos",
                "code": "OF-10",
                "details": [{"field": "Error", "issue": "Rechazo simulado (fault del sandbox)"}],
            }
        },
    )
    assert of_api.emit(body("boleta__docs"), key="k-2").json()["error"]["code"] == "OF-06"

    set_faults(status=503, count=1, scope="emit", reject_consumes_key=True)
    assert of_api.emit(body("boleta__docs"), key="k-3").status_code == 503
    assert of_api.emit(body("boleta__docs"), key="k-3").status_code == 200
    assert [d.idempotency_key for d in Document.objects.all()] == ["k-3"]


def test_without_the_fault_a_rejection_keeps_no_key(of_api):
    set_faults(status="OF-08", count=1, scope="emit")
    assert of_api.emit(body("boleta__docs"), key="k-4").json()["error"]["code"] == "OF-08"
    assert of_api.emit(body("boleta__docs"), key="k-4").status_code == 200
    assert not IdempotencyClaim.objects.filter(rejected=True).exists()


# --- OpenFactura: where OF-06 carries the token ----------------------------------------------------


@pytest.mark.parametrize(
    ("location", "expected"),
    [
        ("top", lambda token: {"token": token}),
        ("details", lambda token: {"details": [{"field": "token", "issue": token}]}),
        ("both", lambda token: {"token": token, "details": [{"field": "token", "issue": token}]}),
    ],
)
def test_of06_token_location_is_a_fault(of_api, location, expected):
    token = of_api.emit(body("boleta__docs"), key="k-5").json()["TOKEN"]
    assert set_faults(of06_token_in=location)["of06_token_in"] == location
    repeat = of_api.emit(body("boleta__docs"), key="k-5")
    assert (repeat.status_code, repeat.json()) == (
        400,
        {
            "error": {
                "message": "Este DTE ya fue emitido (Idempotency-Key)",
                "code": "OF-06",
                **expected(token),
            }
        },
    )


def test_the_new_faults_default_to_the_documented_behaviour_and_are_validated(db):
    cleared = Client().delete(FAULTS).json()
    assert (cleared["reject_consumes_key"], cleared["of06_token_in"]) == (False, "both")
    for bad in ({"of06_token_in": "header"}, {"reject_consumes_key": "yes"}, {"status": "OF-99"}):
        response = Client().post(FAULTS, json.dumps(bad), content_type="application/json")
        assert response.status_code == 400, bad


# --- Jumpseller: document_type in exactly one form -------------------------------------------------


def document(document_type) -> dict:
    return {
        "document": {"document_type": document_type, "public_id": "39-1", "url": "https://x.example/a.pdf"}
    }


@pytest.mark.parametrize(("given", "stored"), [("1 - invoice", 1), ("0 - credit note", 0)])
def test_by_default_only_the_documented_strings_are_taken(js_store, js_api, given, stored):
    create_order(js_store, id=5001)
    response = js_api.send("POST", "/orders/5001/documents.json", document(given))
    assert response.status_code == 200
    assert response.json()["document"]["document_type"] == given  # answered in the accepted form
    assert js_api.get("/orders/5001/documents.json").json()[0]["document"]["document_type"] == given
    assert OrderDocument.objects.get().document_type == stored


@pytest.mark.parametrize("given", [1, 0, "1", "invoice", "1 - Invoice", True, None])
def test_by_default_the_integer_form_is_a_422(js_store, js_api, given):
    create_order(js_store, id=5001)
    response = js_api.send("POST", "/orders/5001/documents.json", document(given))
    assert (response.status_code, response.json()) == (
        422,
        {
            "message": 'document_type must be "0 - credit note" or "1 - invoice"',
            "errors": {"document_type": ['must be "0 - credit note" or "1 - invoice"']},
        },
    )
    assert not OrderDocument.objects.exists()


def test_a_jumpseller_that_takes_integers_refuses_the_strings(js_store, js_api, settings):
    settings.SANDBOX_JUMPSELLER_DOCUMENT_TYPE_FORM = "integer"
    create_order(js_store, id=5001)
    refused = js_api.send("POST", "/orders/5001/documents.json", document("1 - invoice"))
    assert (refused.status_code, refused.json()["errors"]) == (
        422,
        {"document_type": ["must be 0 (credit note) or 1 (invoice)"]},
    )
    assert js_api.send("POST", "/orders/5001/documents.json", document("1")).status_code == 422
    accepted = js_api.send("POST", "/orders/5001/documents.json", document(1))
    assert (accepted.status_code, accepted.json()["document"]["document_type"]) == (200, 1)
    put = js_api.send(
        "PUT", "/orders/5001/documents/39-1.json", {"document": {"document_type": "0 - credit note"}}
    )
    assert put.status_code == 422


def test_the_form_comes_from_the_environment_when_not_set(js_store, js_api, monkeypatch, settings):
    if hasattr(settings, "SANDBOX_JUMPSELLER_DOCUMENT_TYPE_FORM"):
        del settings.SANDBOX_JUMPSELLER_DOCUMENT_TYPE_FORM
    monkeypatch.setenv("SANDBOX_JUMPSELLER_DOCUMENT_TYPE_FORM", "integer")
    create_order(js_store, id=5001)
    assert js_api.send("POST", "/orders/5001/documents.json", document(1)).status_code == 200
    settings.SANDBOX_JUMPSELLER_DOCUMENT_TYPE_FORM = "both"
    with pytest.raises(ImproperlyConfigured):
        js_api.send("POST", "/orders/5001/documents.json", document(1))
