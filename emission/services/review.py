"""What the merchant confirms before a nota de crédito is issued, and the ways out of "requiere revisión".

A nota's confirmation page shows the very document the issuing code builds: the preview runs that code
(``nota_annul_prepare``, ``nota_credito_parcial_create``) inside a transaction that is rolled back, and
the confirmation carries a digest of what was shown; the confirmed submit builds again and issues only if
the digest still matches (another nota, a settings change or a new day in between → shown again).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.db import transaction
from django.utils import timezone

from emission.client import OpenFacturaError
from emission.dte import DteRefusal, Receptor, validate_body
from emission.models import TIPO_NAMES, Document, DocumentKind, DocumentState
from emission.services.alerts import merchant_alerts_settle
from emission.services.orders import (
    SALE_PURPOSE,
    nota_annul_prepare,
    nota_credito_parcial_create,
    nota_send_now,
)
from emission.services.state import (
    ActionRefused,
    EmissionWaiting,
    RetryLater,
    SendDeferred,
    document_fields_set,
    document_transition,
    enqueue,
)

# --- Confirmation of notas de crédito -------------------------------------------------------------------


class PreviewChanged(ActionRefused):
    """The nota the confirmed submit would issue is not the one the merchant saw: nothing was issued."""

    def __init__(self, preview: NotaPreview) -> None:
        super().__init__(
            "La nota de crédito cambió desde que la revisaste (otra nota, un cambio de configuración o un "
            "nuevo día): no se emitió nada. Revísala de nuevo y confirma."
        )
        self.preview = preview


@dataclass(frozen=True)
class NotaPreview:
    """The nota de crédito exactly as it will be sent: read from its built body."""

    tipo: int
    neto: int | None
    exento: int | None
    iva: int | None
    total: int
    razon: str
    corrects: str  # "Boleta electrónica N° 4521"
    cod_ref: int
    lines: list[dict[str, Any]]
    discounts: list[dict[str, Any]]
    receptor: dict[str, Any]
    digest: str
    warnings: list[str] = field(default_factory=list)

    @property
    def tipo_name(self) -> str:
        return TIPO_NAMES.get(self.tipo, "Nota de crédito")

    @property
    def partial(self) -> bool:
        return self.cod_ref != 1


def shown_digest(body: dict[str, Any]) -> str:
    """A digest of what the confirmation shows (type, amounts, lines, receptor, the reference) and of its
    emission date: confirmed on another day (another month: another F29), it is shown again."""
    dte = body["dte"]
    encabezado = dte["Encabezado"]
    shown = {
        "tipo": encabezado["IdDoc"].get("TipoDTE"),
        "fecha": encabezado["IdDoc"].get("FchEmis"),
        "totales": encabezado.get("Totales"),
        "receptor": encabezado.get("Receptor"),
        "detalle": dte.get("Detalle"),
        "descuentos": dte.get("DscRcgGlobal"),
        "referencia": dte.get("Referencia"),
    }
    return hashlib.sha256(json.dumps(shown, sort_keys=True, default=str).encode()).hexdigest()[:40]


def _preview_of(nota: Document) -> NotaPreview:
    if nota.state == DocumentState.REQUIRES_REVIEW or nota.request_body is None:
        raise ActionRefused(nota.error_message or "No se pudo preparar la nota de crédito.")
    body = nota.request_body
    dte = body["dte"]
    [reference, *_] = dte.get("Referencia") or [{}]
    ref_tipo = int(reference.get("TpoDocRef") or 0)
    totals = dte["Encabezado"].get("Totales") or {}
    return NotaPreview(
        tipo=int(nota.tipo or dte["Encabezado"]["IdDoc"]["TipoDTE"]),
        neto=totals.get("MntNeto"),
        exento=totals.get("MntExe"),
        iva=totals.get("IVA"),
        total=int(totals.get("MntTotal") or 0),
        razon=str(reference.get("RazonRef") or ""),
        corrects=f"{TIPO_NAMES.get(ref_tipo, 'Documento')} N° {reference.get('FolioRef', '')}",
        cod_ref=int(reference.get("CodRef") or 0),
        lines=list(dte.get("Detalle") or []),
        discounts=list(dte.get("DscRcgGlobal") or []),
        receptor=dict(dte["Encabezado"].get("Receptor") or {}),
        digest=shown_digest(body),
        warnings=list(nota.warnings or []),
    )


class _DryRun(Exception):
    def __init__(self, preview: NotaPreview) -> None:
        super().__init__("dry run")
        self.preview = preview


def _dry_run(prepare: Callable[[], Document]) -> NotaPreview:
    """Run the issuing code, read the nota it built, and undo everything (rows, attempts, queued tasks)."""
    try:
        with transaction.atomic():
            raise _DryRun(_preview_of(prepare()))
    except _DryRun as dry:
        return dry.preview
    except (EmissionWaiting, RetryLater, SendDeferred, OpenFacturaError) as exc:
        raise ActionRefused(
            "No pudimos preparar la nota de crédito ahora (OpenFactura o la cola no están disponibles): no "
            "se emitió nada. Inténtalo de nuevo en unos minutos."
        ) from exc


def _annulling_nota(store_id: int, document_id: int) -> Document | None:
    return Document.objects.filter(
        store_id=store_id, annuls_id=document_id, purpose=f"nc:{document_id}"
    ).first()


def _refuse_if_annulled(store_id: int, document_id: int) -> None:
    existing = _annulling_nota(store_id, document_id)
    if existing is None:
        return
    if existing.state == DocumentState.REQUIRES_REVIEW:
        raise ActionRefused(
            "La nota de crédito total de este documento ya existe y requiere revisión: ábrela y usa "
            "Reintentar o Marcar como resuelto. No se emitió otra."
        )
    raise ActionRefused("Este documento ya tiene su nota de crédito total: no se emitió otra.")


def nota_total_preview(*, store_id: int, document_id: int, razon: str) -> NotaPreview:
    """The annulling nota the confirmed submit would issue, built by the same code and undone."""
    _refuse_if_annulled(store_id, document_id)
    return _dry_run(lambda: nota_annul_prepare(store_id=store_id, document_id=document_id, razon=razon))


def nota_total_confirm(*, store_id: int, document_id: int, razon: str, expect: str) -> Document:
    """Issue the annulling nota the merchant saw (``expect``: its digest); a double submit gets the same
    nota (one ``nc:<id>`` per document)."""
    existing = _annulling_nota(store_id, document_id)
    if existing is not None and existing.state != DocumentState.REQUIRES_REVIEW:
        return existing
    with transaction.atomic():
        nota = nota_annul_prepare(store_id=store_id, document_id=document_id, razon=razon)
        preview = _preview_of(nota)
        if preview.digest != expect:
            raise PreviewChanged(preview)
    return nota_send_now(store_id=store_id, nota=nota)


def nota_parcial_preview(
    *,
    store_id: int,
    document_id: int,
    request_key: str,
    amount: int | None = None,
    lines: list[tuple[int, Decimal]] | None = None,
    razon: str,
) -> NotaPreview:
    """The partial nota the confirmed submit would issue, built by the same code and undone."""
    _refuse_if_annulled(store_id, document_id)
    return _dry_run(
        lambda: nota_credito_parcial_create(
            store_id=store_id,
            document_id=document_id,
            request_key=request_key,
            amount=amount,
            lines=lines,
            razon=razon,
        )
    )


def nota_parcial_confirm(
    *,
    store_id: int,
    document_id: int,
    request_key: str,
    expect: str,
    amount: int | None = None,
    lines: list[tuple[int, Decimal]] | None = None,
    razon: str,
) -> Document:
    """Issue the partial nota the merchant saw; the form's ``request_key`` makes a double submit get the
    same nota. Sent once the row is committed (the send task), then read again for its folio."""
    with transaction.atomic():
        nota = nota_credito_parcial_create(
            store_id=store_id,
            document_id=document_id,
            request_key=request_key,
            amount=amount,
            lines=lines,
            razon=razon,
        )
        preview = _preview_of(nota)
        if preview.digest != expect:
            raise PreviewChanged(preview)
    nota.refresh_from_db()
    return nota


# --- Ways out of "requiere revisión" ------------------------------------------------------------------------


def document_resolve(*, store_id: int, document_id: int, folio: int | None, reason: str) -> Document:
    """ "Marcar como resuelto": the merchant handled this document by hand (issued elsewhere, or not owed).
    It leaves "requiere revisión", counts as handled, and is never sent afterwards (no transition leaves
    "resuelto a mano")."""
    document = Document.objects.get(pk=document_id, store_id=store_id)
    moved = document_transition(
        document,
        to=DocumentState.RESOLVED,
        resolved_at=timezone.now(),
        resolved_folio=folio,
        resolved_reason=reason[:200],
        next_attempt_at=None,
    )
    if not moved:
        raise ActionRefused("Solo se puede marcar como resuelto un documento que requiere revisión.")
    merchant_alerts_settle(store_id=store_id)  # the episode may be over: the next review alerts again
    return document


# Refusals of the engine and rejections of OpenFactura that are about the buyer of a factura.
RECEPTOR_ERROR_CODES = frozenset({"receptor_missing", "receptor_rut_invalid"})
_RECEPTOR_FIELDS = ("RUTRecep", "RznSocRecep", "GiroRecep", "DirRecep", "CmnaRecep", "receptor", "Receptor")


def receptor_correctable(document: Document) -> bool:
    """A factura in review because of its buyer's data (the engine refused it, or OpenFactura named a
    receptor field), which a rebuild with corrected data can fix."""
    if document.kind != DocumentKind.FACTURA or document.state != DocumentState.REQUIRES_REVIEW:
        return False
    if document.request_body is None and document.purpose != SALE_PURPOSE:
        return False  # nothing to patch, and only the sale document is rebuilt from the order
    if document.error_code in RECEPTOR_ERROR_CODES:
        return True
    return any(name in (document.error_message or "") for name in _RECEPTOR_FIELDS)


def receptor_validated(data: dict[str, str]) -> Receptor:
    """The merchant's buyer data as the engine checks it (RUT with its check digit, every field, SII
    lengths); raises ``ActionRefused`` with the engine's Spanish reason."""
    try:
        return Receptor.from_json(data).validated(factura=True)
    except DteRefusal as refusal:
        raise ActionRefused(refusal.message) from refusal


def document_receptor_correct(*, store_id: int, document_id: int, receptor: Receptor) -> Document:
    """ "Corregir datos del receptor" (after the merchant confirmed it): keep the corrected buyer on the
    document, rebuild the body with it and send it again.

    A factura whose body was built keeps its lines, discounts and totals: only its ``Receptor`` is
    replaced and the body validated again. One refused before it was built is rebuilt from the order with
    the corrected buyer (``document_emit_for_order`` uses ``receptor_override``)."""
    document = Document.objects.get(pk=document_id, store_id=store_id)
    if not receptor_correctable(document):
        raise ActionRefused(
            "Solo se pueden corregir los datos del receptor de una factura que requiere revisión por ellos."
        )
    buyer = receptor_validated(
        {
            "rut": receptor.rut,
            "razon_social": receptor.razon_social,
            "giro": receptor.giro,
            "direccion": receptor.direccion,
            "comuna": receptor.comuna,
            "email": receptor.email or "",
        }
    )
    override = {
        "rut": buyer.rut,
        "razon_social": buyer.razon_social,
        "giro": buyer.giro,
        "direccion": buyer.direccion,
        "comuna": buyer.comuna,
    }
    body = document.request_body
    with transaction.atomic():
        document_fields_set(document, receptor_override=override)
        if body is None:
            document_transition(document, to=DocumentState.PENDING, error_code="", error_message="")
            task, arg = "emission.emit_for_order", document.order_id
        else:
            body["dte"]["Encabezado"]["Receptor"] = buyer.factura_dict()
            try:
                validate_body(body)
            except DteRefusal as refusal:
                raise ActionRefused(refusal.message) from refusal
            document_transition(
                document,
                to=DocumentState.PENDING,
                request_json=json.dumps(body, ensure_ascii=False),
                receptor=body["dte"]["Encabezado"]["Receptor"],
                error_code="",
                error_message="",
            )
            task, arg = "emission.send_document", document.pk
        transaction.on_commit(lambda: enqueue(task, store_id, arg))
    document.refresh_from_db()
    return document
