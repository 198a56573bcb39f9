"""Emission services: the only code that changes emission state.

Flow (issue "Emission pipeline"): a stored ``order_paid`` event → ``order_paid_received`` enqueues
``emission.tasks.emit_for_order`` → ``document_emit_for_order`` re-reads the order from Jumpseller
(the webhook is only a trigger), applies the store's mode and creates the ``Document`` row (unique per
store/order/purpose, with its deterministic Idempotency-Key) → ``document_send`` builds the body with
the DTE engine, claims the row with a guarded update and POSTs it to OpenFactura → on success the
follow-ups (email to the customer, attachment in Jumpseller) are enqueued on commit.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any, NoReturn

from django.conf import settings
from django.core import signing
from django.db import IntegrityError, transaction
from django.db.models import BooleanField, ExpressionWrapper, F, Q, QuerySet, Value
from django.db.models.functions import Coalesce
from django.urls import reverse
from django.utils import timezone

from core.formatting import format_clp
from core.ratelimit import BudgetExhausted
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
    build_nota_credito_anula,
    build_nota_credito_parcial,
)
from emission.models import (
    TRANSITIONS,
    CustomerNotice,
    Document,
    DocumentKind,
    DocumentState,
    EmissionAttempt,
    EmissionMode,
    EmissionSettings,
)

logger = logging.getLogger(__name__)

# OpenFactura's public demo company (openfactura-api.md §1): HAULMER SPA, RUT 76795561-8.
DEMO_API_KEY = "928e15a2d14d4a6292345f04960f4bd3"  # noqa: S105 - published demo key, not a secret
# OpenFactura keeps an Idempotency-Key for 24 h (§2.1); past that a retry looks the document up first.
IDEMPOTENCY_WINDOW = timedelta(hours=23)
MAX_TRANSIENT_ATTEMPTS = 12


class EmissionWaiting(Exception):
    """The work cannot run now (queue paused, store disconnected, budget); it stays pending, nothing lost."""


class RetryLater(Exception):
    """A transient failure: the task retries the same document (same key) after ``countdown`` seconds."""

    def __init__(self, countdown: float) -> None:
        super().__init__(f"retry in {countdown:.0f} s")
        self.countdown = countdown


# --- Settings ------------------------------------------------------------------------------------
def emission_settings_for(*, store_id: int) -> EmissionSettings:
    """The store's emission settings; the first call creates them: demo company, mode 2."""
    row, _ = EmissionSettings.objects.get_or_create(store_id=store_id)
    return row


def openfactura_client_for(cfg: EmissionSettings) -> OpenFacturaClient:
    """Demo mode (or no key yet) talks to OpenFactura's demo environment with its public demo key."""
    from core.ratelimit import throttle_openfactura

    demo = cfg.demo_mode or not cfg.api_key
    return OpenFacturaClient(
        api_key=DEMO_API_KEY if demo else cfg.api_key,
        base_url=settings.OPENFACTURA_DEMO_URL if demo else settings.OPENFACTURA_URL,
        timeout=settings.OPENFACTURA_TIMEOUT,
        throttle=throttle_openfactura,
    )


def organization_refresh(*, cfg: EmissionSettings) -> dict[str, Any]:
    """Re-read the issuer (``GET /v2/dte/organization``) and keep it for building documents."""
    organization = openfactura_client_for(cfg).organization()
    cfg.organization = organization
    cfg.organization_fetched_at = timezone.now()
    cfg.save(update_fields=["organization", "organization_fetched_at", "updated_at"])
    return organization


def dte_settings_for(cfg: EmissionSettings) -> StoreDteSettings:
    if not cfg.organization:
        organization_refresh(cfg=cfg)
    return StoreDteSettings(
        organization=cfg.organization,
        acteco=cfg.acteco or None,
        sucursal=cfg.sucursal or None,
        untaxed_items=cfg.untaxed_items,
    )


# --- Documents -----------------------------------------------------------------------------------
def idempotency_key_for(*, store_code: str, order_id: int, order_created_at: str, purpose: str) -> str:
    """Deterministic, never time-based (openfactura-api §6): one logical document, one key, across
    retries, restarts and reinstalls. The order's creation time guards against order numbers that restart."""
    created = "".join(ch for ch in (order_created_at or "") if ch.isdigit())[:14]
    return f"js:{store_code}:{order_id}:{created}:{purpose}"


def _set(document: Document, **fields: Any) -> None:
    """Update fields that are not the state (delivery marks, errors) on the store's row."""
    Document.objects.filter(pk=document.pk, store_id=document.store_id).update(**fields)
    for name, value in fields.items():
        setattr(document, name, value)


def _transition(document: Document, *, to: str, **fields: Any) -> bool:
    """Forward-only state change: an UPDATE guarded by the states allowed to move to ``to``."""
    sources = [state for state, targets in TRANSITIONS.items() if to in targets]
    updated = Document.objects.filter(pk=document.pk, store_id=document.store_id, state__in=sources).update(
        state=to, updated_at=timezone.now(), **fields
    )
    document.refresh_from_db()
    return bool(updated)


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


def _build(
    document: Document, cfg: EmissionSettings, build: Callable[[StoreDteSettings], BuiltDocument]
) -> BuiltDocument | None:
    """Build and validate a body once and keep it. A refusal (or an issuer OpenFactura will not describe)
    parks the document in "requiere revisión" with the Spanish reason; nothing is sent."""
    started, t0 = timezone.now(), time.monotonic()
    try:
        built = build(dte_settings_for(cfg))
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
        _transition(document, to=DocumentState.REQUIRES_REVIEW, error_code=code[:40], error_message=message)
        _attempt(document, started=timezone.now(), t0=time.monotonic(), outcome="refused", message=message)
        return None
    _store_built(document, built)
    return built


def document_build(
    *, document: Document, order: dict[str, Any], cfg: EmissionSettings, receptor: Receptor | None = None
) -> BuiltDocument | None:
    return _build(
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


def _claim(document: Document) -> bool:
    """Move the document to "sending" if nobody else holds it. A "sending" row whose lease expired
    (its worker died mid-call) may be claimed again: the same Idempotency-Key makes that safe."""
    now = timezone.now()
    lease = timedelta(seconds=settings.EMISSION_SENDING_LEASE_SECONDS)
    claimable = Q(state__in=[DocumentState.PENDING, DocumentState.FAILED_RETRYING]) | Q(
        state=DocumentState.SENDING, last_attempt_at__lt=now - lease
    )
    updated = Document.objects.filter(claimable, pk=document.pk, store_id=document.store_id).update(
        state=DocumentState.SENDING,
        attempts=F("attempts") + 1,
        last_attempt_at=now,
        first_attempt_at=Coalesce(F("first_attempt_at"), Value(now)),
        next_attempt_at=None,
        updated_at=now,
    )
    document.refresh_from_db()
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
        return _recovered(client, token), "duplicate"


def document_send(*, store_id: int, document_id: int) -> Document:
    """Send one built document to OpenFactura, exactly once (issue "Emission pipeline", Exactly once).

    Raises ``EmissionWaiting`` when the store's queue is paused and ``RetryLater`` on transient failures;
    data errors park the document in "requiere revisión" with OpenFactura's reason."""
    document = Document.objects.select_related("store").get(pk=document_id, store_id=store_id)
    if (
        document.state in (DocumentState.EMITTED, DocumentState.REQUIRES_REVIEW)
        or document.request_body is None
    ):
        return document
    if document.cancel_requested and document.attempts == 0 and document.kind != DocumentKind.NOTA_CREDITO:
        _withdraw(document)
        return document
    cfg = emission_settings_for(store_id=store_id)
    if cfg.queue_paused:
        raise EmissionWaiting("cola pausada")
    if not _claim(document):
        return document
    started, t0 = timezone.now(), time.monotonic()
    try:
        result, outcome = _emit_once(openfactura_client_for(cfg), document, started)
    except OpenFacturaUnauthorized as error:
        _pause_on_auth_error(document, error, started, t0)
    except _Ambiguous as error:
        return _requires_review(document, error, started, t0, message=error.message)
    except OpenFacturaTransient as error:
        return _failed_transient(document, cfg, error, started, t0)
    except OpenFacturaError as error:
        return _requires_review(
            document, error, started, t0, message=f"OpenFactura rechazó el documento: {error.describe()}"
        )
    except BudgetExhausted as exc:  # our own pacing: OpenFactura was not called
        wait = OpenFacturaRateLimited(
            "Límite de solicitudes por segundo alcanzado", retry_after=exc.retry_after
        )
        return _failed_transient(document, cfg, wait, started, t0)
    except Exception as exc:  # a claimed row never stays "sending" on an unexpected error
        logger.exception("unexpected error sending document %s", document.pk)
        unexpected = OpenFacturaUnavailable(f"Error inesperado: {type(exc).__name__}")
        _failed_transient(document, cfg, unexpected, started, t0)
    _emitted(document, result, started, t0, outcome)
    return document


def _emitted(document: Document, result: EmitResult, started: datetime, t0: float, outcome: str) -> None:
    fecha = (
        document.request_body["dte"]["Encabezado"]["IdDoc"].get("FchEmis") if document.request_body else None
    )
    with transaction.atomic():
        recorded = _transition(
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
    _transition(
        document,
        to=DocumentState.REQUIRES_REVIEW,
        error_code=str(error.code or error.status or "")[:40],
        error_message=message,
    )
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
    _transition(
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
    _transition(
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


def enqueue(task_name: str, *args: Any, countdown: float | None = None) -> None:
    """Publish a task. If the broker is down the row keeps its state and the sweeper dispatches it later.

    In eager mode (local runs, no broker) the task runs now; a delayed retry cannot be scheduled there, so
    it is left to ``emission_sweep`` (``manage.py emission_sweep``) or the merchant's "Reintentar"."""
    from openfactura_app.celery import app

    try:
        if not app.conf.task_always_eager:
            app.send_task(task_name, args=list(args), countdown=countdown)
        elif countdown is None:
            app.tasks[task_name].apply(args=list(args))
    except Exception:  # noqa: BLE001 - broker down or an unexpected bug: logged, the sweeper retries
        logger.exception("could not run %s%s; the sweeper will retry", task_name, args)


def _now_or_later(task_name: str, *args: Any, work: Callable[[], object]) -> None:
    """Run ``work`` in the caller's task; a transient failure is rescheduled as ``task_name``."""
    try:
        work()
    except RetryLater as exc:
        enqueue(task_name, *args, countdown=exc.countdown)
    except EmissionWaiting as exc:
        logger.info("emission waits: %s", exc)


# --- Entry points from Jumpseller events ----------------------------------------------------------
# Called by integration's webhook task (settings.JUMPSELLER_EVENT_HANDLERS). ``StoreDisconnected``
# propagates on purpose: the event then stays "received" and is dispatched again after reconnecting.
def order_paid_received(*, store_id: int, order_id: int, event_id: int | None = None) -> None:
    _now_or_later(
        "emission.emit_for_order",
        store_id,
        order_id,
        work=lambda: document_emit_for_order(store_id=store_id, order_id=order_id),
    )


def order_canceled_received(*, store_id: int, order_id: int, event_id: int | None = None) -> None:
    _now_or_later(
        "emission.annul_for_order",
        store_id,
        order_id,
        work=lambda: document_annul_for_order(store_id=store_id, order_id=order_id),
    )


def _factura_receptor(order: dict[str, Any]) -> Receptor | None:
    """The company data the customer typed at checkout, when complete and valid (factura directa)."""
    try:
        return Receptor.from_order({"order": order})
    except DteRefusal:
        return None


# One sale document per order, whatever its type: the type (boleta or factura) is fixed when the row is
# created, so a retry after a settings change can never emit a second, different document.
SALE_PURPOSE = "venta"
CANCELED_BEFORE_EMISSION = "La orden se anuló en Jumpseller antes de emitir el documento: no se emitirá."


def document_emit_for_order(*, store_id: int, order_id: int) -> Document | None:
    """Issue the document a paid order is owed under the store's mode (the webhook is only a trigger:
    the order is re-read from Jumpseller and must be paid)."""
    from integration.services import jumpseller_client_for  # integration is below emission

    cfg = emission_settings_for(store_id=store_id)
    with jumpseller_client_for(store_id) as client:  # raises StoreDisconnected: the event waits
        order = client.get_order(order_id)
        store_code = client.store_code
    if order.get("status_enum") != "paid":
        logger.info("order %s is %s, not paid: nothing to emit", order_id, order.get("status_enum"))
        return None
    if cfg.mode in (EmissionMode.LINK_BOLETA_O_FACTURA, EmissionMode.LINK_SOLO_BOLETA):
        selfservice_notice_send(store_id=store_id, order=order)
        return None
    factura = cfg.factura_directa and _factura_receptor(order) is not None
    document, _ = document_get_or_create(
        store_id=store_id,
        store_code=store_code,
        order=order,
        purpose=SALE_PURPOSE,
        kind=DocumentKind.FACTURA if factura else DocumentKind.BOLETA,
        demo=cfg.demo_mode,
    )
    if document.state == DocumentState.EMITTED:
        return document
    # The factura's receptor comes from the order (the engine reads and checks it).
    if document.request_body is None and not document_build(document=document, order=order, cfg=cfg):
        return document
    return document_send(store_id=store_id, document_id=document.pk)


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
            _withdraw(original)
    for nota in notas:
        if nota.state != DocumentState.EMITTED and nota.request_body is not None:
            document_send(store_id=store_id, document_id=nota.pk)
    return notas


def document_annul(*, store_id: int, document_id: int, razon: str = "Anula documento") -> Document:
    """The merchant's total nota de crédito (``CodRef`` 1) for one emitted boleta or factura, whatever the
    order's status in Jumpseller. Idempotent: a document has at most one annulling nota (``nc:<id>``)."""
    original = Document.objects.select_related("store").get(pk=document_id, store_id=store_id)
    if original.state != DocumentState.EMITTED or original.kind == DocumentKind.NOTA_CREDITO:
        raise ActionRefused("Solo se puede anular con nota de crédito una boleta o factura emitida.")
    order = {
        "id": original.order_id,
        "created_at": "",
        "customer": {"email": original.customer_email, "fullname": original.customer_name},
    }
    nota = nota_credito_anula(
        document=original, cfg=emission_settings_for(store_id=store_id), order=order, razon=razon
    )
    if nota.state != DocumentState.EMITTED and nota.request_body is not None:
        try:
            document_send(store_id=store_id, document_id=nota.pk)
        except (RetryLater, EmissionWaiting):
            pass  # recorded on the nota; the sweep (or "Reanudar") sends it
    nota.refresh_from_db()
    return nota


def _withdraw(document: Document) -> None:
    """A document never sent whose order was canceled: parked, visible, never sent (a claim that won the
    race instead leads to its annulment once emitted)."""
    if document.state in (DocumentState.PENDING, DocumentState.FAILED_RETRYING):
        _transition(
            document,
            to=DocumentState.REQUIRES_REVIEW,
            error_code="order_canceled",
            error_message=CANCELED_BEFORE_EMISSION,
        )


def nota_credito_anula(
    *, document: Document, cfg: EmissionSettings, order: dict[str, Any], razon: str
) -> Document:
    """The (single) nota de crédito that annuls ``document``; built once, sent by the caller. If partial
    notas already credited part of it, this one credits only what remains."""
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
        credited = _credited(document, exclude_pk=nota.pk)
        remaining = (document.mnt_total or 0) - credited
        common = {
            "original_tipo": document.tipo,
            "original_folio": document.folio,
            "original_fecha": document.fecha_emision,
            "today": timezone.localdate(),
        }
        if credited and remaining > 0:
            _build(
                nota,
                cfg,
                lambda dte: build_nota_credito_parcial(
                    document.request_body, settings=dte, amount=remaining, razon=f"{razon} (saldo)", **common
                ),
            )
        elif remaining > 0:
            _build(
                nota,
                cfg,
                lambda dte: build_nota_credito_anula(
                    document.request_body, settings=dte, razon=razon, **common
                ),
            )
        else:
            _transition(
                nota,
                to=DocumentState.REQUIRES_REVIEW,
                error_code="already_credited",
                error_message="El documento ya fue devuelto por completo con notas de crédito.",
            )
    return nota


def _credited(document: Document, *, exclude_pk: int | None = None) -> int:
    """Pesos already credited (or on their way) against ``document`` by its notas."""
    notas = document.notas.exclude(state=DocumentState.REQUIRES_REVIEW).exclude(pk=exclude_pk)
    return sum(nota.mnt_total or 0 for nota in notas)


class ActionRefused(Exception):
    """A merchant action that cannot be done as asked; ``message`` says why, in Spanish."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


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
    if original.notas.filter(purpose__startswith="nc:").exclude(state=DocumentState.REQUIRES_REVIEW).exists():
        raise ActionRefused("Este documento ya está anulado con una nota de crédito.")
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
        )
    except DteRefusal as refusal:
        raise ActionRefused(refusal.message) from refusal
    total = (built.totals or {}).get("MntTotal") or 0
    with transaction.atomic():
        # The original's row is the lock: two submits with different keys cannot both pass the balance check.
        original = Document.objects.select_for_update().get(pk=original.pk, store_id=store_id)
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
            _store_built(nota, built)
    transaction.on_commit(lambda: enqueue("emission.send_document", store_id, nota.pk))
    return nota


def document_email_resend(*, store_id: int, document_id: int) -> Document:
    """The merchant's "Reenviar correo": send the document's email again, now."""
    document = Document.objects.select_related("store").get(pk=document_id, store_id=store_id)
    if document.state != DocumentState.EMITTED:
        raise ActionRefused("El documento aún no está emitido: el correo se enviará cuando se emita.")
    _set(document, email_sent_at=None, email_error="")
    cfg = emission_settings_for(store_id=store_id)
    try:
        document_email_customer(document=document, cfg=cfg)
    except RetryLater as exc:
        raise ActionRefused(f"No se pudo enviar el correo: {document.email_error}") from exc
    document.refresh_from_db()
    if document.email_error:
        raise ActionRefused(document.email_error)
    return document


def _store_built(document: Document, built: BuiltDocument) -> None:
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


# --- Follow-ups: email and Jumpseller attachment ------------------------------------------------
def document_pdf_bytes(document: Document) -> bytes:
    """The PDF, from our copy or fetched once from OpenFactura and kept."""
    if document.pdf:
        return bytes(document.pdf)
    pdf = openfactura_client_for(emission_settings_for(store_id=document.store_id)).document_pdf(
        document.token
    )
    _set(document, pdf=pdf)
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
            _set(
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
        _set(document, email_error=f"{EMAIL_SKIPPED} la orden no tiene correo del cliente.")
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
        _set(document, email_sent_at=None, email_error=f"No se pudo enviar el correo: {exc}"[:500])
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
        _set(document, attach_error=f"La tienda está desconectada de Jumpseller: {exc}"[:500])
        return False
    except JumpsellerTransientError as exc:
        _set(document, attach_error=f"Jumpseller no respondió; se reintentará: {exc}"[:500])
        raise RetryLater(60) from exc
    except JumpsellerError as exc:
        _set(document, attach_error=f"Jumpseller rechazó el adjunto: {exc}"[:500])
        return False
    finally:
        cache.delete(lock)
    _set(document, attached_at=timezone.now(), attach_error="")
    return True


# --- Queue -----------------------------------------------------------------------------------------
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
    return bool(updated)


def queue_resume(*, store_id: int) -> int:
    """Resume and send everything that waited (same Idempotency-Keys, so nothing is emitted twice)."""
    EmissionSettings.objects.filter(store_id=store_id).update(
        queue_paused=False, queue_paused_reason="", queue_paused_at=None
    )
    waiting = Document.objects.filter(
        store_id=store_id, state__in=[DocumentState.PENDING, DocumentState.FAILED_RETRYING]
    )
    waiting.update(next_attempt_at=None)
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
    if document.state == DocumentState.REQUIRES_REVIEW and document.purpose.startswith("ncp:"):
        _transition(document, to=DocumentState.PENDING, error_code="", error_message="")
    elif document.state == DocumentState.REQUIRES_REVIEW:
        _transition(
            document, to=DocumentState.PENDING, request_json="", tipo=None, error_code="", error_message=""
        )
    transaction.on_commit(lambda: _redispatch(Document.objects.filter(pk=document.pk, store_id=store_id)))
    return document


MAX_DELIVER_ATTEMPTS = 10
EMAIL_SKIPPED = "No enviado:"  # prefix of a permanent reason not to email (no address, disabled)


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
        Q(attached_at__isnull=True)
        | (Q(email_sent_at__isnull=True) & ~Q(email_error__startswith=EMAIL_SKIPPED))
    )
    counts["deliver"] = 0
    for store_id, pk in undelivered.values_list("store_id", "pk")[:500]:
        enqueue("emission.deliver_document", store_id, pk)
        counts["deliver"] += 1
    return counts


# --- Self-service link (the page itself is the "selfservice" issue) -------------------------------
SELFSERVICE_SALT = "selfservice-link"


def selfservice_url_for(*, store_id: int, order_id: int) -> str:
    """A capability URL bound to one store and order: signed, unguessable without SECRET_KEY."""
    token = signing.dumps({"s": store_id, "o": order_id}, salt=SELFSERVICE_SALT, compress=True)
    return f"{settings.PUBLIC_BASE_URL}/documento/{token}/"


def selfservice_notice_send(*, store_id: int, order: dict[str, Any]) -> CustomerNotice | None:
    """Modes 3 and 4: no document on payment; the customer gets the link to choose/issue it. Once."""
    from django.core.mail import EmailMultiAlternatives
    from django.template.loader import render_to_string

    from integration.models import Store

    order_id = int(order["id"])
    email = str((order.get("customer") or {}).get("email") or "")
    cfg = emission_settings_for(store_id=store_id)
    try:
        with transaction.atomic():
            notice = CustomerNotice.objects.create(store_id=store_id, order_id=order_id, email=email[:254])
    except IntegrityError:
        notice = CustomerNotice.objects.get(store_id=store_id, order_id=order_id, kind="selfservice_link")
    if notice.sent_at or not cfg.email_customer:
        return notice
    if not email:
        CustomerNotice.objects.filter(pk=notice.pk).update(error="La orden no tiene correo del cliente.")
        return notice
    claimed = CustomerNotice.objects.filter(pk=notice.pk, sent_at__isnull=True).update(sent_at=timezone.now())
    if not claimed:
        return notice
    store = Store.objects.get(pk=store_id)
    context = {
        "store": store,
        "order_id": order_id,
        "customer_name": (order.get("customer") or {}).get("fullname") or "",
        "total": order.get("total"),
        "selfservice_url": selfservice_url_for(store_id=store_id, order_id=order_id),
        "allows_factura": cfg.mode == EmissionMode.LINK_BOLETA_O_FACTURA,
        "demo": cfg.demo_mode,
    }
    message = EmailMultiAlternatives(
        subject=f"{'[DEMO] ' if cfg.demo_mode else ''}Obtén tu documento tributario — orden #{order_id}",
        body=render_to_string("emission/email/selfservice.txt", context),
        to=[email],
        bcc=[cfg.merchant_email] if cfg.email_copy_merchant and cfg.merchant_email else None,
    )
    message.attach_alternative(render_to_string("emission/email/selfservice.html", context), "text/html")
    try:
        message.send()
    except Exception as exc:  # noqa: BLE001 - recorded; the sweeper/merchant retries
        CustomerNotice.objects.filter(pk=notice.pk).update(sent_at=None, error=str(exc)[:500])
        raise RetryLater(120) from exc
    return notice


# --- Reconciliation against Jumpseller -----------------------------------------------------------
def orders_reconcile(*, store_id: int, date_from: date, date_to: date) -> int:
    """Paid orders in the range that have no document (nor self-service notice) get one: Jumpseller pauses
    a webhook after repeated failures, so delivery is never trusted alone (jumpseller-api §6)."""
    from integration.services import jumpseller_client_for

    known = set(Document.objects.filter(store_id=store_id).values_list("order_id", flat=True)) | set(
        CustomerNotice.objects.filter(store_id=store_id).values_list("order_id", flat=True)
    )
    missing = []
    with jumpseller_client_for(store_id) as client:
        for page in range(1, 1000):
            orders = client.list_orders(
                status="paid", date_from=date_from, date_to=date_to, page=page, limit=100
            )
            missing += [int(o["id"]) for o in orders if int(o["id"]) not in known]
            if len(orders) < 100:
                break
    for order_id in missing:
        transaction.on_commit(lambda oid=order_id: enqueue("emission.emit_for_order", store_id, oid))
    return len(missing)
