"""Reconciliation of a month's F29 documents with what OpenFactura lists as issued (a background job).

Reads ``POST /v2/dte/document/issued`` (openfactura-api.md §4.6: 30 a page, filters ``TipoDTE``, ``FchEmis``
with operators, 204 when empty) for every type of the month, all pages, paced by the key's budget
(``core.ratelimit`` through the client's throttle, as every OpenFactura call), and compares it with the
store's emitted real documents of the month by (tipo, folio), both ways, and their amounts. Runs as the job
kind ``f29_reconcile`` of ``merchant.jobs``; the result dict is stored on the job and shown by the F29 page.
"""

from __future__ import annotations

import time
from datetime import date, timedelta
from typing import Any

from django.utils import timezone

from emission.client import (
    IssuedPage,
    OpenFacturaClient,
    OpenFacturaError,
    OpenFacturaRateLimited,
    OpenFacturaUnauthorized,
)
from emission.models import TIPO_NAMES, Document, DocumentState
from merchant.jobs import register

from .f29 import TIPOS, month_bounds, month_documents

KIND = "f29_reconcile"
# The job holds its worker while it reads (it is the work itself); a page waits for the key's budget at
# most this long per try, and a spent budget (our pacing or OpenFactura's 429) is waited out this many times.
BUDGET_WAIT = 10.0
MAX_BUDGET_WAITS = 30
AMOUNT_FIELDS = (("MntNeto", "mnt_neto", "Neto"), ("MntExe", "mnt_exe", "Exento"), ("IVA", "iva", "IVA"),
                 ("MntTotal", "mnt_total", "Total"))  # fmt: skip
TIPO_ORDER = [tipo for tipo, _ in TIPOS]

_sleep = time.sleep  # tests replace it


class ReconciliationRefused(Exception):
    """The reconciliation could not start (one already runs for the store): the Spanish reason."""


def reconciliation_start(*, store_id: int, year: int, month: int, who: str = ""):
    """Start the month's reconciliation as a background job (one at a time per store)."""
    from merchant import jobs

    try:
        return jobs.job_start(store_id=store_id, kind=KIND, params={"year": year, "month": month}, who=who)
    except jobs.JobRefused as refused:
        raise ReconciliationRefused(str(refused)) from refused


def reconciliation_for(*, store_id: int, year: int, month: int):
    """The store's latest reconciliation job of that month (running or finished), or ``None``."""
    from merchant.jobs import jobs_recover_stale
    from merchant.models import BackgroundJob

    jobs_recover_stale(store_id=store_id)
    return (
        BackgroundJob.objects.filter(store_id=store_id, kind=KIND, params__year=year, params__month=month)
        .order_by("-pk")
        .first()
    )


# --- the runner --------------------------------------------------------------------------------------
def run(job, progress) -> dict:
    """``merchant.jobs`` runner: ``job.params`` is ``{"year", "month"}``."""
    year, month = int(job.params["year"]), int(job.params["month"])
    return reconcile_month(store_id=job.store_id, year=year, month=month, progress=progress)


def reconcile_month(
    *, store_id: int, year: int, month: int, progress, client: OpenFacturaClient | None = None
) -> dict:
    """Read every page of the month's issued list (type by type) and compare it with our documents."""
    from emission.services import emission_settings_for, openfactura_client_for
    from emission.services.configuration import ApiKeyMissing

    base = {"year": year, "month": month}
    try:
        client = client or openfactura_client_for(
            emission_settings_for(store_id=store_id), demo=False, budget_wait=BUDGET_WAIT
        )
    except ApiKeyMissing:
        return _failed(
            base,
            "Tu tienda no tiene API key de OpenFactura: la conciliación lee los documentos de tu empresa "
            "real. Ingrésala en Configuración.",
        )
    first, after = month_bounds(year, month)
    try:
        rows = _issued_rows(client, first, after - timedelta(days=1), progress)
    except OpenFacturaUnauthorized:
        return _failed(base, "OpenFactura rechazó tu API key: revísala en Configuración. No se comparó nada.")
    except OpenFacturaError as error:
        return _failed(base, f"OpenFactura no respondió ({error.describe()}). Inténtalo de nuevo más tarde.")
    if rows is None:
        return {**base, "cancelled": True, "error": "", "finished_at": timezone.now().isoformat()}
    return {**base, **compare(store_id=store_id, year=year, month=month, rows=rows)}


def _failed(base: dict, message: str) -> dict:
    return {**base, "cancelled": False, "error": message, "finished_at": timezone.now().isoformat()}


def _issued_rows(client: OpenFacturaClient, first: date, last: date, progress) -> list[dict] | None:
    """Every row OpenFactura lists for the month; ``None`` when the merchant cancelled. The first page of
    each type tells how many there are: the total is known after at most five requests."""
    rows: list[dict] = []
    last_pages: dict[int, int] = {}
    progress.set_total(len(TIPO_ORDER))
    for tipo in TIPO_ORDER:
        if progress.cancelled():
            return None
        page = _page(client, tipo, first, last, 1, progress)
        if page is None:
            return None
        rows += page.rows
        last_pages[tipo] = max(page.last_page, 1)
        progress.advance(created=len(page.rows))
    progress.set_total(len(TIPO_ORDER) + sum(n - 1 for n in last_pages.values()))
    for tipo, last_page in last_pages.items():
        for number in range(2, last_page + 1):
            if progress.cancelled():
                return None
            page = _page(client, tipo, first, last, number, progress)
            if page is None:
                return None
            rows += page.rows
            progress.advance(created=len(page.rows))
    return rows


def _page(
    client: OpenFacturaClient, tipo: int, first: date, last: date, number: int, progress
) -> IssuedPage | None:
    filters = {"TipoDTE": {"eq": tipo}, "FchEmis": {"gte": first.isoformat(), "lte": last.isoformat()}}
    for _ in range(MAX_BUDGET_WAITS):
        try:
            return client.issued(filters, page=number)
        except OpenFacturaRateLimited as limited:  # the key's budget is spent (ours or OpenFactura's 429)
            if progress.cancelled():
                return None
            _sleep(min(max(limited.retry_after, 0.1), BUDGET_WAIT))
    return client.issued(filters, page=number)


# --- the comparison ----------------------------------------------------------------------------------
def _int(value: Any) -> int | None:
    if value is None or value == "" or isinstance(value, bool):
        return None
    try:
        return int(str(value).strip())
    except ValueError:
        return None


def _key(tipo: int, folio: int) -> tuple[int, int]:
    return (TIPO_ORDER.index(tipo) if tipo in TIPO_ORDER else len(TIPO_ORDER), folio)


def _ours_row(document: Document) -> dict:
    return {
        "tipo": document.tipo,
        "documento": TIPO_NAMES.get(document.tipo or 0, ""),
        "folio": document.folio,
        "fecha": document.fecha_emision.isoformat() if document.fecha_emision else "",
        "total": document.mnt_total or 0,
        "document_id": document.pk,
        "order": document.order_number or str(document.order_id),
    }


def _their_row(row: dict, tipo: int, folio: int) -> dict:
    return {
        "tipo": tipo,
        "documento": TIPO_NAMES.get(tipo, str(tipo)),
        "folio": folio,
        "fecha": str(row.get("FchEmis") or ""),
        "total": _int(row.get("MntTotal")) or 0,
        "rut_recep": str(row.get("RUTRecep") or ""),
        "razon_social": str(row.get("RznSocRecep") or ""),
    }


def compare(*, store_id: int, year: int, month: int, rows: list[dict]) -> dict:
    """Differences both ways by (tipo, folio), and amount differences of the documents in both."""
    theirs: dict[tuple[int, int], dict] = {}
    for row in rows:
        tipo, folio = _int(row.get("TipoDTE")), _int(row.get("Folio"))
        if tipo is not None and folio is not None:  # a self-service link without a document has no folio
            theirs[(tipo, folio)] = row
    ours = {(d.tipo, d.folio): d for d in month_documents(store_id=store_id, year=year, month=month)}
    elsewhere = _ours_elsewhere(store_id, [key for key in theirs if key not in ours])
    only_openfactura, resolved, mismatches = [], [], []
    for (tipo, folio), row in theirs.items():
        document = ours.get((tipo, folio))
        if document is not None:
            fields = _amount_differences(row, document)
            if fields:
                mismatches.append({**_ours_row(document), "fields": fields})
            continue
        other = elsewhere.get((tipo, folio))
        if other is None:
            only_openfactura.append(_their_row(row, tipo, folio))
        elif other.state == DocumentState.RESOLVED:
            resolved.append({**_their_row(row, tipo, folio), "document_id": other.pk,
                             "order": other.order_number or str(other.order_id)})  # fmt: skip
        else:  # ours, dated in another month
            fecha = other.fecha_emision.isoformat() if other.fecha_emision else ""
            field = {"name": "Fecha de emisión", "ours": fecha, "openfactura": str(row.get("FchEmis") or "")}
            mismatches.append({**_ours_row(other), "fields": [field]})
    only_ours = [_ours_row(d) for key, d in ours.items() if key not in theirs]

    def order(items: list[dict]) -> list[dict]:
        return sorted(items, key=lambda item: _key(item["tipo"], item["folio"]))

    return {
        "cancelled": False,
        "error": "",
        "finished_at": timezone.now().isoformat(),
        "openfactura_count": len(theirs),
        "ours_count": len(ours),
        "matched": sum(1 for key in theirs if key in ours),
        "only_openfactura": order(only_openfactura),
        "only_ours": order(only_ours),
        "mismatches": order(mismatches),
        "resolved_by_hand": order(resolved),
    }


def _ours_elsewhere(store_id: int, keys: list[tuple[int, int]]) -> dict[tuple[int, int], Document]:
    """Our documents that explain OpenFactura rows not dated in the month: an emitted real document of
    another month, or one the merchant marked "resuelto a mano" with the folio issued elsewhere."""
    if not keys:
        return {}
    folios = {folio for _, folio in keys}
    found: dict[tuple[int, int], Document] = {}
    emitted = Document.objects.filter(
        store_id=store_id, state=DocumentState.EMITTED, demo=False, folio__in=folios
    )
    for document in emitted:
        found[(document.tipo, document.folio)] = document
    resolved = Document.objects.filter(
        store_id=store_id, state=DocumentState.RESOLVED, resolved_folio__in=folios
    )
    for document in resolved:
        found.setdefault((document.tipo, document.resolved_folio), document)
    return {key: found[key] for key in keys if key in found}


def _amount_differences(row: dict, document: Document) -> list[dict]:
    fields = []
    for theirs_name, ours_name, label in AMOUNT_FIELDS:
        theirs = _int(row.get(theirs_name))
        if theirs is None:  # not listed: nothing to compare
            continue
        ours = getattr(document, ours_name) or 0
        if theirs != ours:
            fields.append({"name": label, "ours": ours, "openfactura": theirs})
    return fields


register(KIND, run, label="Conciliar con OpenFactura")
