"""Reads for the self-service page: what the customer sees for one order."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any

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


def page_state(*, store_id: int, order_id: int) -> PageState:
    """The order (re-read from Jumpseller: it must exist in this store) and its documents."""
    from integration.client import JumpsellerPermanentError
    from integration.services import StoreDisconnected

    store = Store.objects.filter(pk=store_id).first()
    if store is None or store.status == Store.Status.UNINSTALLED:
        raise LinkInvalid
    try:
        order = _read_order(store_id, order_id)
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
