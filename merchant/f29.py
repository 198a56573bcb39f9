"""Resumen para tu F29: the month's emitted real documents per type, the débito fiscal and the days (selectors
and the page and CSV that show them).

Only documents OpenFactura accepted (``emitted``) of the real company count — demo documents have no tax
value and are only counted apart — and a document belongs to the month of its ``fecha_emision`` (the
``FchEmis`` on the document, Chile's calendar day), which is what the SII reads. Amounts are the documents'
own ``Totales`` (integers, as sent), summed as integers; a nota de crédito (61) counts with its sign: its
amounts are shown negative and its IVA is subtracted from the débito fiscal.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass, field
from datetime import date
from zoneinfo import ZoneInfo

from django.contrib import messages
from django.db.models import Count, Sum
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods

from emission.models import Document, DocumentState
from integration.decorators import merchant_required

from .jobs import job_status

CHILE = ZoneInfo("America/Santiago")

# (tipo, label) in the order the page shows them.
TIPOS: tuple[tuple[int, str], ...] = (
    (39, "Boletas afectas (39)"),
    (41, "Boletas exentas (41)"),
    (33, "Facturas afectas (33)"),
    (34, "Facturas exentas (34)"),
    (61, "Notas de crédito (61)"),
)
NOTA = 61
SALES_WITH_IVA = (33, 39)  # the sales whose IVA is débito fiscal
NOTA_ORIGINS: tuple[tuple[str, str, tuple[int, ...]], ...] = (
    ("boletas", "de boletas (39, 41)", (39, 41)),
    ("facturas", "de facturas (33, 34)", (33, 34)),
)
MONTHS = ("enero febrero marzo abril mayo junio julio agosto septiembre octubre noviembre diciembre").split()
FIRST_YEAR, LAST_YEAR = 2000, 2100


@dataclass(frozen=True)
class Figures:
    """Count and amounts (pesos, integers) of a group of documents; a nota's amounts already negative."""

    count: int = 0
    neto: int = 0
    exento: int = 0
    iva: int = 0
    total: int = 0


@dataclass(frozen=True)
class Row:
    key: str
    label: str
    figures: Figures


@dataclass(frozen=True)
class Day:
    day: date
    counts: dict[int, int]  # tipo → documents
    iva: int  # notas negative
    total: int  # notas negative

    @property
    def count(self) -> int:
        return sum(self.counts.values())

    @property
    def counts_in_order(self) -> list[int]:
        return [self.counts.get(tipo, 0) for tipo, _ in TIPOS]


@dataclass(frozen=True)
class MonthSummary:
    year: int
    month: int
    rows: list[Row]  # one per type, notas negative
    nota_origins: list[Row]  # the notas split by the document they correct, negative
    total: Figures  # every type, net of notas
    iva_sales: int  # IVA of 33 + 39
    iva_notas: int  # IVA of 61, as a positive amount
    demo_excluded: int  # emitted demo documents dated in the month: not counted
    # documents "resuelto a mano" in the month (issued elsewhere, or not owed): not in the figures above,
    # which count what this app emitted; the merchant adds what was issued elsewhere from its own records
    resolved_by_hand: int = 0
    days: list[Day] = field(default_factory=list)

    @property
    def debito_fiscal(self) -> int:
        return self.iva_sales - self.iva_notas

    @property
    def iva_notas_signed(self) -> int:
        return -self.iva_notas

    @property
    def label(self) -> str:
        return f"{MONTHS[self.month - 1]} de {self.year}"

    @property
    def first_day(self) -> date:
        return date(self.year, self.month, 1)


# --- selectors ---------------------------------------------------------------------------------------
def month_bounds(year: int, month: int) -> tuple[date, date]:
    """[first day, first day of the next month)."""
    first = date(year, month, 1)
    return first, date(year + month // 12, month % 12 + 1, 1)


def current_month() -> tuple[int, int]:
    today = timezone.localtime(timezone.now(), CHILE).date()
    return today.year, today.month


def month_documents(*, store_id: int, year: int, month: int, demo: bool = False):
    """The store's emitted documents of one environment dated (``fecha_emision``) in the month."""
    first, after = month_bounds(year, month)
    return Document.objects.filter(
        store_id=store_id,
        state=DocumentState.EMITTED,
        demo=demo,
        fecha_emision__gte=first,
        fecha_emision__lt=after,
    )


def _figures(aggregate: dict, *, sign: int = 1) -> Figures:
    return Figures(
        count=aggregate["n"] or 0,
        neto=sign * (aggregate["neto"] or 0),
        exento=sign * (aggregate["exento"] or 0),
        iva=sign * (aggregate["iva"] or 0),
        total=sign * (aggregate["total"] or 0),
    )


AMOUNTS = {
    "n": Count("pk"),
    "neto": Sum("mnt_neto"),
    "exento": Sum("mnt_exe"),
    "iva": Sum("iva"),
    "total": Sum("mnt_total"),
}


def _sign(tipo: int) -> int:
    return -1 if tipo == NOTA else 1


def month_summary(*, store_id: int, year: int, month: int) -> MonthSummary:
    """The F29 figures of a month: per type, the notas by what they correct, the débito fiscal, the days."""
    documents = month_documents(store_id=store_id, year=year, month=month)
    by_tipo = {row["tipo"]: row for row in documents.values("tipo").annotate(**AMOUNTS).order_by()}
    empty = {name: 0 for name in AMOUNTS}
    rows = [
        Row(str(tipo), label, _figures(by_tipo.get(tipo, empty), sign=_sign(tipo))) for tipo, label in TIPOS
    ]
    notas = documents.filter(tipo=NOTA)
    nota_origins = [
        Row(key, label, _figures(notas.filter(annuls__tipo__in=tipos).aggregate(**AMOUNTS), sign=-1))
        for key, label, tipos in NOTA_ORIGINS
    ]
    total = Figures(
        count=sum(r.figures.count for r in rows),
        neto=sum(r.figures.neto for r in rows),
        exento=sum(r.figures.exento for r in rows),
        iva=sum(r.figures.iva for r in rows),
        total=sum(r.figures.total for r in rows),
    )
    return MonthSummary(
        year=year,
        month=month,
        rows=rows,
        nota_origins=nota_origins,
        total=total,
        iva_sales=sum((by_tipo.get(tipo) or empty)["iva"] or 0 for tipo in SALES_WITH_IVA),
        iva_notas=(by_tipo.get(NOTA) or empty)["iva"] or 0,
        demo_excluded=month_documents(store_id=store_id, year=year, month=month, demo=True).count(),
        resolved_by_hand=_resolved_by_hand(store_id=store_id, year=year, month=month),
        days=_days(documents),
    )


def _resolved_by_hand(*, store_id: int, year: int, month: int) -> int:
    """Documents of the real company the merchant marked "resuelto a mano" during the month (Chile)."""
    first, after = month_bounds(year, month)
    return Document.objects.filter(
        store_id=store_id,
        state=DocumentState.RESOLVED,
        demo=False,
        resolved_at__date__gte=first,
        resolved_at__date__lt=after,
    ).count()


def _days(documents) -> list[Day]:
    per_day: dict[date, dict] = {}
    rows = documents.values("fecha_emision", "tipo").annotate(**AMOUNTS).order_by("fecha_emision", "tipo")
    for row in rows:
        day = per_day.setdefault(row["fecha_emision"], {"counts": {}, "iva": 0, "total": 0})
        sign = _sign(row["tipo"])
        day["counts"][row["tipo"]] = row["n"]
        day["iva"] += sign * (row["iva"] or 0)
        day["total"] += sign * (row["total"] or 0)
    return [Day(day=day, **values) for day, values in per_day.items()]


# --- month picker -----------------------------------------------------------------------------------
def _month_or_404(year: int, month: int) -> tuple[int, int]:
    if not (FIRST_YEAR <= year <= LAST_YEAR and 1 <= month <= 12):
        raise Http404("Mes fuera de rango")
    return year, month


def month_from_query(value: str | None) -> tuple[int, int] | None:
    """``AAAA-MM`` (what ``<input type="month">`` sends) → (year, month); ``None`` when not a month."""
    parts = (value or "").strip().split("-")
    if len(parts) != 2 or not all(part.isdigit() for part in parts):
        return None
    year, month = int(parts[0]), int(parts[1])
    return (year, month) if FIRST_YEAR <= year <= LAST_YEAR and 1 <= month <= 12 else None


def _previous(year: int, month: int) -> str:
    return f"{year - 1}-12" if month == 1 else f"{year}-{month - 1:02d}"


def _next(year: int, month: int) -> str:
    return f"{year + 1}-01" if month == 12 else f"{year}-{month + 1:02d}"


# --- views ------------------------------------------------------------------------------------------
@never_cache
@require_http_methods(["GET", "POST"])
@merchant_required
def f29(request: HttpRequest) -> HttpResponse:
    """The month's summary (``?mes=AAAA-MM``, default this month in Chile); POST starts the reconciliation
    with OpenFactura for that month as a background job."""
    from . import f29_reconcile

    store = request.store
    source = request.POST if request.method == "POST" else request.GET
    chosen = month_from_query(source.get("mes"))
    invalid = bool(source.get("mes")) and chosen is None
    year, month = chosen or current_month()
    if request.method == "POST":
        if invalid:
            messages.error(request, "Elige un mes válido (AAAA-MM). No se inició la conciliación.")
        else:
            _reconcile_start(request, year, month)
        return redirect(f"{reverse('merchant:f29')}?mes={year}-{month:02d}")
    summary = month_summary(store_id=store.pk, year=year, month=month)
    reconciliation = f29_reconcile.reconciliation_for(store_id=store.pk, year=year, month=month)
    return render(
        request,
        "merchant/f29.html",
        {
            "store": store,
            "summary": summary,
            "mes": f"{year}-{month:02d}",
            "previous": _previous(year, month),
            "next": _next(year, month),
            "invalid_month": invalid,
            "tipos": TIPOS,
            "csv_url": reverse("merchant:f29_csv", args=[year, month]),
            "reconciliation": reconciliation,
            "reconciliation_status": job_status(reconciliation) if reconciliation else None,
            "reconciliation_result": _result_dates(reconciliation.result if reconciliation else None),
        },
        status=400 if invalid else 200,
    )


def _result_dates(result: dict | None) -> dict:
    """The stored result with each row's ``fecha`` (ISO text in JSON) as a date, shown the Chilean way."""
    shown = dict(result or {})
    for name in ("only_openfactura", "only_ours", "mismatches", "resolved_by_hand"):
        shown[name] = [{**row, "fecha": _date_or_text(row.get("fecha"))} for row in shown.get(name) or []]
    return shown


def _date_or_text(value):
    try:
        return date.fromisoformat(str(value))
    except ValueError:
        return value


def _reconcile_start(request: HttpRequest, year: int, month: int) -> None:
    from . import f29_reconcile

    try:
        f29_reconcile.reconciliation_start(
            store_id=request.store.pk,
            year=year,
            month=month,
            who=f"Administrador de la tienda {request.store.code} (sesión de Jumpseller)",
        )
    except f29_reconcile.ReconciliationRefused as refused:
        messages.error(request, str(refused))
    else:
        messages.success(
            request,
            f"Conciliación con OpenFactura de {MONTHS[month - 1]} de {year} iniciada: el avance se ve abajo.",
        )


@never_cache
@require_GET
@merchant_required
def f29_csv(request: HttpRequest, year: int, month: int) -> HttpResponse:
    """The same figures as the page, one CSV per month (amounts in pesos, notas negative)."""
    year, month = _month_or_404(year, month)
    summary = month_summary(store_id=request.store.pk, year=year, month=month)
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = (
        f'attachment; filename="f29-{request.store.code}-{year}-{month:02d}.csv"'
    )
    writer = csv.writer(response)
    for row in csv_rows(summary):
        writer.writerow(row)
    return response


def csv_rows(summary: MonthSummary) -> list[list]:
    """The CSV's rows: the types, the notas by origin, the débito fiscal, then one row per day."""
    heading = f"Resumen para tu F29 — {summary.label} (solo documentos reales emitidos, por fecha de emisión)"
    rows: list[list] = [[heading], ["tipo", "documentos", "neto", "exento", "iva", "total"]]
    for row in [*summary.rows, *[_origin_row(r) for r in summary.nota_origins]]:
        f = row.figures
        rows.append([row.label, f.count, f.neto, f.exento, f.iva, f.total])
    t = summary.total
    rows.append(
        ["Total del mes (descontadas las notas de crédito)", t.count, t.neto, t.exento, t.iva, t.total]
    )
    rows += [
        [],
        ["IVA de ventas (33 y 39)", summary.iva_sales],
        ["IVA de notas de crédito (61)", -summary.iva_notas],
        ["Débito fiscal", summary.debito_fiscal],
        ["Documentos de demostración excluidos", summary.demo_excluded],
        [],
        ["fecha", *[label for _, label in TIPOS], "documentos", "iva", "total"],
    ]
    for day in summary.days:
        rows.append([day.day.strftime("%d-%m-%Y"), *day.counts_in_order, day.count, day.iva, day.total])
    return rows


def _origin_row(row: Row) -> Row:
    return Row(row.key, f"Notas de crédito {row.label}", row.figures)
