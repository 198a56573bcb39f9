"""Documents: the Idempotency-Key, one row per (store, order, purpose), the body, the claim, the send."""

from __future__ import annotations

import json
import logging
import random
import time
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any, NoReturn

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import F, Q, Value
from django.db.models.functions import Coalesce
from django.utils import timezone

from core import ratelimit
from emission.client import (
    EmitResult,
    OpenFacturaClient,
    OpenFacturaDuplicate,
    OpenFacturaError,
    OpenFacturaRateLimited,
    OpenFacturaTransient,
    OpenFacturaUnauthorized,
    OpenFacturaUnavailable,
)
from emission.dte import (
    BuiltDocument,
    DteRefusal,
    Receptor,
    StoreDteSettings,
    build_document,
)
from emission.models import (
    Document,
    DocumentKind,
    DocumentState,
    EmissionAttempt,
    EmissionSettings,
)
from emission.services.alerts import merchant_alert_review
from emission.services.configuration import (
    API_KEY_MISSING,
    ApiKeyMissing,
    dte_settings_for,
    emission_settings_for,
    openfactura_budget_key_for,
    openfactura_client_for,
)
from emission.services.queue import queue_pause
from emission.services.state import (
    IDEMPOTENCY_WINDOW,
    EmissionWaiting,
    RetryLater,
    SendDeferred,
    document_never_sent,
    document_transition,
    enqueue,
)

logger = logging.getLogger(__name__)


CANCELED_BEFORE_EMISSION = "La orden se anuló en Jumpseller antes de emitir el documento: no se emitirá."


def idempotency_key_for(
    *, store_code: str, order_id: int, order_created_at: str, purpose: str, revision: int = 0
) -> str:
    """Deterministic, never time-based (openfactura-api §6): one logical document, one key, across
    retries, restarts and reinstalls. The order's creation time guards against order numbers that restart.

    ``revision`` n ≥ 1 appends ``:r{n}``: a document takes its next revision only after OpenFactura
    rejected it without creating anything (``OpenFacturaError.fresh_key``, see ``_requires_review``), so
    the same document at the same revision always sends the same key, and timeouts, 5xx and every other
    retry keep theirs."""
    created = "".join(ch for ch in (order_created_at or "") if ch.isdigit())[:14]
    return key_with_revision(f"js:{store_code}:{order_id}:{created}:{purpose}", revision)


def key_with_revision(base: str, revision: int) -> str:
    """The key of revision ``revision`` of a document whose revision-0 key is ``base``."""
    return f"{base}:r{revision}" if revision else base


# Attempt outcomes that prove their request created nothing: OpenFactura rejected the body, or we refused
# to send it. Any other ending (timeout, 5xx, a lost worker, a late answer) may have created the document.
_NOTHING_CREATED = ("rejected", "refused")


def _next_key(document: Document) -> dict[str, Any]:
    """The fields that move ``document`` to its next key revision, or none.

    A rejection proves only that *its* request created nothing. So the key changes only when every
    earlier request under the current key also ended in a recorded rejection; a timeout, 5xx, lost worker
    or late answer under this key may have created the document, and then the key is kept (a retry gets
    OF-06 with the original). Incremented in SQL (``F``) from the row, not from a stale copy. The new key's
    24 h window starts at its own first use, hence ``first_attempt_at`` starts again (``_emit_once``)."""
    since = document.first_attempt_at
    uncertain = EmissionAttempt.objects.filter(document=document, store_id=document.store_id).exclude(
        outcome__in=_NOTHING_CREATED
    )
    if since is not None:
        uncertain = uncertain.filter(started_at__gte=since)
    if uncertain.exists():
        return {}
    current = document.key_revision
    base = document.idempotency_key.removesuffix(f":r{current}") if current else document.idempotency_key
    return {
        "idempotency_key": key_with_revision(base, current + 1),
        "key_revision": F("key_revision") + 1,
        "first_attempt_at": None,
    }


def document_get_or_create(
    *,
    store_id: int,
    store_code: str,
    order: dict[str, Any],
    purpose: str,
    kind: str,
    demo: bool,
    annuls: Document | None = None,
    cancel_requested: bool = False,
) -> tuple[Document, bool]:
    """The one row for (store, order, purpose); concurrent callers all get that same row."""
    order_id = int(order["id"])
    found = Document.objects.filter(store_id=store_id, order_id=order_id, purpose=purpose).first()
    if found:
        return found, False
    customer = order.get("customer") or {}
    try:
        with transaction.atomic():
            return (
                Document.objects.create(
                    store_id=store_id,
                    order_id=order_id,
                    purpose=purpose,
                    kind=kind,
                    demo=demo,
                    annuls=annuls,
                    idempotency_key=idempotency_key_for(
                        store_code=store_code,
                        order_id=order_id,
                        order_created_at=str(order.get("created_at") or ""),
                        purpose=purpose,
                    ),
                    order_number=str(order_id),
                    customer_email=str(customer.get("email") or "")[:254],
                    customer_name=str(customer.get("fullname") or "")[:200],
                    cancel_requested=cancel_requested,
                ),
                True,
            )
    except IntegrityError:
        return Document.objects.get(store_id=store_id, order_id=order_id, purpose=purpose), False


def _attempt(
    document: Document,
    *,
    started: datetime,
    t0: float,
    outcome: str,
    error: Exception | None = None,
    message: str = "",
) -> None:
    describe = error.describe() if isinstance(error, OpenFacturaError) else (str(error) if error else message)
    EmissionAttempt.objects.create(
        document=document,
        store_id=document.store_id,
        started_at=started,
        duration_ms=int((time.monotonic() - t0) * 1000),
        outcome=outcome,
        http_status=getattr(error, "status", None),
        error_code=str(getattr(error, "code", None) or "")[:40],
        error_message=describe[:2000],
        response_excerpt=str(getattr(error, "body", "") or "")[:1000],
    )


def document_build_with(
    document: Document, cfg: EmissionSettings, build: Callable[[StoreDteSettings], BuiltDocument]
) -> BuiltDocument | None:
    """Build and validate a body once and keep it. A refusal (or an issuer OpenFactura will not describe)
    parks the document in "requiere revisión" with the Spanish reason; nothing is sent."""
    started, t0 = timezone.now(), time.monotonic()
    try:
        built = build(dte_settings_for(cfg))
    except ApiKeyMissing:
        queue_pause(store_id=document.store_id, reason=API_KEY_MISSING, automatic=True)
        raise EmissionWaiting("sin API key de OpenFactura") from None
    except OpenFacturaRateLimited:  # the issuer read found the key's budget spent: the caller defers
        raise
    except OpenFacturaTransient as exc:  # the issuer data could not be read: a failed attempt
        _failed_transient(document, cfg, exc, started, t0, count_attempt=True)
    except OpenFacturaUnauthorized as exc:
        _pause_on_auth_error(document, exc, started, t0)
    except (DteRefusal, OpenFacturaError) as exc:
        if isinstance(exc, DteRefusal):
            code, message = exc.code, exc.message
        else:
            code = str(exc.code or exc.status or "organization")
            message = f"No fue posible leer los datos del emisor en OpenFactura: {exc.describe()}"
        document_transition(
            document, to=DocumentState.REQUIRES_REVIEW, error_code=code[:40], error_message=message
        )
        merchant_alert_review(store_id=document.store_id)
        _attempt(document, started=timezone.now(), t0=time.monotonic(), outcome="refused", message=message)
        return None
    document_body_store(document, built)
    return built


def document_build(
    *, document: Document, order: dict[str, Any], cfg: EmissionSettings, receptor: Receptor | None = None
) -> BuiltDocument | None:
    return document_build_with(
        document,
        cfg,
        lambda dte_settings: build_document(
            {"order": order},
            document=document.kind,
            settings=dte_settings,
            receptor=receptor,
            today=timezone.localdate(),
        ),
    )


DEMO_DOCUMENT_NOW_LIVE = (
    "Este documento se preparó en modo demo y la tienda ya emite documentos reales: no se envió. "
    "Pulsa Reintentar para emitirlo como documento real."
)
LIVE_DOCUMENT_NOW_DEMO = (
    "Este documento es real y la tienda está en modo demo: no se envió. Sal del modo demo en "
    "Configuración y pulsa Reintentar."
)
DEMO_NOTA_NOT_NEEDED = (
    "Esta nota de crédito anula un documento de prueba (modo demo), que no tiene validez tributaria: no se "
    "emite ahora que la tienda emite documentos reales."
)


def _environment_changed(document: Document) -> Document:
    """The store changed mode (demo ↔ real) after the document was created and before it was sent: it is
    never sent to the other environment (a demo order as a real boleta, a real nota to the demo company).
    It waits in "requiere revisión" with the reason; "Reintentar" adopts the current mode when that is safe
    (``document_retry``)."""
    if document.demo and document.kind == DocumentKind.NOTA_CREDITO:
        message = DEMO_NOTA_NOT_NEEDED
    else:
        message = DEMO_DOCUMENT_NOW_LIVE if document.demo else LIVE_DOCUMENT_NOW_DEMO
    document_transition(
        document, to=DocumentState.REQUIRES_REVIEW, error_code="mode_changed", error_message=message
    )
    merchant_alert_review(store_id=document.store_id)
    return document


def _claim(document: Document) -> bool:
    """Move the document to "sending" if nobody else holds it. A "sending" row whose lease expired
    (its worker died mid-call) may be claimed again: the same Idempotency-Key makes that safe."""
    now = timezone.now()
    lease = timedelta(seconds=settings.EMISSION_SENDING_LEASE_SECONDS)
    claimable = Q(state__in=[DocumentState.PENDING, DocumentState.FAILED_RETRYING]) | Q(
        state=DocumentState.SENDING, last_attempt_at__lt=now - lease
    )
    lost_at = document.last_attempt_at if document.state == DocumentState.SENDING else None
    updated = Document.objects.filter(claimable, pk=document.pk, store_id=document.store_id).update(
        state=DocumentState.SENDING,
        attempts=F("attempts") + 1,
        last_attempt_at=now,
        first_attempt_at=Coalesce(F("first_attempt_at"), Value(now)),
        next_attempt_at=None,
        updated_at=now,
    )
    document.refresh_from_db()
    if updated and lost_at is not None:
        # Its worker died mid-call: that request may have created the document (see ``_next_key``).
        _attempt(document, started=lost_at, t0=time.monotonic(), outcome="lost", message="sin respuesta")
    return bool(updated)


class _Ambiguous(OpenFacturaError):
    """The issued list has more than one document that could be this one: a person must decide."""


ISSUED_MAX_PAGES = 20


def _find_issued(client: OpenFacturaClient, document: Document) -> str | None:
    """After OpenFactura's 24 h key window: is this document already emitted? Looked up in
    ``POST /v2/dte/document/issued`` by type, date, total and receptor, ignoring every token this store
    already owns. Exactly one candidate → that is it; none → not emitted; several → ``_Ambiguous``
    (anonymous boletas of equal totals on one day cannot be told apart)."""
    body = document.request_body
    if not document.tipo or document.mnt_total is None or not body:
        return None
    fecha = body["dte"]["Encabezado"]["IdDoc"].get("FchEmis")
    rut = str((body["dte"]["Encabezado"].get("Receptor") or {}).get("RUTRecep", "")).split("-")[0]
    owned = set(
        Document.objects.filter(store_id=document.store_id).exclude(token="").values_list("token", flat=True)
    )
    candidates = []
    for page in range(1, ISSUED_MAX_PAGES + 1):
        result = client.issued({"TipoDTE": {"eq": document.tipo}, "FchEmis": {"eq": fecha}}, page=page)
        for row in result.rows:
            token = str(row.get("token") or row.get("Token") or "")
            total = row.get("MntTotal") or (row.get("Totales") or {}).get("MntTotal")
            row_rut = str(row.get("RUTRecep") or "").split("-")[0]
            if token and token not in owned and total is not None and int(total) == document.mnt_total:
                if not row_rut or not rut or row_rut == rut:
                    candidates.append(token)
        if result.current_page >= result.last_page:
            break
    if len(candidates) > 1:
        raise _Ambiguous(
            f"Hay {len(candidates)} documentos emitidos en OpenFactura que podrían ser este (mismo tipo, "
            "fecha y total). Revísalos en OpenFactura antes de reintentar: podría emitirse dos veces."
        )
    return candidates[0] if candidates else None


def _recovered(client: OpenFacturaClient, token: str) -> EmitResult:
    data = client.document_json(token)
    dte = data.get("json") or {}
    folio = (((dte.get("Encabezado") or {}).get("IdDoc")) or {}).get("Folio")
    return EmitResult(token=token, folio=int(folio) if folio else None, pdf=None, raw={"recovered": True})


class _StillProcessing(OpenFacturaTransient):
    """OF-06 without a token: the first request with this key is still being processed."""


def _emit_once(client: OpenFacturaClient, document: Document, started: datetime) -> tuple[EmitResult, str]:
    """POST the document with its key; recover the original on OF-06; after OpenFactura's 24 h key
    window, look the document up first so that a late retry cannot emit it twice."""
    known = (document.response or {}).get("of06_token") if document.state != DocumentState.EMITTED else None
    if known:  # OpenFactura already named the original (OF-06); only its reading is left
        return _recovered(client, str(known)), "duplicate"
    if document.first_attempt_at and document.first_attempt_at < started - IDEMPOTENCY_WINDOW:
        token = _find_issued(client, document)
        if token:
            return _recovered(client, token), "recovered"
    try:
        return client.emit(document.request_body, idempotency_key=document.idempotency_key), "emitted"
    except OpenFacturaDuplicate as duplicate:
        token = duplicate.token  # without it, the first request is still in flight: ask again later
        if not token:
            raise _StillProcessing(
                duplicate.message, code=duplicate.code, status=duplicate.status
            ) from duplicate
        # Kept before the read: if the read must wait for the budget, the next send only reads it (one
        # request per send, so a spent budget can never make the POST and the read chase each other).
        Document.objects.filter(pk=document.pk, store_id=document.store_id).update(
            response={"of06_token": token}
        )
        return _recovered(client, token), "duplicate"


def _sendable(store_id: int, now: datetime, *, given: int) -> Any:
    """The store's documents a send may take now: built, not withdrawn, pending (deferred or not), due for
    their retry, or "sending" with an expired lease (its worker died; the same key makes that safe). The
    document the send was asked for (``given``) may go before its retry is due, as it always could."""
    lease = timedelta(seconds=settings.EMISSION_SENDING_LEASE_SECONDS)
    return (
        Document.objects.filter(store_id=store_id)
        .exclude(request_json="")
        .filter(
            Q(state=DocumentState.PENDING)
            | Q(state=DocumentState.FAILED_RETRYING)
            & (Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=now) | Q(pk=given))
            | Q(state=DocumentState.SENDING, last_attempt_at__lt=now - lease)
        )
        .exclude(Q(cancel_requested=True, attempts=0) & ~Q(kind=DocumentKind.NOTA_CREDITO))
    )


def _claim_next(store_id: int, *, given: int) -> Document | None:
    """Claim the store's OLDEST sendable document (FIFO per store: documents go out in the order they
    were created, i.e. the orders were paid). Rows another worker is claiming are skipped, not waited on."""
    with transaction.atomic():
        candidate = (
            _sendable(store_id, timezone.now(), given=given)
            .order_by("created_at", "pk")
            .select_for_update(skip_locked=True)
            .only("pk", "store_id")
            .first()
        )
        if candidate is None:
            return None
        target = Document.objects.select_related("store").get(pk=candidate.pk, store_id=store_id)
        return target if _claim(target) else None


def _book_slot(document: Document, cfg: EmissionSettings, budget_wait: float) -> ratelimit.Reservation:
    """Book the next OpenFactura request slot of the store's key, or defer the send to it (SendDeferred).

    Booked BEFORE the claim: a document waits for its budget as "pendiente", never as a failure. A web
    request (``budget_wait`` > 0: a person waits for the page, no worker slot is held) waits for a slot
    that close instead."""
    reservation = ratelimit.reserve(openfactura_budget_key_for(cfg), ratelimit.OPENFACTURA_LIMITS)
    if reservation.booked and 0 < reservation.wait <= budget_wait:
        time.sleep(reservation.wait)
        return reservation
    if reservation.wait > 0:
        if document.state in (DocumentState.PENDING, DocumentState.FAILED_RETRYING):
            # Seen by the sweeper: a send booked for later is not "stuck".
            Document.objects.filter(pk=document.pk, store_id=document.store_id, state=document.state).update(
                next_attempt_at=timezone.now() + timedelta(seconds=reservation.wait)
            )
        raise SendDeferred(
            store_id=document.store_id,
            document_id=document.pk,
            countdown=reservation.wait + (0.0 if reservation.booked else random.uniform(0, 5)),  # noqa: S311
            slot=reservation.member if reservation.booked else "",
        )
    return reservation


def document_send(*, store_id: int, document_id: int, slot: str = "", budget_wait: float = 0.0) -> Document:
    """Send the store's oldest sendable document to OpenFactura, exactly once (issue "Emission pipeline",
    Exactly once; issue 16, the scheduler: README § "How an order becomes a document").

    Each call sends at most one document with one request slot of the store's API key: the one it was
    given if that is the oldest waiting, else the oldest (whose own call then finds this one, or nothing).
    With no slot free now it raises ``SendDeferred`` (booked for later, nothing recorded); ``slot`` is the
    booking a deferred call carries; ``budget_wait``, what a web request may wait instead. Raises
    ``EmissionWaiting`` when the store's queue is paused and ``RetryLater`` on transient failures; data
    errors park the document in "requiere revisión"."""
    document = Document.objects.select_related("store").get(pk=document_id, store_id=store_id)
    cfg = emission_settings_for(store_id=store_id)
    held = (  # a booking made when this send was deferred: its moment has come
        ratelimit.Reservation(openfactura_budget_key_for(cfg), ratelimit.OPENFACTURA_LIMITS, slot, 0.0, True)
        if slot
        else None
    )
    if document.cancel_requested and document.attempts == 0 and document.kind != DocumentKind.NOTA_CREDITO:
        document_withdraw(document)
    # Nothing to send (this one is done, or another send has it): no slot is spent.
    if not _sendable(store_id, timezone.now(), given=document.pk).exists():
        if held is not None:
            held.release()
        document.refresh_from_db()
        return document
    if cfg.queue_paused:
        if held is not None:
            held.release()
        raise EmissionWaiting("cola pausada")
    # A document is sent where it was born (demo or real): one never sent whose store changed mode since
    # is parked for the merchant, and a real one never goes out without the store's API key.
    for stranded in _sendable(store_id, timezone.now(), given=document.pk).exclude(demo=cfg.demo_mode):
        if document_never_sent(stranded):
            _environment_changed(stranded)
    if not cfg.api_key and _sendable(store_id, timezone.now(), given=document.pk).filter(demo=False).exists():
        if held is not None:
            held.release()
        queue_pause(store_id=store_id, reason=API_KEY_MISSING, automatic=True)
        raise EmissionWaiting("sin API key de OpenFactura")
    if held is None:
        held = _book_slot(document, cfg, budget_wait)
    target = _claim_next(store_id, given=document.pk)
    if target is None:
        held.release()
        document.refresh_from_db()
        return document
    _send_claimed(target, cfg, held)
    if target.pk == document.pk:
        return target
    document.refresh_from_db()
    return document


def _send_claimed(document: Document, cfg: EmissionSettings, held: ratelimit.Reservation) -> None:
    started, t0 = timezone.now(), time.monotonic()
    client = openfactura_client_for(cfg, demo=document.demo)
    client.prepaid = 1  # the slot booked before the claim
    try:
        result, outcome = _emit_once(client, document, started)
    except OpenFacturaUnauthorized as error:
        _pause_on_auth_error(document, error, started, t0)
    except _Ambiguous as error:
        _requires_review(document, error, started, t0, message=error.message)
        return
    except OpenFacturaRateLimited as error:  # OpenFactura's 429 (or our pacing of a lookup): a deferral
        _rate_limited(document, cfg, error, started, t0)
    except OpenFacturaTransient as error:
        _failed_transient(document, cfg, error, started, t0)
    except OpenFacturaError as error:
        _requires_review(
            document, error, started, t0, message=f"OpenFactura rechazó el documento: {error.describe()}"
        )
        return
    except Exception as exc:  # a claimed row never stays "sending" on an unexpected error
        logger.exception("unexpected error sending document %s", document.pk)
        unexpected = OpenFacturaUnavailable(f"Error inesperado: {type(exc).__name__}")
        _failed_transient(document, cfg, unexpected, started, t0)
    _emitted(document, result, started, t0, outcome)


def _rate_limited(
    document: Document, cfg: EmissionSettings, error: OpenFacturaRateLimited, started: datetime, t0: float
) -> NoReturn:
    """A 429 is a normal deferral (same key; issue 16): the claim is undone without counting an attempt
    towards a pause, the call is kept as an attempt "rate_limited", and the send is booked again no sooner
    than OpenFactura asked."""
    reservation = ratelimit.reserve(openfactura_budget_key_for(cfg), ratelimit.OPENFACTURA_LIMITS)
    countdown = max(reservation.wait, error.retry_after)
    document_transition(
        document,
        to=DocumentState.FAILED_RETRYING,
        attempts=F("attempts") - 1,
        # Sendable again once OpenFactura's wait is over: the store's next send takes it first (it is the
        # oldest); the slot booked here then sends whichever document is oldest at its moment.
        next_attempt_at=timezone.now() + timedelta(seconds=error.retry_after),
    )
    if error.status is not None:  # OpenFactura's own 429 is a call, kept as such; our pacing made none
        _attempt(document, started=started, t0=t0, outcome="rate_limited", error=error)
    raise SendDeferred(
        store_id=document.store_id,
        document_id=document.pk,
        countdown=countdown,
        slot=reservation.member if reservation.booked else "",
    )


def _emitted(document: Document, result: EmitResult, started: datetime, t0: float, outcome: str) -> None:
    fecha = (
        document.request_body["dte"]["Encabezado"]["IdDoc"].get("FchEmis") if document.request_body else None
    )
    with transaction.atomic():
        recorded = document_transition(
            document,
            to=DocumentState.EMITTED,
            token=result.token,
            folio=result.folio,
            pdf=result.pdf,
            response=dict(result.raw),
            fecha_emision=fecha,
            emitted_at=timezone.now(),
            error_code="",
            error_message="",
        )
        _attempt(document, started=started, t0=t0, outcome=outcome)
        if not recorded:  # another claim recorded it first; keep this answer visible, never lose a token
            _attempt(document, started=started, t0=t0, outcome="late_answer", message=f"token {result.token}")
            return
        transaction.on_commit(lambda: enqueue("emission.deliver_document", document.store_id, document.pk))
        if document.cancel_requested:  # the order was canceled while this document was on its way
            transaction.on_commit(
                lambda: enqueue("emission.annul_for_order", document.store_id, document.order_id)
            )
    logger.info("document %s emitted: tipo %s folio %s", document.pk, document.tipo, document.folio)


def _requires_review(
    document: Document, error: OpenFacturaError, started: datetime, t0: float, *, message: str
) -> Document:
    """Park the document for the merchant. After a rejection that created nothing (a data error), the
    next try ("Reintentar", with the corrected body) goes with the next key revision: OpenFactura may have
    kept the rejected request's key, and would answer the corrected body OF-06 without a token."""
    document_transition(
        document,
        to=DocumentState.REQUIRES_REVIEW,
        error_code=str(error.code or error.status or "")[:40],
        error_message=message,
        **(_next_key(document) if error.fresh_key else {}),
    )
    merchant_alert_review(store_id=document.store_id)
    _attempt(document, started=started, t0=t0, outcome="rejected", error=error)
    return document


AUTH_ERROR_REASON = (
    "OpenFactura rechazó la API key: revisa la API key en Configuración y luego reanuda la cola. "
    "Las órdenes quedan en espera; no se pierde ninguna."
)


def _pause_on_auth_error(
    document: Document, error: OpenFacturaError, started: datetime, t0: float
) -> NoReturn:
    """Every document of the store would fail the same way: keep this one retryable and pause the queue."""
    document_transition(
        document,
        to=DocumentState.FAILED_RETRYING,
        error_code=str(error.code or error.status or "auth")[:40],
        error_message=AUTH_ERROR_REASON,
        next_attempt_at=None,
    )
    _attempt(document, started=started, t0=t0, outcome="unauthorized", error=error)
    queue_pause(store_id=document.store_id, reason=AUTH_ERROR_REASON, automatic=True)
    raise EmissionWaiting("cola pausada: API key rechazada")


def _failed_transient(
    document: Document,
    cfg: EmissionSettings,
    error: OpenFacturaError,
    started: datetime,
    t0: float,
    *,
    count_attempt: bool = False,
) -> NoReturn:
    """Record a transient failure and schedule the retry (same key); past the threshold, pause the queue."""
    if count_attempt:  # attempts are otherwise counted when a send claims the document
        Document.objects.filter(pk=document.pk, store_id=document.store_id).update(
            attempts=F("attempts") + 1, last_attempt_at=started
        )
        document.refresh_from_db()
    countdown = min(600.0, 15.0 * 2 ** min(document.attempts - 1, 6))
    if isinstance(error, OpenFacturaRateLimited):
        countdown = max(error.retry_after, 1.0)
    document_transition(
        document,
        to=DocumentState.FAILED_RETRYING,
        error_code=str(error.code or error.status or type(error).__name__)[:40],
        error_message=f"Falló el envío a OpenFactura; se reintentará automáticamente. ({error.describe()})",
        next_attempt_at=timezone.now() + timedelta(seconds=countdown),
    )
    _attempt(document, started=started, t0=t0, outcome="transient", error=error)
    if document.attempts >= settings.EMISSION_PAUSE_AFTER_FAILURES and not isinstance(
        error, OpenFacturaRateLimited
    ):
        queue_pause(
            store_id=document.store_id,
            reason=(
                f"OpenFactura no responde ({error.describe()}). Las órdenes quedan en cola; "
                "reanuda cuando el servicio vuelva."
            ),
            automatic=True,
        )
        raise EmissionWaiting("cola pausada por fallas")
    raise RetryLater(countdown)


def document_withdraw(document: Document) -> None:
    """A document never sent whose order was canceled: parked, visible, never sent (a claim that won the
    race instead leads to its annulment once emitted)."""
    if document.state in (DocumentState.PENDING, DocumentState.FAILED_RETRYING):
        document_transition(
            document,
            to=DocumentState.REQUIRES_REVIEW,
            error_code="order_canceled",
            error_message=CANCELED_BEFORE_EMISSION,
        )


def document_body_store(document: Document, built: BuiltDocument) -> None:
    """Keep the body — only if none is stored yet: a body may already have been sent under this key, and
    then it is the one that stands (two concurrent builds must not replace it)."""
    totals = built.totals or {}
    Document.objects.filter(pk=document.pk, store_id=document.store_id, request_json="").update(
        request_json=json.dumps(built.body, ensure_ascii=False),
        tipo=built.tipo,
        mnt_neto=totals.get("MntNeto"),
        mnt_exe=totals.get("MntExe"),
        iva=totals.get("IVA"),
        mnt_total=totals.get("MntTotal"),
        difference=built.difference,
        warnings=list(built.warnings),
        receptor=built.body["dte"]["Encabezado"].get("Receptor"),
        error_code="",
        error_message="",
    )
    document.refresh_from_db()
