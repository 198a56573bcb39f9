"""Bearer capabilities (self-service and PDF link tokens, OAuth ``code``/``state``) never reach the logs.

The redaction function on every form a log field takes, then Django's own request logs read back as
lines: ``django.request`` through the test client, ``django.server`` through a real development server,
and (once settings.py installs the filter) the project's ``LOGGING`` as a whole.
"""

from __future__ import annotations

import contextlib
import copy
import http.client
import io
import json
import logging
import threading
import time
from collections.abc import Iterator

import pytest
from django.core import signing
from django.core.handlers.wsgi import WSGIHandler
from django.core.servers.basehttp import WSGIRequestHandler, WSGIServer
from django.utils.log import ServerFormatter, configure_logging

from core.logging import ContextFilter, JsonFormatter, RedactCapabilitiesFilter
from core.redaction import redact_capabilities

# The shapes of real tokens: compressed (leading ``.``), ``:`` separators, URL-safe base64 ``-`` and ``_``.
TOKEN = ".eJyrVkrOz8lJTS5RslIyVKoFAC2zBL0:1tXyZa:Ab-Cd_EfGhIjKlMnOpQrStUvWxYz0123456789ab"
PDF_TOKEN = "eyJkIjoxMiwicyI6M30:1tXyZa:Zy-Xw_VuTsRqPoNmLkJiHgFeDcBa9876543210zz"
TEXT_FORMAT = "%(levelname)s %(name)s [%(store_code)s %(order_id)s] %(message)s"


@pytest.mark.parametrize(
    ("raw", "redacted"),
    [
        # Request line, as gunicorn's %(r)s and runserver write it.
        (f"GET /documento/{TOKEN}/ HTTP/1.1", "GET /documento/[redactado]/ HTTP/1.1"),
        (
            f"POST /documento/{TOKEN}/contribuyente/?rut=1-9 HTTP/1.1",
            "POST /documento/[redactado]/contribuyente/?rut=1-9 HTTP/1.1",
        ),
        (f"GET /documentos/{PDF_TOKEN}.pdf HTTP/1.1", "GET /documentos/[redactado].pdf HTTP/1.1"),
        (
            "GET /jumpseller/callback?code=SECRETCODE&state=SECRETSTATE HTTP/1.1",
            "GET /jumpseller/callback?code=[redactado]&state=[redactado] HTTP/1.1",
        ),
        # Bare paths (%(U)s, Django's "Not Found: <path>").
        (f"/documento/{TOKEN}/", "/documento/[redactado]/"),
        (f"/documento/{TOKEN}/contribuyente/", "/documento/[redactado]/contribuyente/"),
        (f"/documentos/{PDF_TOKEN}.pdf", "/documentos/[redactado].pdf"),
        # A link cut before ".pdf" still carries the token.
        (f"/documentos/{PDF_TOKEN}", "/documentos/[redactado]"),
        # Absolute URLs (Referer).
        (
            f"https://factura.example.cl/documento/{TOKEN}/contribuyente/?rut=1-9#datos",
            "https://factura.example.cl/documento/[redactado]/contribuyente/?rut=1-9#datos",
        ),
        (
            f"https://factura.example.cl/documentos/{PDF_TOKEN}.pdf",
            "https://factura.example.cl/documentos/[redactado].pdf",
        ),
        (
            "https://factura.example.cl/jumpseller/callback?state=SECRETSTATE&code=SECRETCODE",
            "https://factura.example.cl/jumpseller/callback?state=[redactado]&code=[redactado]",
        ),
        # Query strings alone (%(q)s); non-secret parameters stay.
        ("code=SECRETCODE&state=SECRETSTATE", "code=[redactado]&state=[redactado]"),
        (
            "error=access_denied&state=SECRETSTATE&error_description=no",
            "error=access_denied&state=[redactado]&error_description=no",
        ),
        ("code=&state=", "code=&state="),
        # Percent-encoded: the path itself (Django decodes it, so it routes), and URLs inside a parameter.
        ("/d%6Fcumento/ab%3Acd%3Aef/", "/d%6Fcumento/[redactado]/"),
        ("/documento%2Fab:cd:ef%2F", "/documento%2F[redactado]%2F"),
        ("/documentos/ab%3Acd%2Epdf", "/documentos/[redactado]%2Epdf"),
        (
            "/app/ingresar?next=%2Fdocumento%2Fab%3Acd%2Fcontribuyente%2F%3Frut%3D1-9",
            "/app/ingresar?next=%2Fdocumento%2F[redactado]%2Fcontribuyente%2F%3Frut%3D1-9",
        ),
        (
            "next=%2Fjumpseller%2Fcallback%3Fcode%3DSECRETCODE%26state%3DSECRETSTATE%26error%3Dx",
            "next=%2Fjumpseller%2Fcallback%3Fcode%3D[redactado]%26state%3D[redactado]%26error%3Dx",
        ),
        (
            "next=%252Fdocumento%252Fab%253Acd%252F%253Fcode%253DSECRETCODE",
            "next=%252Fdocumento%252F[redactado]%252F%253Fcode%253D[redactado]",
        ),
    ],
)
def test_redaction_of_every_form(raw, redacted):
    assert redact_capabilities(raw) == redacted
    for secret in (TOKEN, PDF_TOKEN, "SECRETCODE", "SECRETSTATE", "ab%3Acd", "ab:cd"):
        assert secret not in redact_capabilities(raw)
    assert redact_capabilities(redacted) == redacted


@pytest.mark.parametrize(
    "text",
    [
        "/app/documentos/12/",
        "/app/documentos/12/pdf",
        "GET /app/documentos/?estado=emitido HTTP/1.1",
        "/jumpseller/webhooks/",
        "/jumpseller/callback?error=access_denied",
        "/documento/",
        "/?postal_code=8320000&zipcode=1",
        "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0",
        "",
    ],
)
def test_ordinary_text_is_unchanged(text):
    assert redact_capabilities(text) == text


def test_real_links_are_redacted():
    from emission.services import PDF_LINK_SALT, selfservice_url_for

    page = selfservice_url_for(store_id=7, order_id=1001)
    token = page.rstrip("/").rsplit("/", 1)[1]
    pdf_token = signing.dumps({"d": 12, "s": 7}, salt=PDF_LINK_SALT)
    assert redact_capabilities(page) == "http://testserver/documento/[redactado]/"
    assert redact_capabilities(f"/documentos/{pdf_token}.pdf") == "/documentos/[redactado].pdf"
    assert token not in redact_capabilities(f"GET /documento/{token}/contribuyente/?rut=1-9 HTTP/1.1")


# --- Django's own request logs -------------------------------------------------------------------
@pytest.fixture
def log_lines() -> Iterator[tuple[io.StringIO, logging.Handler]]:
    """A console-like handler with the filters of settings.LOGGING; the test attaches it where it needs."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.addFilter(ContextFilter())
    handler.addFilter(RedactCapabilitiesFilter())
    handler.setFormatter(logging.Formatter(TEXT_FORMAT))
    yield stream, handler


@pytest.fixture
def dev_server() -> Iterator[str]:
    """Django's development server (the one runserver runs, with its request log) on a free port."""
    server = WSGIServer(("127.0.0.1", 0), WSGIRequestHandler)
    server.set_app(WSGIHandler())
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def _wait_for(stream: io.StringIO, text: str) -> None:
    """The development server logs a request after it has sent the response: wait for the line."""
    deadline = time.monotonic() + 10
    while text not in stream.getvalue() and time.monotonic() < deadline:
        time.sleep(0.02)


def _get(address: str, path: str, headers: dict[str, str] | None = None) -> int:
    connection = http.client.HTTPConnection(address, timeout=10)
    try:
        connection.request("GET", path, headers=headers or {})
        response = connection.getresponse()
        response.read()
        return response.status
    finally:
        connection.close()


@pytest.mark.django_db
def test_django_request_not_found_line_has_no_token(client, log_lines):
    stream, handler = log_lines
    logger = logging.getLogger("django.request")
    logger.addHandler(handler)
    try:
        assert client.get(f"/documento/{TOKEN}/contribuyente/?rut=1-9").status_code == 404
        assert client.get(f"/documentos/{PDF_TOKEN}.pdf").status_code == 404
    finally:
        logger.removeHandler(handler)
    assert stream.getvalue().splitlines() == [
        "WARNING django.request [- -] Not Found: /documento/[redactado]/contribuyente/",
        "WARNING django.request [- -] Not Found: /documentos/[redactado].pdf",
    ]


def test_django_server_request_lines_have_no_token(dev_server):
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.addFilter(RedactCapabilitiesFilter())
    handler.setFormatter(ServerFormatter("{message}", style="{"))
    logger = logging.getLogger("django.server")
    logger.addHandler(handler)
    try:
        assert _get(dev_server, f"/documentos/{PDF_TOKEN}.pdf") == 404
        _wait_for(stream, "HTTP/1.1")
    finally:
        logger.removeHandler(handler)
    line = stream.getvalue().strip()
    assert line.startswith('"GET /documentos/[redactado].pdf HTTP/1.1" 404 ')
    assert PDF_TOKEN not in line


def test_tracebacks_are_redacted_in_json_lines():
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.addFilter(ContextFilter())
    handler.addFilter(RedactCapabilitiesFilter())
    handler.setFormatter(JsonFormatter())
    logger = logging.getLogger("tests.redaction")
    logger.addHandler(handler)
    try:
        try:
            raise ValueError(f"no route for /documento/{TOKEN}/")
        except ValueError:
            logger.exception("Internal Server Error: %s", f"/documentos/{PDF_TOKEN}.pdf")
    finally:
        logger.removeHandler(handler)
    line = stream.getvalue().strip()
    payload = json.loads(line)
    assert payload["message"] == "Internal Server Error: /documentos/[redactado].pdf"
    assert payload["exc"].endswith("ValueError: no route for /documento/[redactado]/")
    assert TOKEN not in line
    assert PDF_TOKEN not in line


def test_filter_keeps_malformed_records_for_the_handler_to_report():
    record = logging.LogRecord("x", logging.INFO, __file__, 1, "%d apples", ("many",), None)
    assert RedactCapabilitiesFilter().filter(record) is True
    assert record.args == ("many",)


# --- The project's LOGGING (settings.py) ---------------------------------------------------------
@pytest.mark.django_db
def test_settings_logging_writes_no_token(client, settings, dev_server):
    """Every line the configured logging writes, Django's default handlers included (DEBUG on)."""
    if "core.logging.RedactCapabilitiesFilter" not in json.dumps(settings.LOGGING, default=str):
        pytest.skip("settings.LOGGING does not install core.logging.RedactCapabilitiesFilter yet")
    console, stderr = io.StringIO(), io.StringIO()
    config = copy.deepcopy(settings.LOGGING)
    config["handlers"]["console"]["stream"] = console
    settings.DEBUG = True
    # Handlers that Django's defaults create bind to sys.stderr now: they write to ``stderr``.
    with contextlib.redirect_stderr(stderr):
        configure_logging(settings.LOGGING_CONFIG, config)
    try:
        assert client.get(f"/documento/{TOKEN}/").status_code == 404
        assert client.get("/jumpseller/callback?code=SECRETCODE&state=SECRETSTATE").status_code == 400
        assert _get(dev_server, f"/documentos/{PDF_TOKEN}.pdf", {"Referer": f"/documento/{TOKEN}/"}) == 404
        _wait_for(console, "HTTP/1.1")
    finally:
        configure_logging(settings.LOGGING_CONFIG, settings.LOGGING)
    written = console.getvalue() + stderr.getvalue()
    assert "Not Found: /documento/[redactado]/" in written
    assert '"GET /documentos/[redactado].pdf HTTP/1.1" 404' in written
    for secret in (TOKEN, PDF_TOKEN, "SECRETCODE", "SECRETSTATE"):
        assert secret not in written
