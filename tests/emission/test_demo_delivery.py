"""Demo mode never reaches real customers (issue 14, point 5), end to end against the sandbox.

A new install starts in demo mode: its documents (HAULMER's, "[DEMO]") are emailed to the merchant's demo
address, never to the customer, and are not attached to the Jumpseller order unless the merchant asks
for it. With no demo address nobody is emailed and the document says why. Turning demo mode off changes
nothing already delivered; live documents reach the customer as before.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core import mail
from django.utils.html import escape

from emission import services
from emission.models import CustomerNotice, Document, DocumentState, EmissionSettings
from tests import flows

pytestmark = pytest.mark.django_db(transaction=True)

CUSTOMER = "valentina.munoz@example.cl"  # the buyer of sandbox/examples/mixta.json
NO_RECIPIENT = f"No enviado: {services.DEMO_NO_RECIPIENT}"


@pytest.fixture
def shop(sandbox, http, settings):
    """A store called ``tienda`` with the app just installed: demo company, mode 2, the defaults."""
    return flows.installed_store(http, sandbox, settings, "tienda", "Tienda Ñuñoa")


def paid(http, sandbox, shop, order_id: int, example: str = "mixta") -> Document:
    flows.create_order(http, sandbox, "tienda", flows.example_order(example, id=order_id))
    flows.pay(http, sandbox, "tienda", order_id)
    return Document.objects.get(store=shop, order_id=order_id, kind__in=["boleta", "factura"])


def history(http, sandbox, order_id: int) -> list:
    url = sandbox(f"/sandbox/jumpseller/stores/tienda/orders/{order_id}/history")
    return http.get(url, timeout=10).json()


def later(document: Document) -> dict:
    """The sweeper's clock once the document's deliveries are overdue."""
    return {"now": document.emitted_at + timedelta(minutes=10)}


def test_a_new_install_starts_in_demo_mode_addressed_to_the_store_s_own_email(shop):
    cfg = services.emission_settings_for(store_id=shop.pk)
    assert shop.email == "contacto@tienda.example.cl"  # the sandbox's /store/info.json
    assert (cfg.demo_mode, cfg.demo_recipient_email, cfg.demo_attach_documents) == (
        True,
        "contacto@tienda.example.cl",
        False,
    )


def test_demo_boleta_is_emailed_to_the_merchant_not_the_customer_and_not_attached(sandbox, http, shop):
    boleta = paid(http, sandbox, shop, 7101)
    assert (boleta.state, boleta.demo, boleta.customer_email) == (DocumentState.EMITTED, True, CUSTOMER)

    assert flows.mails(http, sandbox, to=CUSTOMER) == []
    [sent] = flows.mails(http, sandbox)
    assert sent["to"] == ["contacto@tienda.example.cl"]
    assert sent["subject"] == f"[DEMO] Boleta electrónica N° {boleta.folio} — Tienda Ñuñoa"
    assert sent["attachments"] == [f"39-{boleta.folio}.pdf"]
    [message] = mail.outbox
    assert message.bcc == []
    line = "correo era para el cliente Valentina Muñoz <valentina.munoz@example.cl>"
    assert f"[Modo demo] Este {line}" in message.body
    assert f"<strong>Modo demo:</strong> este {escape(line)}" in message.alternatives[0][0]

    assert flows.jumpseller_documents(http, sandbox, "tienda", 7101) == []
    assert history(http, sandbox, 7101) == []
    assert (boleta.attached_at, boleta.attach_error) == (None, services.DEMO_ATTACH_SKIPPED)
    assert boleta.email_sent_at is not None and boleta.email_error == ""
    # A recorded decision, not a failure: the sweeper does not come back for it.
    assert services.emission_sweep(**later(boleta))["deliver"] == 0
    flows.pay(http, sandbox, "tienda", 7101)  # a late duplicate delivery changes nothing
    assert len(flows.mails(http, sandbox)) == 1
    assert flows.jumpseller_documents(http, sandbox, "tienda", 7101) == []


def test_demo_nota_de_credito_goes_to_the_merchant_too(sandbox, http, shop):
    boleta = paid(http, sandbox, shop, 7102)
    flows.cancel(http, sandbox, "tienda", 7102)
    nota = Document.objects.get(store=shop, order_id=7102, kind="nota_credito")
    assert nota.state == DocumentState.EMITTED and nota.demo and nota.annuls_id == boleta.pk
    assert flows.mails(http, sandbox, to=CUSTOMER) == []
    subjects = [m["subject"] for m in flows.mails(http, sandbox, to="contacto@tienda.example.cl")]
    assert subjects == [
        f"[DEMO] Boleta electrónica N° {boleta.folio} — Tienda Ñuñoa",
        f"[DEMO] Nota de crédito electrónica N° {nota.folio} — Tienda Ñuñoa",
    ]
    assert flows.jumpseller_documents(http, sandbox, "tienda", 7102) == []
    assert nota.attach_error == services.DEMO_ATTACH_SKIPPED


def test_with_the_toggle_on_demo_documents_are_attached_as_demo(sandbox, http, shop):
    flows.configure(shop, demo_attach_documents=True)
    boleta = paid(http, sandbox, shop, 7103)
    [attached] = flows.jumpseller_documents(http, sandbox, "tienda", 7103)
    assert (attached["document_type"], attached["public_id"]) == (1, f"39-{boleta.folio}")
    [note] = history(http, sandbox, 7103)
    assert "(documento de prueba)" in str(note)
    boleta.refresh_from_db()
    assert boleta.attached_at is not None and boleta.attach_error == ""
    # Still emailed to the merchant only.
    assert [m["to"] for m in flows.mails(http, sandbox)] == [["contacto@tienda.example.cl"]]


def test_without_a_demo_address_nobody_is_emailed_and_the_reason_is_recorded(sandbox, http, shop):
    flows.configure(shop, demo_recipient_email="", email_copy_merchant=True, merchant_email="copia@tienda.cl")
    boleta = paid(http, sandbox, shop, 7104)
    assert flows.mails(http, sandbox) == [] and mail.outbox == []
    assert (boleta.email_sent_at, boleta.email_error) == (None, NO_RECIPIENT)
    assert NO_RECIPIENT.startswith("No enviado: documento de prueba (modo demo)")
    assert services.emission_sweep(**later(boleta))["deliver"] == 0

    with pytest.raises(services.ActionRefused, match="nunca se envían al cliente"):
        services.document_email_resend(store_id=shop.pk, document_id=boleta.pk)
    assert flows.mails(http, sandbox) == []


def test_with_demo_off_the_customer_gets_the_document_as_before(sandbox, http, shop):
    flows.configure(shop, demo_mode=False, api_key="sandbox-tienda")
    boleta = paid(http, sandbox, shop, 7105)
    assert (boleta.state, boleta.demo) == (DocumentState.EMITTED, False)
    [sent] = flows.mails(http, sandbox)
    assert sent["to"] == [CUSTOMER]
    assert sent["subject"] == f"Boleta electrónica N° {boleta.folio} — Tienda Ñuñoa"
    assert "Este correo era para el cliente" not in mail.outbox[0].body
    [attached] = flows.jumpseller_documents(http, sandbox, "tienda", 7105)
    assert attached["public_id"] == f"39-{boleta.folio}"


def test_turning_demo_off_changes_nothing_already_delivered(sandbox, http, shop):
    boleta = paid(http, sandbox, shop, 7106)
    assert boleta.attach_error == services.DEMO_ATTACH_SKIPPED
    flows.configure(shop, demo_mode=False, api_key="sandbox-tienda", demo_attach_documents=True)

    services.emission_sweep(**later(boleta))
    services.document_deliver(store_id=shop.pk, document_id=boleta.pk)
    assert flows.jumpseller_documents(http, sandbox, "tienda", 7106) == []
    # "Reenviar correo" of that demo boleta: still the merchant, never the customer.
    services.document_email_resend(store_id=shop.pk, document_id=boleta.pk)
    assert flows.mails(http, sandbox, to=CUSTOMER) == []
    assert len(flows.mails(http, sandbox, to="contacto@tienda.example.cl")) == 2


def test_mode_3_notice_goes_to_the_merchant_in_demo_mode(sandbox, http, shop):
    flows.configure(shop, mode=3)
    flows.create_order(http, sandbox, "tienda", flows.example_order("mixta", id=7107))
    flows.pay(http, sandbox, "tienda", 7107)
    assert flows.mails(http, sandbox, to=CUSTOMER) == []
    [sent] = flows.mails(http, sandbox)
    assert sent["to"] == ["contacto@tienda.example.cl"]
    assert sent["subject"] == "[DEMO] Obtén tu documento tributario — orden #7107"
    assert any("/documento/" in link for link in sent["links"])
    line = "correo era para el cliente Valentina Muñoz <valentina.munoz@example.cl>"
    assert f"[Modo demo] Este {line}" in mail.outbox[0].body
    assert f"<strong>Modo demo:</strong> este {escape(line)}" in mail.outbox[0].alternatives[0][0]


def test_mode_4_notice_without_a_demo_address_is_sent_to_nobody(sandbox, http, shop):
    flows.configure(shop, mode=4, demo_recipient_email="")
    flows.create_order(http, sandbox, "tienda", flows.example_order("mixta", id=7108))
    flows.pay(http, sandbox, "tienda", 7108, deliveries=2)
    assert flows.mails(http, sandbox) == []
    notice = CustomerNotice.objects.get(store=shop, order_id=7108)
    assert (notice.sent_at, notice.error, notice.email) == (None, NO_RECIPIENT, CUSTOMER)

    # Setting an address or leaving demo mode later does not send that notice to anyone.
    EmissionSettings.objects.filter(store=shop).update(demo_mode=False, demo_recipient_email="yo@tienda.cl")
    flows.pay(http, sandbox, "tienda", 7108)
    assert flows.mails(http, sandbox) == []
