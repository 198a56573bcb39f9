"""«Emitir documentos de pedidos anteriores» and «Reconciliar un rango de fechas», as background jobs.

A backfill lists the store's paid orders of a date range in Jumpseller and emits each one's document
through the path of a paid order (``emission.services.order_paid_received``), so an order that already has
its document gets no second one: running it twice is safe. Orders paid in an earlier month are listed
apart and emitted only after the merchant confirms (a document dated today lands in this month's F29).
"""

from __future__ import annotations

from datetime import date
from typing import Any

from django import forms
from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods

from core.formatting import format_clp
from emission import services as emission_services
from emission.models import CustomerNotice, Document
from emission.services import reconciliation
from integration.decorators import merchant_required

from . import jobs
from .models import BackgroundJob

KIND = "backfill"
KIND_RECONCILE = "reconcile"

SKIP_DOCUMENTED = reconciliation.SKIPPED_DOCUMENTED
SKIP_NOTICE = reconciliation.SKIPPED_NOTICE
SKIP_CURRENCY = reconciliation.SKIPPED_CURRENCY
SKIP_EARLIER = reconciliation.SKIPPED_EARLIER
SKIP_NOT_PAID = (
    "no se emitió ahora: ya no está pagado en Jumpseller, o Jumpseller pidió esperar y se reintenta solo"
)
SKIP_NOT_FOUND = "Jumpseller no lo encontró"
LINK_SENT = "modo 3 o 4, se envió al cliente el enlace para emitir su documento"


# --- The runner ----------------------------------------------------------------------------------------
# The checks are the reconciliation's (``emission.services.reconciliation``): one path for the backfill,
# «Reconciliar un rango de fechas» and the hourly reconciliation.
_existing = reconciliation.order_existing  # (store_id=, order_id=)
paid_on = reconciliation.paid_on
_earlier_month = reconciliation.earlier_month
_earlier_entry = reconciliation.earlier_entry


def _emit(store_id: int, order_id: int) -> tuple[int, str | None]:
    """Emit one order's document as a paid order's webhook does: (created, skipped reason)."""
    from integration.client import JumpsellerNotFound

    already = _existing(store_id=store_id, order_id=order_id)
    if already:
        return 0, already
    try:
        emission_services.order_paid_received(store_id=store_id, order_id=order_id)
    except JumpsellerNotFound:
        return 0, SKIP_NOT_FOUND
    if Document.objects.filter(store_id=store_id, order_id=order_id).exists():
        return 1, None
    if CustomerNotice.objects.filter(store_id=store_id, order_id=order_id).exists():
        return 0, LINK_SENT
    return 0, SKIP_NOT_PAID


def _check(order: dict[str, Any], store_id: int) -> str | None:
    return reconciliation.order_check(order, store_id=store_id)


def _run_range(job: BackgroundJob, progress: jobs.Progress) -> dict:
    """The paid orders of ``date_from``..``date_to`` through the reconciliation's one path: each checked,
    emitted as a paid order's webhook does, or skipped with its reason; an earlier month's held in
    ``earlier`` for the merchant's confirmation."""
    earlier: list[dict[str, Any]] = []
    found = emission_services.orders_reconcile(
        store_id=job.store_id,
        date_from=date.fromisoformat(job.params["date_from"]),
        date_to=date.fromisoformat(job.params["date_to"]),
        progress=progress,
        emit=_emit,
        held=earlier,
    )
    return {"found": found, "earlier": earlier}


def run_backfill(job: BackgroundJob, progress: jobs.Progress) -> dict:
    """Params: ``date_from``/``date_to`` (ISO), or ``order_ids`` the merchant confirmed (earlier months)."""
    if job.params.get("order_ids"):
        return _run_confirmed(job.store_id, [int(i) for i in job.params["order_ids"]], progress)
    return _run_range(job, progress)


def _run_confirmed(store_id: int, order_ids: list[int], progress: jobs.Progress) -> dict:
    progress.set_total(len(order_ids))
    for order_id in order_ids:
        if progress.cancelled():
            break
        created, skip = _emit(store_id, order_id)
        progress.advance(created=created, skipped={skip: 1} if skip else None)
    return {"listed": len(order_ids), "earlier": [], "confirmed": True}


def run_reconcile(job: BackgroundJob, progress: jobs.Progress) -> dict:
    """«Reconciliar un rango de fechas» of Documentos: the backfill's run of a range (same checks, an
    earlier month's orders held for confirmation on «Emitir documentos de pedidos anteriores»)."""
    return _run_range(job, progress)


def reconcile_status(*, store_id: int) -> dict[str, Any] | None:
    """The store's latest reconciliation as Documentos shows it, with its result in a sentence."""
    job = jobs.job_latest(store_id=store_id, kinds=[KIND_RECONCILE])
    if job is None:
        return None
    status = jobs.job_status(job)
    start, end = (date.fromisoformat(job.params[k]) for k in ("date_from", "date_to"))
    status["title"] = f"Última reconciliación: del {start:%d-%m-%Y} al {end:%d-%m-%Y}"
    if job.state == BackgroundJob.State.DONE:
        result = job.result or {}
        summary = (
            f"Revisamos las órdenes pagadas entre {start:%d-%m-%Y} y {end:%d-%m-%Y}: "
            f"{result.get('found', job.created)} no tenían documento y se emitirán ahora."
        )
        if result.get("earlier"):
            summary += (
                f" {len(result['earlier'])} pagadas en un mes anterior esperan tu confirmación en "
                "«Emitir documentos de pedidos anteriores»."
            )
        status["summary"] = summary
    return status


jobs.register(KIND, run_backfill, label="Emitir documentos de pedidos anteriores")
jobs.register(KIND_RECONCILE, run_reconcile, label="Reconciliar un rango de fechas")


# --- The page --------------------------------------------------------------------------------------------
DATE_FORMATS = ["%d-%m-%Y", "%d/%m/%Y", "%Y-%m-%d"]
DATE_ATTRS = {"placeholder": "dd-mm-aaaa", "inputmode": "numeric", "autocomplete": "off"}


class BackfillForm(forms.Form):
    date_from = forms.DateField(
        label="Desde (dd-mm-aaaa)",
        input_formats=DATE_FORMATS,
        widget=forms.DateInput(format="%d-%m-%Y", attrs=DATE_ATTRS),
        error_messages={"invalid": "Escribe la fecha como dd-mm-aaaa, por ejemplo 01-11-2026."},
    )
    date_to = forms.DateField(
        label="Hasta (dd-mm-aaaa)",
        input_formats=DATE_FORMATS,
        widget=forms.DateInput(format="%d-%m-%Y", attrs=DATE_ATTRS),
        error_messages={"invalid": "Escribe la fecha como dd-mm-aaaa, por ejemplo 30-11-2026."},
    )

    def clean(self):
        data = super().clean()
        start, end = data.get("date_from"), data.get("date_to")
        if start and end and start > end:
            self.add_error("date_to", "La fecha final debe ser igual o posterior a la inicial.")
        if end and end > timezone.localdate():
            self.add_error("date_to", "La fecha final no puede ser posterior a hoy.")
        return data


def _earlier_rows(job: BackgroundJob | None) -> list[dict[str, Any]]:
    """The earlier month's orders a finished backfill left waiting for the merchant's confirmation."""
    if job is None or job.state != BackgroundJob.State.DONE or job.params.get("order_ids"):
        return []
    return [
        {
            **row,
            "paid_on": date.fromisoformat(row["paid_on"]),
            "total": format_clp(row["total"]) if row.get("total") is not None else "—",
        }
        for row in (job.result or {}).get("earlier", [])
    ]


def _job_title(job: BackgroundJob | None) -> str:
    if job is None:
        return ""
    if job.params.get("order_ids"):
        return f"Pedidos de meses anteriores que confirmaste ({len(job.params['order_ids'])})"
    if not (job.params.get("date_from") and job.params.get("date_to")):
        return jobs.label_for(job.kind)
    start, end = (date.fromisoformat(job.params[k]) for k in ("date_from", "date_to"))
    return f"Pedidos pagados del {start:%d-%m-%Y} al {end:%d-%m-%Y}"


def _start(request: HttpRequest, params: dict, what: str) -> None:
    try:
        jobs.job_start(store_id=request.store.pk, kind=KIND, params=params, who=_who(request))
    except jobs.JobRefused as refused:
        messages.error(request, refused.message)
    else:
        messages.success(request, what)


def _who(request: HttpRequest) -> str:
    return f"Administrador de la tienda {request.store.code} (sesión de Jumpseller)"


def _confirm(request: HttpRequest) -> None:
    try:
        previous = BackgroundJob.objects.get(
            pk=int(request.POST.get("job", "")), store_id=request.store.pk, kind__in=[KIND, KIND_RECONCILE]
        )
    except (BackgroundJob.DoesNotExist, ValueError):
        messages.error(request, "No encontramos esa búsqueda: vuelve a buscar los pedidos.")
        return
    ids = [row["id"] for row in _earlier_rows(previous)]
    if not ids:
        messages.info(request, "No hay pedidos de meses anteriores esperando tu confirmación.")
        return
    params = {
        "order_ids": ids,
        "from_job": previous.pk,
        **{k: previous.params.get(k) for k in ("date_from", "date_to")},
    }
    _start(request, params, f"Emitiendo los documentos de {len(ids)} pedidos de meses anteriores.")


@never_cache
@require_http_methods(["GET", "POST"])
@merchant_required
def backfill(request: HttpRequest) -> HttpResponse:
    form = BackfillForm()
    if request.method == "POST":
        if request.POST.get("accion") == "confirmar":
            _confirm(request)
            return redirect("merchant:backfill")
        form = BackfillForm(request.POST)
        if form.is_valid():
            start, end = form.cleaned_data["date_from"], form.cleaned_data["date_to"]
            _start(
                request,
                {"date_from": start.isoformat(), "date_to": end.isoformat()},
                f"Buscando los pedidos pagados entre el {start:%d-%m-%Y} y el {end:%d-%m-%Y}.",
            )
            return redirect("merchant:backfill")
    # The latest search of a range, a backfill or a reconciliation: its earlier months wait here.
    job = jobs.job_latest(store_id=request.store.pk, kinds=[KIND, KIND_RECONCILE])
    if request.method == "GET" and job and job.params.get("date_from"):
        form = BackfillForm(initial={k: date.fromisoformat(job.params[k]) for k in ("date_from", "date_to")})
    today = timezone.localdate()
    return render(
        request,
        "merchant/backfill.html",
        {
            "store": request.store,
            "active": "documents",
            "form": form,
            "job": jobs.job_status(job) if job else None,
            "earlier": _earlier_rows(job),
            "earlier_job": job,
            "job_title": _job_title(job),
            "month_start": today.replace(day=1),
            "today": today,
        },
        status=200 if request.method == "GET" or form.is_valid() else 400,
    )
