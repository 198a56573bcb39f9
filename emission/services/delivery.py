"""Follow-ups of an emitted document: its PDF and permanent link, the email, the Jumpseller attachment."""

from __future__ import annotations

import logging

from django.conf import settings
from django.core import signing
from django.db.models import F
from django.urls import reverse
from django.utils import timezone

from emission.models import (
    Document,
    DocumentKind,
    DocumentState,
    EmissionMode,
    EmissionSettings,
)
from emission.services.configuration import emission_settings_for, openfactura_client_for
from emission.services.queue import EMAIL_SKIPPED
from emission.services.selfservice_link import selfservice_url_for
from emission.services.state import RetryLater, document_fields_set

logger = logging.getLogger(__name__)


def document_pdf_bytes(document: Document) -> bytes:
    """The PDF, from our copy or fetched once from OpenFactura and kept."""
    if document.pdf:
        return bytes(document.pdf)
    pdf = openfactura_client_for(emission_settings_for(store_id=document.store_id)).document_pdf(
        document.token
    )
    document_fields_set(document, pdf=pdf)
    return pdf


PDF_LINK_SALT = "document-pdf"


def document_pdf_url(document: Document) -> str:
    """A permanent capability link to the PDF (Jumpseller keeps it on the order)."""
    token = signing.dumps({"d": document.pk, "s": document.store_id}, salt=PDF_LINK_SALT)
    return f"{settings.PUBLIC_BASE_URL}{reverse('emission:document_pdf', args=[token])}"


def document_deliver(*, store_id: int, document_id: int) -> Document:
    document = Document.objects.select_related("store").get(pk=document_id, store_id=store_id)
    if document.state != DocumentState.EMITTED:
        return document
    Document.objects.filter(pk=document.pk, store_id=store_id).update(
        deliver_attempts=F("deliver_attempts") + 1
    )
    cfg = emission_settings_for(store_id=store_id)
    if document.email_sent_at is None and not document.email_error.startswith(EMAIL_SKIPPED):
        if cfg.email_customer:
            document_email_customer(document=document, cfg=cfg)
        else:
            document_fields_set(
                document,
                email_error=f"{EMAIL_SKIPPED} el correo al cliente está desactivado en Configuración.",
            )
    if document.attached_at is None:
        document_attach(document=document)
    return document


def document_email_customer(*, document: Document, cfg: EmissionSettings) -> bool:
    """Email the PDF to the customer (Spanish), with the self-service link in modes 2–4. Recorded once."""
    from django.core.mail import EmailMultiAlternatives
    from django.template.loader import render_to_string

    if not document.customer_email:
        document_fields_set(document, email_error=f"{EMAIL_SKIPPED} la orden no tiene correo del cliente.")
        return False
    store = document.store
    context = {
        "document": document,
        "store": store,
        "pdf_url": document_pdf_url(document),
        "selfservice_url": selfservice_url_for(store_id=document.store_id, order_id=document.order_id)
        if cfg.mode != EmissionMode.BOLETA and document.kind == DocumentKind.BOLETA
        else None,
    }
    subject = f"{document.tipo_name} N° {document.folio} — {store.name or store.code}"
    if document.demo:
        subject = f"[DEMO] {subject}"
    message = EmailMultiAlternatives(
        subject=subject,
        body=render_to_string("emission/email/document.txt", context),
        to=[document.customer_email],
        bcc=[cfg.merchant_email] if cfg.email_copy_merchant and cfg.merchant_email else None,
    )
    message.attach_alternative(render_to_string("emission/email/document.html", context), "text/html")
    message.attach(f"{document.tipo}-{document.folio}.pdf", document_pdf_bytes(document), "application/pdf")
    # Claim before sending so that two concurrent deliveries never email twice; undone on failure.
    claimed = Document.objects.filter(pk=document.pk, store_id=document.store_id, email_sent_at__isnull=True)
    if not claimed.update(email_sent_at=timezone.now(), email_error=""):
        return False
    try:
        message.send()
    except Exception as exc:  # noqa: BLE001 - SMTP errors vary; recorded and retried
        document_fields_set(
            document, email_sent_at=None, email_error=f"No se pudo enviar el correo: {exc}"[:500]
        )
        raise RetryLater(120) from exc
    return True


def document_attach(*, document: Document) -> bool:
    """Attach the document to the Jumpseller order (``POST /orders/{id}/documents.json``) and add a history
    note; skipped when Jumpseller already lists it (a previous attempt succeeded but was not recorded)."""
    from django.core.cache import cache

    from integration.client import JumpsellerError, JumpsellerTransientError
    from integration.services import StoreDisconnected, jumpseller_client_for

    lock = f"emission:attach:{document.pk}"
    if not cache.add(lock, 1, timeout=120):  # another delivery of this document is attaching it
        return False
    try:
        with jumpseller_client_for(document.store_id) as client:
            existing = {d.public_id for d in client.list_order_documents(document.order_id)}
            if document.public_id not in existing:
                client.create_order_document(
                    document.order_id,
                    document_type=0 if document.kind == DocumentKind.NOTA_CREDITO else 1,
                    public_id=document.public_id,
                    url=document_pdf_url(document),
                    external_id=document.token,
                )
                demo = " (documento de prueba)" if document.demo else ""
                client.create_order_history(
                    document.order_id,
                    f"{document.tipo_name} N° {document.folio} emitida con OpenFactura{demo}: "
                    f"{document_pdf_url(document)}",
                )
    except StoreDisconnected as exc:
        document_fields_set(document, attach_error=f"La tienda está desconectada de Jumpseller: {exc}"[:500])
        return False
    except JumpsellerTransientError as exc:
        document_fields_set(document, attach_error=f"Jumpseller no respondió; se reintentará: {exc}"[:500])
        raise RetryLater(60) from exc
    except JumpsellerError as exc:
        document_fields_set(document, attach_error=f"Jumpseller rechazó el adjunto: {exc}"[:500])
        return False
    finally:
        cache.delete(lock)
    document_fields_set(document, attached_at=timezone.now(), attach_error="")
    return True
