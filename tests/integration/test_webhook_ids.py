"""The webhook's ``order.id``: a JSON integer or a string of ASCII digits written the canonical way.

``int()`` alone takes Unicode digits, underscores, signs, padding and leading zeros; Jumpseller writes none
of them, so such a delivery is recorded invalid (400) and nothing is processed.
"""

from __future__ import annotations

import json

import pytest

from integration import services
from integration.models import WebhookEvent
from integration.webhooks import _order_id

from .conftest import deliver

pytestmark = pytest.mark.django_db

REFUSED = [
    "١٢٣",  # Arabic-Indic digits
    "１００２",  # full-width digits
    "1_002",
    " 1002",
    "1002 ",
    "\t1002\n",
    "0001002",
    "0",
    "+1002",
    "-1002",
    "1002.0",
    "1e3",
    "",
    "9223372036854775808",  # 2**63: past the bigint column
    "1" * 5000,
    True,
    False,
    1.0,
    1e3,
    0,
    -5,
    2**63,
    None,
    [1002],
    {"id": 1002},
]


@pytest.fixture
def queued(monkeypatch) -> list[int]:
    published: list[int] = []
    monkeypatch.setattr(services, "enqueue_event_processing", lambda event_id: published.append(event_id))
    return published


@pytest.mark.parametrize("raw", REFUSED, ids=repr)
def test_anything_but_a_canonical_id_is_refused(raw):
    assert _order_id(raw) is None


@pytest.mark.parametrize("raw", [1002, "1002", 1, "9223372036854775807"], ids=repr)
def test_a_json_integer_or_an_ascii_digit_string_is_accepted(raw):
    assert _order_id(raw) == int(raw)


@pytest.mark.parametrize(
    "id_json",
    ['"١٢٣"', '"1_002"', '" 1002"', '"1002 "', '"0001002"', '"+1002"', "true", "1.0", '"1e3"', "1e3"],
)
def test_a_delivery_with_a_refused_id_is_400_recorded_invalid_and_not_queued(
    store, csrf_client, queued, django_capture_on_commit_callbacks, id_json
):
    body = b'{"order": {"id": ' + id_json.encode() + b', "status": "Paid"}}'
    with django_capture_on_commit_callbacks(execute=True):
        response = deliver(csrf_client, body)
    assert response.status_code == 400
    event = WebhookEvent.objects.get()
    assert response.json() == {"message": "El cuerpo no trae un order.id válido.", "id": event.pk}
    assert event.status == WebhookEvent.Status.INVALID and event.order_id is None
    assert queued == []


@pytest.mark.parametrize("order_id", [1002, "1002"], ids=repr)
def test_a_delivery_with_a_canonical_id_is_accepted(
    store, csrf_client, queued, django_capture_on_commit_callbacks, order_id
):
    body = json.dumps({"order": {"id": order_id, "status": "Paid"}}).encode()
    with django_capture_on_commit_callbacks(execute=True):
        response = deliver(csrf_client, body)
    assert response.status_code == 200
    event = WebhookEvent.objects.get()
    assert event.order_id == 1002 and event.status == WebhookEvent.Status.DISPATCHED
    assert queued == [event.pk]
