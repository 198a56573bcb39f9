"""Issue 16, the scheduler, on the production path: a spent budget never holds a worker slot.

One real worker process with ONE slot. Store "gastada"'s OpenFactura key has spent its minute (its window
in Redis is full); store "libre" has its own key. Both are paid: libre's document is emitted at once while
gastada's wait as "pendiente", booked for the moment their window frees (no failed attempt, no pause),
and then go out in the order they were paid.
"""

from __future__ import annotations

import time

import pytest
import redis
import requests

from core import ratelimit
from emission import services
from emission.models import Document, DocumentState, EmissionAttempt, EmissionSettings
from integration.models import Store
from tests import flows
from tests.conftest import publishing, wait_until

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]

WINDOW_FREES_IN = 15.0  # seconds until gastada's key may send again


def _store(sandbox, code: str) -> Store:
    with requests.Session() as browser:  # one merchant's browser per store
        flows.install(browser, sandbox, code, f"Tienda {code}")
    store = Store.objects.get(code=code)
    flows.configure(store, demo_mode=False, api_key=f"sandbox-{code}")
    # The issuer is read once per store, before the budget is spent: what waits here is the send itself.
    services.organization_refresh(cfg=services.emission_settings_for(store_id=store.pk))
    return store


def _spend_the_minute(broker_url: str, api_key: str) -> None:
    """Fill the key's minute window as if its 100 requests had gone out 45 s ago."""
    client = redis.Redis.from_url(broker_url)
    seconds, micros = client.time()
    at = seconds + micros / 1_000_000 - (60.0 - WINDOW_FREES_IN)
    key = ratelimit.openfactura_budget_key(api_key)
    for count, period in ratelimit.OPENFACTURA_LIMITS:
        name = f"of:rl:{key}:{count}/{period:g}"
        client.zadd(name, {f"spent-{n}": at for n in range(count)})
        client.expire(name, 120)


def test_a_spent_budget_never_holds_the_only_worker_slot(start_worker, sandbox, http):
    gastada = _store(sandbox, "gastada")
    libre = _store(sandbox, "libre")
    worker = start_worker(concurrency=1, broker_db=13)
    try:
        _run(worker, sandbox, http, gastada, libre)
    finally:
        # Its deliveries may still be running: stopped here, it never writes while the next test's
        # database is flushed (a deadlock, then rows left over for the next test).
        worker.stop()


def _run(worker, sandbox, http, gastada, libre) -> None:
    _spend_the_minute(worker.broker_url, "sandbox-gastada")
    for order_id in (9601, 9602):
        flows.create_order(http, sandbox, "gastada", flows.example_order("afecta", id=order_id))
    flows.create_order(http, sandbox, "libre", flows.example_order("afecta", id=9701))

    with publishing(worker):
        paid_at = time.monotonic()
        flows.pay(http, sandbox, "gastada", 9601)
        flows.pay(http, sandbox, "gastada", 9602)
        flows.pay(http, sandbox, "libre", 9701)

        wait_until(
            lambda: Document.objects.filter(store=libre, state=DocumentState.EMITTED).exists(), timeout=30
        )
        # libre went out long before gastada's window frees, through the one slot gastada could not hold.
        assert time.monotonic() - paid_at < WINDOW_FREES_IN - 3
        waiting = list(Document.objects.filter(store=gastada).order_by("order_id"))
        assert [(d.order_id, d.state, d.attempts) for d in waiting] == [
            (9601, DocumentState.PENDING, 0),
            (9602, DocumentState.PENDING, 0),
        ]
        assert all(d.next_attempt_at is not None for d in waiting)  # booked, so the sweeper leaves them
        assert not EmissionAttempt.objects.filter(store=gastada).exists()  # a deferral is not a failure
        assert not EmissionSettings.objects.get(store=gastada).queue_paused

        wait_until(
            lambda: Document.objects.filter(store=gastada, state=DocumentState.EMITTED).count() == 2,
            timeout=60,
        )
    emitted = list(Document.objects.filter(store=gastada).order_by("emitted_at"))
    assert [d.order_id for d in emitted] == [9601, 9602]  # in the order they were paid
    assert time.monotonic() - paid_at >= WINDOW_FREES_IN - 3
    assert [a.outcome for a in EmissionAttempt.objects.filter(store=gastada)] == ["emitted", "emitted"]
    keys = sorted(d["idempotency_key"] for d in flows.openfactura_documents(http, sandbox))
    assert len(keys) == 3 and len(set(keys)) == 3
