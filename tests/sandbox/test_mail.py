"""The sandbox email backend and ``GET /sandbox/mail`` (pinned shape)."""

from __future__ import annotations

from datetime import datetime

import pytest
from django.core import mail
from django.core.mail import EmailMessage, EmailMultiAlternatives

from sandbox.mail import links_in
from sandbox.models import Email


@pytest.fixture
def sandbox_mail(settings):
    settings.EMAIL_BACKEND = "sandbox.mail.EmailBackend"


def send_receipt(to="ana@example.cl"):
    message = EmailMultiAlternatives(
        subject="Tu boleta N° 1234",
        body="Hola Ana. Tu boleta: https://app.example/d/abc?x=1&y=2.\nFactura: https://app.example/f/abc",
        from_email="OpenFactura para Jumpseller <no-responder@localhost>",
        to=[to],
    )
    message.attach_alternative(
        '<p><a href="https://app.example/d/abc?x=1&amp;y=2">Ver boleta</a> '
        '<a href="https://app.example/otra">otra</a></p>',
        "text/html",
    )
    message.attach("boleta-1234.pdf", b"%PDF-1.4 fake", "application/pdf")
    message.send()


def test_backend_stores_messages_and_mail_lists_them(client, db, sandbox_mail):
    send_receipt()
    EmailMessage("Segundo", "sin enlaces", "x@localhost", ["Bea <bea@example.cl>"]).send()
    response = client.get("/sandbox/mail")
    assert response.status_code == 200
    first, second = response.json()
    assert set(first) == {"to", "subject", "attachments", "links", "sent_at"}
    assert first["to"] == ["ana@example.cl"]
    assert first["subject"] == "Tu boleta N° 1234"
    assert first["attachments"] == ["boleta-1234.pdf"]
    assert first["links"] == [
        "https://app.example/d/abc?x=1&y=2",
        "https://app.example/f/abc",
        "https://app.example/otra",
    ]
    assert datetime.fromisoformat(first["sent_at"])
    assert (second["subject"], second["links"], second["attachments"]) == ("Segundo", [], [])
    stored = Email.objects.get(subject="Tu boleta N° 1234")
    assert bytes(stored.attachments.get().content) == b"%PDF-1.4 fake"
    assert "Ver boleta" in stored.html_body
    assert len(mail.outbox) == 2  # Django's test outbox still sees them


def test_mail_to_filter(client, db, sandbox_mail):
    send_receipt("ana@example.cl")
    EmailMessage("Para Bea", "x", "x@localhost", ["Bea <Bea@Example.cl>"]).send()
    assert [m["subject"] for m in client.get("/sandbox/mail", {"to": "bea@example.cl"}).json()] == [
        "Para Bea"
    ]
    assert client.get("/sandbox/mail", {"to": "nadie@example.cl"}).json() == []


def test_html_only_message_and_mime_attachment(client, db, sandbox_mail):
    from email.mime.text import MIMEText

    message = EmailMessage("Solo HTML", "<p>https://a.example/1</p>", "x@localhost", ["c@example.cl"])
    message.content_subtype = "html"
    part = MIMEText("hola", "plain")
    part.add_header("Content-Disposition", "attachment", filename="nota.txt")
    message.attach(part)
    message.send()
    item = client.get("/sandbox/mail").json()[0]
    assert (item["links"], item["attachments"]) == (["https://a.example/1"], ["nota.txt"])


def test_links_in_strips_punctuation_and_keeps_balanced_parens():
    assert links_in("Ver (https://a.example/x).", "https://a.example/wiki/A_(b) y https://a.example/x") == [
        "https://a.example/x",
        "https://a.example/wiki/A_(b)",
    ]


def test_email_pages(client, db, sandbox_mail):
    send_receipt()
    email = Email.objects.get()
    listing = client.get("/sandbox/emails/")
    assert listing.status_code == 200
    assert "Correos enviados por la aplicación" in listing.content.decode()
    detail = client.get(f"/sandbox/emails/{email.pk}/")
    assert detail.status_code == 200
    assert "boleta-1234.pdf" in detail.content.decode()
    attachment = client.get(f"/sandbox/emails/{email.pk}/attachments/{email.attachments.get().pk}")
    assert attachment.status_code == 200
    assert attachment["Content-Type"] == "application/pdf"
    assert attachment.content == b"%PDF-1.4 fake"
    assert client.get(f"/sandbox/emails/{email.pk}/attachments/999").status_code == 404
