"""Self-service services: the customer's link, its SII window, and the documents it issues.

* The link (``emission.services.selfservice_url_for``) is a capability URL: ``signing.dumps({"s", "o"})``
  bound to one store and order; anything that does not verify is the same 404.
* The SII window (openfactura-api.md §4.4, OpenFactura's own self-service rule): for a document dated in
  month M, the customer may obtain the factura until the **10th day of month M+1** (inclusive, Chile time).
  dte-rules.md §4: a boleta is annulled with a nota de crédito (CodRef 1) and replaced by a factura;
  an NC has full effect when it falls in the tax period of the event, which this window keeps close to.
* Mode 2 conversion: nota de crédito annulling the boleta, then the factura, each a ``Document`` unique
  per (store, order, purpose); the factura is created only once the nota is emitted; a ``Conversion`` row
  records the progress and is advanced again (reload, task, sweep) until the factura exists.
* After partial refunds (dte-semantics.md §4, "Boleta → factura after earlier notas"): the nota and the
  factura both cover exactly what remains of the sale (:func:`boleta_remainder`, the engine's
  ``sale_remainder`` over the boleta's earlier notas); nothing left, or a boleta the store annulled
  itself → refused in Spanish before anything is created.
"""

from __future__ import annotations

import calendar
import logging
import time
from dataclasses import asdict
from datetime import UTC, date, datetime, timedelta
from typing import Any

from django.core import signing
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone

from core.ratelimit import WEB_MAX_WAIT
from emission.client import OpenFacturaRateLimited
from emission.dte import (
    BuiltDocument,
    NothingRemains,
    Receptor,
    SaleRemainder,
    build_document,
    sale_remainder,
)
from emission.models import (
    CustomerNotice,
    Document,
    DocumentKind,
    DocumentState,
    EmissionMode,
    EmissionSettings,
)
from emission.services import (
    SALE_PURPOSE,
    SELFSERVICE_SALT,
    EmissionWaiting,
    RetryLater,
    SendDeferred,
    document_build,
    document_get_or_create,
    document_send,
    document_send_later,
    emission_settings_for,
    enqueue,
    nota_credito_anula,
)
from emission.services.documents import document_build_with
from emission.services.orders import notas_earlier
from selfservice.models import Conversion, ConversionState

logger = logging.getLogger(__name__)

FACTURA_PURPOSE = "factura"
NOTA_RAZON = "Anula boleta; se emite factura"
WINDOW_LAST_DAY = 10  # openfactura-api.md §4.4: "within the first 10 days of month M+1"


class LinkInvalid(Exception):
    """Tampered, foreign or unknown: one uniform 404."""


class SelfserviceRefused(Exception):
    """The request cannot be done now; ``message`` says why, in Spanish."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


# --- The link ------------------------------------------------------------------------------------
def link_parse(token: str) -> tuple[int, int]:
    """(store id, order id) of a signed link, or ``LinkInvalid``."""
    try:
        payload = signing.loads(token, salt=SELFSERVICE_SALT)
        return int(payload["s"]), int(payload["o"])
    except (signing.BadSignature, KeyError, TypeError, ValueError):
        raise LinkInvalid from None


def window_end(issued: date) -> date:
    """The last day the link can issue anything: the 10th of the month after ``issued``."""
    year, month = (issued.year + 1, 1) if issued.month == 12 else (issued.year, issued.month + 1)
    return date(year, month, min(WINDOW_LAST_DAY, calendar.monthrange(year, month)[1]))


def order_date(order: dict[str, Any]) -> date:
    """The order's payment (else creation) date in Chile time; Jumpseller's ``2023-02-10 13:56:35 UTC``."""
    for key in ("completed_at", "created_at"):
        text = str(order.get(key) or "").strip().removesuffix(" UTC").replace("T", " ")
        try:
            moment = datetime.fromisoformat(text[:19])
        except ValueError:
            continue
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=UTC)
        return timezone.localdate(moment)
    return timezone.localdate()


def sale_document(*, store_id: int, order_id: int) -> Document | None:
    return Document.objects.filter(store_id=store_id, order_id=order_id, purpose=SALE_PURPOSE).first()


def window_base(*, sale: Document | None, order: dict[str, Any]) -> date:
    """The date the window counts from: the boleta's FchEmis when there is one, else the order's date."""
    if sale is not None and sale.fecha_emision:
        return sale.fecha_emision
    return order_date(order)


def _read_order(store_id: int, order_id: int) -> dict[str, Any]:
    from integration.services import jumpseller_client_for

    with jumpseller_client_for(store_id) as client:
        return client.get_order(order_id)


def _send(document: Document) -> Document:
    """Send now; a transient failure leaves the row retrying (the pipeline's sweep resends it)."""
    try:
        # The customer waits for the page: a slot this close is waited for, not deferred.
        return document_send(store_id=document.store_id, document_id=document.pk, budget_wait=WEB_MAX_WAIT)
    except (RetryLater, EmissionWaiting) as exc:
        logger.info("selfservice: document %s waits: %s", document.pk, exc)
        document.refresh_from_db()
        return document
    except SendDeferred as exc:  # the store's budget is spent now: sent at its booked moment
        document_send_later(exc)
        document.refresh_from_db()
        return document


def order_mode(*, store_id: int, order_id: int, cfg: EmissionSettings, sale: Document | None = None) -> int:
    """The emission mode the payment chose for this order — recorded on its sale document, or on the link
    notice of modes 3 and 4 (an emission rule may choose another mode than the store's) — else the
    store's mode (documents and notices from before rules)."""
    if sale is None:
        sale = sale_document(store_id=store_id, order_id=order_id)
    if sale is not None and sale.emission_mode:
        return sale.emission_mode
    recorded = (
        CustomerNotice.objects.filter(store_id=store_id, order_id=order_id, kind="selfservice_link")
        .values_list("emission_mode", flat=True)
        .first()
    )
    return recorded or cfg.mode


# --- Modes 3 and 4: the link issues the order's one document ---------------------------------------
def selfservice_sale_emit(*, store_id: int, order_id: int, kind: str, receptor: Receptor | None) -> Document:
    """Issue the order's sale document (purpose ``venta``, unique per order): a boleta, or in mode 3 a
    factura to ``receptor``. A second submit (or another tab) gets the document already chosen."""
    from integration.models import Store

    cfg = emission_settings_for(store_id=store_id)
    mode = order_mode(store_id=store_id, order_id=order_id, cfg=cfg)
    if mode not in (EmissionMode.LINK_BOLETA_O_FACTURA, EmissionMode.LINK_SOLO_BOLETA):
        raise SelfserviceRefused("Esta tienda emite la boleta al pagar.")
    if mode == EmissionMode.LINK_SOLO_BOLETA:
        kind, receptor = DocumentKind.BOLETA, None
    order = _read_order(store_id, order_id)
    if order.get("status_enum") != "paid":
        raise SelfserviceRefused("La orden no está pagada: no se puede emitir un documento.")
    document, created = document_get_or_create(
        store_id=store_id,
        store_code=Store.objects.values_list("code", flat=True).get(pk=store_id),
        order=order,
        purpose=SALE_PURPOSE,
        kind=kind,
        demo=cfg.demo_mode,
    )
    if created:  # the path the payment chose (a rule, or the store's mode), recorded on its link notice
        notice = CustomerNotice.objects.filter(store_id=store_id, order_id=order_id, kind="selfservice_link")
        chosen = notice.values("emission_mode", "rule_label").first() or {}
        Document.objects.filter(pk=document.pk).update(
            emission_mode=chosen.get("emission_mode") or mode, rule_label=chosen.get("rule_label") or ""
        )
    if created and receptor is not None and receptor.email:
        Document.objects.filter(pk=document.pk).update(customer_email=receptor.email)
    if document.state == DocumentState.EMITTED:
        return document
    if document.request_body is None and document.state in (
        DocumentState.PENDING,
        DocumentState.FAILED_RETRYING,
    ):
        try:
            built = _build_while_the_customer_waits(
                document=document,
                order=order,
                cfg=cfg,
                receptor=receptor if document.kind == DocumentKind.FACTURA else None,
            )
        except SelfserviceRefused:
            if created:  # never built nor sent: undone, so the customer's choice and data stay theirs
                Document.objects.filter(pk=document.pk, attempts=0, request_json="").delete()
            raise
        if built is None:
            document.refresh_from_db()
            return document
    return _send(document)


BUSY = "Estamos emitiendo muchos documentos en este momento: intenta de nuevo en unos segundos."


def _build_while_the_customer_waits(*, document: Document, order: dict[str, Any], cfg, receptor):
    """``document_build`` for a customer's click: the issuer read may meet the OpenFactura key's budget
    spent for a moment (other orders of the store); the request waits for it up to ``WEB_MAX_WAIT``, then
    says so in Spanish — nothing is lost: the document waits, unbuilt, for the next click or the sweep."""
    deadline = time.monotonic() + WEB_MAX_WAIT
    while True:
        try:
            return document_build(document=document, order=order, cfg=cfg, receptor=receptor)
        except OpenFacturaRateLimited as exc:
            wait = max(float(exc.retry_after or 0), 0.05)
            if time.monotonic() + wait > deadline:
                raise SelfserviceRefused(BUSY) from exc
            time.sleep(wait)


def sale_needs_retry(sale: Document, *, mode: int) -> bool:
    """A link-issued boleta whose build never finished (e.g. OpenFactura could not be read): the
    pipeline's sweep rebuilds only mode-1/2 documents, so the link's next visit builds it again."""
    return (
        mode in (EmissionMode.LINK_BOLETA_O_FACTURA, EmissionMode.LINK_SOLO_BOLETA)
        and sale.kind == DocumentKind.BOLETA
        and sale.request_body is None
        and sale.state in (DocumentState.PENDING, DocumentState.FAILED_RETRYING)
    )


# --- Mode 2: boleta → nota de crédito → factura ----------------------------------------------------
def boleta_remainder(boleta: Document, *, exclude_pk: int | None = None) -> SaleRemainder | None:
    """What the boleta's earlier notas (not ``exclude_pk``, the conversion's own) left of the sale, or
    ``None`` when it has none (the factura is then the order's, whole). Raises ``NothingRemains``."""
    earlier = notas_earlier(boleta, exclude_pk=exclude_pk)
    if not earlier:
        return None
    totals = {"MntNeto": boleta.mnt_neto, "IVA": boleta.iva, "MntExe": boleta.mnt_exe}
    return sale_remainder(totals, earlier, label="compra")


def conversion_request(*, store_id: int, order_id: int, receptor: Receptor) -> Conversion:
    """The customer's "Quiero factura": recorded once per order (the first receptor stands), then
    advanced. The boleta must be emitted."""
    cfg = emission_settings_for(store_id=store_id)
    boleta = sale_document(store_id=store_id, order_id=order_id)
    if (
        order_mode(store_id=store_id, order_id=order_id, cfg=cfg, sale=boleta)
        != EmissionMode.BOLETA_CONVERTIBLE
    ):
        raise SelfserviceRefused("Esta tienda no cambia boletas por facturas desde este enlace.")
    if boleta is None or boleta.kind != DocumentKind.BOLETA or boleta.state != DocumentState.EMITTED:
        raise SelfserviceRefused("La boleta de esta orden aún no está emitida. Intenta en unos minutos.")
    if boleta.cancel_requested:
        raise SelfserviceRefused("La orden fue anulada: no se puede emitir una factura.")
    if not Conversion.objects.filter(store_id=store_id, order_id=order_id).exists():
        # Before any conversion, an annulling nota can only be the store's own.
        if (
            boleta.notas.filter(purpose__startswith="nc:")
            .exclude(state=DocumentState.REQUIRES_REVIEW)
            .exists()
        ):
            raise SelfserviceRefused(
                "La tienda anuló tu boleta con una nota de crédito: no hay una compra que facturar."
            )
        try:
            boleta_remainder(boleta)
        except NothingRemains:
            raise SelfserviceRefused(
                "Tu compra ya fue devuelta por completo con notas de crédito: no queda un monto que facturar."
            ) from None
    try:
        with transaction.atomic():
            conversion = Conversion.objects.create(
                store_id=store_id, order_id=order_id, boleta=boleta, receptor=asdict(receptor)
            )
    except IntegrityError:
        conversion = Conversion.objects.get(store_id=store_id, order_id=order_id)
    return conversion_advance(store_id=store_id, conversion_id=conversion.pk)


def _forward(conversion: Conversion, *, source: str, to: str, **fields: Any) -> None:
    Conversion.objects.filter(pk=conversion.pk, state=source).update(
        state=to, updated_at=timezone.now(), **fields
    )
    conversion.refresh_from_db()


def _record(conversion: Conversion, message: str) -> Conversion:
    Conversion.objects.filter(pk=conversion.pk).update(last_error=message[:2000], updated_at=timezone.now())
    conversion.refresh_from_db()
    return conversion


def conversion_advance(*, store_id: int, conversion_id: int) -> Conversion:
    """One step forward, safe to run any number of times concurrently: the nota (purpose
    ``nc:<boleta>``) and the factura (purpose ``factura``) are unique rows sent with their own
    Idempotency-Key, and the factura row is created only after the nota is emitted."""
    from integration.services import StoreDisconnected

    conversion = Conversion.objects.select_related("boleta", "boleta__store").get(
        pk=conversion_id, store_id=store_id
    )
    if conversion.state == ConversionState.DONE:
        return conversion
    Conversion.objects.filter(pk=conversion.pk).update(attempts=F("attempts") + 1)
    cfg = emission_settings_for(store_id=store_id)
    try:
        order = _read_order(store_id, conversion.order_id)
    except StoreDisconnected as exc:
        return _record(conversion, f"La tienda está desconectada de Jumpseller: {exc}")
    boleta = conversion.boleta
    nota = nota_credito_anula(document=boleta, cfg=cfg, order=order, razon=NOTA_RAZON)
    Conversion.objects.filter(pk=conversion.pk, nota__isnull=True).update(nota=nota)
    if nota.state != DocumentState.EMITTED and nota.request_body is not None:
        nota = _send(nota)
    if nota.state != DocumentState.EMITTED:
        return _record(conversion, nota.error_message or "La nota de crédito aún se está emitiendo.")
    _forward(conversion, source=ConversionState.NOTA_PENDING, to=ConversionState.FACTURA_PENDING)

    receptor = Receptor(**conversion.receptor)
    factura, created = document_get_or_create(
        store_id=store_id,
        store_code=boleta.store.code,
        order=order,
        purpose=FACTURA_PURPOSE,
        kind=DocumentKind.FACTURA,
        demo=boleta.demo,
    )
    if created and receptor.email:
        Document.objects.filter(pk=factura.pk).update(customer_email=receptor.email)
    Conversion.objects.filter(pk=conversion.pk, factura__isnull=True).update(factura=factura)
    if (
        factura.request_body is None
        and factura.state in (DocumentState.PENDING, DocumentState.FAILED_RETRYING)
        and _factura_build(factura, order=order, cfg=cfg, receptor=receptor, boleta=boleta, nota=nota) is None
    ):
        factura.refresh_from_db()
    if factura.state != DocumentState.EMITTED and factura.request_body is not None:
        factura = _send(factura)
    if factura.state != DocumentState.EMITTED:
        return _record(conversion, factura.error_message or "La factura aún se está emitiendo.")
    _forward(
        conversion,
        source=ConversionState.FACTURA_PENDING,
        to=ConversionState.DONE,
        completed_at=timezone.now(),
        last_error="",
    )
    return conversion


def _factura_build(
    factura: Document,
    *,
    order: dict[str, Any],
    cfg: EmissionSettings,
    receptor: Receptor,
    boleta: Document,
    nota: Document,
) -> BuiltDocument | None:
    """The factura's body: the order's, whole, when the boleta had no earlier notas; else what remains
    of the sale — the same remainder the annulling ``nota`` credited, so both agree to the peso (nothing
    left: "requiere revisión" with the engine's reason, nothing sent)."""
    if not notas_earlier(boleta, exclude_pk=nota.pk):
        return document_build(document=factura, order=order, cfg=cfg, receptor=receptor)
    return document_build_with(
        factura,
        cfg,
        lambda dte_settings: build_document(
            {"order": order},
            document="factura",
            settings=dte_settings,
            receptor=receptor,
            today=timezone.localdate(),
            remainder=boleta_remainder(boleta, exclude_pk=nota.pk),
        ),
    )


def conversion_sweep(*, older_than: timedelta = timedelta(minutes=2)) -> int:
    """Re-enqueue unfinished conversions (a failed factura is retried until it exists)."""
    stale = Conversion.objects.exclude(state=ConversionState.DONE).filter(
        updated_at__lt=timezone.now() - older_than
    )
    count = 0
    for store_id, pk in stale.values_list("store_id", "pk")[:200]:
        enqueue("selfservice.advance_conversion", store_id, pk)
        count += 1
    return count
