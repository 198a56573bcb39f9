"""The sandbox email backend: every message the product sends is kept in the database.

``EMAIL_BACKEND = "sandbox.mail.EmailBackend"`` (the default with ``SANDBOX=1``). Nothing leaves the
machine. ``GET /sandbox/mail`` lists the messages (oldest first) as ``[{"to", "subject", "attachments":
[file names], "links": [every http(s) URL of the text and HTML bodies, de-duplicated, in order],
"sent_at"}]``; ``/sandbox/emails/`` shows them to people, with their attachments.

When ``django.core.mail.outbox`` exists (Django's test environment) the messages are appended to it too,
so tests that switch to this backend keep ``mail.outbox``.
"""

from __future__ import annotations

import html
import re
from email.mime.base import MIMEBase

from django.core import mail
from django.core.mail.backends.base import BaseEmailBackend
from django.db import transaction

from .models import Email, EmailAttachment

_URL_RE = re.compile(r"""https?://[^\s<>"'`]+""", re.IGNORECASE)
_TRAILING = ".,;:!?"


def links_in(*texts: str) -> list[str]:
    """Every http(s) URL of ``texts`` (HTML entities decoded, trailing punctuation dropped), once each."""
    seen: dict[str, None] = {}
    for text in texts:
        for match in _URL_RE.findall(text or ""):
            url = html.unescape(match)
            while url and (url[-1] in _TRAILING or (url[-1] == ")" and url.count("(") < url.count(")"))):
                url = url[:-1]
            seen.setdefault(url, None)
    return list(seen)


def _attachments(message) -> list[tuple[str, str, bytes]]:
    found = []
    for index, attachment in enumerate(message.attachments, start=1):
        if isinstance(attachment, MIMEBase):
            filename = attachment.get_filename() or f"adjunto-{index}"
            content_type = attachment.get_content_type()
            content = attachment.get_payload(decode=True) or b""
        else:
            filename, content, content_type = attachment
            filename = filename or f"adjunto-{index}"
            content_type = content_type or "application/octet-stream"
        if isinstance(content, str):
            content = content.encode("utf-8")
        found.append((filename, content_type, bytes(content)))
    return found


def _bodies(message) -> tuple[str, str]:
    text, body_html = "", ""
    if getattr(message, "content_subtype", "plain") == "html":
        body_html = message.body or ""
    else:
        text = message.body or ""
    for alternative in getattr(message, "alternatives", []) or []:
        content, mimetype = alternative[0], alternative[1]
        if mimetype == "text/html" and not body_html:
            body_html = content if isinstance(content, str) else content.decode("utf-8", "replace")
    return text, body_html


class EmailBackend(BaseEmailBackend):
    """Stores each message (recipients, subject, bodies, attachments) as an :class:`Email` row."""

    def send_messages(self, email_messages) -> int:
        sent = 0
        for message in email_messages or []:
            try:
                self._store(message)
            except Exception:
                if not self.fail_silently:
                    raise
                continue
            outbox = getattr(mail, "outbox", None)
            if isinstance(outbox, list):
                outbox.append(message)
            sent += 1
        return sent

    def _store(self, message) -> None:
        text, body_html = _bodies(message)
        with transaction.atomic():
            email = Email.objects.create(
                from_email=message.from_email or "",
                to=list(message.to or []),
                cc=list(message.cc or []),
                bcc=list(message.bcc or []),
                reply_to=list(message.reply_to or []),
                subject=str(message.subject or ""),
                text_body=text,
                html_body=body_html,
            )
            EmailAttachment.objects.bulk_create(
                EmailAttachment(email=email, filename=name, content_type=kind, content=content)
                for name, kind, content in _attachments(message)
            )


def email_json(email: Email) -> dict:
    """The pinned shape of ``GET /sandbox/mail``."""
    return {
        "to": email.to,
        "subject": email.subject,
        "attachments": [attachment.filename for attachment in email.attachments.all()],
        "links": links_in(email.text_body, email.html_body),
        "sent_at": email.sent_at.isoformat(),
    }
