"""The fake OpenFactura over real sockets (live server): concurrent duplicates and real timeouts."""

from __future__ import annotations

import json
import threading
import time

import pytest
import requests

from sandbox.openfactura.models import Document, IdempotencyClaim

from .conftest import HAULMER_KEY, body

pytestmark = pytest.mark.django_db(transaction=True)


def _post(url: str, document: dict, key: str, timeout: float = 30) -> requests.Response:
    return requests.post(
        url,
        data=json.dumps(document),
        headers={"apikey": HAULMER_KEY, "Idempotency-Key": key, "Content-Type": "application/json"},
        timeout=timeout,
    )


def test_ten_simultaneous_identical_posts_make_one_document(live_server):
    url = f"{live_server.url}/sandbox/openfactura/v2/dte/document"
    document = body("boleta__27970")
    document["response"] = ["FOLIO", "PDF"]  # a slower emission widens the race window
    barrier = threading.Barrier(10)
    results: list[requests.Response] = []
    lock = threading.Lock()

    def worker():
        barrier.wait()
        response = _post(url, document, "js:7:5001:39")
        with lock:
            results.append(response)

    threads = [threading.Thread(target=worker) for _ in range(10)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)

    assert len(results) == 10
    winners = [r for r in results if r.status_code == 200]
    losers = [r for r in results if r.status_code != 200]
    assert len(winners) == 1
    token = winners[0].json()["TOKEN"]
    for loser in losers:
        assert loser.status_code == 400
        error = loser.json()["error"]
        assert error["code"] == "OF-06"
        if "token" in error:  # the winner had committed
            assert error["token"] == token
            assert error["details"] == [{"field": "token", "issue": token}]
        else:  # still in flight
            assert error["message"] == "Este DTE está siendo procesado (R)."
    assert Document.objects.count() == 1
    assert Document.objects.get().token == token
    assert IdempotencyClaim.objects.get().document.token == token
    # Once settled, every repeat carries the token.
    assert _post(url, document, "js:7:5001:39").json()["error"]["token"] == token


def test_a_timeout_fault_outlasts_the_client_and_wakes_on_delete(live_server):
    base = f"{live_server.url}/sandbox/openfactura"
    requests.post(f"{base}/faults", json={"timeout": 30}, timeout=5).raise_for_status()
    started = time.monotonic()
    with pytest.raises(requests.Timeout):
        _post(f"{base}/v2/dte/document", body("boleta__docs"), "t-1", timeout=1)
    requests.delete(f"{base}/faults", timeout=5).raise_for_status()  # the stalled request gives up now
    assert time.monotonic() - started < 10
    assert Document.objects.count() == 0
    assert _post(f"{base}/v2/dte/document", body("boleta__docs"), "t-1").status_code == 200
