"""The store's emission queue: pause, resume, retry, and the sweep of due, stuck or undelivered work."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import BooleanField, ExpressionWrapper, Q, QuerySet
from django.utils import timezone

from core.formatting import format_clp
from emission.models import (
    Document,
    DocumentKind,
    DocumentState,
    EmissionSettings,
)
from emission.services.alerts import (
    merchant_alert_queue_paused,
    merchant_alerts_settle,
    merchant_alerts_sweep,
)
from emission.services.configuration import API_KEY_MISSING, emission_settings_for
from emission.services.state import ActionRefused, document_never_sent, document_transition, enqueue

logger = logging.getLogger(__name__)


def queue_pause(*, store_id: int, reason: str, automatic: bool = False) -> bool:
    """Pause emission for one store: orders keep arriving and wait as "pendiente"; nothing is dropped."""
    emission_settings_for(store_id=store_id)  # the row may not exist yet (created on first use)
    updated = EmissionSettings.objects.filter(store_id=store_id, queue_paused=False).update(
        queue_paused=True, queue_paused_reason=reason[:300], queue_paused_at=timezone.now()
    )
    if updated:
        logger.warning(
            "emission queue paused for store %s (%s)", store_id, "automatic" if automatic else "merchant"
        )
        if automatic:  # the merchant did not do it: one email per episode, a banner until resumed
            merchant_alert_queue_paused(store_id=store_id, reason=reason)
    return bool(updated)


def queue_resume(*, store_id: int) -> int:
    """Resume and send everything that waited (same Idempotency-Keys, so nothing is emitted twice).

    Refused (``ActionRefused``) while the store issues real documents without an API key: they would have
    nowhere to go (``openfactura_client_for`` never falls back to the demo company)."""
    cfg = emission_settings_for(store_id=store_id)
    if not cfg.demo_mode and not cfg.api_key:
        raise ActionRefused(API_KEY_MISSING)
    EmissionSettings.objects.filter(store_id=store_id).update(
        queue_paused=False, queue_paused_reason="", queue_paused_at=None
    )
    waiting = Document.objects.filter(
        store_id=store_id, state__in=[DocumentState.PENDING, DocumentState.FAILED_RETRYING]
    )
    waiting.update(next_attempt_at=None)
    merchant_alerts_settle(store_id=store_id)
    counts = _redispatch(waiting)
    return counts["send"] + counts["rebuild"]


def _redispatch(documents: QuerySet[Document], *, limit: int | None = None) -> dict[str, int]:
    """Enqueue documents again, oldest first: a built one is sent as it is (same body, same key); one whose
    build never finished (e.g. OpenFactura unreachable for the issuer data) is rebuilt from the order."""
    counts = {"send": 0, "rebuild": 0}
    rows = (
        documents.annotate(built=ExpressionWrapper(~Q(request_json=""), output_field=BooleanField()))
        .order_by("created_at", "pk")
        .values_list("store_id", "pk", "order_id", "kind", "built")
    )
    for store_id, pk, order_id, kind, built in rows[:limit] if limit is not None else rows:
        if built:
            transaction.on_commit(lambda s=store_id, d=pk: enqueue("emission.send_document", s, d))
            counts["send"] += 1
        else:
            task = (
                "emission.annul_for_order" if kind == DocumentKind.NOTA_CREDITO else "emission.emit_for_order"
            )
            transaction.on_commit(lambda t=task, s=store_id, o=order_id: enqueue(t, s, o))
            counts["rebuild"] += 1
    return counts


def document_retry(*, store_id: int, document_id: int) -> Document:
    """The merchant's "Reintentar": a document in review goes back to pending and is rebuilt from the
    current order and settings (same key; a merchant's partial nota keeps its body); a failed one is sent
    now."""
    document = Document.objects.get(pk=document_id, store_id=store_id)
    cfg = emission_settings_for(store_id=store_id)
    if (
        document.state == DocumentState.REQUIRES_REVIEW
        and document.demo != cfg.demo_mode
        and document.kind != DocumentKind.NOTA_CREDITO
        and document_never_sent(document)
    ):
        # Created in the other mode and never sent: it is issued in the store's current mode now.
        Document.objects.filter(pk=document.pk, store_id=store_id).update(demo=cfg.demo_mode)
        document.demo = cfg.demo_mode
    if document.state == DocumentState.REQUIRES_REVIEW and document.purpose.startswith("ncp:"):
        with transaction.atomic():
            _refuse_partial_nota_beyond_what_remains(document)
            document_transition(document, to=DocumentState.PENDING, error_code="", error_message="")
    elif document.state == DocumentState.REQUIRES_REVIEW:
        document_transition(
            document, to=DocumentState.PENDING, request_json="", tipo=None, error_code="", error_message=""
        )
    merchant_alerts_settle(store_id=store_id)  # the last document in review may have left it
    transaction.on_commit(lambda: _redispatch(Document.objects.filter(pk=document.pk, store_id=store_id)))
    return document


def _refuse_partial_nota_beyond_what_remains(nota: Document) -> None:
    """A partial nota parked in review was not counted while it waited: before it goes out again, what
    was credited since (other partial notas, an annulment, a conversion) must still leave room for it.
    The original's row is the lock, as when the nota was created."""
    from emission.services.orders import _credited, document_annulled  # orders sends through this module

    original = Document.objects.select_for_update().get(pk=nota.annuls_id, store_id=nota.store_id)
    if document_annulled(original):
        raise ActionRefused(
            "El documento ya está anulado con una nota de crédito: esta devolución ya no cabe."
        )
    credited = _credited(original, exclude_pk=nota.pk)
    if credited + (nota.mnt_total or 0) > (original.mnt_total or 0):
        raise ActionRefused(
            f"Esta devolución ({format_clp(nota.mnt_total)}) más lo ya devuelto ({format_clp(credited)}) "
            f"supera el total del documento ({format_clp(original.mnt_total)}): no se reenvía."
        )


MAX_DELIVER_ATTEMPTS = 10


EMAIL_SKIPPED = "No enviado:"  # prefix of a permanent reason not to email (no address, disabled)
ATTACH_SKIPPED = "No adjuntado:"  # prefix of a permanent reason not to attach (a demo document)


def emission_sweep(*, now: datetime | None = None) -> dict[str, int]:
    """Reconcile instead of trusting delivery (beat, every minute): re-enqueue documents whose retry is due,
    whose sending lease expired (a worker died) or that were never dispatched; annul emitted documents of
    canceled orders that have no nota yet; deliver emitted documents not yet emailed/attached. Paused and
    disconnected stores wait."""
    now = now or timezone.now()
    lease = timedelta(seconds=settings.EMISSION_SENDING_LEASE_SECONDS)
    active = Document.objects.filter(store__status="connected").exclude(
        store__emission_settings__queue_paused=True
    )
    due = (
        Q(state=DocumentState.FAILED_RETRYING, next_attempt_at__lte=now)
        | Q(state=DocumentState.SENDING, last_attempt_at__lt=now - lease)
        | Q(state=DocumentState.PENDING, created_at__lt=now - timedelta(minutes=2))
        # a send deferred for its budget is booked: it is stuck only once its moment is 2 minutes past
        & (Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lt=now - timedelta(minutes=2)))
    )
    counts = _redispatch(active.filter(due), limit=500)
    unannulled = (
        active.filter(state=DocumentState.EMITTED, cancel_requested=True)
        .exclude(kind=DocumentKind.NOTA_CREDITO)
        .exclude(notas__purpose__startswith="nc:")
    )
    counts["annul"] = 0
    for store_id, order_id in unannulled.values_list("store_id", "order_id").distinct()[:200]:
        enqueue("emission.annul_for_order", store_id, order_id)
        counts["annul"] += 1
    undelivered = active.filter(
        state=DocumentState.EMITTED,
        emitted_at__lt=now - timedelta(minutes=2),
        deliver_attempts__lt=MAX_DELIVER_ATTEMPTS,
    ).filter(
        (Q(attached_at__isnull=True) & ~Q(attach_error__startswith=ATTACH_SKIPPED))
        | (Q(email_sent_at__isnull=True) & ~Q(email_error__startswith=EMAIL_SKIPPED))
    )
    counts["deliver"] = 0
    for store_id, pk in undelivered.values_list("store_id", "pk")[:500]:
        enqueue("emission.deliver_document", store_id, pk)
        counts["deliver"] += 1
    counts.update(merchant_alerts_sweep())
    return counts
