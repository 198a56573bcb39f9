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

Worker slot time (issue 16): the worker logs at INFO, as in production, and every task run's duration
("succeeded in 0.27s") is summed: slot-seconds and task runs per document, the share of slot time the
OpenFactura calls account for (requests × latency), and what the slots allow (slots ÷ slot-seconds per
document), i.e. the bound once every task's own time counts. ``--dump FILE`` writes each order's payment,
webhook receipt, document creation and emission times (JSON) for a timeline.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
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
# Shared machines: point the run at your own Redis and database names (BENCH_REDIS_URL, BENCH_DB_PREFIX).
DB_NAME = os.environ.get("BENCH_DB_PREFIX", "bench") + "_emission"
BROKER = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379").rstrip("/") + "/12"
PAYERS_PER_STORE = 2  # paying threads per store
OF_PER_SECOND, OF_PER_MINUTE = 3, 100  # the fake OpenFactura's default per-key limits


def percentile(values: list[float], q: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(q * len(values)))] if values else float("nan")


SCENARIOS = ("default", "noisy", "scale", "lowload")
TASK_DONE = re.compile(r"Task [\w.]+\[[\w-]+\] succeeded in ([0-9.]+)s")


def machine_cpu() -> tuple[float, float]:
    """(busy, total) jiffies of the whole machine so far (``/proc/stat``): how saturated the run was."""
    fields = [float(v) for v in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    idle = fields[3] + (fields[4] if len(fields) > 4 else 0.0)
    return sum(fields) - idle, sum(fields)


def best_span(count: int, limits: tuple[tuple[int, float], ...], latency: float) -> float:
    """The shortest time ``count`` requests can take under every sliding-window limit (greedy schedule)."""
    starts: list[float] = []
    for i in range(count):
        t = 0.0
        for n, period in limits:
            if i >= n:
                t = max(t, starts[i - n] + period)
        starts.append(t)
    return (starts[-1] if starts else 0.0) + latency


def plan_for(args) -> tuple[list[str], list[list[tuple[str, int, float | None]]]]:
    """Store codes and the paying lanes: each lane is a thread paying (code, order id, at offset or ASAP)."""
    if args.scenario == "noisy":
        others = ["benchb", "benchc", "benchd", "benche"]
        lanes: list[list[tuple[str, int, float | None]]] = [
            [("bencha", 20_000 + n, None) for n in range(part, args.noisy_orders, 6)] for part in range(6)
        ]
        for k, code in enumerate(others):
            count = int(args.noisy_seconds // 2)
            lanes.append([(code, 20_000 + n, 0.5 * k + 2.0 * n) for n in range(count)])
        return ["bencha", *others], lanes
    if args.scenario == "lowload":
        return ["bench0"], [[("bench0", 20_000 + n, float(n)) for n in range(args.lowload_seconds)]]
    stores, orders = (200, 2) if args.scenario == "scale" else (args.stores, args.orders)
    codes = [f"bench{n}" for n in range(stores)]
    jobs = [(code, 20_000 + n, None) for n in range(orders) for code in codes]
    lanes_count = min(16, stores * PAYERS_PER_STORE)
    return codes, [jobs[part::lanes_count] for part in range(lanes_count)]


def main() -> None:  # noqa: C901, PLR0915 - one linear script
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--scenario", choices=SCENARIOS, default="default")
    parser.add_argument("--stores", type=int, default=4)
    parser.add_argument("--orders", type=int, default=25, help="orders per store")
    parser.add_argument("--noisy-orders", type=int, default=300, help="noisy: orders store A pays at once")
    parser.add_argument("--noisy-seconds", type=float, default=150, help="noisy: B–E pay every 2 s this long")
    parser.add_argument("--lowload-seconds", type=int, default=30, help="lowload: one order a second")
    parser.add_argument("--latency-ms", type=int, default=300)
    parser.add_argument("--concurrency", type=int, default=4, help="Celery worker slots")
    parser.add_argument("--deadline", type=float, default=None, help="seconds to wait for the emissions")
    parser.add_argument("--dump", default="", help="write each order's payment and emission times (JSON)")
    args = parser.parse_args()
    if args.deadline is None:
        args.deadline = {"noisy": 420.0, "scale": 300.0}.get(args.scenario, 180.0)
    from bench.ingest import cpu_seconds
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
    worker_log_path = tmp / f"bench-emission-worker-{os.getpid()}.log"
    processes: list[subprocess.Popen] = []
    codes, lanes = plan_for(args)
    total = sum(len(lane) for lane in lanes)
    with scratch_database(DB_NAME, BROKER, env):
        try:
            with (
                (tmp / f"bench-emission-web-{os.getpid()}.log").open("wb") as log,
                worker_log_path.open("wb") as worker_log,
            ):
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
                        "--loglevel=INFO",
                        f"--concurrency={args.concurrency}",
                        "--without-gossip",
                        "--without-mingle",
                        "--hostname=bench@%h",
                    ],
                    cwd=REPO_ROOT,
                    env={**env, "LOG_LEVEL": "INFO"},  # as in production: Celery logs each task's duration
                    stdout=worker_log,
                    stderr=subprocess.STDOUT,
                    start_new_session=True,
                )
                processes.append(worker)
            wait_healthy(port)
            from celery import Celery

            Celery("bench", broker=BROKER, backend=BROKER).send_task("core.ping").get(timeout=60)

            sandbox = Sandbox(url=base)
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
                for lane in lanes:
                    for code, order_id, _ in lane:
                        order = flows.example_order("afecta", id=order_id)
                        flows.create_order(control, sandbox, code, order)
            paid_at: dict[tuple[str, int], float] = {}
            lock = threading.Lock()
            worker_all = [worker.pid, *worker_pids(worker.pid)]
            cpu_before = sum(cpu_seconds(p) for p in worker_all)
            web_before = sum(cpu_seconds(p) for p in [web.pid, *worker_pids(web.pid)])
            machine_before = machine_cpu()
            start = time.time() + 0.5

            def pay_lane(lane: list[tuple[str, int, float | None]]) -> None:
                with requests.Session() as session:
                    for code, order_id, offset in lane:
                        if offset is not None:
                            time.sleep(max(0.0, start + offset - time.time()))
                        moment = time.time()
                        flows.pay(session, sandbox, code, order_id)
                        with lock:
                            paid_at[(code, order_id)] = moment

            threads = [threading.Thread(target=pay_lane, args=(lane,)) for lane in lanes]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join(timeout=args.deadline)
            pay_span = max(paid_at.values()) - min(paid_at.values())
            conn = psycopg2.connect(db_url)
            conn.autocommit = True
            query = (
                "SELECT s.code, d.order_id, extract(epoch from d.emitted_at), "
                "extract(epoch from d.email_sent_at), extract(epoch from d.created_at), "
                "(SELECT extract(epoch from min(e.received_at)) FROM integration_webhookevent e "
                "WHERE e.store_id = d.store_id AND e.order_id = d.order_id) FROM emission_document d "
                "JOIN integration_store s ON s.id = d.store_id WHERE d.state = 'emitted'"
            )
            deadline = time.monotonic() + args.deadline
            rows: list = []
            while time.monotonic() < deadline:
                with conn.cursor() as cur:
                    cur.execute(query)
                    rows = cur.fetchall()
                if len(rows) >= total and (args.scenario != "lowload" or all(r[3] is not None for r in rows)):
                    break
                time.sleep(0.25)
            with conn.cursor() as cur:
                cur.execute("SELECT count(*) FROM emission_document")
                documents = cur.fetchone()[0]
                cur.execute(
                    "SELECT count(*) FROM emission_emissionattempt WHERE outcome NOT IN "
                    "('emitted', 'recovered', 'duplicate')"
                )
                failed_attempts = cur.fetchone()[0]
                cur.execute("SELECT count(*) FROM emission_emissionsettings WHERE queue_paused")
                paused = cur.fetchone()[0]
            conn.close()
            worker_all = [worker.pid, *worker_pids(worker.pid)]
            worker_cpu = sum(cpu_seconds(p) for p in worker_all) - cpu_before
            web_cpu = sum(cpu_seconds(p) for p in [web.pid, *worker_pids(web.pid)]) - web_before
            machine_after = machine_cpu()
            web_rss = max((vm_hwm_mb(p) for p in worker_pids(web.pid)), default=0.0)
            celery_rss = max([vm_hwm_mb(worker.pid)] + [vm_hwm_mb(p) for p in worker_pids(worker.pid)])
            with requests.Session() as control:
                flows.faults(control, sandbox)
                sent = flows.openfactura_documents(control, sandbox)
        finally:
            for process in reversed(processes):
                if process.poll() is None:
                    os.killpg(process.pid, signal.SIGTERM)
                    try:
                        process.wait(timeout=30)
                    except subprocess.TimeoutExpired:
                        os.killpg(process.pid, signal.SIGKILL)
                        process.wait()

    if args.dump:
        Path(args.dump).write_text(
            json.dumps(
                [
                    {
                        "store": r[0],
                        "order": r[1],
                        "paid": paid_at[(r[0], r[1])],
                        "received": float(r[5]) if r[5] is not None else None,
                        "created": float(r[4]),
                        "emitted": float(r[2]),
                    }
                    for r in rows
                ]
            )
        )
    accepted = len(sent)
    distinct = len({d.get("idempotency_key") for d in sent})
    of_lines = [line for line in access_log.read_text().splitlines() if "/sandbox/openfactura/v2/" in line]
    of_429 = sum(1 for line in of_lines if '" 429 ' in line)
    latencies = [float(r[2]) - paid_at[(r[0], r[1])] for r in rows]
    emitted = len(rows)
    lost = total - emitted
    duplicated = max(0, accepted - distinct) + max(0, documents - total)
    first_pay = min(paid_at.values()) if paid_at else 0.0
    span = (max(float(r[2]) for r in rows) - first_pay) if rows else float("nan")
    throughput = emitted / span if rows else 0.0
    # Steady state: between the 10th and the 90th percentile emission (no start-up or tail).
    times = sorted(float(r[2]) for r in rows)
    lo, hi = int(0.1 * len(times)), int(0.9 * len(times)) - 1
    steady = (hi - lo) / (times[hi] - times[lo]) if len(times) >= 10 and times[hi] > times[lo] else 0.0
    cpu_ms = 1000 * worker_cpu / max(emitted, 1)
    # Worker slot time: every task run's duration from Celery's own log line ("succeeded in 0.27s").
    task_seconds = [float(m) for m in TASK_DONE.findall(worker_log_path.read_text(errors="replace"))]
    slot_seconds = sum(task_seconds) / max(emitted, 1)
    provider_share = (len(of_lines) * args.latency_ms / 1000) / max(sum(task_seconds), 1e-9)
    name = {"default": "emission", "noisy": "emission_noisy", "scale": "emission_scale200"}.get(
        args.scenario, "emission_lowload"
    )
    if args.scenario in ("default", "scale"):
        stores = len(codes)
        slots_bound = args.concurrency / (args.latency_ms / 1000)
        limits_bound = stores * OF_PER_SECOND if span < 60 else stores * OF_PER_MINUTE / 60
        bound = min(slots_bound, limits_bound)
        print(f"BENCH {name}_throughput {throughput:.2f} documents/s")
        print(f"BENCH {name}_steady_throughput {steady:.2f} documents/s")
        print(f"BENCH {name}_bound {bound:.2f} documents/s")
        print(f"BENCH {name}_vs_bound_ratio {throughput / bound:.2f} ratio")
        print(f"BENCH {name}_steady_vs_bound_ratio {steady / bound:.2f} ratio")
    print(f"BENCH {name}_paid_to_emitted_p50 {percentile(latencies, 0.5):.2f} s")
    print(f"BENCH {name}_paid_to_emitted_p99 {percentile(latencies, 0.99):.2f} s")
    if args.scenario == "noisy":
        a_rows = [r for r in rows if r[0] == "bencha"]
        a_first = min(v for (code, _), v in paid_at.items() if code == "bencha")
        a_span = max(float(r[2]) for r in a_rows) - a_first if a_rows else float("nan")
        limits = ((OF_PER_SECOND, 1.0), (OF_PER_MINUTE, 60.0))
        ideal = best_span(args.noisy_orders, limits, args.latency_ms / 1000)
        others = [float(r[2]) - paid_at[(r[0], r[1])] for r in rows if r[0] != "bencha"]
        print(f"BENCH {name}_a_drain_rate {len(a_rows) / a_span:.2f} documents/s")
        print(f"BENCH {name}_a_best_rate {args.noisy_orders / ideal:.2f} documents/s")
        print(f"BENCH {name}_a_drain_vs_best_ratio {ideal / a_span:.2f} ratio")
        print(f"BENCH {name}_others_paid_to_emitted_p50 {percentile(others, 0.5):.2f} s")
        print(f"BENCH {name}_others_paid_to_emitted_p99 {percentile(others, 0.99):.2f} s")
    if args.scenario == "lowload":
        emails = [float(r[3]) - paid_at[(r[0], r[1])] for r in rows if r[3] is not None]
        print(f"BENCH {name}_paid_to_email_p50 {percentile(emails, 0.5):.2f} s")
        print(f"BENCH {name}_paid_to_email_p99 {percentile(emails, 0.99):.2f} s")
    print(f"BENCH {name}_openfactura_429 {of_429} responses")
    print(f"BENCH {name}_task_runs_per_document {len(task_seconds) / max(emitted, 1):.2f} runs")
    print(f"BENCH {name}_slot_seconds_per_document {slot_seconds:.3f} s")
    print(f"BENCH {name}_slot_seconds_in_openfactura_share {provider_share:.2f} ratio")
    if args.scenario in ("default", "scale"):
        # What the slots allow once every task's own time counts, not only OpenFactura's latency.
        print(f"BENCH {name}_slots_allow {args.concurrency / max(slot_seconds, 1e-9):.2f} documents/s")
    print(f"BENCH {name}_lost {lost} documents")
    print(f"BENCH {name}_duplicated {duplicated} documents")
    print(f"BENCH {name}_worker_cpu_per_document {cpu_ms:.1f} ms")
    print(f"BENCH {name}_web_cpu_per_document {1000 * web_cpu / max(emitted, 1):.1f} ms")
    busy = (machine_after[0] - machine_before[0]) / max(machine_after[1] - machine_before[1], 1e-9)
    print(f"BENCH {name}_machine_cpu_busy {100 * busy:.0f} %")
    print(f"BENCH {name}_web_worker_peak_rss {web_rss:.1f} MB")
    print(f"BENCH {name}_celery_worker_peak_rss {celery_rss:.1f} MB")
    print()
    print(
        f"scenario {args.scenario}: {len(codes)} stores, {total} orders, OpenFactura latency "
        f"{args.latency_ms} ms, {args.concurrency} worker slots; {os.cpu_count()} cores, "
        f"Python {platform.python_version()}, {datetime.now(UTC).date().isoformat()}"
    )
    print(
        f"emitted {emitted} of {total}; documents {documents} (db) / {accepted} (OpenFactura, "
        f"{distinct} keys); span {span:.1f} s; {throughput:.2f} docs/s; failed attempts "
        f"{failed_attempts}; paused stores {paused}"
    )
    print(f"payments: {len(paid_at)} in {pay_span:.1f} s ({len(paid_at) / max(pay_span, 1e-9):.1f}/s)")
    print(f"OpenFactura requests: {len(of_lines)}; access log: {access_log}")
    if lost or duplicated or accepted != total:
        print("MISMATCH: not every order was emitted exactly once", file=sys.stderr)
        raise SystemExit(1)


if __name__ == "__main__":
    main()
