"""Log records name a store only from an authenticated source: the merchant session, or the webhook
receiver once the delivery's signature is verified — never the ``Jumpseller-Store-Code`` header alone."""

from __future__ import annotations

import logging

import pytest
import responses
from django.contrib.sessions.backends.signed_cookies import SessionStore
from django.http import HttpResponse
from django.test import Client, RequestFactory

from core.logging import ContextFilter
from core.middleware import RequestContextMiddleware
from integration import services
from integration.models import WebhookEvent
from tests.integration.conftest import API, HOOKS_TOKEN, deliver, fixture_bytes, make_store

PAID = fixture_bytes("webhook_order_paid__basic")


class _Attributed(logging.Handler):
    """Every record with the store code the production handlers would write (``ContextFilter``)."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.addFilter(ContextFilter())
        self.records: list[tuple[str, str, str]] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append((record.name, record.getMessage(), record.store_code))


@pytest.fixture
def attributed():
    handler = _Attributed()
    root = logging.getLogger()
    level = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    yield handler
    root.removeHandler(handler)
    root.setLevel(level)


def _logging_view(request):
    logging.getLogger("tests.view").info("página")
    return HttpResponse("ok")


def _request(*, header: str | None = None, session: dict | None = None):
    extra = {"HTTP_JUMPSELLER_STORE_CODE": header} if header else {}
    request = RequestFactory().get("/app/", **extra)
    request.session = SessionStore()
    request.session.update(session or {})
    return request


def _store_codes(handler: _Attributed, name: str) -> list[str]:
    return [code for logger, _, code in handler.records if logger == name]


def test_the_header_alone_names_no_store(attributed):
    RequestContextMiddleware(_logging_view)(_request(header="tienda-forjada"))
    assert _store_codes(attributed, "tests.view") == ["-"]


def test_the_merchant_session_names_the_store_whatever_the_header_says(attributed):
    request = _request(header="tienda-forjada", session={"store_id": 7, "store_code": "tienda-nunoa"})
    RequestContextMiddleware(_logging_view)(request)
    assert _store_codes(attributed, "tests.view") == ["tienda-nunoa"]


def test_a_session_without_a_store_id_names_no_store(attributed):
    RequestContextMiddleware(_logging_view)(_request(session={"store_code": "tienda-nunoa"}))
    assert _store_codes(attributed, "tests.view") == ["-"]


@pytest.mark.django_db
@responses.activate
def test_a_forged_delivery_with_a_bad_signature_logs_no_store_code(attributed, settings):
    settings.JUMPSELLER_API_URL = API
    make_store("tienda-nunoa")
    # The receiver asks Jumpseller once for a fresh token before rejecting: it is the same token.
    responses.get(
        f"{API}/store/info.json", json={"store": {"code": "tienda-nunoa", "hooks_token": HOOKS_TOKEN}}
    )
    response = deliver(
        Client(enforce_csrf_checks=True), PAID, store_code="tienda-nunoa", token="not-the-token"
    )
    assert response.status_code == 401 and WebhookEvent.objects.count() == 0
    assert len(responses.calls) == 1
    rejected = [record for record in attributed.records if "bad signature" in record[1]]
    assert rejected == [("integration.webhooks", "webhook order_paid rejected: bad signature", "-")]
    assert all(code == "-" for _, _, code in attributed.records), attributed.records


@pytest.mark.django_db
def test_an_unknown_store_code_is_not_written_into_the_logs(attributed):
    response = deliver(Client(enforce_csrf_checks=True), PAID, store_code="tienda-forjada")
    assert response.status_code == 401
    assert all(code == "-" and "tienda-forjada" not in message for _, message, code in attributed.records)


@pytest.mark.django_db
def test_a_verified_delivery_is_attributed_to_its_store(attributed, monkeypatch):
    make_store("tienda-nunoa")
    receive = services.webhook_event_receive

    def receive_and_log(**kwargs):
        logging.getLogger("tests.receiver").info("recibido")
        return receive(**kwargs)

    monkeypatch.setattr(services, "webhook_event_receive", receive_and_log)
    monkeypatch.setattr(services, "enqueue_event_processing", lambda event_id: None)
    assert deliver(Client(enforce_csrf_checks=True), PAID).status_code == 200
    assert _store_codes(attributed, "tests.receiver") == ["tienda-nunoa"]
