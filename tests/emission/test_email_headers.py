"""Emails to customers come from the store (issue 15 point 10): the From name is the store's name on the
product's own address (RFC 2047 for "Café Ñuñoa"), and Reply-To is the merchant's email. Every email the
product sends to customers: the document, the nota de crédito and the self-service link (modes 3–4)."""

from __future__ import annotations

import email
import email.policy
from email.utils import parseaddr

import pytest
from django.core import mail

from emission.models import EmissionMode
from tests import flows

pytestmark = pytest.mark.django_db(transaction=True)

STORE_NAME = "Café Ñuñoa"
STORE_EMAIL = "contacto@cafe.example.cl"  # the sandbox's /store/info.json for the store "cafe"


def _parsed(message) -> email.message.EmailMessage:
    """The message as the customer's mail program reads it: bytes on the wire, headers decoded."""
    raw = message.message().as_bytes()
    return email.message_from_bytes(raw, policy=email.policy.default)


def _assert_from_the_store(message, settings, reply_to: str) -> None:
    parsed = _parsed(message)
    [sender] = parsed["From"].addresses
    assert sender.display_name == STORE_NAME
    assert sender.addr_spec == parseaddr(settings.DEFAULT_FROM_EMAIL)[1]
    raw_from = message.message()["From"]
    assert raw_from.isascii() and raw_from.startswith("=?utf-8?")  # encoded, not raw UTF-8 in a header
    [replies] = parsed["Reply-To"].addresses
    assert replies.addr_spec == reply_to


@pytest.fixture
def cafe(sandbox, http, settings):
    store = flows.live_store(http, sandbox, settings, "cafe", STORE_NAME)
    assert store.email == STORE_EMAIL
    return store


def test_document_and_nota_come_from_the_store_and_reply_to_the_merchant(sandbox, http, settings, cafe):
    flows.configure(cafe, merchant_email="dueno@cafe.example.cl")
    flows.paid_boleta(http, sandbox, cafe, 8101)
    flows.cancel(http, sandbox, "cafe", 8101)

    boleta, nota = mail.outbox
    assert boleta.subject.startswith("Boleta electrónica N°")
    assert nota.subject.startswith("Nota de crédito")
    for message in (boleta, nota):
        assert message.to == ["camila.rojas@example.cl"]
        _assert_from_the_store(message, settings, reply_to="dueno@cafe.example.cl")


def test_without_a_merchant_email_replies_go_to_the_store_s_jumpseller_email(sandbox, http, settings, cafe):
    flows.paid_boleta(http, sandbox, cafe, 8102)
    [message] = mail.outbox
    _assert_from_the_store(message, settings, reply_to=STORE_EMAIL)


@pytest.mark.parametrize("mode", [EmissionMode.LINK_BOLETA_O_FACTURA, EmissionMode.LINK_SOLO_BOLETA])
def test_self_service_link_email_comes_from_the_store(sandbox, http, settings, cafe, mode):
    flows.configure(cafe, mode=mode, merchant_email="dueno@cafe.example.cl")
    flows.create_order(http, sandbox, "cafe", flows.example_order("afecta", id=8103))
    flows.pay(http, sandbox, "cafe", 8103)
    [message] = mail.outbox
    assert "/documento/" in message.body
    _assert_from_the_store(message, settings, reply_to="dueno@cafe.example.cl")


def test_demo_email_to_the_merchant_also_comes_from_the_store(sandbox, http, settings):
    store = flows.installed_store(http, sandbox, settings, "cafe", STORE_NAME)
    flows.paid_boleta(http, sandbox, store, 8104)
    [message] = mail.outbox
    assert message.to == [STORE_EMAIL]
    _assert_from_the_store(message, settings, reply_to=STORE_EMAIL)


def test_a_store_name_cannot_add_a_header(settings):
    from core.mail import store_from_email

    sender = store_from_email("Tienda\r\nBcc: todos@example.cl")
    assert "\n" not in sender and "\r" not in sender
    message = mail.EmailMessage("Asunto", "Cuerpo", sender, ["cliente@example.cl"])
    parsed = _parsed(message)
    assert parsed["Bcc"] is None
    assert parsed["From"].addresses[0].display_name == "Tienda Bcc: todos@example.cl"
