"""Benchmark of the webhook receiver under gunicorn and PostgreSQL, side by side with a bare Django view.

Run from the repository root: ``python -m bench.ingest [--workers 3] [--seconds 8] [--max-requests 4000]``.

It creates a dedicated PostgreSQL database (``bench_ingest``, dropped at the end), migrates it, creates
one store with a known ``hooks_token`` and starts gunicorn as the Dockerfile does (3 sync workers) on a
free loopback port, with ``CELERY_BROKER_URL`` on Redis db 13 (no worker: deliveries are stored and
published; the db is flushed before and after). Settings are the product's plus one URL
(``bench.settings_bench``): ``POST /bench/bare`` answers 200 without touching the database.

At each concurrency (1, 16, 64 client threads, one keep-alive connection each) it sends, in turn, POSTs
of the same signed body to the bare view and signed ``order_paid`` deliveries (a new order id each, so
each one is new work: verify, insert, publish) to ``POST /jumpseller/webhooks/``; every run is bounded by
a request count and a deadline. It then checks that every 200 is a stored event and a queued message,
and reads the peak RSS (``VmHWM``) of the gunicorn workers.

Prints ``BENCH <name> <value> <unit>`` lines and a table. Headline: ``ingest_vs_bare_ratio`` (throughput
of the receiver ÷ throughput of the bare view at 64 concurrent, same run). Targets (issue 9): p99 < 100 ms
at 64 concurrent, ratio ≥ 0.5.
"""

from __future__ import annotations

import argparse
import base64
import copy
import hashlib
import hmac
import http.client
import json
import os
import platform
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import psycopg2
import redis

REPO_ROOT = Path(__file__).resolve().parent.parent
HOST = "127.0.0.1"
PG_ADMIN = "postgres://postgres@127.0.0.1:5432/postgres"
DB_NAME = os.environ.get("BENCH_DB_PREFIX", "bench") + "_ingest"
BROKER = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379").rstrip("/") + "/13"
STORE_CODE = "benchstore"
HOOKS_TOKEN = "bench-hooks-token-0123456789abcdef"  # noqa: S105 - a throwaway bench store
FIXTURE = REPO_ROOT / "tests" / "fixtures" / "jumpseller" / "webhook_order_paid__basic.json"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return sock.getsockname()[1]


def admin(sql: str) -> None:
    conn = psycopg2.connect(PG_ADMIN)
    conn.autocommit = True
    try:
        with conn.cursor() as cur:
            cur.execute(sql)
    finally:
        conn.close()


def manage(env: dict, *args: str) -> str:
    result = subprocess.run(
        [sys.executable, "manage.py", *args], cwd=REPO_ROOT, env=env, capture_output=True, text=True
    )
    if result.returncode != 0:
        raise SystemExit(f"manage.py {args[0]} failed:\n{result.stdout}\n{result.stderr}")
    return result.stdout


@contextmanager
def scratch_database(name: str, broker_url: str, env: dict) -> Iterator[None]:
    """A new, migrated PostgreSQL database ``name`` and an empty Redis db for one run; both wiped after."""
    broker = redis.Redis.from_url(broker_url)
    admin(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
    admin(f"CREATE DATABASE {name}")
    broker.flushdb()
    try:
        manage(env, "migrate", "--noinput")
        yield
    finally:
        broker.flushdb()
        admin(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


def sign(body: bytes) -> str:
    return base64.b64encode(hmac.new(HOOKS_TOKEN.encode(), body, hashlib.sha256).digest()).decode()


class Bodies:
    """A new ``order_paid`` body (new order id) per call, thread-safe."""

    def __init__(self) -> None:
        self.template = json.loads(FIXTURE.read_text())
        self.next_id = 1_000_000
        self.lock = threading.Lock()

    def __call__(self) -> bytes:
        with self.lock:
            self.next_id += 1
            order_id = self.next_id
        payload = copy.deepcopy(self.template)
        payload["order"]["id"] = order_id
        return json.dumps(payload).encode()


@dataclass
class Result:
    target: str
    concurrency: int
    latencies: list[float] = field(default_factory=list)
    statuses: dict[int, int] = field(default_factory=dict)
    errors: int = 0
    elapsed: float = 0.0
    cpu: dict[str, float] = field(default_factory=dict)  # CPU seconds per part during the run

    def cpu_ms(self, part: str) -> float:
        return self.cpu.get(part, 0.0) / max(len(self.latencies), 1) * 1000

    @property
    def ok(self) -> int:
        return self.statuses.get(200, 0)

    @property
    def throughput(self) -> float:
        return self.ok / self.elapsed if self.elapsed else 0.0

    def pct(self, q: float) -> float:
        values = sorted(self.latencies)
        if not values:
            return float("nan")
        return values[min(len(values) - 1, int(q * len(values)))] * 1000


def run_level(port: int, target: str, concurrency: int, bodies: Bodies, max_requests: int, seconds: float):
    path = "/bench/bare" if target == "bare" else "/jumpseller/webhooks/"
    result = Result(target, concurrency)
    lock = threading.Lock()
    issued = [0]
    start_gate = threading.Barrier(concurrency + 1)
    deadline_box = [0.0]

    def take() -> bool:
        with lock:
            if issued[0] >= max_requests or time.perf_counter() >= deadline_box[0]:
                return False
            issued[0] += 1
            return True

    def client() -> None:
        conn = http.client.HTTPConnection(HOST, port, timeout=30)
        latencies: list[float] = []
        statuses: dict[int, int] = {}
        errors = 0
        start_gate.wait()
        while take():
            body = bodies()
            headers = {
                "Content-Type": "application/json",
                "Jumpseller-Event": "order_paid",
                "Jumpseller-Store-Code": STORE_CODE,
                "Jumpseller-Hmac-Sha256": sign(body),
                "Jumpseller-Triggered-At": "2026-11-29 10:00:00 UTC",
            }
            began = time.perf_counter()
            try:
                conn.request("POST", path, body=body, headers=headers)
                response = conn.getresponse()
                response.read()
                status = response.status
                if response.getheader("Connection", "").lower() == "close":
                    conn.close()
            except (OSError, http.client.HTTPException):
                errors += 1
                conn.close()
                conn = http.client.HTTPConnection(HOST, port, timeout=30)
                continue
            latencies.append(time.perf_counter() - began)
            statuses[status] = statuses.get(status, 0) + 1
        conn.close()
        with lock:
            result.latencies.extend(latencies)
            result.errors += errors
            for status, count in statuses.items():
                result.statuses[status] = result.statuses.get(status, 0) + count

    threads = [threading.Thread(target=client, daemon=True) for _ in range(concurrency)]
    for thread in threads:
        thread.start()
    deadline_box[0] = time.perf_counter() + seconds
    began = time.perf_counter()
    start_gate.wait()
    for thread in threads:
        thread.join(timeout=seconds + 60)
    result.elapsed = time.perf_counter() - began
    return result


def worker_pids(master: int) -> list[int]:
    try:
        return [int(p) for p in Path(f"/proc/{master}/task/{master}/children").read_text().split()]
    except OSError:
        return []


def pids_named(*names: str) -> list[int]:
    """Processes of this machine whose command name is one of ``names`` (PostgreSQL backends, Redis)."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if (entry / "comm").read_text().strip() in names:
                    found.append(int(entry.name))
            except OSError:
                pass
    return found


def cpu_seconds(pid: int) -> float:
    """User + system CPU time consumed so far by ``pid`` (``/proc/<pid>/stat``), 0 when it is gone."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, IndexError, ValueError):
        return 0.0


class CpuMeter:
    """CPU seconds spent by each part of the set-up during a run: the web workers, PostgreSQL (every
    ``postgres`` process of the machine), Redis and this client process."""

    def __init__(self, web_master: int) -> None:
        self.web_master = web_master

    def _groups(self) -> dict[str, dict[int, float]]:
        groups = {
            "web": worker_pids(self.web_master),
            "postgres": pids_named("postgres"),
            "redis": pids_named("redis-server"),
        }
        snapshot = {name: {pid: cpu_seconds(pid) for pid in pids} for name, pids in groups.items()}
        times = os.times()
        snapshot["client"] = {0: times.user + times.system}
        return snapshot

    def start(self) -> None:
        self.before = self._groups()

    def stop(self) -> dict[str, float]:
        after = self._groups()
        return {
            name: sum(cpu - self.before[name].get(pid, 0.0) for pid, cpu in pids.items())
            for name, pids in after.items()
        }


def vm_hwm_mb(pid: int) -> float:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


def wait_healthy(port: int, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            conn = http.client.HTTPConnection(HOST, port, timeout=5)
            conn.request("GET", "/healthz")
            if conn.getresponse().status == 200:
                return
        except OSError:
            pass
        time.sleep(0.3)
    raise SystemExit("gunicorn did not become healthy")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--workers", type=int, default=3)
    parser.add_argument("--worker-class", default="sync")
    parser.add_argument("--seconds", type=float, default=8.0, help="deadline per run")
    parser.add_argument("--max-requests", type=int, default=4000, help="request cap per run")
    parser.add_argument("--levels", default="1,16,64")
    args = parser.parse_args()
    levels = [int(x) for x in args.levels.split(",")]

    db_url = f"postgres://postgres@127.0.0.1:5432/{DB_NAME}"
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "bench.settings_bench",
        "DATABASE_URL": db_url,
        "CELERY_BROKER_URL": BROKER,
        "DEBUG": "0",
        "SANDBOX": "0",
        "LOG_LEVEL": "INFO",
    }
    env.pop("CACHE_URL", None)
    broker = redis.Redis.from_url(BROKER)
    gunicorn = None
    log_path = Path(tempfile.gettempdir()) / f"bench-ingest-{os.getpid()}.log"
    with scratch_database(DB_NAME, BROKER, env):
        try:
            manage(
                env,
                "shell",
                "-c",
                "from integration.models import Store; "
                f"Store.objects.create(code={STORE_CODE!r}, name='Bench', hooks_token={HOOKS_TOKEN!r})",
            )
            port = free_port()
            with log_path.open("wb") as log:
                gunicorn = subprocess.Popen(
                    [
                        sys.executable,
                        "-m",
                        "gunicorn",
                        "openfactura_app.wsgi",
                        "--bind",
                        f"{HOST}:{port}",
                        "--workers",
                        str(args.workers),
                        "--worker-class",
                        args.worker_class,
                        "--timeout",
                        "30",
                        "--backlog",
                        "2048",
                    ],
                    cwd=REPO_ROOT,
                    env=env,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                )
            wait_healthy(port)
            bodies = Bodies()
            for target in ("bare", "ingest"):  # warm-up: imports, connections, first queries
                run_level(port, target, 4, bodies, 200, 3)
            broker.flushdb()
            admin_conn = psycopg2.connect(db_url)
            admin_conn.autocommit = True
            with admin_conn.cursor() as cur:
                cur.execute("DELETE FROM integration_webhookevent")
            results: list[Result] = []
            meter = CpuMeter(gunicorn.pid)
            for concurrency in levels:
                for target in ("bare", "ingest"):
                    meter.start()
                    result = run_level(port, target, concurrency, bodies, args.max_requests, args.seconds)
                    result.cpu = meter.stop()
                    results.append(result)
            workers = worker_pids(gunicorn.pid)
            peak_rss = max((vm_hwm_mb(pid) for pid in workers), default=0.0)
            with admin_conn.cursor() as cur:
                cur.execute("SELECT status, count(*) FROM integration_webhookevent GROUP BY status")
                stored = dict(cur.fetchall())
            admin_conn.close()
            queued = broker.llen("celery")
        finally:
            if gunicorn is not None:
                gunicorn.terminate()
                try:
                    gunicorn.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    gunicorn.kill()
                    gunicorn.wait()

    ingest_ok = sum(r.ok for r in results if r.target == "ingest")
    by = {(r.target, r.concurrency): r for r in results}
    for r in results:
        name = f"{r.target}_c{r.concurrency}"
        print(f"BENCH {name}_throughput {r.throughput:.1f} req/s")
        print(f"BENCH {name}_p50 {r.pct(0.50):.1f} ms")
        print(f"BENCH {name}_p99 {r.pct(0.99):.1f} ms")
    for concurrency in levels:
        ratio = by[("ingest", concurrency)].throughput / by[("bare", concurrency)].throughput
        print(f"BENCH ingest_vs_bare_ratio_c{concurrency} {ratio:.2f} ratio")
    top = max(levels)
    headline = by[("ingest", top)].throughput / by[("bare", top)].throughput
    print(f"BENCH ingest_vs_bare_ratio {headline:.2f} ratio")
    print(f"BENCH web_worker_peak_rss {peak_rss:.1f} MB")
    print()
    print(
        f"gunicorn {args.workers} {args.worker_class} workers, PostgreSQL, Redis broker; "
        f"{os.cpu_count()} cores, Python {platform.python_version()}, {datetime.now(UTC).date().isoformat()}"
    )
    print("| target | concurrency | requests | non-200 | errors | req/s | p50 ms | p99 ms |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    for r in results:
        non_200 = sum(v for k, v in r.statuses.items() if k != 200)
        print(
            f"| {r.target} | {r.concurrency} | {len(r.latencies)} | {non_200} | {r.errors} | "
            f"{r.throughput:,.0f} | {r.pct(0.5):.1f} | {r.pct(0.99):.1f} |"
        )
    print()
    print("CPU ms per request (all processes of each part, during the run):")
    print("| target | concurrency | web workers | PostgreSQL | Redis | client | total |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    for r in results:
        parts = [r.cpu_ms(part) for part in ("web", "postgres", "redis", "client")]
        print(
            f"| {r.target} | {r.concurrency} | "
            + " | ".join(f"{v:.2f}" for v in parts)
            + f" | {sum(parts):.2f} |"
        )
    print()
    print(
        f"stored events by status: {stored}; queued messages: {queued}; 200s from the receiver: {ingest_ok}"
    )
    print(
        f"peak RSS per web worker (VmHWM, max of {len(workers)}): {peak_rss:.1f} MB; server log: {log_path}"
    )
    new_work = stored.get("dispatched", 0) + stored.get("received", 0)
    if new_work != ingest_ok or queued != ingest_ok:
        print("MISMATCH: not every accepted delivery was stored and queued", file=sys.stderr)
        raise SystemExit(1)


if __name__ == "__main__":
    main()
