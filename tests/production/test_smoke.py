"""Production smoke test: what the Dockerfile installs, started as docker-compose.yml starts it, emits.

A virtualenv built from the runtime lock alone (``requirements.txt``; never the dev requirements, which
hide missing packages) runs web, worker and beat with the commands and environment of
docker-compose.yml, on a fresh PostgreSQL database and a Redis database of their own. The only
differences from a real deployment are the host's addresses and ``SANDBOX=1`` on a loopback address,
so that the fake Jumpseller and fake OpenFactura (served by the same web process) answer; the production
profile accepts the sandbox only there (settings ``SANDBOX_SMOKE``). Then a store installs the app
through OAuth, pays 20 orders (two of them with 5 concurrent deliveries) and cancels 2, and the counts
must be exact.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import os
import re
import secrets
import signal
import socket
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import requests

from tests import flows
from tests.conftest import REPO_ROOT, Sandbox, _require, wait_until
from tests.production.compose import APP_SERVICES, app_service

pytestmark = pytest.mark.production

RUNTIME_LOCK = REPO_ROOT / "requirements.txt"
VENV_CACHE = Path(os.environ.get("SMOKE_VENV_CACHE", Path.home() / ".cache" / "openfactura-jumpseller"))
REDIS_DB = 11
# Its own database name when several worktrees share one PostgreSQL server.
DATABASE = os.environ.get("SMOKE_DATABASE_NAME", "openfactura_smoke")
STORE = "smoke"
EXAMPLES = ("afecta", "exenta", "mixta", "con_despacho", "iva_adicional")
SALE_TYPES = {33, 34, 39, 41}
SWEEP_SUCCEEDED = re.compile(r"Task emission\.sweep\[[0-9a-f-]+\] succeeded")


def runtime_venv() -> Path:
    """A virtualenv with the runtime lock alone, kept outside the repository per hash of the lock."""
    digest = hashlib.sha256(RUNTIME_LOCK.read_bytes() + sys.version.encode()).hexdigest()[:16]
    venv = VENV_CACHE / f"runtime-{digest}"
    VENV_CACHE.mkdir(parents=True, exist_ok=True)
    with (VENV_CACHE / ".lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if (venv / ".installed").exists():
            return venv
        subprocess.run(["rm", "-rf", str(venv)], check=True)
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=120)
        env = {k: v for k, v in os.environ.items() if k not in {"PYTHONPATH", "VIRTUAL_ENV"}}
        installed = subprocess.run(
            [str(venv / "bin" / "python"), "-m", "pip", "install", "--quiet", "--disable-pip-version-check"]
            + ["--require-hashes", "-r", str(RUNTIME_LOCK)],
            timeout=1200,
            env=env,
            capture_output=True,
            text=True,
        )
        assert installed.returncode == 0, (
            f"pip could not install the runtime lock:\n{installed.stderr[-4000:]}"
        )
        (venv / ".installed").write_text(digest)
    return venv


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextlib.contextmanager
def _fresh_database(database_url: str) -> Iterator[str]:
    import psycopg2

    parts = urlsplit(database_url)
    admin = psycopg2.connect(
        host=parts.hostname,
        port=parts.port or 5432,
        user=parts.username,
        password=parts.password,
        dbname="postgres",
    )
    admin.autocommit = True

    def run(sql: str) -> None:
        with admin.cursor() as cursor:
            cursor.execute(sql)

    run(f"DROP DATABASE IF EXISTS {DATABASE} WITH (FORCE)")
    run(f"CREATE DATABASE {DATABASE}")
    try:
        yield parts._replace(path=f"/{DATABASE}").geturl()
    finally:
        run(f"DROP DATABASE IF EXISTS {DATABASE} WITH (FORCE)")
        admin.close()


@dataclass
class Process:
    name: str
    popen: subprocess.Popen
    log: Path

    def text(self) -> str:
        return self.log.read_text(errors="replace")

    def stop(self) -> None:
        if self.popen.poll() is None:
            os.killpg(self.popen.pid, signal.SIGTERM)
            try:
                self.popen.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(self.popen.pid, signal.SIGKILL)
                self.popen.wait(timeout=10)


@dataclass
class ProductionShape:
    base_url: str
    env: dict[str, str]
    processes: dict[str, Process]
    healthchecks: dict[str, list[str]]

    def healthy(self, name: str) -> bool:
        check = subprocess.run(
            self.healthchecks[name], cwd=REPO_ROOT, env=self.env, capture_output=True, timeout=30
        )
        return check.returncode == 0


@pytest.fixture(scope="module")
def production_shape(tmp_path_factory) -> Iterator[ProductionShape]:
    database_url = os.environ.get("DATABASE_URL", "")
    broker_url = os.environ.get("TEST_CELERY_BROKER_URL", "")
    _require(database_url.startswith("postgres"), "the production smoke test needs PostgreSQL (DATABASE_URL)")
    _require(bool(broker_url), "the production smoke test needs Redis (TEST_CELERY_BROKER_URL)")
    import redis

    venv = runtime_venv()
    tmp = tmp_path_factory.mktemp("production")
    port = _free_port()
    base_url = f"http://127.0.0.1:{port}"
    redis_url = f"{broker_url.rsplit('/', 1)[0]}/{REDIS_DB}"
    broker = redis.Redis.from_url(redis_url)
    broker.flushdb()
    # What an operator puts in .env (docker-compose.yml's header), with throwaway values.
    variables = {
        "SECRET_KEY": secrets.token_urlsafe(50),
        "FIELD_ENCRYPTION_KEY": _fernet_key(),
        "POSTGRES_PASSWORD": secrets.token_urlsafe(16),
        "PUBLIC_DOMAIN": "factura.example.cl",
        "JUMPSELLER_CLIENT_ID": "sandbox-client-id",
        "JUMPSELLER_CLIENT_SECRET": "sandbox-client-secret",
    }
    services = {name: app_service(name, variables) for name in APP_SERVICES}
    migrate = app_service("migrate", variables)
    with _fresh_database(database_url) as smoke_database_url:
        # This host's addresses instead of the compose network's, and the sandbox on loopback.
        host = {
            "DATABASE_URL": smoke_database_url,
            "CELERY_BROKER_URL": redis_url,
            "PUBLIC_BASE_URL": base_url,
            "ALLOWED_HOSTS": "127.0.0.1",
            "CELERY_BEAT_SCHEDULE_FILENAME": str(tmp / "celerybeat-schedule"),
        }
        assert all(set(host) <= set(service.environment) for service in [*services.values(), migrate])
        env = {
            "PATH": f"{venv / 'bin'}:/usr/local/bin:/usr/bin:/bin",
            "HOME": str(tmp),
            "LANG": "C.UTF-8",
            "HOSTNAME": socket.gethostname(),
            # As the Dockerfile sets them.
            "PYTHONDONTWRITEBYTECODE": "1",
            "PYTHONUNBUFFERED": "1",
            **services["web"].environment,
            **host,
            "SANDBOX": "1",
            "GUNICORN_BIND": f"127.0.0.1:{port}",
        }
        processes: dict[str, Process] = {}
        try:
            # Compose runs the one-shot migrate service to completion before web, worker and beat.
            migrated = subprocess.run(
                migrate.argv, cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=300
            )
            assert migrated.returncode == 0, (
                f"migrate failed:\n{migrated.stdout[-3000:]}{migrated.stderr[-3000:]}"
            )
            for name, service in services.items():
                log = tmp / f"{name}.log"
                with log.open("wb") as out:
                    popen = subprocess.Popen(
                        service.argv,
                        cwd=REPO_ROOT,
                        env={**env, **{k: v for k, v in service.environment.items() if k not in host}},
                        stdout=out,
                        stderr=subprocess.STDOUT,
                        start_new_session=True,
                    )
                processes[name] = Process(name=name, popen=popen, log=log)
            shape = ProductionShape(
                base_url=base_url,
                env=env,
                processes=processes,
                healthchecks={name: service.healthcheck for name, service in services.items()},
            )
            deadline = time.monotonic() + 120
            while not shape.healthy("web"):
                for process in processes.values():
                    assert process.popen.poll() is None, f"{process.name} exited:\n{process.text()[-4000:]}"
                assert time.monotonic() < deadline, (
                    "web never became healthy:\n" + processes["web"].text()[-4000:]
                )
                time.sleep(0.5)
            yield shape
        finally:
            for process in processes.values():
                process.stop()
            for process in processes.values():
                # Shown by pytest only when the test failed.
                print(f"----- {process.name} (last lines) -----\n{process.text()[-6000:]}")
            broker.flushdb()


def _fernet_key() -> str:
    from cryptography.fernet import Fernet

    return Fernet.generate_key().decode()


def _sent(http: requests.Session, sandbox: Sandbox) -> Counter:
    return Counter(document["tipo"] for document in flows.openfactura_documents(http, sandbox))


def _attachments(http: requests.Session, sandbox: Sandbox, order_ids: list[int]) -> int:
    return sum(len(flows.jumpseller_documents(http, sandbox, STORE, order_id)) for order_id in order_ids)


def test_what_the_dockerfile_installs_emits_every_document_once(production_shape):
    shape = production_shape
    sandbox = Sandbox(url=shape.base_url)
    with requests.Session() as http:
        flows.install(http, sandbox, STORE, "Tienda de humo")
        # A new install is in demo mode: documents go to the merchant's address and are attached in
        # Jumpseller only once the merchant turns that on (Configuración), as here.
        saved = flows.submit_form(http, sandbox("/app/configuracion/"), demo_attach_documents="on")
        assert saved.status_code == 200 and "Configuración guardada" in saved.text, saved.text[-2000:]
        order_ids = [
            flows.create_order(http, sandbox, STORE, flows.example_order(EXAMPLES[n % len(EXAMPLES)]))["id"]
            for n in range(20)
        ]
        for n, order_id in enumerate(order_ids):
            delivered = flows.pay(http, sandbox, STORE, order_id, deliveries=5 if n < 2 else 1)
            assert {delivery["status"] for delivery in delivered} == {200}, delivered

        def sales() -> int:
            return sum(count for tipo, count in _sent(http, sandbox).items() if tipo in SALE_TYPES)

        wait_until(lambda: sales() >= 20, timeout=180, interval=1)
        canceled = order_ids[2:4]
        for order_id in canceled:
            flows.cancel(http, sandbox, STORE, order_id)
        wait_until(lambda: _sent(http, sandbox)[61] >= 2, timeout=120, interval=1)
        wait_until(lambda: len(flows.mails(http, sandbox)) >= 22, timeout=120, interval=1)
        wait_until(lambda: _attachments(http, sandbox, order_ids) >= 22, timeout=120, interval=1)

        # Beat's first `emission.sweep` comes a minute after it starts; the counts must hold after it.
        wait_until(
            lambda: (
                "Sending due task emission.sweep" in shape.processes["beat"].text()
                and SWEEP_SUCCEEDED.search(shape.processes["worker"].text())
            ),
            timeout=150,
            interval=1,
        )
        time.sleep(2)

        sent = _sent(http, sandbox)
        assert sum(count for tipo, count in sent.items() if tipo in SALE_TYPES) == 20
        assert sent[61] == 2
        assert sum(sent.values()) == 22
        assert len(flows.mails(http, sandbox)) == 22
        per_order = {
            order_id: flows.jumpseller_documents(http, sandbox, STORE, order_id) for order_id in order_ids
        }
        assert {order_id: len(documents) for order_id, documents in per_order.items()} == {
            order_id: 2 if order_id in canceled else 1 for order_id in order_ids
        }

        health = http.get(f"{shape.base_url}/healthz", timeout=10)
        assert health.status_code == 200
        assert health.json() == {"database": "ok", "broker": "ok"}

        # The customer's links work, and the web access log keeps none of their tokens.
        links = [link for mail in flows.mails(http, sandbox) for link in mail["links"]]
        capabilities = [link for link in links if "/documento/" in link or "/documentos/" in link]
        assert capabilities
        for link in capabilities[:4]:
            assert http.get(link, timeout=10).status_code == 200

    access_log = shape.processes["web"].text()
    assert "GET /documento/[redactado]/ HTTP/1.1" in access_log
    for link in capabilities:
        assert urlsplit(link).path.split("/")[2].removesuffix(".pdf") not in access_log
    callbacks = [line for line in access_log.splitlines() if "/jumpseller/callback?" in line]
    assert callbacks and all("code=[redactado]" in line and "state=[redactado]" in line for line in callbacks)

    for name in APP_SERVICES:
        assert shape.healthy(name), f"docker-compose.yml's health check of {name} fails"
    for process in shape.processes.values():
        assert process.popen.poll() is None, f"{process.name} exited"
        assert "ModuleNotFoundError" not in process.text() and "ImportError" not in process.text()
