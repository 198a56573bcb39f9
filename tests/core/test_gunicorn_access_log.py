"""Gunicorn's access and error logs carry no bearer capability (``core.gunicorn_logging.RedactingLogger``).

A real gunicorn, started as the Dockerfile starts it (gunicorn.conf.py), serves capability URLs and
its log lines are read back; then every access-log atom, whatever the format picks, and the error log.
"""

from __future__ import annotations

import datetime
import http.client
import json
import os
import re
import socket
import subprocess
import sys
import time
from pathlib import Path
from types import SimpleNamespace

import pytest
from gunicorn.config import Config

from core.gunicorn_logging import RedactingLogger
from tests.conftest import REPO_ROOT

TOKEN = ".eJyrVkrOz8lJTS5RslIyVKoFAC2zBL0:1tXyZa:Ab-Cd_EfGhIjKlMnOpQrStUvWxYz0123456789ab"
PDF_TOKEN = "eyJkIjoxMiwicyI6M30:1tXyZa:Zy-Xw_VuTsRqPoNmLkJiHgFeDcBa9876543210zz"
SECRETS = (TOKEN, PDF_TOKEN, "SECRETCODE", "SECRETSTATE")
REFERER = f"https://factura.example.cl/documento/{TOKEN}/contribuyente/?rut=1-9"
USER_AGENT = "redaction-test"
# gunicorn's default access_log_format: %(h)s %(l)s %(u)s %(t)s "%(r)s" %(s)s %(b)s "%(f)s" "%(a)s"
ACCESS_LINE = re.compile(
    r'^127\.0\.0\.1 - - \[[^\]]+\] "(?P<r>[^"]*)" (?P<s>\d{3}) \S+ "(?P<f>[^"]*)" "(?P<a>[^"]*)"$'
)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _get(port: int, path: str, headers: dict[str, str]) -> int:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        connection.request("GET", path, headers=headers)
        response = connection.getresponse()
        response.read()
        return response.status
    finally:
        connection.close()


def _wait_until_listening(port: int, process: subprocess.Popen, log: Path) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"gunicorn exited ({process.returncode}):\n{log.read_text()}")
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.1)
    pytest.fail(f"gunicorn did not listen on {port}:\n{log.read_text()}")


def _access_lines(log: Path, count: int) -> list[re.Match[str]]:
    """The access-log lines once ``count`` of them are written (gunicorn logs after responding)."""
    deadline = time.monotonic() + 10
    while True:
        matches = [m for line in log.read_text().splitlines() if (m := ACCESS_LINE.match(line))]
        if len(matches) >= count or time.monotonic() > deadline:
            return matches
        time.sleep(0.05)


def _settings_install_the_filter() -> bool:
    from django.conf import settings

    return "core.logging.RedactCapabilitiesFilter" in json.dumps(settings.LOGGING, default=str)


def test_gunicorn_access_log_has_no_capabilities(tmp_path):
    log = tmp_path / "gunicorn.log"
    port = _free_port()
    env = {
        **os.environ,
        "GUNICORN_BIND": f"127.0.0.1:{port}",
        "GUNICORN_WORKERS": "1",
        "DJANGO_SETTINGS_MODULE": "openfactura_app.settings",
        "DJANGO_ENV": "local",
        "DATABASE_URL": f"sqlite:///{tmp_path}/db.sqlite3",
    }
    gunicorn = Path(sys.executable).parent / "gunicorn"
    command = [str(gunicorn), "openfactura_app.wsgi", "--config", "gunicorn.conf.py", "--no-control-socket"]
    with log.open("wb") as output:
        process = subprocess.Popen(command, cwd=REPO_ROOT, env=env, stdout=output, stderr=subprocess.STDOUT)
    try:
        _wait_until_listening(port, process, log)
        headers = {"User-Agent": USER_AGENT}
        requests = [
            (f"/documento/{TOKEN}/", headers),
            (f"/documento/{TOKEN}/contribuyente/?rut=1-9", headers),
            (f"/documentos/{PDF_TOKEN}.pdf", {**headers, "Referer": REFERER}),
            ("/jumpseller/callback?code=SECRETCODE&state=SECRETSTATE", headers),
        ]
        for path, request_headers in requests:
            _get(port, path, request_headers)
        lines = _access_lines(log, len(requests))
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()

    text = log.read_text()
    assert [(m["r"], m["f"], m["a"]) for m in lines] == [
        ("GET /documento/[redactado]/ HTTP/1.1", "-", USER_AGENT),
        ("GET /documento/[redactado]/contribuyente/?rut=1-9 HTTP/1.1", "-", USER_AGENT),
        (
            "GET /documentos/[redactado].pdf HTTP/1.1",
            "https://factura.example.cl/documento/[redactado]/contribuyente/?rut=1-9",
            USER_AGENT,
        ),
        ("GET /jumpseller/callback?code=[redactado]&state=[redactado] HTTP/1.1", "-", USER_AGENT),
    ], text
    # gunicorn's own lines: the access log and its error log ("[date] [pid] [LEVEL] ...").
    gunicorn_lines = [m.group() for m in lines] + [line for line in text.splitlines() if line.startswith("[")]
    for secret in SECRETS:
        assert not [line for line in gunicorn_lines if secret in line]
    if _settings_install_the_filter():
        # Django's request log goes to the same output: with the filter installed, nothing leaks.
        for secret in SECRETS:
            assert secret not in text


# --- Every atom, whatever access_log_format picks --------------------------------------------------
def _logger(tmp_path: Path, access_log_format: str) -> RedactingLogger:
    cfg = Config()
    cfg.set("accesslog", str(tmp_path / "access.log"))
    cfg.set("errorlog", str(tmp_path / "error.log"))
    cfg.set("access_log_format", access_log_format)
    return RedactingLogger(cfg)


def _close(logger: RedactingLogger) -> None:
    for handler in logger.access_log.handlers + logger.error_log.handlers:
        handler.close()


def test_every_access_log_atom_is_redacted(tmp_path):
    atoms = ["r", "U", "q", "f", "{referer}i", "{x-original-url}i", "{raw_uri}e", "{query_string}e", "s"]
    logger = _logger(tmp_path, "|".join(f"%({atom})s" for atom in atoms))
    raw_uri = f"/documento/{TOKEN}/contribuyente/?rut=1-9&code=SECRETCODE&state=SECRETSTATE"
    environ = {
        "REQUEST_METHOD": "GET",
        "RAW_URI": raw_uri,
        "PATH_INFO": f"/documento/{TOKEN}/contribuyente/",
        "QUERY_STRING": "rut=1-9&code=SECRETCODE&state=SECRETSTATE",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "REMOTE_ADDR": "127.0.0.1",
        "HTTP_REFERER": f"https://factura.example.cl/documentos/{PDF_TOKEN}.pdf",
    }
    request = SimpleNamespace(
        headers=[("REFERER", environ["HTTP_REFERER"]), ("X-ORIGINAL-URL", f"/d%6Fcumento/{TOKEN}/")]
    )
    response = SimpleNamespace(status="404 Not Found", sent=22, headers=[("Content-Type", "text/html")])
    try:
        logger.access(response, request, environ, datetime.timedelta(microseconds=1500))
    finally:
        _close(logger)
    line = (tmp_path / "access.log").read_text().strip()
    assert line.split("|") == [
        "GET /documento/[redactado]/contribuyente/?rut=1-9&code=[redactado]&state=[redactado] HTTP/1.1",
        "/documento/[redactado]/contribuyente/",
        "rut=1-9&code=[redactado]&state=[redactado]",
        "https://factura.example.cl/documentos/[redactado].pdf",
        "https://factura.example.cl/documentos/[redactado].pdf",
        "/d%6Fcumento/[redactado]/",
        "/documento/[redactado]/contribuyente/?rut=1-9&code=[redactado]&state=[redactado]",
        "rut=1-9&code=[redactado]&state=[redactado]",
        "404",
    ]


def test_error_log_is_redacted(tmp_path):
    logger = _logger(tmp_path, '"%(r)s"')
    try:
        try:
            raise RuntimeError(f"worker died on /documentos/{PDF_TOKEN}.pdf")
        except RuntimeError:
            logger.exception("Error handling request %s", f"/documento/{TOKEN}/?code=SECRETCODE")
        logger.setup(logger.cfg)  # a reload runs setup again: still one filter, still redacted
        logger.error("Invalid request from %s: %s", "127.0.0.1", f"/documento/{TOKEN}/")
    finally:
        _close(logger)
    text = (tmp_path / "error.log").read_text()
    assert "Error handling request /documento/[redactado]/?code=[redactado]" in text
    assert "RuntimeError: worker died on /documentos/[redactado].pdf" in text
    assert "Invalid request from 127.0.0.1: /documento/[redactado]/" in text
    for secret in SECRETS:
        assert secret not in text
    assert len(logger.error_log.filters) == 1


def test_logger_class_loads_without_django():
    """gunicorn's master imports ``logger_class`` before the application: Django must not come with it."""
    code = (
        "import sys, core.gunicorn_logging; "
        "sys.exit(any(name == 'django' or name.startswith('django.') for name in sys.modules))"
    )
    env = {key: value for key, value in os.environ.items() if key != "DJANGO_SETTINGS_MODULE"}
    assert subprocess.run([sys.executable, "-c", code], cwd=REPO_ROOT, env=env, check=False).returncode == 0
