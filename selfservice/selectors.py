"""Reads for the self-service page: what the customer sees for one order.

The order is read from Jumpseller (the link must name an order of this store) and kept in the cache
for ``SELFSERVICE_ORDER_CACHE_SECONDS`` (default 60; 0 turns it off), trimmed to what the page shows, so
that reloading the page does not spend the store's API budget (780 requests/min per store). Everything
that issues a document reads the order afresh (``services._read_order``); a POST refreshes the copy."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.utils import timezone

from emission.dte import NothingRemains
from emission.models import Document, DocumentKind, DocumentState, EmissionMode, EmissionSettings
from emission.services import document_pdf_url, emission_settings_for
from integration.models import Store
from selfservice.models import Conversion
from selfservice.services import (
    LinkInvalid,
    _read_order,
    boleta_remainder,
    order_date,
    order_mode,
    sale_document,
    window_base,
    window_end,
)


@dataclass
class PageState:
    store: Store
    cfg: EmissionSettings
    order: dict[str, Any]
    sale: Document | None
    conversion: Conversion | None
    deadline: date
    mode: int  # the order's: what its payment chose (a rule's mode, else the store's)
    documents: list[dict[str, Any]] = field(default_factory=list)

    @property
    def refunds(self) -> list[dict[str, Any]]:
        """The earlier notas (partial refunds) of the sale document, listed on the page."""
        return sale_refunds(self.sale)

    @property
    def refunds_remaining(self) -> int | None:
        """What remains of the sale after those notas: its total less theirs."""
        if self.sale is None or self.sale.mnt_total is None:
            return None
        return self.sale.mnt_total - sum(nota["amount"] for nota in self.refunds)

    @property
    def expired(self) -> bool:
        return timezone.localdate() > self.deadline

    @property
    def completed(self) -> bool:
        """Nothing more to ask for: the customer only sees the documents."""
        if self.mode == EmissionMode.BOLETA_CONVERTIBLE:
            return self.conversion is not None or (
                self.sale is not None and self.sale.kind != DocumentKind.BOLETA
            )
        return self.sale is not None

    @property
    def offers_factura(self) -> bool:
        return self.mode in (EmissionMode.BOLETA_CONVERTIBLE, EmissionMode.LINK_BOLETA_O_FACTURA)

    @property
    def boleta_ready(self) -> bool:
        return self.sale is not None and self.sale.state == DocumentState.EMITTED


def _describe(document: Document) -> dict[str, Any]:
    emitted = document.state == DocumentState.EMITTED
    return {
        "name": document.tipo_name,
        "folio": document.folio,
        "kind": document.kind,
        "emitted": emitted,
        "state": document.get_state_display(),
        "review": document.state == DocumentState.REQUIRES_REVIEW,
        "annulled": document.kind != DocumentKind.NOTA_CREDITO
        and document.notas.filter(purpose__startswith="nc:", state=DocumentState.EMITTED).exists(),
        "pdf_url": document_pdf_url(document) if emitted else None,
    }


def _order_cache_seconds() -> int:
    return settings.SELFSERVICE_ORDER_CACHE_SECONDS


def _order_cache_key(store_id: int, order_id: int) -> str:
    return f"selfservice:order:{store_id}:{order_id}"


def _page_order(order: dict[str, Any]) -> dict[str, Any]:
    """What the page uses of an order (no customer data is kept in the cache)."""
    return {
        "id": order.get("id"),
        "status_enum": order.get("status_enum"),
        "created_at": order.get("created_at"),
        "completed_at": order.get("completed_at"),
        "total": order.get("total"),
        "products": [
            {"name": p.get("name"), "qty": p.get("qty"), "price": p.get("price"), **_line_amounts(p)}
            for p in order.get("products") or []
            if isinstance(p, dict)
        ],
        **_order_amounts(order),
    }


def page_order(*, store_id: int, order_id: int, fresh: bool = False) -> dict[str, Any]:
    """The order as the page shows it: from the cache unless ``fresh``; a read from Jumpseller (which
    raises what ``services._read_order`` raises) refreshes the cached copy."""
    seconds = _order_cache_seconds()
    key = _order_cache_key(store_id, order_id)
    if not fresh and seconds > 0:
        cached = cache.get(key)
        if cached is not None:
            return cached
    order = _page_order(_read_order(store_id, order_id))
    if seconds > 0:
        cache.set(key, order, seconds)
    return order


def page_state(*, store_id: int, order_id: int, fresh: bool = False) -> PageState:
    """The order (read from Jumpseller, or its copy of the last ``SELFSERVICE_ORDER_CACHE_SECONDS``
    unless ``fresh``: it must exist in this store) and its documents. A store that is not connected
    (uninstalled, or its access refused) has no page: it is checked before the cache."""
    from integration.client import JumpsellerPermanentError
    from integration.services import StoreDisconnected

    store = Store.objects.filter(pk=store_id).first()
    if store is None or store.status != Store.Status.CONNECTED:
        raise LinkInvalid
    try:
        order = page_order(store_id=store_id, order_id=order_id, fresh=fresh)
    except (JumpsellerPermanentError, StoreDisconnected):
        raise LinkInvalid from None
    if int(order.get("id") or 0) != order_id:
        raise LinkInvalid
    cfg = emission_settings_for(store_id=store_id)
    sale = sale_document(store_id=store_id, order_id=order_id)
    conversion = Conversion.objects.filter(store_id=store_id, order_id=order_id).first()
    documents = [
        _describe(d)
        for d in Document.objects.filter(store_id=store_id, order_id=order_id)
        .exclude(purpose__startswith="ncp:")
        .order_by("created_at", "pk")
    ]
    return PageState(
        store=store,
        cfg=cfg,
        order=order,
        sale=sale,
        conversion=conversion,
        deadline=window_end(window_base(sale=sale, order=order)),
        mode=order_mode(store_id=store_id, order_id=order_id, cfg=cfg, sale=sale),
        documents=documents,
    )


def order_summary(order: dict[str, Any]) -> dict[str, Any]:
    items = [
        {"name": str(p.get("name") or ""), "qty": p.get("qty"), "price": p.get("price")}
        for p in order.get("products") or []
    ]
    return {"id": order.get("id"), "date": order_date(order), "items": items, "total": order.get("total")}


# --- The customer page's amounts and closed states (issue 15, points 3 and 8) ------------------------
# Kept apart from the reads above: the cached order carries the amounts below (``_page_order``), and the
# page adds its lines up to the order's total with them.


def _taxes_added(taxes: Any, key: str) -> bool:
    """Whether a tax is added on top of the price (``tax_on_*_price`` false; missing means included)."""
    from emission.dte.order import to_bool

    return any(isinstance(t, dict) and not to_bool(t.get(key), default=True) for t in taxes or [])


def _line_amounts(product: dict[str, Any]) -> dict[str, Any]:
    return {
        "discount": product.get("discount"),
        "tax_added": _taxes_added(product.get("taxes"), "tax_on_product_price"),
    }


def _order_amounts(order: dict[str, Any]) -> dict[str, Any]:
    return {
        "discount": order.get("discount"),
        "shipping": order.get("shipping"),
        "shipping_discount": order.get("shipping_discount"),
        "shipping_method_name": order.get("shipping_method_name"),
        "shipping_tax_added": _taxes_added(order.get("shipping_taxes"), "tax_on_shipping_price"),
    }


def _number(value: Any, default: Decimal = Decimal(0)) -> Decimal:
    from emission.dte.errors import OrderInvalid
    from emission.dte.order import to_decimal

    try:
        number = to_decimal(value, field="", default=default)
    except OrderInvalid:
        return default
    return default if number is None else number


@dataclass(frozen=True)
class SummaryRow:
    """One line of the page's order summary: what it is, what it adds to the total (pesos, signed)."""

    label: str
    amount: int
    note: str = ""


def order_summary_rows(order: dict[str, Any]) -> list[SummaryRow]:
    """The order as lines that add up to its total (dte-semantics.md §1): each product at its line total
    (``round(qty × price) − round(discount)``), shipping less its discount, the order-level discount
    (``discount − Σ line discounts``) and, when prices exclude IVA, the IVA added on top."""
    from core.formatting import format_clp
    from emission.dte.money import half_up

    rows: list[SummaryRow] = []
    line_discounts = Decimal(0)
    tax_added = bool(order.get("shipping_tax_added"))
    for product in order.get("products") or []:
        qty = _number(product.get("qty"), Decimal(1))
        price = _number(product.get("price"))
        discount = _number(product.get("discount"))
        line_discounts += discount
        tax_added = tax_added or bool(product.get("tax_added"))
        notes = [f"{format_clp(price)} c/u"] if qty != 1 else []
        if discount > 0:
            notes.append(f"descuento {format_clp(discount)}")
        rows.append(
            SummaryRow(
                label=f"{qty.normalize():f} × {product.get('name') or ''}",
                amount=half_up(qty * price) - half_up(discount),
                note=" · ".join(notes),
            )
        )
    shipping = half_up(_number(order.get("shipping")))
    if shipping > 0:
        method = str(order.get("shipping_method_name") or "").strip()
        rows.append(SummaryRow(label=f"Despacho{f' ({method})' if method else ''}", amount=shipping))
    shipping_discount = half_up(_number(order.get("shipping_discount")))
    if shipping_discount > 0:
        rows.append(SummaryRow(label="Descuento en el despacho", amount=-shipping_discount))
    order_discount = half_up(_number(order.get("discount")) - line_discounts)
    if order_discount >= 1:
        rows.append(SummaryRow(label="Descuento", amount=-order_discount))
    total = order.get("total")
    rest = half_up(_number(total)) - sum(row.amount for row in rows) if total is not None else 0
    if tax_added and rest > 0:
        rows.append(SummaryRow(label="IVA", amount=rest))
    return rows


def sale_credited_in_full(sale: Document | None) -> bool:
    """The sale document is annulled: an emitted nota annuls it, or its emitted notas add up to it."""
    if sale is None or sale.state != DocumentState.EMITTED:
        return False
    notas = sale.notas.filter(state=DocumentState.EMITTED)
    if notas.filter(purpose__startswith="nc:").exists():
        return True
    credited = sum(nota.mnt_total or 0 for nota in notas)
    return bool(sale.mnt_total) and credited >= (sale.mnt_total or 0)


@dataclass(frozen=True)
class PageClosure:
    """Why the page offers nothing to issue: a heading and a sentence, in Spanish."""

    title: str
    message: str
    sale_annulled: bool = False  # the sale document is credited in full: the page marks it "Anulado"


def page_closure(state: PageState) -> PageClosure | None:
    """Why the page asks nothing more although the customer got no new document (the order was
    canceled, or its document was annulled by the store); ``None`` when it is open. An annulment that is
    the customer's own conversion (mode 2) does not close it."""
    sale = state.sale
    # The order as cached may be a minute old; a canceled order's documents say so at once.
    if state.order.get("status_enum") == "canceled" or (sale is not None and sale.cancel_requested):
        if sale is not None and sale_credited_in_full(sale):
            return PageClosure(
                "Orden anulada",
                f"Esta orden fue anulada: la tienda emitió una nota de crédito que anula tu "
                f"{sale.tipo_name.lower()}. No hay un documento que emitir ni cambiar.",
                sale_annulled=True,
            )
        return PageClosure(
            "Orden anulada", "Esta orden fue anulada en la tienda: no hay un documento que emitir ni cambiar."
        )
    if state.conversion is None and sale is not None and sale_credited_in_full(sale):
        return PageClosure(
            "Documento anulado",
            f"Tu {sale.tipo_name.lower()} fue anulada por completo con notas de crédito de la tienda: "
            "no hay un documento que emitir ni cambiar.",
            sale_annulled=True,
        )
    return None


def factura_total(state: PageState) -> int | None:
    """The total of the factura the page would issue: in mode 2 what remains of the boleta after its
    notas (``PageState.refunds_remaining``; dte-semantics.md "Boleta → factura after earlier notas"),
    otherwise the order's total."""
    if state.mode == EmissionMode.BOLETA_CONVERTIBLE and state.refunds_remaining is not None:
        try:  # the remainder's own Totales: a peso below in the one gross amount in six no net reaches
            remainder = boleta_remainder(state.sale)
        except NothingRemains:
            return 0
        return remainder.totals.total if remainder is not None else state.refunds_remaining
    total = state.order.get("total")
    return None if total is None else int(_number(total))


def sale_refunds(sale: Document | None) -> list[dict[str, Any]]:
    """The partial notas de crédito of the sale document that count against it (emitted or on their way,
    not in review), oldest first: ``folio`` (``None`` until emitted), ``date``, ``amount`` (pesos). What
    the factura of a conversion then documents is the sale less these (dte-semantics.md §4)."""
    if sale is None:
        return []
    notas = (
        sale.notas.filter(purpose__startswith="ncp:")
        .exclude(state=DocumentState.REQUIRES_REVIEW)
        .exclude(mnt_total__isnull=True)
        .order_by("created_at", "pk")
    )
    return [
        {
            "folio": nota.folio,
            "date": nota.fecha_emision or timezone.localdate(nota.created_at),
            "amount": nota.mnt_total,
            "emitted": nota.state == DocumentState.EMITTED,
        }
        for nota in notas
    ]
