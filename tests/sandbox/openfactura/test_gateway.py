"""Authentication, rate limits and fault injection of the fake OpenFactura (openfactura-api.md §2.5, §6)."""

from __future__ import annotations

import json

import pytest

from sandbox.openfactura.models import Document, FolioCounter, IdempotencyClaim

from .conftest import OpenFacturaClient, body

FAULTS = "/sandbox/openfactura/faults"


def set_faults(client, **faults):
    response = client.post(FAULTS, json.dumps(faults), content_type="application/json")
    assert response.status_code == 200, response.content
    return response.json()


def assert_nothing_stored():
    assert Document.objects.count() == 0
    assert IdempotencyClaim.objects.count() == 0
    assert FolioCounter.objects.count() == 0


# --- authentication ------------------------------------------------------------------------------
def test_missing_key_is_401(db):
    response = OpenFacturaClient(None).emit(body("boleta__docs"))
    assert response.status_code == 401
    assert response.json() == {
        "statusCode": 401,
        "message": "Access denied due to missing subscription key. Make sure to include subscription key "
        "when making requests to an API.",
    }


def test_unknown_key_is_401(db):
    response = OpenFacturaClient("0123456789abcdef0123456789abcdef").get("/organization")
    assert response.status_code == 401
    assert response.json() == {
        "statusCode": 401,
        "message": "Access denied due to invalid subscription key. Make sure to provide a valid key for an "
        "active subscription.",
    }


@pytest.mark.parametrize("key", ["wrong", "928E15A2D14D4A6292345F04960F4BD3", "sandbox-"])
def test_malformed_key_is_403(db, key):
    response = OpenFacturaClient(key).emit(body("boleta__docs"))
    assert response.status_code == 403
    assert response.json() == {"message": "Invalid authentication credentials"}
    assert_nothing_stored()


def test_unknown_api_path_is_the_gateway_404(of_api):
    response = of_api.get("/registry/sales/2026/11")
    assert response.status_code == 404
    assert response.json() == {"statusCode": 404, "message": "Resource not found"}
    assert of_api.client.delete("/sandbox/openfactura/v2/dte/organization").status_code == 404


# --- rate limit ----------------------------------------------------------------------------------
def test_the_fourth_request_in_a_second_gets_429(of_api, of_clock, settings):
    settings.SANDBOX_OPENFACTURA_RATE_LIMIT = None  # the default: 3/s and 100/min
    statuses = [of_api.get("/organization").status_code for _ in range(4)]
    assert statuses == [200, 200, 200, 429]
    limited = of_api.get("/organization")
    assert limited.json() == {"statusCode": 429, "message": "Rate limit is exceeded. Try again in 1 seconds."}
    assert limited["Retry-After"] == "1"
    # Other keys have their own budget; the next second is free again.
    assert OpenFacturaClient("sandbox-other").get("/organization").status_code == 200
    of_clock["now"] += 1
    assert of_api.get("/organization").status_code == 200


def test_a_limited_emission_stores_nothing(of_api, of_clock, settings):
    settings.SANDBOX_OPENFACTURA_RATE_LIMIT = "1/100"
    assert of_api.emit(body("boleta__docs"), key="a").status_code == 200
    assert of_api.emit(body("boleta__docs"), key="b").status_code == 429
    assert Document.objects.count() == 1
    assert IdempotencyClaim.objects.count() == 1


def test_a_hundred_a_minute(of_api, of_clock, settings):
    settings.SANDBOX_OPENFACTURA_RATE_LIMIT = "1000/100"
    of_clock["now"] = 1_800_000_040.5  # 40.5 s into a minute window
    statuses = [of_api.get("/organization").status_code for _ in range(101)]
    assert statuses.count(200) == 100
    assert statuses[-1] == 429
    assert of_api.get("/organization").json()["message"] == "Rate limit is exceeded. Try again in 20 seconds."


def test_the_rate_limit_switch_in_the_faults_control(of_api, of_control, of_clock, settings):
    settings.SANDBOX_OPENFACTURA_RATE_LIMIT = None
    set_faults(of_control, rate_limit=False)
    assert [of_api.get("/organization").status_code for _ in range(5)] == [200] * 5
    set_faults(of_control, rate_limit="2/100")
    of_clock["now"] += 1
    assert [of_api.get("/organization").status_code for _ in range(3)] == [200, 200, 429]
    of_control.delete(FAULTS)
    of_clock["now"] += 1
    assert [of_api.get("/organization").status_code for _ in range(4)] == [200, 200, 200, 429]


# --- faults --------------------------------------------------------------------------------------
def test_latency(of_api, of_control, of_sleeps):
    set_faults(of_control, latency_ms=1500)
    assert of_api.get("/organization").status_code == 200
    assert of_sleeps == [1.5]


@pytest.mark.parametrize(
    ("status", "http", "expected"),
    [
        (503, 503, {"statusCode": 503, "message": "Service Unavailable"}),
        ("500", 500, {"statusCode": 500, "message": "Internal server error"}),
        (502, 502, {"statusCode": 502, "message": "Bad Gateway"}),
        (504, 504, {"statusCode": 504, "message": "Gateway Timeout"}),
        (429, 429, {"statusCode": 429, "message": "Rate limit is exceeded. Try again in 1 seconds."}),
        (
            "OF-21",
            400,
            {"error": {"message": "Base de datos no disponible, intente más tarde", "code": "OF-21"}},
        ),
        (
            "OF-23",
            400,
            {
                "error": {
                    "message": "DTE no soportado",
                    "code": "OF-23",
                    "details": [
                        {"field": "TipoDTE", "issue": "Emisión de boletas bloqueada temporalmente (SII)"}
                    ],
                }
            },
        ),
    ],
)
def test_error_rate_one_answers_the_status_and_stores_nothing(of_api, of_control, status, http, expected):
    set_faults(of_control, error_rate=1, status=status)
    response = of_api.emit(body("boleta__docs"), key="k")
    assert response.status_code == http
    assert response.json() == expected
    assert_nothing_stored()


def test_error_rate_alone_means_503_and_zero_means_never(of_api, of_control):
    set_faults(of_control, error_rate=1)
    assert of_api.get("/organization").status_code == 503
    set_faults(of_control, error_rate=0, status=500)
    assert of_api.get("/organization").status_code == 200


def test_count_and_scope(of_api, of_control):
    set_faults(of_control, status="OF-21", count=2, scope="emit")
    assert of_api.get("/organization").status_code == 200  # reads are not in scope
    codes = [of_api.emit(body("boleta__docs"), key="same").status_code for _ in range(3)]
    assert codes == [400, 400, 200]  # two failures, then it recovers; the retry with the key succeeds
    assert Document.objects.count() == 1


def test_down_seconds(of_api, of_control):
    faults = set_faults(of_control, down_seconds=30)
    assert faults["down_until"] is not None
    response = of_api.emit(body("boleta__docs"))
    assert response.status_code == 503
    assert response.json() == {"statusCode": 503, "message": "Service Unavailable"}
    assert 29 <= int(response["Retry-After"]) <= 30
    assert OpenFacturaClient(None).get("/organization").status_code == 503  # before authentication
    assert_nothing_stored()
    of_control.delete(FAULTS)
    assert of_api.emit(body("boleta__docs")).status_code == 200


def test_timeout_stalls_then_answers_504_and_stores_nothing(of_api, of_control, of_sleeps):
    set_faults(of_control, timeout=True)
    response = of_api.emit(body("boleta__docs"), key="k")
    assert response.status_code == 504
    assert sum(of_sleeps) == pytest.approx(60, abs=0.3)  # default: longer than a 45 s read timeout
    assert_nothing_stored()
    of_sleeps.clear()
    set_faults(of_control, timeout=3)
    assert of_api.get("/organization").status_code == 504
    assert sum(of_sleeps) == pytest.approx(3, abs=0.3)


def test_timeout_after_emit_stores_then_stalls(of_api, of_control, of_sleeps):
    set_faults(of_control, timeout_after_emit=True, timeout_seconds=2)
    first = of_api.emit(body("boleta__docs"), key="lost")
    assert first.status_code == 200  # what a client that waited long enough would have seen
    assert sum(of_sleeps) == pytest.approx(2, abs=0.3)
    assert Document.objects.count() == 1
    retry = of_api.emit(body("boleta__docs"), key="lost")
    assert retry.json()["error"]["token"] == first.json()["TOKEN"]
    assert of_api.get("/organization").status_code == 200  # reads do not stall


def test_estado_override(of_api, of_control):
    token = of_api.emit(body("boleta__docs")).json()["TOKEN"]
    set_faults(of_control, estado="Rechazado")
    assert of_api.get(f"/document/{token}/status").json() == {"estado": "Rechazado", "token": token}


def test_faults_never_touch_the_control_api(of_api, of_control):
    of_api.emit(body("boleta__docs"))
    set_faults(of_control, down_seconds=60, error_rate=1, latency_ms=0)
    assert of_control.get("/sandbox/openfactura/documents").status_code == 200
    assert of_control.get(FAULTS).json()["error_rate"] == 1


def test_post_replaces_and_delete_clears(of_control):
    set_faults(of_control, latency_ms=100, status=503)
    current = set_faults(of_control, down_seconds=5)
    assert (current["latency_ms"], current["status"]) == (0, None)
    cleared = of_control.delete(FAULTS).json()
    assert cleared == {
        "latency_ms": 0,
        "error_rate": None,
        "status": None,
        "timeout": False,
        "timeout_seconds": None,
        "timeout_after_emit": False,
        "down_until": None,
        "count": None,
        "scope": "all",
        "estado": None,
        "rate_limit": None,
        "reject_consumes_key": False,
        "of06_token_in": "both",
    }


@pytest.mark.parametrize(
    "faults",
    [
        {"status": 404},
        {"error_rate": 2},
        {"latency_ms": "slow"},
        {"scope": "x"},
        {"bogus": 1},
        {"rate_limit": "x"},
    ],
)
def test_invalid_faults(of_control, faults):
    response = of_control.post(FAULTS, json.dumps(faults), content_type="application/json")
    assert response.status_code == 400
    assert "message" in response.json()
