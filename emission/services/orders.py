"""Entry points from Jumpseller events (paid, canceled), notas de crédito, the merchant's actions."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.db import transaction
from django.utils import timezone

from core import ratelimit
from core.formatting import format_clp
from emission.dte import (
    DteRefusal,
    EarlierNota,
    Receptor,
    build_nota_credito_anula,
    build_nota_credito_parcial,
)
from emission.models import (
    Document,
    DocumentKind,
    DocumentState,
    EmissionMode,
    EmissionSettings,
)
from emission.services.configuration import dte_settings_for, emission_settings_for
from emission.services.delivery import document_email_customer
from emission.services.documents import (
    document_body_store,
    document_build,
    document_build_with,
    document_get_or_create,
    document_send,
    document_withdraw,
)
from emission.services.rules import company_receptor, emission_decision_for
from emission.services.selfservice_link import selfservice_notice_send
from emission.services.state import (
    ActionRefused,
    EmissionWaiting,
    RetryLater,
    SendDeferred,
    document_fields_set,
    document_send_later,
    enqueue,
    run_now_or_later,
)

logger = logging.getLogger(__name__)


# Called by integration's webhook task (settings.JUMPSELLER_EVENT_HANDLERS). ``StoreDisconnected``
# propagates on purpose: the event then stays "received" and is dispatched again after reconnecting.
def order_paid_received(*, store_id: int, order_id: int, event_id: int | None = None) -> None:
    run_now_or_later(
        "emission.emit_for_order",
        store_id,
        order_id,
        work=lambda: document_emit_for_order(store_id=store_id, order_id=order_id),
    )


def order_canceled_received(*, store_id: int, order_id: int, event_id: int | None = None) -> None:
    run_now_or_later(
        "emission.annul_for_order",
        store_id,
        order_id,
        work=lambda: document_annul_for_order(store_id=store_id, order_id=order_id),
    )


def _factura_receptor(order: dict[str, Any]) -> Receptor | None:
    """The company data the customer typed at checkout, when complete and valid (factura directa)."""
    return company_receptor(order)


# One sale document per order, whatever its type: the type (boleta or factura) is fixed when the row is
# created, so a retry after a settings change can never emit a second, different document.
SALE_PURPOSE = "venta"


def document_emit_for_order(*, store_id: int, order_id: int) -> Document | None:
    """Issue the document a paid order is owed under the store's emission rules, the store's mode by
    default (the webhook is only a trigger: the order is re-read from Jumpseller and must be paid)."""
    from integration.services import jumpseller_client_for  # integration is below emission

    cfg = emission_settings_for(store_id=store_id)
    with jumpseller_client_for(store_id) as client:  # raises StoreDisconnected: the event waits
        order = client.get_order(order_id)
        store_code = client.store_code
        if order.get("status_enum") != "paid":
            logger.info("order %s is %s, not paid: nothing to emit", order_id, order.get("status_enum"))
            return None
        # An order whose sale document exists keeps the path it was given (a rule or the store's mode may
        # have changed since: a pending boleta must not turn into a link and wait forever).
        existing = Document.objects.filter(store_id=store_id, order_id=order_id, purpose=SALE_PURPOSE).first()
        # Rules first (the customer's category is read only if a rule needs it); the store's mode otherwise.
        decision = (
            None
            if existing is not None
            else emission_decision_for(store_id=store_id, order=order, cfg=cfg, client=client)
        )
    if decision is None:
        return _sale_document_continue(existing, order=order, cfg=cfg)
    if decision.link_only:
        selfservice_notice_send(store_id=store_id, order=order, mode=decision.mode, rule_label=decision.label)
        return None
    factura = decision.factura_directa and _factura_receptor(order) is not None
    document, created = document_get_or_create(
        store_id=store_id,
        store_code=store_code,
        order=order,
        purpose=SALE_PURPOSE,
        kind=DocumentKind.FACTURA if factura else DocumentKind.BOLETA,
        demo=cfg.demo_mode,
    )
    if created:  # the path is fixed with the row: a retry never rewrites what chose it
        document_fields_set(
            document, rule_label=decision.label, rule_note=decision.note, emission_mode=decision.mode
        )
    return _sale_document_continue(document, order=order, cfg=cfg)


def _sale_document_continue(document: Document, *, order: dict[str, Any], cfg: EmissionSettings) -> Document:
    """Build (if not built yet) and send the order's sale document, along the path it was given."""
    if document.state == DocumentState.EMITTED:
        return document
    # The factura's receptor comes from the order (the engine reads and checks it), unless the merchant
    # corrected it ("Corregir datos del receptor"): then every rebuild uses the corrected data.
    receptor = _receptor_override(document)
    if document.request_body is None and not document_build(
        document=document, order=order, cfg=cfg, receptor=receptor
    ):
        return document
    return document_send(store_id=document.store_id, document_id=document.pk)


def _receptor_override(document: Document) -> Receptor | None:
    if document.kind != DocumentKind.FACTURA or not document.receptor_override:
        return None
    return Receptor.from_json(document.receptor_override)


def document_annul_for_order(*, store_id: int, order_id: int) -> list[Document]:
    """``order_canceled``: the cancellation is recorded on the order's documents first (nothing can lose
    it), then every emitted boleta/factura gets its nota de crédito (``CodRef`` 1). A document never sent
    is withdrawn; one on its way is annulled as soon as it is emitted (``_emitted``, and the sweep)."""
    from integration.services import jumpseller_client_for

    cfg = emission_settings_for(store_id=store_id)
    with jumpseller_client_for(store_id) as client:
        order = client.get_order(order_id)
        store_code = client.store_code
    if order.get("status_enum") != "canceled":
        return []
    originals = Document.objects.filter(store_id=store_id, order_id=order_id).exclude(
        kind=DocumentKind.NOTA_CREDITO
    )
    originals.update(cancel_requested=True)
    if not originals.exists() and cfg.mode in (EmissionMode.BOLETA, EmissionMode.BOLETA_CONVERTIBLE):
        # The payment's emission may not have created its row yet: create it canceled, so it never goes out.
        document_get_or_create(
            store_id=store_id,
            store_code=store_code,
            order=order,
            purpose=SALE_PURPOSE,
            kind=DocumentKind.BOLETA,
            demo=cfg.demo_mode,
            cancel_requested=True,
        )
    notas = []
    for original in originals:
        if original.state == DocumentState.EMITTED:
            notas.append(
                nota_credito_anula(
                    document=original, cfg=cfg, order=order, razon="Anula documento: orden anulada"
                )
            )
        elif original.attempts == 0:
            document_withdraw(original)
    for nota in notas:
        if nota.state != DocumentState.EMITTED and nota.request_body is not None:
            try:
                document_send(store_id=store_id, document_id=nota.pk)
            except SendDeferred as exc:  # each nota keeps its own place; the others still go now
                document_send_later(exc)
    return notas


def document_annul(*, store_id: int, document_id: int, razon: str = "Anula documento") -> Document:
    """The merchant's total nota de crédito (``CodRef`` 1) for one emitted boleta or factura, whatever the
    order's status in Jumpseller. Idempotent: a document has at most one annulling nota (``nc:<id>``)."""
    return nota_send_now(
        store_id=store_id, nota=nota_annul_prepare(store_id=store_id, document_id=document_id, razon=razon)
    )


def nota_annul_prepare(*, store_id: int, document_id: int, razon: str = "Anula documento") -> Document:
    """The annulling nota of one emitted boleta or factura, created and built (``nota_credito_anula``) but
    not sent: what the merchant's confirmation page shows is this very row (``emission.services.review``)."""
    original = Document.objects.select_related("store").get(pk=document_id, store_id=store_id)
    if original.state != DocumentState.EMITTED or original.kind == DocumentKind.NOTA_CREDITO:
        raise ActionRefused("Solo se puede anular con nota de crédito una boleta o factura emitida.")
    order = {
        "id": original.order_id,
        "created_at": "",
        "customer": {"email": original.customer_email, "fullname": original.customer_name},
    }
    return nota_credito_anula(
        document=original, cfg=emission_settings_for(store_id=store_id), order=order, razon=razon
    )


def nota_send_now(*, store_id: int, nota: Document) -> Document:
    """Send a merchant's nota from the web request (it may wait for a close slot); a nota that cannot go
    now keeps its place and the sweep (or "Reanudar") sends it."""
    if nota.state != DocumentState.EMITTED and nota.request_body is not None:
        try:
            document_send(store_id=store_id, document_id=nota.pk, budget_wait=ratelimit.WEB_MAX_WAIT)
        except (RetryLater, EmissionWaiting):
            pass  # recorded on the nota
        except SendDeferred as exc:
            document_send_later(exc)
    nota.refresh_from_db()
    return nota


def nota_credito_anula(
    *, document: Document, cfg: EmissionSettings, order: dict[str, Any], razon: str
) -> Document:
    """The (single) nota de crédito that annuls ``document``; built once, sent by the caller. If partial
    notas already credited part of it, this one credits exactly what remains, per tax class
    (dte-semantics.md §4, "Boleta → factura after earlier notas"); nothing left → "requiere revisión"
    with the engine's Spanish reason, and nothing is sent."""
    nota, _ = document_get_or_create(
        store_id=document.store_id,
        store_code=document.store.code,
        order=order,
        purpose=f"nc:{document.pk}",
        kind=DocumentKind.NOTA_CREDITO,
        demo=document.demo,
        annuls=document,
    )
    if nota.request_body is None and nota.state in (DocumentState.PENDING, DocumentState.FAILED_RETRYING):
        earlier = notas_earlier(document, exclude_pk=nota.pk)
        document_build_with(
            nota,
            cfg,
            lambda dte: build_nota_credito_anula(
                document.request_body,
                original_tipo=document.tipo,
                original_folio=document.folio,
                original_fecha=document.fecha_emision,
                settings=dte,
                today=timezone.localdate(),
                razon=razon,
                order=order,
                earlier_notas=earlier,
            ),
        )
    return nota


def notas_earlier(document: Document, *, exclude_pk: int | None = None) -> list[EarlierNota]:
    """The notas already crediting ``document`` (emitted or on their way; not those in review, nor those
    "resuelto a mano" without a folio issued elsewhere: never issued), oldest first, as the DTE engine
    reads them: folio and ``Totales``."""
    notas = (
        document.notas.exclude(state=DocumentState.REQUIRES_REVIEW)
        .exclude(state=DocumentState.RESOLVED, resolved_folio__isnull=True)
        .exclude(pk=exclude_pk)
        .exclude(mnt_total__isnull=True)
        .order_by("created_at", "pk")
    )
    return [
        EarlierNota(folio=nota.folio, neto=nota.mnt_neto or 0, iva=nota.iva or 0, exe=nota.mnt_exe or 0)
        for nota in notas
    ]


def document_annulled(document: Document) -> bool:
    """An annulling nota (``nc:<id>``) of ``document`` is emitted or on its way; one stuck in review annuls
    nothing yet."""
    annulling = document.notas.filter(purpose__startswith="nc:")
    return annulling.exclude(state=DocumentState.REQUIRES_REVIEW).exists()


def _refuse_if_annulled(original: Document) -> None:
    if document_annulled(original):
        raise ActionRefused("Este documento ya está anulado con una nota de crédito.")


def _credited(document: Document, *, exclude_pk: int | None = None) -> int:
    """Pesos already credited (or on their way) against ``document`` by its notas."""
    return sum(nota.total for nota in notas_earlier(document, exclude_pk=exclude_pk))


def nota_credito_parcial_create(
    *,
    store_id: int,
    document_id: int,
    request_key: str,
    lines: list[tuple[int, Decimal]] | None = None,
    amount: int | None = None,
    razon: str = "Devolución parcial",
) -> Document:
    """The merchant's partial nota de crédito (``CodRef`` 3) for refunded lines or an amount.

    ``request_key`` comes from the form that asked for it, so a double submit gets the same nota. The
    notas of a document never add up to more than the document itself."""
    from integration.models import Store

    original = Document.objects.get(pk=document_id, store_id=store_id)
    if original.state != DocumentState.EMITTED or original.kind == DocumentKind.NOTA_CREDITO:
        raise ActionRefused("Solo se puede emitir una nota de crédito sobre una boleta o factura emitida.")
    purpose = f"ncp:{original.pk}:{request_key[:24]}"
    existing = Document.objects.filter(store_id=store_id, order_id=original.order_id, purpose=purpose).first()
    if existing:
        return existing
    _refuse_if_annulled(original)
    cfg = emission_settings_for(store_id=store_id)
    order = {
        "id": original.order_id,
        "created_at": "",
        "customer": {"email": original.customer_email, "fullname": original.customer_name},
    }
    try:
        built = build_nota_credito_parcial(
            original.request_body,
            original_tipo=original.tipo,
            original_folio=original.folio,
            original_fecha=original.fecha_emision,
            settings=dte_settings_for(cfg),
            today=timezone.localdate(),
            lines=lines,
            amount=amount,
            razon=razon,
            order=order,
            earlier_notas=notas_earlier(original),
        )
    except DteRefusal as refusal:
        raise ActionRefused(refusal.message) from refusal
    total = (built.totals or {}).get("MntTotal") or 0
    with transaction.atomic():
        # The original's row is the lock: two submits with different keys cannot both pass the balance check.
        original = Document.objects.select_for_update().get(pk=original.pk, store_id=store_id)
        _refuse_if_annulled(original)  # again under the lock: an annulment may have started meanwhile
        credited = _credited(original)
        if credited + total > (original.mnt_total or 0):
            raise ActionRefused(
                f"La devolución ({format_clp(total)}) más lo ya devuelto ({format_clp(credited)}) supera el "
                f"total del documento ({format_clp(original.mnt_total)})."
            )
        nota, created = document_get_or_create(
            store_id=store_id,
            store_code=Store.objects.values_list("code", flat=True).get(pk=store_id),
            order=order,
            purpose=purpose,
            kind=DocumentKind.NOTA_CREDITO,
            demo=original.demo,
            annuls=original,
        )
        if created:
            document_body_store(nota, built)
    transaction.on_commit(lambda: enqueue("emission.send_document", store_id, nota.pk))
    return nota


def document_email_resend(*, store_id: int, document_id: int) -> Document:
    """The merchant's "Reenviar correo": send the document's email again, now."""
    document = Document.objects.select_related("store").get(pk=document_id, store_id=store_id)
    if document.state != DocumentState.EMITTED:
        raise ActionRefused("El documento aún no está emitido: el correo se enviará cuando se emita.")
    document_fields_set(document, email_sent_at=None, email_error="")
    cfg = emission_settings_for(store_id=store_id)
    try:
        document_email_customer(document=document, cfg=cfg)
    except RetryLater as exc:
        raise ActionRefused(f"No se pudo enviar el correo: {document.email_error}") from exc
    document.refresh_from_db()
    if document.email_error:
        raise ActionRefused(document.email_error)
    return document


# Jumpseller's ``status_enum`` (jumpseller-api.md §4.1) as the merchant reads it.
ORDER_STATUS_LABELS = {
    "paid": "pagada",
    "pending_payment": "pendiente de pago",
    "created": "creada, sin pagar",
    "canceled": "anulada",
    "abandoned": "abandonada",
}


@dataclass(frozen=True)
class OrderEmitOutcome:
    """What "Emitir para una orden" found: ``not_found``, ``not_paid`` (with Jumpseller's status),
    ``documented`` (with the order's document) or ``queued``; ``link_only`` for modes 3–4 (the customer
    gets the self-service link instead of a document)."""

    result: str
    order_status: str = ""
    document: Document | None = None
    link_only: bool = False


def order_emit_request(*, store_id: int, order_id: int) -> OrderEmitOutcome:
    """The merchant's "Emitir para una orden": the order is read from Jumpseller now, so the page can say
    what happened; the emission itself is the webhook's (``emission.emit_for_order``), exactly once."""
    from integration.client import JumpsellerNotFound
    from integration.services import jumpseller_client_for

    existing = (
        Document.objects.filter(store_id=store_id, order_id=order_id)
        .exclude(kind=DocumentKind.NOTA_CREDITO)
        .order_by("created_at", "pk")
        .first()
    )
    if existing is not None:
        return OrderEmitOutcome("documented", document=existing)
    with jumpseller_client_for(store_id) as client:
        try:
            order = client.get_order(order_id)
        except JumpsellerNotFound:
            return OrderEmitOutcome("not_found")
        status = str(order.get("status_enum") or "")
        if status != "paid":
            label = ORDER_STATUS_LABELS.get(status) or str(order.get("status") or status or "sin estado")
            return OrderEmitOutcome("not_paid", order_status=label)
        # The emission rules decide, as for the webhook (a category read here is cached for the task).
        decision = emission_decision_for(
            store_id=store_id, order=order, cfg=emission_settings_for(store_id=store_id), client=client
        )
    transaction.on_commit(lambda: enqueue("emission.emit_for_order", store_id, order_id))
    return OrderEmitOutcome("queued", order_status=ORDER_STATUS_LABELS["paid"], link_only=decision.link_only)
