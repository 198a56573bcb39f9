"""``JumpsellerClient``: shapes, error tree, retries with backoff, rate limits (HTTP faked with responses)."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta

import pytest
import requests
import responses
from responses import matchers

from core.ratelimit import BudgetExhausted
from integration.client import (
    Hook,
    JumpsellerClient,
    JumpsellerForbidden,
    JumpsellerNotFound,
    JumpsellerPermanentError,
    JumpsellerRateLimited,
    JumpsellerTimeout,
    JumpsellerUnauthorized,
    JumpsellerUnavailable,
    JumpsellerValidationError,
)

from .conftest import API, fixture_json


class Sleeps(list):
    def __call__(self, seconds: float) -> None:
        self.append(seconds)


@pytest.fixture
def sleeps() -> Sleeps:
    return Sleeps()


@pytest.fixture
def client(sleeps) -> JumpsellerClient:
    return JumpsellerClient(base_url=API, access_token="token-abc", sleep=sleeps)


@responses.activate
@pytest.mark.parametrize("variant", ["wrapped", "flat"])
def test_store_info_is_read_flat_or_wrapped(client, variant):
    responses.get(f"{API}/store/info.json", json=fixture_json(f"store_info__{variant}"))
    info = client.store_info()
    assert (info.code, info.name, info.currency, info.country, info.timezone) == (
        "tienda-nunoa",
        "Tienda Ñuñoa",
        "CLP",
        "CL",
        "America/Santiago",
    )
    assert info.url == "https://tienda-nunoa.jumpseller.com"
    assert info.email == "contacto@tienda-nunoa.example.cl"
    assert info.hooks_token == "hooks-token-1234567890abcdef"
    assert "hooks-token" not in repr(info)
    assert "hooks_token" not in info.raw


@responses.activate
def test_every_request_has_bearer_timeouts_and_no_redirects(client):
    call = responses.get(
        f"{API}/orders/10045.json",
        json=fixture_json("webhook_order_paid__basic"),
        match=[matchers.header_matcher({"Authorization": "Bearer token-abc"})],
    )
    seen = {}
    original = client.session.request

    def spy(method, url, **kwargs):
        seen.update(kwargs)
        return original(method, url, **kwargs)

    client.session.request = spy
    order = client.get_order(10045)
    assert call.call_count == 1
    assert seen["timeout"] == (5.0, 20.0)
    assert seen["allow_redirects"] is False
    assert order["id"] == 10045
    assert order["billing_address"]["taxid"] == "12.345.678-5"  # the whole payload, unwrapped


@responses.activate
def test_access_token_may_be_a_callable_read_before_each_request(sleeps):
    tokens = iter(["first", "second"])
    client = JumpsellerClient(base_url=API, access_token=lambda: next(tokens), sleep=sleeps)
    responses.get(f"{API}/orders/count.json", json={"count": 3})
    assert client.count_orders() == 3
    assert client.count_orders() == 3
    assert [c.request.headers["Authorization"] for c in responses.calls] == ["Bearer first", "Bearer second"]


@responses.activate
def test_list_orders_filters_and_unwraps(client):
    responses.get(
        f"{API}/orders.json",
        json=[{"order": {"id": 2}}, {"order": {"id": 1}}],
        match=[
            matchers.query_param_matcher(
                {
                    "status_filters[]": "paid",
                    "dateFilter": "customDate",
                    "initialDate": "2026-05-01",
                    "finalDate": "2026-05-31",
                    "page": "2",
                    "limit": "100",
                }
            )
        ],
    )
    orders = client.list_orders(
        status="paid", date_from=date(2026, 5, 1), date_to=date(2026, 5, 31), page=2, limit=500
    )
    assert [o["id"] for o in orders] == [2, 1]


@responses.activate
def test_orders_after_and_count(client):
    responses.get(
        f"{API}/orders/after/100.json",
        json=[{"order": {"id": 101}}],
        match=[matchers.query_param_matcher({"page": "1", "limit": "100"})],
    )
    responses.get(
        f"{API}/orders/count.json",
        json={"count": 7},
        match=[matchers.query_param_matcher({"status_filters[]": "paid"})],
    )
    assert client.orders_after(100) == [{"id": 101}]
    assert client.count_orders(status="paid") == 7


@responses.activate
def test_hooks_list_every_page_create_and_delete(client):
    page1 = [{"hook": {"id": i, "event": "order_paid", "url": f"https://x/{i}"}} for i in range(100)]
    responses.get(
        f"{API}/hooks.json", json=page1, match=[matchers.query_param_matcher({"limit": "100", "page": "1"})]
    )
    responses.get(
        f"{API}/hooks.json",
        json=[{"hook": {"id": 100, "event": "order_canceled", "url": "https://x/100"}}],
        match=[matchers.query_param_matcher({"limit": "100", "page": "2"})],
    )
    hooks = client.list_hooks()
    assert len(hooks) == 101
    assert hooks[-1] == Hook(id=100, event="order_canceled", url="https://x/100")

    created = responses.post(
        f"{API}/hooks.json",
        json={
            "hook": {
                "id": 555,
                "name": None,
                "event": "order_paid",
                "url": "https://app/wh",
                "application_id": 1,
            }
        },
        match=[matchers.json_params_matcher({"hook": {"event": "order_paid", "url": "https://app/wh"}})],
    )
    assert client.create_hook("order_paid", "https://app/wh") == Hook(
        id=555, event="order_paid", url="https://app/wh"
    )
    assert created.call_count == 1

    responses.delete(f"{API}/hooks/555.json", json="Hook deleted.")
    responses.delete(f"{API}/hooks/556.json", status=404, json={"message": "Not Found"})
    client.delete_hook(555)
    with pytest.raises(JumpsellerNotFound):
        client.delete_hook(556)


@responses.activate
def test_order_document_and_history(client):
    document = responses.post(
        f"{API}/orders/10045/documents.json",
        json={
            "document": {
                "document_type": 1,
                "external_id": "tok-1",
                "public_id": "39-1234",
                "url": "https://app/dte/39-1234.pdf",
                "order_id": 10045,
                "app_code": "openfactura",
            }
        },
        match=[
            matchers.json_params_matcher(
                {
                    "document": {
                        "document_type": "1 - invoice",
                        "public_id": "39-1234",
                        "url": "https://app/dte/39-1234.pdf",
                        "external_id": "tok-1",
                    }
                }
            )
        ],
    )
    result = client.create_order_document(
        10045, document_type=1, public_id="39-1234", url="https://app/dte/39-1234.pdf", external_id="tok-1"
    )
    assert document.call_count == 1
    assert (result.document_type, result.public_id, result.order_id) == (1, "39-1234", 10045)

    responses.post(
        f"{API}/orders/10045/history.json",
        json={"order_history": {"id": 9, "message": "Boleta 39 N°1234 emitida"}},
        match=[matchers.json_params_matcher({"order_history": {"message": "Boleta 39 N°1234 emitida"}})],
    )
    assert client.create_order_history(10045, "Boleta 39 N°1234 emitida")["id"] == 9


@responses.activate
@pytest.mark.parametrize(
    ("status", "body", "error"),
    [
        (401, {"message": "Unauthorized: the access token expired"}, JumpsellerUnauthorized),
        (403, {"message": "Forbidden: this endpoint requires the scope read_orders"}, JumpsellerForbidden),
        (404, {"message": "Not Found"}, JumpsellerNotFound),
        (
            422,
            {"message": "public_id has already been taken", "errors": {"public_id": ["taken"]}},
            JumpsellerValidationError,
        ),
        (400, {"message": "Bad Request"}, JumpsellerValidationError),
        (409, "conflict", JumpsellerPermanentError),
    ],
)
def test_permanent_errors_are_never_retried(client, sleeps, status, body, error):
    responses.get(f"{API}/orders/1.json", status=status, json=body)
    with pytest.raises(error) as raised:
        client.get_order(1)
    assert raised.value.status == status
    assert not raised.value.transient
    assert len(responses.calls) == 1
    assert sleeps == []
    if status == 422:
        assert raised.value.errors == {"public_id": ["taken"]}


@responses.activate
def test_5xx_on_a_read_is_retried_with_growing_backoff_then_raised(client, sleeps):
    responses.get(f"{API}/orders/1.json", status=502, body="Bad Gateway")
    with pytest.raises(JumpsellerUnavailable) as raised:
        client.get_order(1)
    assert raised.value.transient
    assert len(responses.calls) == 4  # the first attempt and 3 retries
    assert len(sleeps) == 3
    assert 0.5 <= sleeps[0] <= 0.625 and 1.0 <= sleeps[1] <= 1.25 and 2.0 <= sleeps[2] <= 2.5


@responses.activate
def test_a_read_recovers_after_a_transient_failure(client, sleeps):
    responses.get(f"{API}/orders/1.json", status=503)
    responses.get(f"{API}/orders/1.json", body=requests.ReadTimeout())
    responses.get(f"{API}/orders/1.json", json={"order": {"id": 1}})
    assert client.get_order(1) == {"id": 1}
    assert len(responses.calls) == 3 and len(sleeps) == 2


@responses.activate
def test_a_post_is_not_retried_on_5xx_or_read_timeout(client, sleeps):
    responses.post(f"{API}/orders/1/history.json", status=500)
    with pytest.raises(JumpsellerUnavailable):
        client.create_order_history(1, "x")
    responses.replace(responses.POST, f"{API}/orders/1/history.json", body=requests.ReadTimeout())
    with pytest.raises(JumpsellerTimeout):
        client.create_order_history(1, "x")
    assert len(responses.calls) == 2 and sleeps == []


@responses.activate
def test_a_post_is_retried_when_the_connection_was_never_made(client, sleeps):
    responses.post(f"{API}/hooks.json", body=requests.ConnectTimeout())
    responses.post(f"{API}/hooks.json", json={"hook": {"id": 1, "event": "order_paid", "url": "u"}})
    assert client.create_hook("order_paid", "u").id == 1
    assert len(sleeps) == 1


@responses.activate
def test_429_waits_what_the_headers_say_and_retries_any_method(client, sleeps):
    responses.post(
        f"{API}/hooks.json",
        status=429,
        json={"message": "Too Many Requests"},
        headers={
            "Jumpseller-PerSecondRateLimit-Remaining": "0",
            "Jumpseller-PerMinuteRateLimit-Remaining": "500",
        },
    )
    responses.post(f"{API}/hooks.json", json={"hook": {"id": 1, "event": "order_paid", "url": "u"}})
    assert client.create_hook("order_paid", "u").id == 1
    assert len(sleeps) == 1 and 1.0 <= sleeps[0] <= 1.2


@responses.activate
def test_429_with_the_minute_budget_spent_is_left_to_the_caller(client, sleeps):
    responses.get(
        f"{API}/orders/1.json",
        status=429,
        headers={
            "Jumpseller-PerSecondRateLimit-Remaining": "5",
            "Jumpseller-PerMinuteRateLimit-Remaining": "0",
        },
    )
    with pytest.raises(JumpsellerRateLimited) as raised:
        client.get_order(1)
    assert raised.value.retry_after == 60.0
    assert len(responses.calls) == 1 and sleeps == []


@responses.activate
def test_a_ban_is_honoured_until_its_reset(client, sleeps):
    reset = (datetime.now(UTC) + timedelta(minutes=10)).replace(microsecond=0)
    responses.get(
        f"{API}/orders/1.json",
        status=429,
        headers={"Jumpseller-BannedByRateLimit-Reset": reset.isoformat()},
    )
    with pytest.raises(JumpsellerRateLimited) as raised:
        client.get_order(1)
    assert raised.value.banned_until == reset
    assert 590 <= raised.value.retry_after <= 600
    assert len(responses.calls) == 1 and sleeps == []


@responses.activate
def test_a_403_with_the_ban_header_is_a_rate_limit(client):
    reset = datetime.now(UTC) + timedelta(seconds=1)
    responses.get(
        f"{API}/orders/1.json", status=403, headers={"Jumpseller-BannedByRateLimit-Reset": reset.isoformat()}
    )
    responses.get(f"{API}/orders/1.json", json={"order": {"id": 1}})
    assert client.get_order(1) == {"id": 1}


@responses.activate
def test_remaining_zero_pauses_the_next_request(client, sleeps):
    responses.get(
        f"{API}/orders/1.json",
        json={"order": {"id": 1}},
        headers={"Jumpseller-PerSecondRateLimit-Remaining": "0"},
    )
    client.get_order(1)
    client.get_order(1)
    assert len(sleeps) == 1 and 0.9 < sleeps[0] <= 1.0


@responses.activate
def test_the_shared_budget_is_taken_before_every_request(sleeps):
    taken = []
    client = JumpsellerClient(base_url=API, access_token="t", throttle=lambda: taken.append(1), sleep=sleeps)
    responses.get(f"{API}/orders/count.json", json={"count": 1})
    client.count_orders()
    client.count_orders()
    assert len(taken) == 2


def test_an_exhausted_shared_budget_is_a_rate_limit_for_the_caller(sleeps):
    def throttle():
        raise BudgetExhausted(retry_after=42.0)

    client = JumpsellerClient(base_url=API, access_token="t", throttle=throttle, sleep=sleeps)
    with pytest.raises(JumpsellerRateLimited) as raised:
        client.count_orders()
    assert raised.value.retry_after == 42.0


@responses.activate
def test_a_401_is_retried_once_after_renewing_the_token(sleeps):
    class Renewing(JumpsellerClient):
        renewals = 0

        def _renew_token(self):
            self.renewals += 1
            return True

    client = Renewing(base_url=API, access_token="t", sleep=sleeps)
    responses.get(f"{API}/orders/1.json", status=401, json={"message": "Unauthorized"})
    with pytest.raises(JumpsellerUnauthorized):
        client.get_order(1)
    assert client.renewals == 1 and len(responses.calls) == 2


@responses.activate
def test_unexpected_shapes_are_permanent_errors(client):
    responses.get(f"{API}/store/info.json", json={"store": {"name": "sin código"}})
    with pytest.raises(JumpsellerPermanentError):
        client.store_info()
    responses.get(f"{API}/orders.json", json={"order": {}})
    with pytest.raises(JumpsellerPermanentError):
        client.list_orders()


def test_repr_hides_the_token():
    client = JumpsellerClient(base_url=API, access_token="secret-token-xyz")
    assert "secret-token-xyz" not in repr(client)


@responses.activate
def test_the_order_is_returned_whole(client):
    payload = fixture_json("webhook_order_paid__basic")
    responses.get(f"{API}/orders/10045.json", body=json.dumps(payload))
    assert client.get_order(10045) == payload["order"]


@responses.activate
def test_list_order_documents_reads_every_form_of_document_type(client):
    responses.get(
        f"{API}/orders/5001/documents.json",
        json=[
            {
                "document": {
                    "document_type": 1,
                    "public_id": "39-1000",
                    "external_id": "tok",
                    "url": "https://x/1",
                }
            },
            {"document": {"document_type": "0 - credit note", "public_id": "61-500", "order_id": 5001}},
        ],
    )
    documents = client.list_order_documents(5001)
    assert [(d.document_type, d.public_id) for d in documents] == [(1, "39-1000"), (0, "61-500")]
    assert documents[0].external_id == "tok"
