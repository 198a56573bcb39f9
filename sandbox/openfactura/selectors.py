"""Reads of the fake OpenFactura, for its API, its control API and the sandbox's pages for people.

Python API for the pages (another engineer's ``sandbox`` pages):

* ``documents_for_rut(rut, role="any"|"emisor"|"receptor")`` → accepted documents, oldest first;
* ``document_by_token(token)`` → ``Document`` or ``None``;
* ``document_pdf(document)`` → the PDF bytes (the same the API returns);
* ``document_xml(document)`` → the XML bytes (ISO-8859-1);
* the URL name ``sandbox_openfactura_document_pdf`` (kwarg ``token``):
  ``/sandbox/openfactura/documents/<token>.pdf`` serves the PDF inline.
"""

from __future__ import annotations

import math
from datetime import date
from typing import Any

from django.db.models import Q, QuerySet

from . import dte_xml, pdf
from .models import Document
from .validation import parse_rut

ISSUED_PAGE_SIZE = 30


def documents_for_rut(rut: str, *, role: str = "any") -> QuerySet[Document]:
    """Documents issued by (``emisor``), addressed to (``receptor``) or involving (``any``) ``rut``."""
    canonical = parse_rut(rut) or rut
    if role == "emisor":
        condition = Q(rut_emisor=canonical)
    elif role == "receptor":
        condition = Q(rut_recep=canonical)
    else:
        condition = Q(rut_emisor=canonical) | Q(rut_recep=canonical)
    return Document.objects.filter(condition).order_by("received_at", "id")


def document_by_token(token: str) -> Document | None:
    return Document.objects.filter(token=token).first()


def document_pdf(document: Document, *, cedible: bool = False) -> bytes:
    request = document.request if isinstance(document.request, dict) else {}
    return pdf.render(
        document.dte,
        tipo=document.tipo,
        folio=document.folio,
        received_at=document.received_at,
        seed=document.token,
        narrow=document.narrow_pdf,
        custom=request.get("custom") if isinstance(request.get("custom"), dict) else None,
        cedible=cedible,
    )


def document_xml(document: Document) -> bytes:
    root = dte_xml.build(
        document.dte, tipo=document.tipo, folio=document.folio or 0, stamped_at=document.received_at
    )
    return dte_xml.to_bytes(root)


def control_json(document: Document) -> dict[str, Any]:
    """The pinned row of ``GET /sandbox/openfactura/documents``."""
    return {
        "token": document.token,
        "folio": document.folio,
        "tipo": document.tipo,
        "rut_emisor": document.rut_emisor,
        "idempotency_key": document.idempotency_key or None,
        "received_at": document.received_at.isoformat(),
        "request": document.request,
    }


# --- POST /v2/dte/document/issued ----------------------------------------------------------------
class FilterInvalid(ValueError):
    """Answered in the flat form ``{"message", "code": "OF-10", "details": {"Error": ...}}`` (§2.5)."""


OPERATORS = {"eq": "", "lt": "__lt", "gt": "__gt", "lte": "__lte", "gte": "__gte", "ne": None}
FILTER_FIELDS = {"FchEmis": "fch_emis", "TipoDTE": "tipo", "RUTRecep": "rut_recep_digits", "Folio": "folio"}


def _filter_value(name: str, value: Any) -> Any:
    if name == "FchEmis":
        try:
            return date.fromisoformat(str(value))
        except ValueError:
            raise FilterInvalid("Fecha Incorrecta") from None
    if name == "RUTRecep" and isinstance(value, str) and "-" in value:
        value = value.split("-", 1)[0].replace(".", "")
    if isinstance(value, bool) or not isinstance(value, int | str) or not str(value).strip().isdigit():
        raise FilterInvalid(f"{name} Incorrecto")
    return int(value)


def documents_issued(*, api_key_hash: str, filters: dict[str, Any]) -> tuple[QuerySet[Document], int]:
    """(documents of this API key matching ``filters``, newest first; page number)."""
    page = filters.get("Page", 1)
    if isinstance(page, bool) or not str(page).isdigit() or int(page) < 1:
        raise FilterInvalid("Page Incorrecto")
    documents = Document.objects.filter(api_key_hash=api_key_hash)
    for name, column in FILTER_FIELDS.items():
        if name not in filters:
            continue
        condition = filters[name]
        if not isinstance(condition, dict):
            if isinstance(condition, list):
                raise FilterInvalid("Operador no encontrado")
            condition = {"eq": condition}
        for operator, value in condition.items():
            if operator not in OPERATORS:
                raise FilterInvalid("Operador no encontrado")
            parsed = _filter_value(name, value)
            if OPERATORS[operator] is None:
                documents = documents.exclude(**{column: parsed})
            else:
                documents = documents.filter(**{f"{column}{OPERATORS[operator]}": parsed})
    return documents.order_by("-received_at", "-id"), int(page)


def issued_page(documents: QuerySet[Document], page: int) -> dict[str, Any] | None:
    """The §4.6 page body, or ``None`` when there is nothing to show (the API answers 204)."""
    total = documents.count()
    last_page = max(1, math.ceil(total / ISSUED_PAGE_SIZE))
    rows = list(documents[(page - 1) * ISSUED_PAGE_SIZE : page * ISSUED_PAGE_SIZE])
    if not rows:
        return None
    return {
        "current_page": page,
        "last_page": last_page,
        "data": [issued_row(document) for document in rows],
        "total": total,
    }


def issued_row(document: Document) -> dict[str, Any]:
    """A row of the issued list. Choice (§9 / §4.6 ``Token`` vs ``token``): ``token``, as in the docs."""
    return {
        "token": document.token,
        "TipoDTE": document.tipo,
        "Folio": document.folio,
        "FchEmis": document.fch_emis.isoformat(),
        "RUTEmisor": document.rut_emisor,
        "RUTRecep": document.rut_recep,
        "RznSocRecep": document.rzn_soc_recep,
        "MntNeto": document.mnt_neto,
        "MntExe": document.mnt_exe,
        "IVA": document.iva,
        "MntTotal": document.mnt_total,
        "estado": document.estado,
        "FchRecepOF": document.received_at.isoformat(),
    }
