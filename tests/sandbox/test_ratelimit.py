"""Jumpseller's rate limits in the fake (jumpseller-api.md §2.1): 20/s and 800/min per store, 429, headers."""

from __future__ import annotations

import pytest

from sandbox import ratelimit, services

from .conftest import ApiClient, js_token


@pytest.fixture
def frozen_clock(monkeypatch):
    monkeypatch.setattr(ratelimit, "_now", lambda: 1_700_000_010.5)


def test_every_answer_carries_the_rate_limit_headers(js_api, frozen_clock):
    first = js_api.get("/orders.json")
    assert first["Jumpseller-PerSecondRateLimit-Limit"] == "20"
    assert first["Jumpseller-PerSecondRateLimit-Remaining"] == "19"
    assert first["Jumpseller-PerMinuteRateLimit-Limit"] == "800"
    assert first["Jumpseller-PerMinuteRateLimit-Remaining"] == "799"
    not_found = js_api.get("/orders/77.json")
    assert not_found.status_code == 404
    assert not_found["Jumpseller-PerSecondRateLimit-Remaining"] == "18"


def test_twenty_one_requests_in_a_second_get_429(js_api, frozen_clock):
    statuses = [js_api.get("/orders/count.json").status_code for _ in range(21)]
    assert statuses == [200] * 20 + [429]
    response = js_api.get("/orders/count.json")
    assert response.status_code == 429
    assert response.json() == {"message": "Too Many Requests"}
    assert response["Jumpseller-PerSecondRateLimit-Remaining"] == "0"
    assert response["Jumpseller-PerMinuteRateLimit-Remaining"] == "780"


def test_per_minute_limit_and_the_limits_are_per_store(js_store, js_api, frozen_clock):
    services.store_update(store=js_store, options={"rate_limit_per_minute": 3})
    js_store.refresh_from_db()
    assert [js_api.get("/orders/count.json").status_code for _ in range(4)] == [200, 200, 200, 429]
    other, _ = services.store_ensure(code="otra", name="Otra")
    assert ApiClient(js_token(other).access_token).get("/orders/count.json").status_code == 200


def test_a_store_can_be_unlimited(js_store, js_api, frozen_clock):
    services.store_update(store=js_store, options={"rate_limit_per_second": 0, "rate_limit_per_minute": 0})
    responses = [js_api.get("/orders/count.json") for _ in range(25)]
    assert {r.status_code for r in responses} == {200}
    assert "Jumpseller-PerSecondRateLimit-Limit" not in responses[0]


def test_the_setting_can_turn_limits_off(js_api, settings, frozen_clock):
    settings.SANDBOX_JUMPSELLER_RATE_LIMIT = "off"
    assert {js_api.get("/orders/count.json").status_code for _ in range(25)} == {200}


def test_too_many_rate_limit_hits_ban_the_store(js_api, settings, frozen_clock):
    settings.SANDBOX_JUMPSELLER_RATE_LIMIT = {
        "per_second": 1,
        "per_minute": 800,
        "ban_after": 2,
        "ban_seconds": 60,
    }
    assert js_api.get("/orders/count.json").status_code == 200
    assert "Jumpseller-BannedByRateLimit-Reset" not in js_api.get("/orders/count.json")
    banned = js_api.get("/orders/count.json")
    assert banned.status_code == 429
    assert banned["Jumpseller-BannedByRateLimit-Reset"] == "2023-11-14T22:14:30+00:00"
    assert (
        js_api.get("/orders/count.json")["Jumpseller-BannedByRateLimit-Reset"] == "2023-11-14T22:14:30+00:00"
    )


def test_rate_limit_setting_string_form(settings):
    settings.SANDBOX_JUMPSELLER_RATE_LIMIT = "5/100"
    assert ratelimit.configured_limits()["per_second"] == 5
    assert ratelimit.configured_limits()["per_minute"] == 100
