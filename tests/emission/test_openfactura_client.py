"""OpenFactura client: every documented success and error shape (openfactura-api.md §2.4, §2.5, §9)."""

import base64

import pytest
import requests
import responses

from emission.client import (
    OpenFacturaBlocked,
    OpenFacturaClient,
    OpenFacturaDuplicate,
    OpenFacturaRateLimited,
    OpenFacturaRejected,
    OpenFacturaTimeout,
    OpenFacturaUnauthorized,
    OpenFacturaUnavailable,
)

BASE = "https://dev-api.haulmer.com"
KEY = "928e15a2d14d4a6292345f04960f4bd3"
EMIT = f"{BASE}/v2/dte/document"


@pytest.fixture
def client():
    return OpenFacturaClient(api_key=KEY, base_url=BASE, sleep=lambda _s: None)


@responses.activate
def test_emit_success_sends_key_and_idempotency_header(client):
    pdf = base64.b64encode(b"%PDF-1.4 test").decode()
    responses.post(
        EMIT, json={"TOKEN": "abc", "FOLIO": 109, "PDF": pdf, "RESOLUCION": {"fecha": "2018-03-26"}}
    )
    result = client.emit({"dte": {}}, idempotency_key="js:demo:1001:boleta")
    assert result.token == "abc"
    assert result.folio == 109
    assert result.pdf == b"%PDF-1.4 test"
    request = responses.calls[0].request
    assert request.headers["apikey"] == KEY
    assert request.headers["Idempotency-Key"] == "js:demo:1001:boleta"
    assert "PDF" not in result.raw


@pytest.mark.parametrize(
    "self_service", [{"url": "https://of.cl/ss/1"}, "https://of.cl/ss/1"], ids=["object", "string"]
)
@responses.activate
def test_self_service_as_object_or_string(client, self_service):
    responses.post(EMIT, json={"TOKEN": "t", "SELF_SERVICE": self_service})
    assert client.emit({}, idempotency_key="k").self_service_url == "https://of.cl/ss/1"


@pytest.mark.parametrize(
    "body",
    [
        {"error": {"message": "Este DTE ya fue emitido (Idempotency-Key)", "code": "OF-06", "token": "orig"}},
        {
            "error": {
                "message": "Ya emitido",
                "code": "OF-06",
                "details": [{"field": "token", "issue": "orig"}],
            }
        },
    ],
    ids=["error.token", "details"],
)
@responses.activate
def test_of06_token_in_either_place(client, body):
    responses.post(EMIT, status=400, json=body)
    with pytest.raises(OpenFacturaDuplicate) as info:
        client.emit({}, idempotency_key="k")
    assert info.value.token == "orig"
    assert not info.value.transient


@responses.activate
def test_of06_without_token_while_processing(client):
    responses.post(
        EMIT, status=400, json={"error": {"message": "Este DTE está siendo procesado (R).", "code": "OF-06"}}
    )
    with pytest.raises(OpenFacturaDuplicate) as info:
        client.emit({}, idempotency_key="k")
    assert info.value.token is None


@responses.activate
def test_of10_details_are_kept_for_the_merchant(client):
    responses.post(
        EMIT,
        status=400,
        json={
            "error": {
                "message": "Validación de Campos",
                "code": "OF-10",
                "details": [{"field": "MntNeto", "issue": "Monto erróneo : 1000"}],
            }
        },
    )
    with pytest.raises(OpenFacturaRejected) as info:
        client.emit({}, idempotency_key="k")
    assert info.value.code == "OF-10"
    assert info.value.describe() == "OF-10 — Validación de Campos — MntNeto: Monto erróneo : 1000"
    assert not info.value.transient


@responses.activate
def test_flat_error_envelope_with_details_object(client):
    responses.post(
        EMIT,
        status=400,
        json={"message": "Validación de Campos.", "code": "OF-10", "details": {"Error": "Fecha Incorrecta"}},
    )
    with pytest.raises(OpenFacturaRejected) as info:
        client.emit({}, idempotency_key="k")
    assert info.value.details == [{"field": "Error", "issue": "Fecha Incorrecta"}]


@pytest.mark.parametrize(
    ("status", "body"),
    [
        (401, {"statusCode": 401, "message": "Access denied due to invalid subscription key."}),
        (403, {"message": "Invalid authentication credentials"}),
    ],
)
@responses.activate
def test_bad_key_401_or_403(client, status, body):
    responses.post(EMIT, status=status, json=body)
    with pytest.raises(OpenFacturaUnauthorized):
        client.emit({}, idempotency_key="k")


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ({"statusCode": 429, "message": "Rate limit is exceeded. Try again in 7 seconds."}, 7.0),
        ({"message": "API rate limit exceeded"}, 1.0),
    ],
)
@responses.activate
def test_rate_limited_both_bodies(client, body, expected):
    responses.post(EMIT, status=429, json=body)
    with pytest.raises(OpenFacturaRateLimited) as info:
        client.emit({}, idempotency_key="k")
    assert info.value.retry_after == expected
    assert info.value.transient


@pytest.mark.parametrize(
    ("status", "body", "error"),
    [
        (503, {"message": "Service Unavailable"}, OpenFacturaUnavailable),
        (
            400,
            {"error": {"message": "Base de datos no disponible, intente más tarde", "code": "OF-21"}},
            OpenFacturaUnavailable,
        ),
        (400, {"error": {"message": "DTE no soportado", "code": "OF-23"}}, OpenFacturaBlocked),
    ],
)
@responses.activate
def test_transient_errors(client, status, body, error):
    responses.post(EMIT, status=status, json=body)
    with pytest.raises(error) as info:
        client.emit({}, idempotency_key="k")
    assert info.value.transient


@responses.activate
def test_timeout_is_transient_and_emit_is_not_retried(client):
    responses.post(EMIT, body=requests.ReadTimeout("slow"))
    with pytest.raises(OpenFacturaTimeout):
        client.emit({}, idempotency_key="k")
    assert len(responses.calls) == 1


@responses.activate
def test_reads_retry_transient_errors_then_succeed(client):
    url = f"{BASE}/v2/dte/organization"
    responses.get(url, status=503, json={"message": "down"})
    responses.get(url, json={"rut": "76795561-8"})
    assert client.organization() == {"rut": "76795561-8"}
    assert len(responses.calls) == 2


@responses.activate
def test_reads_give_up_after_bounded_retries(client):
    responses.get(f"{BASE}/v2/dte/taxpayer/1-9", status=503, json={"message": "down"})
    with pytest.raises(OpenFacturaUnavailable):
        client.taxpayer("1-9")
    assert len(responses.calls) == 4


@responses.activate
def test_issued_empty_204(client):
    responses.post(f"{BASE}/v2/dte/document/issued", status=204)
    page = client.issued({"TipoDTE": {"eq": 39}})
    assert page.rows == [] and page.total == 0


@responses.activate
def test_document_pdf_decodes(client):
    responses.get(
        f"{BASE}/v2/dte/document/tok/pdf", json={"pdf": base64.b64encode(b"%PDF").decode(), "folio": 1}
    )
    assert client.document_pdf("tok") == b"%PDF"


def test_repr_never_shows_the_key(client):
    assert KEY not in repr(client)
