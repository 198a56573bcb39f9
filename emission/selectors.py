"""Reads of emission state, always scoped to one store."""

from __future__ import annotations

from django.db.models import QuerySet

from emission.models import Document, DocumentState


def emitted_document(*, store_id: int, document_id: int) -> Document | None:
    return Document.objects.filter(pk=document_id, store_id=store_id, state=DocumentState.EMITTED).first()


def documents_for_order(*, store_id: int, order_id: int) -> QuerySet[Document]:
    return Document.objects.filter(store_id=store_id, order_id=order_id).order_by("created_at")
