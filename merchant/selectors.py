"""Reads for the merchant pages, always scoped to one store."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from django.core.cache import cache
from django.db.models import BigIntegerField, Case, Count, Exists, F, OuterRef, Q, QuerySet, Sum, When
from django.urls import reverse
from django.utils import timezone

from emission.models import Document, DocumentKind, DocumentState, EmissionAttempt, EmissionSettings

from .models import AuditEntry
from .taxcheck import TaxFinding, tax_setup_findings

CHILE = ZoneInfo("America/Santiago")


def audit_entries_for(*, store_id: int) -> QuerySet[AuditEntry]:
    return AuditEntry.objects.filter(store_id=store_id)


def _annulling_notas(store_id: int):
    """Annulling notas (``nc:<id>``) emitted or on their way: a nota stuck in review annuls nothing yet."""
    return Document.objects.filter(store_id=store_id, purpose__startswith="nc:").exclude(
        state=DocumentState.REQUIRES_REVIEW
    )


def _signed(name: str) -> Case:
    """A nota de crédito's amounts count against the sales: shown negative."""
    return Case(
        When(kind=DocumentKind.NOTA_CREDITO, then=-F(name)), default=F(name), output_field=BigIntegerField()
    )


def documents_filtered(*, store_id: int, filters: dict) -> QuerySet[Document]:
    """The store's documents narrowed by the list's filters (dates are Chile's calendar days), each with
    ``annulled`` (its annulling nota is emitted or on its way) and its amounts signed (notas negative)."""
    rows = (
        Document.objects.filter(store_id=store_id)
        .defer("pdf", "request_json", "response")
        .annotate(
            annulled=Exists(_annulling_notas(store_id).filter(annuls_id=OuterRef("pk"))),
            signed_neto=_signed("mnt_neto"),
            signed_exe=_signed("mnt_exe"),
            signed_iva=_signed("iva"),
            signed_total=_signed("mnt_total"),
        )
    )
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


def annulling_nota_for(*, store_id: int, document: Document) -> Document | None:
    """The nota that annuls ``document`` (emitted or on its way), if any."""
    return _annulling_notas(store_id).filter(annuls_id=document.pk).first()


def order_buyer_for(*, store_id: int, order_id: int) -> dict[str, str]:
    """The factura data the customer typed in Jumpseller (to prefill "Corregir datos del receptor"); one
    short try, and nothing when Jumpseller does not answer: the page never hangs on it."""
    from emission.dte import Receptor
    from integration.client import JumpsellerError
    from integration.services import StoreDisconnected, jumpseller_client_for

    try:
        with jumpseller_client_for(store_id, timeout=(3.0, 5.0), max_retries=0, max_wait=0.0) as client:
            order = client.get_order(order_id)
    except (JumpsellerError, StoreDisconnected):
        return {}
    buyer = Receptor.from_order({"order": order})
    return {
        "rut": buyer.rut,
        "razon_social": buyer.razon_social,
        "giro": buyer.giro,
        "direccion": buyer.direccion,
        "comuna": buyer.comuna,
    }


def document_lines(body: dict | None) -> dict:
    """The detail's table from the body sent to OpenFactura: lines with their discounts, the global
    discounts, and the totals they add up to (boletas have gross lines, the factura family net ones)."""
    dte = (body or {}).get("dte") or {}
    encabezado = dte.get("Encabezado") or {}
    lines = [
        {**line, "gross": (line.get("MontoItem") or 0) + (line.get("DescuentoMonto") or 0)}
        for line in dte.get("Detalle") or []
    ]
    discounts = [d for d in dte.get("DscRcgGlobal") or [] if d.get("TpoMov") == "D"]
    id_doc = encabezado.get("IdDoc") or {}
    return {
        "lines": lines,
        "line_discounts": any(line.get("DescuentoMonto") for line in lines),
        "global_discounts": discounts,
        "lines_sum": sum(line.get("MontoItem") or 0 for line in lines),
        "gross_lines": id_doc.get("TipoDTE") in (39, 41) or id_doc.get("MntBruto") == 1,
        "totals": encabezado.get("Totales") or {},
    }


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
    """Emitted documents today and this month by type, with their amounts (notas de crédito negative),
    and each period's total net of notas."""
    emitted = Document.objects.filter(store_id=store_id, state=DocumentState.EMITTED)

    def by_kind(since: date) -> list[dict]:
        rows = list(
            emitted.filter(emitted_at__gte=_day_start(since))
            .values("kind")
            .annotate(n=Count("pk"), total=Sum(_signed("mnt_total")))
            .order_by("kind")
        )
        return _labelled(rows)

    today_rows, month_rows = by_kind(today), by_kind(today.replace(day=1))
    return {
        "today": today_rows,
        "month": month_rows,
        "today_net": sum(row["total"] or 0 for row in today_rows),
        "month_net": sum(row["total"] or 0 for row in month_rows),
    }


def _labelled(rows: list[dict]) -> list[dict]:
    return [{**row, "label": DocumentKind(row["kind"]).label} for row in rows]


# --- Revisión de impuestos and the "go live" checklist ----------------------------------------------------
TAX_CHECK_ORDERS = 30  # recent paid orders read from Jumpseller
TAX_CHECK_REUSE_SECONDS = 300  # the Resumen reuses a check this recent instead of reading Jumpseller again
TAX_CHECK_UNREADABLE = "No pudimos leer tus pedidos en Jumpseller; inténtalo de nuevo en unos minutos."


@dataclass
class TaxCheck:
    findings: list[TaxFinding] = field(default_factory=list)
    checked: int = 0
    error: str = ""

    @property
    def clean(self) -> bool:
        """What /app/impuestos/ warns about is empty (informative notes are not warnings)."""
        return not self.error and not any(f.level == "warn" for f in self.findings)


def tax_check_recent(*, store_id: int, untaxed_items: str, reuse_recent: bool = False) -> TaxCheck:
    """The tax setup check on the store's recent paid orders (one ``GET /orders.json``).

    ``reuse_recent`` (the Resumen): a check of the last few minutes is answered from the cache, and
    otherwise Jumpseller gets one short try (no retries, no waiting for budget) so the page never hangs."""
    from integration.client import JumpsellerError
    from integration.services import StoreDisconnected, jumpseller_client_for

    key = f"merchant:tax-check:{store_id}:{untaxed_items}"
    if reuse_recent and (recent := cache.get(key)) is not None:
        return recent
    quick = {"timeout": (3.0, 5.0), "max_retries": 0, "max_wait": 0.0} if reuse_recent else {}
    try:
        with jumpseller_client_for(store_id, **quick) as client:
            orders = client.list_orders(status="paid", limit=TAX_CHECK_ORDERS)
    except (JumpsellerError, StoreDisconnected):
        check = TaxCheck(error=TAX_CHECK_UNREADABLE)
        cache.set(key, check, TAX_CHECK_REUSE_SECONDS // 5)
        return check
    check = TaxCheck(findings=tax_setup_findings(orders, untaxed_items=untaxed_items), checked=len(orders))
    cache.set(key, check, TAX_CHECK_REUSE_SECONDS)
    return check


@dataclass
class ChecklistItem:
    key: str
    label: str
    done: bool | None  # None: could not be checked now
    detail: str
    url: str  # the page that fixes it
    action: str

    @property
    def state(self) -> str:
        return "unknown" if self.done is None else ("done" if self.done else "pending")


def go_live_checklist(*, cfg: EmissionSettings, auth_error_reason: str) -> list[ChecklistItem]:
    """What is left before real documents: the merchant's own API key accepted by OpenFactura, the issuer
    chosen, a clean tax check and demo mode off. Each item links to the page that fixes it."""
    configuration = reverse("merchant:configuration")
    key_rejected = cfg.queue_paused and cfg.queue_paused_reason == auth_error_reason
    if not cfg.api_key:
        key_detail = "Ingresa la API key de tu empresa en OpenFactura; la verificamos antes de guardarla."
    elif key_rejected:
        key_detail = "OpenFactura rechazó tu API key: ingrésala de nuevo."
    else:
        key_detail = "OpenFactura aceptó tu API key."
    issuer_done = bool(cfg.acteco)
    tax = tax_check_recent(store_id=cfg.store_id, untaxed_items=cfg.untaxed_items, reuse_recent=True)
    if tax.error:
        tax_detail = tax.error
    elif tax.clean:
        tax_detail = (
            f"Sin advertencias en tus últimos {tax.checked} pedidos pagados."
            if tax.checked
            else "Aún no hay pedidos pagados que revisar."
        )
    else:
        tax_detail = "Hay advertencias sobre cómo se documentan tus productos o despachos."
    return [
        ChecklistItem(
            "api_key",
            "API key de tu empresa válida",
            bool(cfg.api_key) and not key_rejected,
            key_detail,
            configuration,
            "Ir a Configuración",
        ),
        ChecklistItem(
            "issuer",
            "Emisor elegido (actividad económica y sucursal)",
            issuer_done,
            (
                f"Actividad {cfg.acteco}, {f'sucursal {cfg.sucursal}' if cfg.sucursal else 'casa matriz'}."
                if issuer_done
                else "Elige la actividad económica y la sucursal que se imprimen en tus documentos."
            ),
            reverse("merchant:issuer"),
            "Ir a Emisor",
        ),
        ChecklistItem(
            "tax_check",
            "Revisión de impuestos sin advertencias",
            None if tax.error else tax.clean,
            tax_detail,
            reverse("merchant:tax_check"),
            "Revisar impuestos",
        ),
        ChecklistItem(
            "demo_off",
            "Modo demo desactivado",
            not cfg.demo_mode,
            "Desmarca la empresa de demostración en Configuración para emitir documentos reales."
            if cfg.demo_mode
            else "Emites documentos reales con tu empresa.",
            configuration,
            "Ir a Configuración",
        ),
    ]
