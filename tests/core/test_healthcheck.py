"""The web container's health check asks gunicorn's port for /healthz under the product's own host name."""

import threading
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest

from core import healthcheck


@pytest.fixture
def server():
    seen: list[tuple[str, str]] = []
    status = {"code": 200}

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802 - the stdlib's name
            seen.append((self.path, self.headers["Host"]))
            self.send_response(status["code"])
            self.end_headers()

        def log_message(self, *args):
            pass

    httpd = HTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield httpd.server_address[1], seen, status
    finally:
        httpd.shutdown()
        httpd.server_close()


def test_asks_healthz_with_the_first_allowed_host(server, monkeypatch):
    port, seen, _ = server
    monkeypatch.setenv("GUNICORN_BIND", f"0.0.0.0:{port}")
    monkeypatch.setenv("ALLOWED_HOSTS", "factura.example.cl,otra.example.cl")
    assert healthcheck.check() is True
    # Django answers 400 to a Host outside ALLOWED_HOSTS: "127.0.0.1:8000" would never be healthy.
    assert seen == [("/healthz", "factura.example.cl")]


def test_unhealthy_on_503_or_nobody_listening(server, monkeypatch):
    port, _, status = server
    monkeypatch.setenv("GUNICORN_BIND", f"0.0.0.0:{port}")
    status["code"] = 503
    assert healthcheck.check() is False
    monkeypatch.setenv("GUNICORN_BIND", "127.0.0.1:1")
    assert healthcheck.check() is False
