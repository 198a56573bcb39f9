"""The production path: real Celery worker processes on Redis and PostgreSQL, the sandbox over HTTP.

Duplicate concurrent webhooks, a worker killed after OpenFactura answered (before our commit) and two
sweeps at once: every order still ends with exactly one document, one email and one attachment.
"""

from __future__ import annotations

import signal
import threading

import pytest
from django.db import connection

from emission import services
from emission.models import Document, DocumentState
from integration.models import Store
from tests import flows
from tests.conftest import publishing, wait_until

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def shop(sandbox, http):
    flows.install(http, sandbox, "obrera", "Tienda Obrera")
    store = Store.objects.get(code="obrera")
    flows.configure(store, demo_attach_documents=True)  # demo documents attached too (off by default)
    return store


def _emitted(store: Store, count: int) -> bool:
    return Document.objects.filter(store=store, state=DocumentState.EMITTED).count() == count


def test_concurrent_duplicate_deliveries_make_one_document_per_order(publishing_to, sandbox, http, shop):
    order_ids = [8101, 8102, 8103, 8104]
    for order_id in order_ids:
        flows.create_order(http, sandbox, "obrera", flows.example_order("con_despacho", id=order_id))
    for order_id in order_ids:
        statuses = [d["status"] for d in flows.pay(http, sandbox, "obrera", order_id, deliveries=10)]
        assert statuses == [200] * 10

    wait_until(lambda: _emitted(shop, 4), timeout=90)
    wait_until(
        lambda: (
            Document.objects.filter(
                store=shop, attached_at__isnull=False, email_sent_at__isnull=False
            ).count()
            == 4
        ),
        timeout=60,
    )
    sent = flows.openfactura_documents(http, sandbox)
    assert sorted(int(d["idempotency_key"].split(":")[2]) for d in sent) == order_ids
    assert len(flows.mails(http, sandbox)) == 4
    for order_id in order_ids:
        assert len(flows.jumpseller_documents(http, sandbox, "obrera", order_id)) == 1


def test_worker_killed_after_openfactura_answered_ends_with_one_document(start_worker, sandbox, http, shop):
    # OpenFactura stores the document, then stalls before answering: the worker dies in between.
    flows.faults(http, sandbox, timeout_after_emit=True, timeout_seconds=30, scope="emit")
    doomed = start_worker(broker_db=14, EMISSION_SENDING_LEASE_SECONDS="2")
    with publishing(doomed):
        flows.create_order(http, sandbox, "obrera", flows.example_order("afecta", id=8201))
        flows.pay(http, sandbox, "obrera", 8201)
        wait_until(lambda: len(flows.openfactura_documents(http, sandbox)) == 1, timeout=60)
        wait_until(
            lambda: Document.objects.filter(store=shop, state=DocumentState.SENDING).exists(), timeout=30
        )
        doomed.stop(signal.SIGKILL)
    flows.faults(http, sandbox)

    document = Document.objects.get(store=shop, order_id=8201)
    assert document.state == DocumentState.SENDING and not document.token  # the answer never reached us

    rescuer = start_worker(broker_db=14, EMISSION_SENDING_LEASE_SECONDS="2")

    def recovered():
        rescuer.send("emission.sweep").get(timeout=30)  # beat does this every minute
        return _emitted(shop, 1)

    wait_until(recovered, timeout=60, interval=1.0)
    document.refresh_from_db()
    [sent] = flows.openfactura_documents(http, sandbox)
    assert (document.token, document.folio) == (sent["token"], sent["folio"])
    # The request the killed worker made is on record (it may have created the document: it had).
    assert [a.outcome for a in document.emission_attempts.all()] == ["lost", "duplicate"]
    wait_until(lambda: len(flows.jumpseller_documents(http, sandbox, "obrera", 8201)) == 1, timeout=30)
    assert len(flows.mails(http, sandbox)) == 1
    rescuer.stop()


def test_two_sweeps_at_once_send_a_due_document_once(sandbox, http, shop):
    flows.faults(
        http, sandbox, status=503, error_rate=1, count=1, scope="emit"
    )  # the first send fails, then recovers
    flows.create_order(http, sandbox, "obrera", flows.example_order("afecta", id=8301))
    flows.pay(http, sandbox, "obrera", 8301)
    document = Document.objects.get(store=shop, order_id=8301)
    assert document.state == DocumentState.FAILED_RETRYING

    barrier = threading.Barrier(2)

    def sweep():
        try:
            barrier.wait()
            services.emission_sweep(now=document.next_attempt_at)
        finally:
            connection.close()

    threads = [threading.Thread(target=sweep) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    document.refresh_from_db()
    assert document.state == DocumentState.EMITTED
    assert len(flows.openfactura_documents(http, sandbox)) == 1
    assert [a.outcome for a in document.emission_attempts.all()] == ["transient", "emitted"]
