"""Reads of ``integration``. Every query that returns merchant data is scoped to one store."""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.core.exceptions import ObjectDoesNotExist
from django.db.models import Count, QuerySet

from .models import Store, StoreHook, WebhookEvent


def store_by_code(*, code: str) -> Store | None:
    return Store.objects.filter(code=code).first()


@dataclass(frozen=True)
class WebhookSigner:
    """What verifying a delivery needs of its store: its id, whether it is connected and its hooks token."""

    store_id: int
    connected: bool
    hooks_token: str = field(repr=False)


# Per process, code → (expires at, signer): a delivery costs no query and no decryption while it is fresh.
_signers: dict[str, tuple[float, WebhookSigner]] = {}
_SIGNERS_MAX = 10_000


def webhook_signer(*, code: str, fresh: bool = False) -> WebhookSigner | None:
    """The signer of the store a delivery claims to come from, or None for an unknown store.

    Kept ``WEBHOOK_SIGNER_CACHE_SECONDS`` per process (unknown stores are not kept: an install is seen at
    once). A cached token can be stale after the merchant resets it: the receiver asks again with
    ``fresh=True`` before rejecting a signature."""
    now = time.monotonic()
    hit = None if fresh else _signers.get(code)
    if hit is not None and hit[0] > now:
        return hit[1]
    store = Store.objects.filter(code=code).only("pk", "status", "hooks_token").first()
    if store is None:
        _signers.pop(code, None)
        return None
    signer = WebhookSigner(store_id=store.pk, connected=store.is_connected, hooks_token=store.hooks_token)
    if len(_signers) >= _SIGNERS_MAX:
        _signers.clear()
    _signers[code] = (now + settings.WEBHOOK_SIGNER_CACHE_SECONDS, signer)
    return signer


def webhook_signers_forget() -> None:
    _signers.clear()


def store_for_session(*, session: Mapping[str, Any]) -> Store | None:
    """The store of a merchant session (both the id and the code must match), else None."""
    store_id, code = session.get("store_id"), session.get("store_code")
    if not isinstance(store_id, int) or not isinstance(code, str):
        return None
    return Store.objects.filter(pk=store_id, code=code).first()


def store_hooks(*, store_id: int) -> QuerySet[StoreHook]:
    return StoreHook.objects.filter(store_id=store_id).order_by("event")


def connected_store_ids() -> list[int]:
    return list(
        Store.objects.filter(status=Store.Status.CONNECTED).order_by("pk").values_list("pk", flat=True)
    )


def webhook_events_for_store(*, store_id: int) -> QuerySet[WebhookEvent]:
    """The store's received webhooks, newest first, without the raw body (kept out of lists)."""
    return WebhookEvent.objects.filter(store_id=store_id).defer("raw_body").order_by("-received_at", "-id")


def webhook_event_counts(*, store_id: int) -> dict[str, int]:
    rows = WebhookEvent.objects.filter(store_id=store_id).values_list("status").annotate(n=Count("id"))
    return dict(rows.order_by())


def store_demo_mode(*, store: Store) -> bool | None:
    """Whether the store's documents are issued in OpenFactura's demo mode (the ``emission`` app owns it).

    Read through the reverse one-to-one ``emission_settings``, so ``integration`` imports nothing of
    ``emission``. No row yet → the defaults the row is created with (demo mode on). None when no app
    defines the relation.
    """
    try:
        row = store.emission_settings
    except ObjectDoesNotExist:
        return True
    except AttributeError:
        return None
    return bool(getattr(row, "demo_mode", False))
