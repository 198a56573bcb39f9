"""Fault injection: Redis and PostgreSQL going away under real Celery workers (issue 9).

* Redis stopped while webhooks arrive — the test runs its own ``redis-server`` (the machine's Redis is
  shared with the other tests) and kills it with SIGKILL: the messages already queued are lost with it
  (it keeps nothing on disk) and the deliveries that arrive meanwhile are answered 200 and stored. Once
  Redis is back, the sweeper queues both kinds again: every order gets exactly one document, one email
  and one attachment.
* PostgreSQL restarted mid-run — as the workers see a restart: every connection to the test database
  is terminated and new ones are refused (``ALLOW_CONNECTIONS false``) for a few seconds while they
  are emitting; then the sweepers run as beat would, and every order ends with exactly one document.

Run: ``./test -m faults``.
"""

from __future__ import annotations

import signal
import socket
import subprocess
import time
from contextlib import contextmanager
from datetime import timedelta

import pytest
import redis
from django.db import connection
from django.utils import timezone

from emission import services as emission_services
from emission.models import Document, DocumentState
from integration import services as integration_services
from integration.models import WebhookEvent
from tests import flows
from tests.conftest import WorkerHandle, publishing, wait_until

from .test_faults import _assert_once_per_order, _delivered, _install

pytestmark = [pytest.mark.faults, pytest.mark.worker, pytest.mark.django_db(transaction=True)]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _redis_server(port: int) -> subprocess.Popen:
    process = subprocess.Popen(
        ["redis-server", "--bind", "127.0.0.1", "--port", str(port), "--save", "", "--appendonly", "no"],
        stdout=subprocess.DEVNULL,
    )
    client = redis.Redis(port=port)
    wait_until(lambda: _answers(client), timeout=10)
    return process


def _answers(client: redis.Redis) -> bool:
    try:
        return bool(client.ping())
    except redis.ConnectionError:
        return False


def _sweep_until(predicate, *, timeout: float) -> None:
    """Run the sweepers as beat does (now as if their waiting periods had passed) until ``predicate``."""

    def swept() -> bool:
        if predicate():
            return True
        integration_services.webhook_events_dispatch_pending(older_than=0, lost_after=0)
        emission_services.emission_sweep(now=timezone.now() + timedelta(minutes=5))
        time.sleep(1)
        return predicate()

    wait_until(swept, timeout=timeout, interval=0.5)


def test_redis_stopped_while_webhooks_arrive_loses_nothing(start_worker, sandbox, http):
    store = _install(http, sandbox, "sinredis")
    queued_then_lost, during_outage = [9701, 9702, 9703], [9704, 9705, 9706]
    for order_id in queued_then_lost + during_outage:
        flows.create_order(http, sandbox, "sinredis", flows.example_order("afecta", id=order_id))
    port = _free_port()
    broker = f"redis://127.0.0.1:{port}/0"
    server = _redis_server(port)
    try:
        with publishing(WorkerHandle(broker_url=broker, process=None)):
            for order_id in queued_then_lost:  # queued; no worker is consuming yet
                assert [d["status"] for d in flows.pay(http, sandbox, "sinredis", order_id)] == [200]
            assert redis.Redis(port=port).llen("celery") == 3
            server.send_signal(signal.SIGKILL)  # Redis dies: the 3 queued messages die with it
            server.wait(timeout=10)
            for order_id in during_outage:  # answered 200 and stored, although nothing can be queued
                assert [d["status"] for d in flows.pay(http, sandbox, "sinredis", order_id)] == [200]
        events = WebhookEvent.objects.filter(store=store, event="order_paid")
        assert events.count() == 6
        assert set(events.filter(order_id__in=during_outage).values_list("status", flat=True)) == {"received"}
        assert set(events.filter(order_id__in=queued_then_lost).values_list("status", flat=True)) == {
            "dispatched"
        }
        assert Document.objects.filter(store=store).count() == 0

        server = _redis_server(port)  # back, empty
        worker = start_worker(concurrency=2, broker=broker)
        with publishing(worker):
            _sweep_until(lambda: _delivered([store]) == 6, timeout=90)
        worker.stop()
    finally:
        if server.poll() is None:
            server.kill()
            server.wait(timeout=10)

    _assert_once_per_order(http, sandbox, {"sinredis": queued_then_lost + during_outage})


@contextmanager
def _postgres_down(database: str):
    """What workers see of a restart: their connections are cut and new ones refused until it ends.

    Done from the ``postgres`` database (a database cannot refuse connections to itself)."""
    import psycopg2

    params = connection.settings_dict
    admin = psycopg2.connect(
        dbname="postgres", user=params["USER"] or "postgres", host=params["HOST"], port=params["PORT"]
    )
    admin.autocommit = True
    try:
        with admin.cursor() as cursor:
            cursor.execute(f'ALTER DATABASE "{database}" ALLOW_CONNECTIONS false')
            cursor.execute(
                "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE datname = %s",
                [database],
            )
            cut = cursor.fetchone()[0]
        yield cut
    finally:
        with admin.cursor() as cursor:
            cursor.execute(f'ALTER DATABASE "{database}" ALLOW_CONNECTIONS true')
        admin.close()


def test_postgresql_restarted_mid_run_workers_recover_and_nothing_is_lost(start_worker, sandbox, http):
    store = _install(http, sandbox, "reinicio")
    order_ids = list(range(9801, 9811))
    for order_id in order_ids:
        flows.create_order(http, sandbox, "reinicio", flows.example_order("afecta", id=order_id))
    flows.faults(http, sandbox, latency_ms=400)  # emissions are in flight when the database goes away
    worker = start_worker(concurrency=4, broker_db=7)
    with publishing(worker):
        for order_id in order_ids:
            flows.pay(http, sandbox, "reinicio", order_id)
        wait_until(lambda: Document.objects.filter(store=store).exists(), timeout=60)
        with _postgres_down(connection.settings_dict["NAME"]) as cut:
            assert cut >= 1  # the workers' connections (and the live server's) were cut
            time.sleep(4)
        connection.close()  # this process's connection was cut too
        emitted_before = Document.objects.filter(store=store, state=DocumentState.EMITTED).count()
        assert emitted_before < len(order_ids)  # the outage really hit the run
        flows.faults(http, sandbox)
        _sweep_until(lambda: _delivered([store]) == len(order_ids), timeout=120)
    worker.stop()

    assert Document.objects.filter(store=store).count() == len(order_ids)
    _assert_once_per_order(http, sandbox, {"reinicio": order_ids})
