"""Follow-ups of an emitted document: its PDF and permanent link, the email, the Jumpseller attachment."""

from __future__ import annotations

import logging
import random
from datetime import date
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.core import signing
from django.db.models import F
from django.urls import reverse
from django.utils import timezone

from core.mail import store_from_email, store_reply_to
from emission.models import (
    Document,
    DocumentKind,
    DocumentState,
    EmissionMode,
    EmissionSettings,
)
from emission.services.configuration import (
    DEMO_NO_RECIPIENT,
    email_recipient_for,
    emission_settings_for,
    openfactura_client_for,
)
from emission.services.queue import ATTACH_SKIPPED, EMAIL_SKIPPED
from emission.services.selfservice_link import selfservice_url_for
from emission.services.state import RetryLater, document_fields_set

if TYPE_CHECKING:
    from integration.client import JumpsellerClient

logger = logging.getLogger(__name__)


def document_pdf_bytes(document: Document) -> bytes:
    """The PDF, from our copy or fetched once from OpenFactura and kept."""
    if document.pdf:
        return bytes(document.pdf)
    from emission.client import OpenFacturaRateLimited

    client = openfactura_client_for(emission_settings_for(store_id=document.store_id), demo=document.demo)
    try:
        pdf = client.document_pdf(document.token)
    except OpenFacturaRateLimited as exc:  # the key's budget is spent now: the delivery runs later
        raise RetryLater(exc.retry_after + random.uniform(0, 0.5)) from exc  # noqa: S311 - jitter
    document_fields_set(document, pdf=pdf)
    return pdf


PDF_LINK_SALT = "document-pdf"


def document_pdf_url(document: Document) -> str:
    """A permanent capability link to the PDF (Jumpseller keeps it on the order)."""
    token = signing.dumps({"d": document.pk, "s": document.store_id}, salt=PDF_LINK_SALT)
    return f"{settings.PUBLIC_BASE_URL}{reverse('emission:document_pdf', args=[token])}"


# A demo document is not attached to the real order unless the merchant asks for it; decided once, when it
# is delivered: turning the option (or demo mode) on or off later changes nothing retroactively.
DEMO_ATTACH_SKIPPED = (
    f"{ATTACH_SKIPPED} documento de prueba (modo demo); los documentos de prueba no se adjuntan en "
    "Jumpseller salvo que lo actives en Configuración."
)


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
    if document.attached_at is None and not document.attach_error.startswith(ATTACH_SKIPPED):
        if document.demo and not cfg.demo_attach_documents:
            document_fields_set(document, attach_error=DEMO_ATTACH_SKIPPED)
        else:
            document_attach(document=document)
    return document


def document_email_customer(*, document: Document, cfg: EmissionSettings) -> bool:
    """Email the PDF to the customer (Spanish), with the self-service link in modes 2–4. Recorded once.

    A demo document never reaches the customer: it goes to the merchant's demo address, marked [DEMO] and
    naming the customer it was meant for; with no such address nobody is emailed and the reason is kept."""
    from django.core.mail import EmailMultiAlternatives
    from django.template.loader import render_to_string

    if not document.customer_email:
        document_fields_set(document, email_error=f"{EMAIL_SKIPPED} la orden no tiene correo del cliente.")
        return False
    recipient = email_recipient_for(cfg=cfg, demo=document.demo, customer_email=document.customer_email)
    if not recipient:
        document_fields_set(document, email_error=f"{EMAIL_SKIPPED} {DEMO_NO_RECIPIENT}")
        return False
    store = document.store
    context = {
        "document": document,
        "store": store,
        "pdf_url": document_pdf_url(document),
        "selfservice_url": selfservice_url_for(store_id=document.store_id, order_id=document.order_id)
        if (document.emission_mode or cfg.mode) != EmissionMode.BOLETA
        and document.kind == DocumentKind.BOLETA
        else None,
        "demo_customer": _customer_label(document.customer_name, document.customer_email)
        if document.demo
        else "",
        **_nota_context(document),
    }
    if context["selfservice_url"]:
        context["selfservice_deadline"] = selfservice_deadline(document.fecha_emision or timezone.localdate())
    subject = f"{document.tipo_name} N° {document.folio} — {store.name or store.code}"
    if document.demo:
        subject = f"[DEMO] {subject}"
    message = EmailMultiAlternatives(
        subject=subject,
        body=render_to_string("emission/email/document.txt", context),
        to=[recipient],
        bcc=_merchant_copy(cfg, recipient),
        from_email=store_from_email(store.name or store.code),
        reply_to=store_reply_to(cfg.merchant_email, store.email),
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


def selfservice_deadline(issued: date) -> date:
    """The last day the customer's link issues anything: the SII window of ``selfservice.services``."""
    from selfservice.services import window_end

    return window_end(issued)


def selfservice_order_deadline(order: dict[str, Any]) -> date:
    """The link's last day for an order without a document yet (modes 3–4): counted from its payment."""
    from selfservice.services import order_date

    return selfservice_deadline(order_date(order))


def _nota_context(document: Document) -> dict[str, Any]:
    """What a nota de crédito's email says besides its amount: the document it corrects and its reason
    (``Referencia.RazonRef``)."""
    if document.kind != DocumentKind.NOTA_CREDITO:
        return {}
    references = (document.request_body or {}).get("dte", {}).get("Referencia") or []
    if isinstance(references, dict):
        references = [references]
    reason = next((str(r.get("RazonRef") or "") for r in references if isinstance(r, dict)), "")
    return {"corrected": document.annuls, "reason": reason}


def _customer_label(name: str, email: str) -> str:
    """How a demo email names the real customer it was meant for: ``Ana Pérez <ana@example.cl>``."""
    return f"{name} <{email}>" if name else email


def _merchant_copy(cfg: EmissionSettings, recipient: str) -> list[str] | None:
    """The merchant's copy (Bcc), unless the email already goes to that address."""
    if cfg.email_copy_merchant and cfg.merchant_email and cfg.merchant_email != recipient:
        return [cfg.merchant_email]
    return None


def document_attach(*, document: Document) -> bool:
    """Attach the document to the Jumpseller order (``POST /orders/{id}/documents.json``) and add a history
    note; on a later delivery, skipped when Jumpseller already lists it (a previous attempt succeeded but
    was not recorded)."""
    from django.core.cache import cache

    from integration.client import JumpsellerError, JumpsellerRateLimited, JumpsellerTransientError
    from integration.services import StoreDisconnected, jumpseller_client_for

    lock = f"emission:attach:{document.pk}"
    # Held for longer than any task may run (Celery kills it at CELERY_TASK_TIME_LIMIT): the lock cannot
    # expire while its holder is still listing and attaching (up to five paced Jumpseller calls).
    if not cache.add(lock, 1, timeout=settings.CELERY_TASK_TIME_LIMIT + 60):
        return False  # another delivery of this document is attaching it
    try:
        fresh = (
            Document.objects.filter(pk=document.pk, store_id=document.store_id)
            .values("attached_at", "deliver_attempts")
            .get()
        )
        if fresh["attached_at"] is not None:  # another delivery attached it while this one started
            return True
        with jumpseller_client_for(document.store_id) as client:
            # Only a delivery that is not the first can find it attached already (an earlier run that
            # died after Jumpseller took it); the first one saves the call (one of Jumpseller's 20/s).
            existing = (
                {d.public_id for d in client.list_order_documents(document.order_id)}
                if fresh["deliver_attempts"] > 1
                else set()
            )
            if document.public_id not in existing:
                _order_document_create(client, document)
                demo = " (documento de prueba)" if document.demo else ""
                client.create_order_history(
                    document.order_id,
                    f"{document.tipo_name} N° {document.folio} emitida con OpenFactura{demo}: "
                    f"{document_pdf_url(document)}",
                )
    except StoreDisconnected as exc:
        document_fields_set(document, attach_error=f"La tienda está desconectada de Jumpseller: {exc}"[:500])
        return False
    except JumpsellerRateLimited as exc:  # the store's Jumpseller budget: a deferral, not an error
        raise RetryLater(exc.retry_after + random.uniform(0, 0.5)) from exc  # noqa: S311 - jitter
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


def _order_document_create(client: JumpsellerClient, document: Document) -> None:
    """``POST /orders/{id}/documents.json`` with ``document_type`` in the form this store's Jumpseller takes.

    The OAS declares ``document_type`` an integer, yet its enum and every sample are strings ("1 - invoice",
    "0 - credit note"; jumpseller-api.md §2.6): the documented string goes first; a 422 that may be about
    it is retried once in the other form, and the form that worked is kept on the store's settings (a
    field, not the cache: it survives a Redis loss and a deploy), so later attachments use it directly."""
    from integration.client import JumpsellerValidationError

    known = (
        EmissionSettings.objects.filter(store_id=document.store_id)
        .values_list("jumpseller_document_type_form", flat=True)
        .first()
    )
    form = known or "string"
    fields = {
        "document_type": 0 if document.kind == DocumentKind.NOTA_CREDITO else 1,
        "public_id": document.public_id,
        "url": document_pdf_url(document),
        "external_id": document.token,
    }
    try:
        client.create_order_document(document.order_id, document_type_form=form, **fields)
    except JumpsellerValidationError as exc:
        if exc.status != 422 or not exc.may_concern("document_type"):
            raise
        refused, form = form, ("integer" if form == "string" else "string")
        logger.info("jumpseller refused document_type as %s (%s); sending %s", refused, exc.message, form)
        client.create_order_document(document.order_id, document_type_form=form, **fields)
    if form != known:
        EmissionSettings.objects.filter(store_id=document.store_id).update(jumpseller_document_type_form=form)
