"""Reads for the merchant pages, always scoped to one store."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from django.db.models import Count, Q, QuerySet, Sum
from django.utils import timezone

from emission.models import Document, DocumentKind, DocumentState, EmissionAttempt

from .models import AuditEntry

CHILE = ZoneInfo("America/Santiago")


def audit_entries_for(*, store_id: int) -> QuerySet[AuditEntry]:
    return AuditEntry.objects.filter(store_id=store_id)


def documents_filtered(*, store_id: int, filters: dict) -> QuerySet[Document]:
    """The store's documents narrowed by the list's filters (dates are Chile's calendar days)."""
    rows = Document.objects.filter(store_id=store_id).defer("pdf", "request_json", "response")
    if filters.get("kind"):
        rows = rows.filter(kind=filters["kind"])
    if filters.get("state"):
        rows = rows.filter(state=filters["state"])
    if filters.get("date_from"):
        rows = rows.filter(created_at__gte=_day_start(filters["date_from"]))
    if filters.get("date_to"):
        rows = rows.filter(created_at__lt=_day_start(filters["date_to"] + timedelta(days=1)))
    if filters.get("order"):
        order = str(filters["order"]).strip().lstrip("#")
        match = Q(order_number=order)
        if order.isdigit():
            match |= Q(order_id=int(order))
        rows = rows.filter(match)
    if filters.get("folio"):
        rows = rows.filter(folio=filters["folio"])
    if filters.get("env") == "demo":
        rows = rows.filter(demo=True)
    elif filters.get("env") == "prod":
        rows = rows.filter(demo=False)
    return rows.order_by("-created_at", "-pk")


def _day_start(day: date) -> datetime:
    return timezone.make_aware(datetime.combine(day, time.min), CHILE)


def attempts_for(*, store_id: int, document_id: int) -> QuerySet[EmissionAttempt]:
    return EmissionAttempt.objects.filter(store_id=store_id, document_id=document_id).order_by("started_at")


def queue_state(*, store_id: int) -> dict:
    """Counts per state, the last error the store's documents hit, and what waits."""
    counts = dict(
        Document.objects.filter(store_id=store_id)
        .values_list("state")
        .annotate(n=Count("pk"))
        .values_list("state", "n")
    )
    last_error = (
        EmissionAttempt.objects.filter(store_id=store_id)
        .exclude(error_message="")
        .order_by("-started_at")
        .first()
    )
    return {
        "counts": [(value, label, counts.get(value, 0)) for value, label in DocumentState.choices],
        "waiting": counts.get(DocumentState.PENDING, 0) + counts.get(DocumentState.FAILED_RETRYING, 0),
        "review": counts.get(DocumentState.REQUIRES_REVIEW, 0),
        "last_error": last_error,
    }


def summary(*, store_id: int, today: date) -> dict:
    """Emitted documents today and this month by type, with their amounts."""
    emitted = Document.objects.filter(store_id=store_id, state=DocumentState.EMITTED)

    def by_kind(since: date) -> list[dict]:
        rows = list(
            emitted.filter(emitted_at__gte=_day_start(since))
            .values("kind")
            .annotate(n=Count("pk"), total=Sum("mnt_total"))
            .order_by("kind")
        )
        return _labelled(rows)

    return {"today": by_kind(today), "month": by_kind(today.replace(day=1))}


def _labelled(rows: list[dict]) -> list[dict]:
    return [{**row, "label": DocumentKind(row["kind"]).label} for row in rows]
