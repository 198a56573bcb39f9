"""Shared fixtures.

* ``sandbox`` — a real HTTP server (pytest-django's ``live_server``) serving the product and its
  sandbox, with every external base URL pointed at it. Integration tests use it so that the product's
  HTTP clients talk to the fakes over real sockets.
* ``celery_worker`` — a real ``celery worker`` process on Redis, using the test database. Needs
  ``TEST_CELERY_BROKER_URL`` and PostgreSQL (``./test`` sets both when they answer); in CI a missing
  service is a failure, not a skip.
* ``schemas_dir`` — the SII schemas folder, ``../shared/sii-schemas`` beside the repository (or
  ``SII_SCHEMAS_DIR``), which a clone may not have: ``tests/emission/sii_schemas.py`` then validates
  facturas and notas against cl-sii's ``DTE_v10.xsd`` and skips only the boleta-XSD checks.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parent.parent


def _require(condition: bool, reason: str) -> None:
    if condition:
        return
    if os.environ.get("CI", "").lower() in {"1", "true", "yes"}:
        pytest.fail(f"{reason} (CI requires it)")
    pytest.skip(reason)


@pytest.fixture(autouse=True)
def _fresh_webhook_signers():
    """Each test builds its own stores (codes repeat, ids do not): forget the signers kept per process."""
    from integration.selectors import webhook_signers_forget

    webhook_signers_forget()


@pytest.fixture(scope="session")
def schemas_dir() -> Path:
    """The SII schemas folder, present or not: never a skip by itself (``tests/emission/sii_schemas.py``)."""
    return Path(os.environ.get("SII_SCHEMAS_DIR") or REPO_ROOT.parent / "shared" / "sii-schemas")


@dataclass
class Sandbox:
    url: str

    def __call__(self, path: str) -> str:
        return f"{self.url}{path}"


@pytest.fixture
def sandbox(live_server, settings) -> Sandbox:
    """The product and its sandbox behind a real HTTP server, with the product pointed at it."""
    base = live_server.url
    settings.PUBLIC_BASE_URL = base
    settings.JUMPSELLER_ACCOUNTS_URL = f"{base}/sandbox/jumpseller/accounts"
    settings.JUMPSELLER_API_URL = f"{base}/sandbox/jumpseller/api/v1"
    settings.OPENFACTURA_URL = f"{base}/sandbox/openfactura"
    settings.OPENFACTURA_DEMO_URL = f"{base}/sandbox/openfactura"
    # pytest-django swaps in locmem mail; the sandbox mailbox (GET /sandbox/mail) needs its own backend.
    settings.EMAIL_BACKEND = "sandbox.mail.EmailBackend"
    return Sandbox(url=base)


@pytest.fixture
def http():
    """A browser-like HTTP session (cookies, redirects), closed so no server thread outlives the test."""
    import requests

    with requests.Session() as session:
        yield session


CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
]


@pytest.fixture(scope="session")
def browser():
    """Debian's Chromium driven by Playwright (headless). Marked tests need ``@pytest.mark.browser``."""
    _require(Path(CHROMIUM).exists(), "Chromium is not installed (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    # Playwright's sync API keeps an event loop running in this thread; Django then refuses ORM calls
    # from it unless told the caller is synchronous code (which tests are).
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"

    with sync_playwright() as playwright:
        instance = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        try:
            yield instance
        finally:
            instance.close()


@pytest.fixture
def page(browser, settings):
    """A fresh browser context and page (Spanish, Chile)."""
    context = browser.new_context(locale="es-CL", viewport={"width": 1280, "height": 900})
    try:
        yield context.new_page()
    finally:
        context.close()


def _database_url(settings_dict: dict) -> str:
    user = settings_dict.get("USER") or "postgres"
    password = settings_dict.get("PASSWORD") or ""
    auth = f"{user}:{password}" if password else user
    host = settings_dict.get("HOST") or "127.0.0.1"
    port = settings_dict.get("PORT") or 5432
    return f"postgres://{auth}@{host}:{port}/{settings_dict['NAME']}"


@dataclass
class WorkerHandle:
    broker_url: str
    process: subprocess.Popen

    def client(self):
        from celery import Celery

        return Celery("tests", broker=self.broker_url, backend=self.broker_url, set_as_current=False)

    def send(self, task_name: str, *args, **kwargs):
        return self.client().send_task(task_name, args=args, kwargs=kwargs)

    def stop(self, sig: int = signal.SIGTERM) -> None:
        """SIGTERM: warm shutdown. SIGKILL: the whole process group dies at once, mid-task."""
        if self.process.poll() is not None:
            return
        os.killpg(self.process.pid, sig)
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=10)


@pytest.fixture(scope="session")
def start_worker(django_db_setup, django_db_blocker, live_server):
    """Start real Celery worker processes (prefork) on Redis and the PostgreSQL test database, pointed at
    the live server's sandbox. Each call may add environment variables; all are stopped at the end."""
    broker_url = os.environ.get("TEST_CELERY_BROKER_URL", "")
    _require(bool(broker_url), "TEST_CELERY_BROKER_URL is not set (Redis)")
    from django.db import connection

    _require(connection.vendor == "postgresql", "a real worker needs the PostgreSQL test database")
    import redis

    redis.Redis.from_url(broker_url).flushdb()
    handles: list[WorkerHandle] = []

    def start(
        concurrency: int = 2, broker_db: int | None = None, broker: str | None = None, **env_overrides: str
    ) -> WorkerHandle:
        """``broker_db``: a flushed db of the test Redis; ``broker``: another Redis (a test's own)."""
        url = broker or (broker_url if broker_db is None else f"{broker_url.rsplit('/', 1)[0]}/{broker_db}")
        if broker_db is not None:
            redis.Redis.from_url(url).flushdb()
        env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "openfactura_app.settings",
            "DATABASE_URL": _database_url(connection.settings_dict),
            "CELERY_BROKER_URL": url,
            "CELERY_RESULT_BACKEND": url,
            "SANDBOX": "1",
            "PUBLIC_BASE_URL": live_server.url,
            **env_overrides,
        }
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "celery",
                "-A",
                "openfactura_app",
                "worker",
                "--loglevel=WARNING",
                f"--concurrency={concurrency}",
                "--without-gossip",
                "--without-mingle",
                f"--hostname=tests{len(handles)}@%h",
            ],
            cwd=REPO_ROOT,
            env=env,
            start_new_session=True,
        )
        handle = WorkerHandle(broker_url=url, process=process)
        handles.append(handle)
        handle.send("core.ping").get(timeout=60)
        return handle

    try:
        yield start
    finally:
        for handle in handles:
            handle.stop()


@pytest.fixture(scope="session")
def celery_worker(start_worker) -> WorkerHandle:
    """One real worker shared by the tests of the session."""
    return start_worker()


@contextlib.contextmanager
def publishing(worker: WorkerHandle):
    """This process (and its live server) publishes tasks to ``worker``'s broker instead of running them
    eagerly, as web processes do in production."""
    from openfactura_app.celery import app

    saved = {key: app.conf[key] for key in ("task_always_eager", "broker_url")}
    app.conf.update(task_always_eager=False, broker_url=worker.broker_url)
    app.amqp._producer_pool = None
    app._pool = None
    try:
        yield worker
    finally:
        from kombu import pools

        app.pool.force_close_all()
        pools.reset()  # kombu keeps producer pools per broker globally: drop the closed ones
        app.amqp._producer_pool = None
        app._pool = None
        app.conf.update(saved)


@pytest.fixture
def publishing_to(celery_worker):
    with publishing(celery_worker):
        yield celery_worker


def wait_until(predicate, *, timeout: float = 30.0, interval: float = 0.1):
    """Poll ``predicate`` until it returns a truthy value; fail the test after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            pytest.fail(f"condition not met within {timeout} s")
        time.sleep(interval)


def pytest_terminal_summary(terminalreporter) -> None:
    """One line that says what this machine could not run (no ../shared beside the clone, no Chromium)."""
    reasons: dict[str, int] = {}
    for report in terminalreporter.stats.get("skipped", []):
        longrepr = report.longrepr
        reason = longrepr[2] if isinstance(longrepr, tuple) else str(longrepr)
        reason = reason.removeprefix("Skipped: ")
        kind = (
            "boleta-XSD checks"
            if reason.startswith("boleta XSD not found")
            else "browser tests"
            if reason.startswith("Chromium is not installed")
            else f"other ({reason[:80]})"
        )
        reasons[kind] = reasons.get(kind, 0) + 1
    if reasons:
        summary = ", ".join(f"{count} {kind}" for kind, count in reasons.items())
        terminalreporter.write_line(f"skipped on this machine: {summary}")
