"""Reads for the self-service page: what the customer sees for one order.

The order is read from Jumpseller (the link must name an order of this store) and kept in the cache
for ``SELFSERVICE_ORDER_CACHE_SECONDS`` (default 60; 0 turns it off), trimmed to what the page shows, so
that reloading the page does not spend the store's API budget (780 requests/min per store). Everything
that issues a document reads the order afresh (``services._read_order``); a POST refreshes the copy."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.utils import timezone

from emission.models import Document, DocumentKind, DocumentState, EmissionMode, EmissionSettings
from emission.services import document_pdf_url, emission_settings_for
from integration.models import Store
from selfservice.models import Conversion
from selfservice.services import LinkInvalid, _read_order, order_date, sale_document, window_base, window_end


@dataclass
class PageState:
    store: Store
    cfg: EmissionSettings
    order: dict[str, Any]
    sale: Document | None
    conversion: Conversion | None
    deadline: date
    documents: list[dict[str, Any]] = field(default_factory=list)

    @property
    def mode(self) -> int:
        return self.cfg.mode

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
            {"name": p.get("name"), "qty": p.get("qty"), "price": p.get("price")}
            for p in order.get("products") or []
            if isinstance(p, dict)
        ],
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
        documents=documents,
    )


def order_summary(order: dict[str, Any]) -> dict[str, Any]:
    items = [
        {"name": str(p.get("name") or ""), "qty": p.get("qty"), "price": p.get("price")}
        for p in order.get("products") or []
    ]
    return {"id": order.get("id"), "date": order_date(order), "items": items, "total": order.get("total")}
