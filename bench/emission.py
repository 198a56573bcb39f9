"""End-to-end emission benchmark: paid orders → documents, with real Celery workers and a slow OpenFactura.

Run from the repository root: ``python -m bench.emission [--stores 4] [--orders 25] [--latency-ms 300]
[--concurrency 4] [--deadline 180]``.

It creates a dedicated PostgreSQL database (``bench_emission``, dropped at the end) and starts, on
loopback, gunicorn (gthread) serving the product with its sandbox (``SANDBOX=1``: fake Jumpseller and fake
OpenFactura in the same server) and one ``celery worker`` (prefork, ``--concurrency`` slots) on Redis db
12. It installs ``--stores`` stores through the OAuth flow, gives each its own OpenFactura company
(``sandbox-<code>`` key: its own 3/s, 100/min budget), sets the fake OpenFactura's latency, creates
``--orders`` orders per store and pays them all (one paying thread per store), then waits (bounded by
``--deadline``) until every order has its document emitted.

Reported: throughput (documents ÷ time from the first payment to the last emission) against the bound
min(worker slots ÷ latency, Σ per-merchant limits); p50/p99 from payment to ``emitted_at``; the 429s the
fake OpenFactura answered (from gunicorn's access log); peak RSS of the web and Celery worker processes.
Target (issue 9): ≥ 90 % of the bound and 0 answers 429.
"""

from __future__ import annotations

import argparse
import os
import platform
import signal
import subprocess
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime
from pathlib import Path

import psycopg2
import requests

from bench.ingest import HOST, free_port, manage, scratch_database, vm_hwm_mb, wait_healthy, worker_pids

REPO_ROOT = Path(__file__).resolve().parent.parent
DB_NAME = "bench_emission"
BROKER = "redis://127.0.0.1:6379/12"
PAYERS_PER_STORE = 2  # paying threads per store
OF_PER_SECOND, OF_PER_MINUTE = 3, 100  # the fake OpenFactura's default per-key limits


def percentile(values: list[float], q: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(q * len(values)))] if values else float("nan")


def main() -> None:  # noqa: C901 - one linear script
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--stores", type=int, default=4)
    parser.add_argument("--orders", type=int, default=25, help="orders per store")
    parser.add_argument("--latency-ms", type=int, default=300)
    parser.add_argument("--concurrency", type=int, default=4, help="Celery worker slots")
    parser.add_argument("--deadline", type=float, default=180.0, help="seconds to wait for the emissions")
    args = parser.parse_args()
    from tests import flows
    from tests.conftest import Sandbox

    db_url = f"postgres://postgres@127.0.0.1:5432/{DB_NAME}"
    port = free_port()
    base = f"http://{HOST}:{port}"
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "openfactura_app.settings",
        "DATABASE_URL": db_url,
        "CELERY_BROKER_URL": BROKER,
        "CELERY_RESULT_BACKEND": BROKER,
        "SANDBOX": "1",
        "PUBLIC_BASE_URL": base,
        "DEBUG": "0",
        "LOG_LEVEL": "WARNING",
        "SANDBOX_WEBHOOK_RETRY_SCALE": "0",
    }
    env.pop("CACHE_URL", None)
    tmp = Path(tempfile.gettempdir())
    access_log = tmp / f"bench-emission-access-{os.getpid()}.log"
    processes: list[subprocess.Popen] = []
    with scratch_database(DB_NAME, BROKER, env):
        try:
            with (tmp / f"bench-emission-web-{os.getpid()}.log").open("wb") as log:
                web = subprocess.Popen(
                    [
                        sys.executable,
                        "-m",
                        "gunicorn",
                        "openfactura_app.wsgi",
                        "--bind",
                        f"{HOST}:{port}",
                        "--workers",
                        "3",
                        "--worker-class",
                        "gthread",
                        "--threads",
                        "16",
                        "--timeout",
                        "60",
                        "--access-logfile",
                        str(access_log),
                    ],
                    cwd=REPO_ROOT,
                    env=env,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    start_new_session=True,
                )
                processes.append(web)
                worker = subprocess.Popen(
                    [
                        sys.executable,
                        "-m",
                        "celery",
                        "-A",
                        "openfactura_app",
                        "worker",
                        "--loglevel=WARNING",
                        f"--concurrency={args.concurrency}",
                        "--without-gossip",
                        "--without-mingle",
                        "--hostname=bench@%h",
                    ],
                    cwd=REPO_ROOT,
                    env=env,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    start_new_session=True,
                )
                processes.append(worker)
            wait_healthy(port)
            from celery import Celery

            Celery("bench", broker=BROKER, backend=BROKER).send_task("core.ping").get(timeout=60)

            sandbox = Sandbox(url=base)
            codes = [f"bench{n}" for n in range(args.stores)]
            for code in codes:
                with requests.Session() as browser:
                    flows.install(browser, sandbox, code, f"Bench {code}")
            manage(
                env,
                "shell",
                "-c",
                "from emission import services; from emission.models import EmissionSettings; "
                "from integration.models import Store\n"
                "for s in Store.objects.filter(code__startswith='bench'):\n"
                "    services.emission_settings_for(store_id=s.pk)\n"
                "    EmissionSettings.objects.filter(store=s).update(\n"
                "        demo_mode=False, api_key='sandbox-' + s.code)",
            )
            with requests.Session() as control:
                flows.faults(control, sandbox, latency_ms=args.latency_ms)
                for code in codes:
                    for n in range(args.orders):
                        order = flows.example_order("afecta", id=20_000 + n)
                        flows.create_order(control, sandbox, code, order)
            paid_at: dict[tuple[str, int], float] = {}
            lock = threading.Lock()

            def pay_all(code: str, part: int) -> None:
                with requests.Session() as session:
                    for n in range(part, args.orders, PAYERS_PER_STORE):
                        moment = time.time()
                        flows.pay(session, sandbox, code, 20_000 + n)
                        with lock:
                            paid_at[(code, 20_000 + n)] = moment

            threads = [
                threading.Thread(target=pay_all, args=(code, part))
                for code in codes
                for part in range(PAYERS_PER_STORE)
            ]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join(timeout=args.deadline)
            pay_span = max(paid_at.values()) - min(paid_at.values())
            total = args.stores * args.orders
            conn = psycopg2.connect(db_url)
            conn.autocommit = True
            query = (
                "SELECT s.code, d.order_id, extract(epoch from d.emitted_at) FROM emission_document d "
                "JOIN integration_store s ON s.id = d.store_id WHERE d.state = 'emitted'"
            )
            deadline = time.monotonic() + args.deadline
            rows: list = []
            while time.monotonic() < deadline:
                with conn.cursor() as cur:
                    cur.execute(query)
                    rows = cur.fetchall()
                if len(rows) >= total:
                    break
                time.sleep(0.25)
            with conn.cursor() as cur:
                cur.execute("SELECT count(*) FROM emission_document")
                documents = cur.fetchone()[0]
            conn.close()
            web_rss = max((vm_hwm_mb(p) for p in worker_pids(web.pid)), default=0.0)
            celery_rss = max([vm_hwm_mb(worker.pid)] + [vm_hwm_mb(p) for p in worker_pids(worker.pid)])
            with requests.Session() as control:
                flows.faults(control, sandbox)
                accepted = len(flows.openfactura_documents(control, sandbox))
        finally:
            for process in reversed(processes):
                if process.poll() is None:
                    os.killpg(process.pid, signal.SIGTERM)
                    try:
                        process.wait(timeout=30)
                    except subprocess.TimeoutExpired:
                        os.killpg(process.pid, signal.SIGKILL)
                        process.wait()

    of_lines = [line for line in access_log.read_text().splitlines() if "/sandbox/openfactura/v2/" in line]
    of_429 = sum(1 for line in of_lines if '" 429 ' in line)
    latencies = [float(emitted) - paid_at[(code, order)] for code, order, emitted in rows]
    emitted = len(rows)
    first_pay = min(paid_at.values()) if paid_at else 0.0
    span = (max(float(r[2]) for r in rows) - first_pay) if rows else float("nan")
    throughput = emitted / span if rows else 0.0
    # Steady state: between the 10th and the 90th percentile emission (no start-up or tail).
    times = sorted(float(r[2]) for r in rows)
    lo, hi = int(0.1 * len(times)), int(0.9 * len(times)) - 1
    steady = (hi - lo) / (times[hi] - times[lo]) if len(times) >= 10 and times[hi] > times[lo] else 0.0
    slots_bound = args.concurrency / (args.latency_ms / 1000)
    limits_bound = args.stores * OF_PER_SECOND if span < 60 else args.stores * OF_PER_MINUTE / 60
    bound = min(slots_bound, limits_bound)
    print(f"BENCH emission_throughput {throughput:.2f} documents/s")
    print(f"BENCH emission_steady_throughput {steady:.2f} documents/s")
    print(f"BENCH emission_bound {bound:.2f} documents/s")
    print(f"BENCH emission_vs_bound_ratio {throughput / bound:.2f} ratio")
    print(f"BENCH emission_steady_vs_bound_ratio {steady / bound:.2f} ratio")
    print(f"BENCH emission_paid_to_emitted_p50 {percentile(latencies, 0.5):.2f} s")
    print(f"BENCH emission_paid_to_emitted_p99 {percentile(latencies, 0.99):.2f} s")
    print(f"BENCH emission_openfactura_429 {of_429} responses")
    print(f"BENCH web_worker_peak_rss {web_rss:.1f} MB")
    print(f"BENCH celery_worker_peak_rss {celery_rss:.1f} MB")
    print()
    print(
        f"{args.stores} stores × {args.orders} orders, OpenFactura latency {args.latency_ms} ms, "
        f"{args.concurrency} worker slots; {os.cpu_count()} cores, Python {platform.python_version()}, "
        f"{datetime.now(UTC).date().isoformat()}"
    )
    print(
        "| orders | emitted | documents (db / OpenFactura) | span s | docs/s | bound | p50 s | p99 s | 429s |"
    )
    print("|---:|---:|---|---:|---:|---:|---:|---:|---:|")
    print(
        f"| {total} | {emitted} | {documents} / {accepted} | {span:.1f} | {throughput:.2f} | "
        f"{bound:.2f} (slots {slots_bound:.1f}, limits {limits_bound:.1f}) | "
        f"{percentile(latencies, 0.5):.2f} | {percentile(latencies, 0.99):.2f} | {of_429} |"
    )
    print(f"payments: {len(paid_at)} in {pay_span:.1f} s ({len(paid_at) / max(pay_span, 1e-9):.1f}/s)")
    print(f"OpenFactura requests: {len(of_lines)}; access log: {access_log}")
    if emitted != total or accepted != total:
        print("MISMATCH: not every order was emitted exactly once", file=sys.stderr)
        raise SystemExit(1)


if __name__ == "__main__":
    main()
