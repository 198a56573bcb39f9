"""Error reporting (``core.error_reporting``): off without a DSN; events leave without personal data,
cookies, secrets or bearer capabilities.

The end-to-end test starts the real SDK with a fake DSN and a transport that keeps envelopes in memory
(nothing goes on the network), and resets the SDK afterwards so that no other test reports anything. This
module is also the URLconf of that test: one view that logs and fails under ``/documento/<token>/``.
"""

from __future__ import annotations

import copy
import json
import logging
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlencode
from wsgiref.util import setup_testing_defaults

import pytest
from django.core import signing
from django.http import HttpRequest, HttpResponse
from django.urls import path

from core.error_reporting import init_error_reporting, scrub_breadcrumb, scrub_event, scrub_text

logger = logging.getLogger(__name__)

TOKEN = signing.dumps({"s": 7, "o": 1001}, salt="tests.selfservice", compress=True)
PDF_TOKEN = signing.dumps({"d": 42, "s": 7}, salt="tests.pdf")
EMAIL = "cliente.final@example.com"
RUT_DOTTED = "12.345.678-5"
RUT_PLAIN = "7654321-K"
SESSION = "s3ss10n-c00k1e-value-0123456789"
CODE = "oauth-code-aaaaaaaaaaaaaaaaaaaaaaaa"
STATE = "oauth-state-bbbbbbbbbbbbbbbbbbbbbbbb"
SECRETS = (TOKEN, PDF_TOKEN, EMAIL, RUT_DOTTED, RUT_PLAIN, SESSION, CODE, STATE)


def _django_event() -> dict[str, Any]:
    """An error event as the Django integration builds it for a failing self-service page."""
    return {
        "level": "error",
        "transaction": f"/documento/{TOKEN}/",
        "request": {
            "url": f"https://app.openfactura.test/documento/{TOKEN}/contribuyente/",
            "method": "POST",
            "query_string": f"rut={RUT_PLAIN}&next=%2Fdocumentos%2F{PDF_TOKEN}.pdf",
            "headers": {
                "User-Agent": "Mozilla/5.0",
                "Content-Type": "application/x-www-form-urlencoded",
                "Content-Length": "42",
                "Authorization": "Bearer live-api-token",
                "Cookie": f"of_session={SESSION}",
                "Jumpseller-Hmac-Sha256": "c2lnbmF0dXJl",
                "Idempotency-Key": "store-7-order-1001",
                "Apikey": "openfactura-api-key",
                "X-Forwarded-For": "200.1.2.3",
                "Referer": f"https://app.openfactura.test/documento/{TOKEN}/",
            },
            "cookies": {"of_session": SESSION, "csrftoken": "csrf"},
            "data": {"rut": RUT_DOTTED, "email": EMAIL},
            "env": {"SERVER_NAME": "app.openfactura.test", "SERVER_PORT": "443", "REMOTE_ADDR": "200.1.2.3"},
        },
        "user": {"id": "7", "ip_address": "200.1.2.3", "email": EMAIL, "username": EMAIL},
        "logentry": {
            "message": "Boleta rechazada para %s (%s) en %s",
            "formatted": f"Boleta rechazada para {EMAIL} ({RUT_DOTTED}) en /documentos/{PDF_TOKEN}.pdf",
            "params": [EMAIL, RUT_DOTTED, f"/documentos/{PDF_TOKEN}.pdf"],
        },
        "exception": {
            "values": [
                {"type": "ValueError", "value": f"receptor {RUT_PLAIN} <{EMAIL}> sin giro", "stacktrace": {}}
            ]
        },
        "extra": {"status_code": 500, "callback": f"/jumpseller/callback?code={CODE}&state={STATE}"},
        "breadcrumbs": {
            "values": [
                {"type": "log", "category": "django.request", "message": f"Not Found: /documento/{TOKEN}/"},
                {"type": "default", "category": "query", "message": "SELECT 1", "data": {}},
            ]
        },
    }


def test_scrub_event_keeps_only_the_allowed_request_headers_and_drops_cookies_and_body():
    request = scrub_event(_django_event(), {})["request"]

    assert request["headers"] == {
        "User-Agent": "Mozilla/5.0",
        "Content-Type": "application/x-www-form-urlencoded",
        "Content-Length": "42",
    }
    assert "cookies" not in request and "data" not in request
    assert request["env"] == {"SERVER_NAME": "app.openfactura.test", "SERVER_PORT": "443"}
    assert request["method"] == "POST"


def test_scrub_event_redacts_capabilities_in_the_url_and_every_query_value():
    request = scrub_event(_django_event(), {})["request"]

    assert request["url"] == "https://app.openfactura.test/documento/[redactado]/contribuyente/"
    assert request["query_string"] == "rut=[redactado]&next=[redactado]"


def test_scrub_event_drops_the_users_address_and_email_and_keeps_its_id():
    assert scrub_event(_django_event(), {})["user"] == {"id": "7"}


def test_scrub_event_redacts_emails_ruts_and_tokens_in_messages_exceptions_extra_and_breadcrumbs():
    event = scrub_event(_django_event(), {})

    assert event["transaction"] == "/documento/[redactado]/"
    assert event["logentry"] == {
        "message": "Boleta rechazada para %s (%s) en %s",
        "formatted": "Boleta rechazada para [redactado] ([redactado]) en /documentos/[redactado].pdf",
        "params": ["[redactado]", "[redactado]", "/documentos/[redactado].pdf"],
    }
    assert event["exception"]["values"][0]["value"] == "receptor [redactado] <[redactado]> sin giro"
    assert event["extra"] == {
        "status_code": 500,
        "callback": "/jumpseller/callback?code=[redactado]&state=[redactado]",
    }
    assert event["breadcrumbs"]["values"][0]["message"] == "Not Found: /documento/[redactado]/"
    assert event["breadcrumbs"]["values"][1] == {
        "type": "default",
        "category": "query",
        "message": "SELECT 1",
        "data": {},
    }


def test_scrub_event_leaves_nothing_secret_anywhere_and_is_idempotent():
    once = scrub_event(_django_event(), {})
    dumped = json.dumps(once)
    for secret in (*SECRETS, "live-api-token", "c2lnbmF0dXJl", "store-7-order-1001", "200.1.2.3", "csrf"):
        assert secret not in dumped, secret
    assert scrub_event(copy.deepcopy(once), {}) == once


def test_scrub_event_accepts_a_plain_message_and_an_event_without_request():
    event = scrub_event({"message": f"escribir a {EMAIL} por {RUT_PLAIN}", "level": "info"}, None)
    assert event == {"message": "escribir a [redactado] por [redactado]", "level": "info"}


def test_scrub_event_keeps_a_route_pattern_and_redacts_a_raw_path_as_transaction():
    route = {"transaction": "/documento/{token}/", "transaction_info": {"source": "route"}}
    raw = {"transaction": f"/documento/{TOKEN}/", "transaction_info": {"source": "url"}}
    assert scrub_event(copy.deepcopy(route), None) == route
    assert scrub_event(raw, None)["transaction"] == "/documento/[redactado]/"


def test_scrub_text_redacts_both_rut_forms_and_leaves_ordinary_numbers():
    assert scrub_text(f"{RUT_DOTTED} {RUT_PLAIN} 12345678-5 1.234.567-k") == " ".join(["[redactado]"] * 4)
    assert scrub_text("pedido 1001, folio 12345, 2024-05-01, 20240501-120000") == (
        "pedido 1001, folio 12345, 2024-05-01, 20240501-120000"
    )


def test_scrub_breadcrumb_redacts_message_data_and_outgoing_query():
    class Request:
        def __repr__(self) -> str:
            return f"<WSGIRequest: GET '/documento/{TOKEN}/?rut={RUT_PLAIN}'>"

    crumb = {
        "type": "http",
        "category": "httplib",
        "message": f"aviso a {EMAIL}",
        "data": {
            "url": f"https://app.openfactura.test/documentos/{PDF_TOKEN}.pdf",
            "http.method": "GET",
            "http.query": f"rut={RUT_PLAIN}&page=2",
            "status_code": 404,
            "request": Request(),
        },
    }
    assert scrub_breadcrumb(crumb, {}) == {
        "type": "http",
        "category": "httplib",
        "message": "aviso a [redactado]",
        "data": {
            "url": "https://app.openfactura.test/documentos/[redactado].pdf",
            "http.method": "GET",
            "http.query": "rut=[redactado]&page=[redactado]",
            "status_code": 404,
            "request": "<WSGIRequest: GET '/documento/[redactado]/?rut=[redactado]'>",
        },
    }


def test_init_error_reporting_does_nothing_without_a_dsn(monkeypatch):
    import sentry_sdk

    monkeypatch.setattr(sentry_sdk, "init", lambda **options: pytest.fail("the SDK must not start"))
    assert init_error_reporting(dsn="", environment="production") is False
    assert not sentry_sdk.get_client().is_active()


# --- End to end: the real SDK, a failing Django view, an in-memory transport ----------------------------


def failing_view(request: HttpRequest, token: str) -> HttpResponse:
    logger.warning("consulta de %s con RUT %s", EMAIL, RUT_DOTTED)
    raise RuntimeError(f"no se pudo mostrar el documento de {EMAIL} en {request.get_full_path()}")


urlpatterns = [path("documento/<str:token>/falla", failing_view)]


@pytest.fixture
def sentry_events(monkeypatch) -> Iterator[list[dict[str, Any]]]:
    """Events ``init_error_reporting`` sends, kept in memory; the SDK is reset afterwards."""
    import sentry_sdk
    from sentry_sdk.envelope import Envelope
    from sentry_sdk.transport import Transport

    class CapturingTransport(Transport):
        def __init__(self) -> None:
            super().__init__()
            self.events: list[dict[str, Any]] = []

        def capture_envelope(self, envelope: Envelope) -> None:
            event = envelope.get_event()
            if event is not None:
                self.events.append(event)

    transport = CapturingTransport()
    real_init = sentry_sdk.init
    monkeypatch.setattr(sentry_sdk, "init", lambda **options: real_init(transport=transport, **options))
    # A scope of its own: the Django integration adds request processors to the current scope.
    with sentry_sdk.isolation_scope():
        try:
            yield transport.events
        finally:
            sentry_sdk.get_client().close()
            sentry_sdk.get_global_scope().set_client(None)
    assert not sentry_sdk.get_client().is_active()


def _wsgi_get(path: str, query: dict[str, str], **headers: str) -> str:
    """GET through Django's WSGI handler, as gunicorn calls it (the Django integration's request data
    comes from the WSGI layer, which the test client skips); returns the status line."""
    from django.core.handlers.wsgi import WSGIHandler

    environ: dict[str, Any] = {
        "REQUEST_METHOD": "GET",
        "PATH_INFO": path,
        "QUERY_STRING": urlencode(query),
        "SERVER_NAME": "testserver",
        "HTTP_HOST": "testserver",
        **{f"HTTP_{name.upper()}": value for name, value in headers.items()},
    }
    setup_testing_defaults(environ)
    status: list[str] = []
    response = WSGIHandler()(environ, lambda line, _headers, exc_info=None: status.append(line))
    response.close()
    return status[0]


# 2.75 deprecates ``send_default_pii`` in favour of ``data_collection``; the value (False) is what is tested.
@pytest.mark.filterwarnings("ignore:The send_default_pii option is deprecated:DeprecationWarning")
@pytest.mark.django_db(transaction=True)  # the WSGI handler closes the connection after the request
@pytest.mark.urls(__name__)
def test_a_failing_view_reports_an_event_without_cookie_token_or_personal_data(sentry_events):
    import sentry_sdk

    assert init_error_reporting(dsn="https://public@example.invalid/1", environment="test", release="r1")
    options = sentry_sdk.get_client().options
    assert options["send_default_pii"] is False
    assert options["include_local_variables"] is False
    assert options["max_request_body_size"] == "never"
    assert options["traces_sample_rate"] == 0
    assert {"django", "celery"} <= set(sentry_sdk.get_client().integrations)

    status = _wsgi_get(
        f"/documento/{TOKEN}/falla",
        {"code": CODE, "state": STATE, "rut": RUT_PLAIN},
        COOKIE=f"of_session={SESSION}; csrftoken=csrf-cookie-value",
        AUTHORIZATION="Bearer live-api-token",
        USER_AGENT="pytest-browser/1.0",
        X_FORWARDED_FOR="200.1.2.3",
        REFERER=f"https://app.openfactura.test/documentos/{PDF_TOKEN}.pdf",
    )
    assert status.startswith("500")
    sentry_sdk.flush()

    [event] = [e for e in sentry_events if e.get("exception")]
    assert event["environment"] == "test" and event["release"] == "r1"
    assert event["exception"]["values"][-1]["type"] == "RuntimeError"
    assert event["exception"]["values"][-1]["value"] == (
        "no se pudo mostrar el documento de [redactado] en "
        "/documento/[redactado]/falla?code=[redactado]&state=[redactado]&rut=[redactado]"
    )
    assert event["transaction"] == "/documento/{token}/falla"
    request = event["request"]
    assert request["method"] == "GET"
    assert request["url"] == "http://testserver/documento/[redactado]/falla"
    assert request["query_string"] == "code=[redactado]&state=[redactado]&rut=[redactado]"
    assert request["headers"] == {"User-Agent": "pytest-browser/1.0"}
    assert "cookies" not in request and "data" not in request
    assert "REMOTE_ADDR" not in request.get("env", {})
    assert "ip_address" not in event.get("user", {})
    crumbs = [crumb.get("message", "") for crumb in event["breadcrumbs"]["values"]]
    assert "consulta de [redactado] con RUT [redactado]" in crumbs
    dumped = json.dumps(event, default=str)
    for secret in (*SECRETS, "live-api-token", "200.1.2.3", "csrf-cookie-value"):
        assert secret not in dumped, secret
