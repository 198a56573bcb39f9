"""State changes of ``integration``: install, tokens, hooks, disconnect, webhook events.

* Install (jumpseller-api.md §1.2, §7): exchange the code, read ``/store/info.json``, create or update the
  store by ``code`` with its tokens and ``hooks_token`` encrypted, register the hooks idempotently.
* Tokens: access tokens last 3600 s; :func:`store_access_token` refreshes them ahead of expiry under a row
  lock on the store (``select_for_update``; a process lock on SQLite) and persists the refresh token
  returned each time (rotation is a [GAP]). ``invalid_grant`` or a persisting 401 marks the store
  disconnected and raises :class:`StoreDisconnected`: callers leave their work waiting until the merchant
  reconnects.
* Webhook events: every verified delivery is a row; only one row per (store, event, order) is work. It is
  queued on commit; when the broker is down the row stays ``received`` and the sweeper queues it later.
"""

from __future__ import annotations

import hashlib
import logging
import secrets
import threading
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import partial

from django.conf import settings
from django.core.cache import cache
from django.db import IntegrityError, connection, transaction
from django.db.models import F, Q
from django.utils import timezone
from django.utils.module_loading import import_string

from core import queue as task_queue
from core import ratelimit
from core.logging import log_context

from . import oauth, selectors
from .client import (
    MAX_WAIT,
    JumpsellerClient,
    JumpsellerError,
    JumpsellerInvalidGrant,
    JumpsellerNotFound,
    JumpsellerTransientError,
    JumpsellerUnauthorized,
    StoreInfo,
)
from .models import OAuthState, Store, StoreHook, WebhookEvent
from .oauth import JumpsellerOAuth, TokenSet

logger = logging.getLogger(__name__)

OAUTH_STATE_TTL = timedelta(minutes=15)
HOOKS_LOCK_SECONDS = 120
# Re-reads of the hooks token after a bad signature: a few per store and minute, so that a reset by the
# merchant is still picked up right after a bad delivery, while a flood of forged ones cannot eat
# the store's API budget (780/min).
HOOKS_TOKEN_REFETCH_LIMITS = ((10, 60.0),)

REASON_INVALID_GRANT = (
    "Jumpseller rechazó la renovación del acceso: la aplicación fue revocada o desinstalada."
)
REASON_UNAUTHORIZED = "Jumpseller rechazó el acceso a la tienda (401)."
REASON_MERCHANT = "Desconectada desde la aplicación."


class StoreDisconnected(Exception):
    """The store has no usable Jumpseller access: work for it waits until the merchant reconnects."""

    def __init__(self, store_id: int, reason: str = "") -> None:
        super().__init__(f"store {store_id} is disconnected: {reason}")
        self.store_id = store_id
        self.reason = reason


class OAuthStateInvalid(Exception):
    """The ``state`` of a callback is unknown, expired or already used."""


# --- OAuth state ---------------------------------------------------------------------------------
def _state_hash(state: str) -> str:
    return hashlib.sha256(state.encode()).hexdigest()


def oauth_state_create() -> str:
    """A new random ``state`` (kept server-side as a hash; single use; valid ``OAUTH_STATE_TTL``)."""
    now = timezone.now()
    oauth_states_prune(now=now)
    state = secrets.token_urlsafe(32)
    OAuthState.objects.create(state_hash=_state_hash(state), created_at=now)
    return state


def oauth_state_consume(*, state: str) -> None:
    """Mark ``state`` used; raises :class:`OAuthStateInvalid` unless it was issued, unused and fresh.

    The lookup is by SHA-256 of the state, so its timing says nothing about the state itself; the
    conditional update makes it single-use even under concurrent callbacks.
    """
    now = timezone.now()
    used = OAuthState.objects.filter(
        state_hash=_state_hash(state), used_at__isnull=True, created_at__gte=now - OAUTH_STATE_TTL
    ).update(used_at=now)
    if not used:
        raise OAuthStateInvalid


def oauth_states_prune(*, now: datetime | None = None) -> int:
    """Delete the states older than ``OAUTH_STATE_TTL``, used or not; returns how many.

    None of them can be consumed any more, so keeping them would only keep hashes of dead secrets.
    """
    now = now or timezone.now()
    deleted, _ = OAuthState.objects.filter(created_at__lt=now - OAUTH_STATE_TTL).delete()
    return deleted


# --- Install and tokens --------------------------------------------------------------------------
@dataclass(frozen=True)
class InstallResult:
    store: Store
    hooks_ok: bool


def store_install(*, tokens: TokenSet, info: StoreInfo) -> Store:
    """Create or update the store ``info.code`` as connected, with its tokens (encrypted)."""
    defaults = {
        "name": info.name[:200],
        "url": info.url[:500],
        "currency": info.currency[:3],
        "country": info.country[:2],
        "timezone": info.timezone[:64],
        "email": info.email[:254],
        "access_token": tokens.access_token,
        "refresh_token": tokens.refresh_token,
        "token_expires_at": tokens.expires_at,
        "scopes": tokens.scope or oauth.scopes(),
        "status": Store.Status.CONNECTED,
        "disconnected_reason": "",
    }
    if info.hooks_token:
        defaults["hooks_token"] = info.hooks_token
    previous = Store.objects.filter(code=info.code).values_list("status", flat=True).first()
    if previous != Store.Status.CONNECTED:
        defaults["installed_at"] = timezone.now()
    store, created = Store.objects.update_or_create(code=info.code, defaults=defaults)
    with log_context(store_code=store.code):
        logger.info("store %s (%s)", "installed" if created else "reconnected", store.pk)
    return store


def store_install_from_code(*, code: str) -> InstallResult:
    """The OAuth callback's work: exchange ``code``, read the store, save it, register the hooks."""
    with JumpsellerOAuth.from_settings() as accounts:
        tokens = accounts.exchange_code(code=code, redirect_uri=oauth.callback_url())
    with JumpsellerClient(base_url=settings.JUMPSELLER_API_URL, access_token=tokens.access_token) as client:
        info = client.store_info()
    store = store_install(tokens=tokens, info=info)
    hooks_ok = True
    try:
        store_hooks_ensure(store_id=store.pk)
    except (JumpsellerError, StoreDisconnected) as exc:
        hooks_ok = False
        with log_context(store_code=store.code):
            logger.warning(
                "install: hooks not registered (%s); the periodic check will retry", type(exc).__name__
            )
    return InstallResult(store=store, hooks_ok=hooks_ok)


def store_mark_disconnected(*, store_id: int, reason: str) -> bool:
    """Jumpseller refuses our tokens: forget them and show "Reconectar". Webhooks still verify."""
    changed = Store.objects.filter(pk=store_id, status=Store.Status.CONNECTED).update(
        status=Store.Status.DISCONNECTED,
        disconnected_reason=reason[:500],
        access_token="",
        refresh_token="",
        token_expires_at=None,
        updated_at=timezone.now(),
    )
    if changed:
        logger.warning("store %s disconnected: %s", store_id, reason)
    return bool(changed)


def _token_fresh(store: Store, *, stale: str | None) -> bool:
    margin = timedelta(seconds=settings.JUMPSELLER_TOKEN_REFRESH_MARGIN)
    return bool(
        store.access_token
        and store.access_token != stale
        and store.token_expires_at
        and store.token_expires_at - margin > timezone.now()
    )


def _require_connected(store: Store) -> None:
    if store.status != Store.Status.CONNECTED or not store.refresh_token:
        raise StoreDisconnected(store.pk, store.disconnected_reason)


_local_refresh_locks: dict[int, threading.Lock] = {}
_local_refresh_locks_guard = threading.Lock()


@contextmanager
def _store_refresh_lock(store_id: int) -> Iterator[None]:
    """Serialise the token refresh of one store.

    PostgreSQL: a row lock (``select_for_update``) held in a transaction around the refresh, shared by
    every process. SQLite (local single-process runs) has no row locks, and a write transaction would
    lock the whole database while the token endpoint answers — the built-in sandbox answering it lives
    in that same database — so a lock of this process is used and the row is written in one statement.
    """
    if connection.features.has_select_for_update:
        with transaction.atomic():
            Store.objects.select_for_update().filter(pk=store_id).values_list("pk").first()
            yield
        return
    with _local_refresh_locks_guard:
        lock = _local_refresh_locks.setdefault(store_id, threading.Lock())
    with lock:
        yield


def store_access_token(*, store_id: int, stale: str | None = None) -> str:
    """A usable access token of the store, refreshed when it expires within the margin.

    ``stale``: a token Jumpseller just answered 401 to; it is refreshed even if it looks fresh. The
    refresh runs under a per-store lock (:func:`_store_refresh_lock`), so concurrent workers refresh
    once and the others read the new token; the refresh token returned each time is persisted. A
    transient failure of the refresh falls back to the current token while it has not expired.
    """
    store = Store.objects.get(pk=store_id)
    _require_connected(store)
    if _token_fresh(store, stale=stale):
        return store.access_token
    with _store_refresh_lock(store_id):
        store = Store.objects.get(pk=store_id)
        _require_connected(store)
        if _token_fresh(store, stale=stale):
            return store.access_token
        try:
            with JumpsellerOAuth.from_settings() as accounts:
                tokens = accounts.refresh(refresh_token=store.refresh_token)
        except JumpsellerInvalidGrant:
            pass  # handled below, once the lock is released
        except JumpsellerTransientError:
            still_valid = store.token_expires_at and store.token_expires_at > timezone.now()
            if still_valid and store.access_token != stale:
                logger.warning("store %s: token refresh failed for now; using the current token", store_id)
                return store.access_token
            raise
        else:
            store.access_token = tokens.access_token
            store.refresh_token = tokens.refresh_token
            store.token_expires_at = tokens.expires_at
            if tokens.scope:
                store.scopes = tokens.scope
            store.save(
                update_fields=["access_token", "refresh_token", "token_expires_at", "scopes", "updated_at"]
            )
            return store.access_token
    store_mark_disconnected(store_id=store_id, reason=REASON_INVALID_GRANT)
    raise StoreDisconnected(store_id, REASON_INVALID_GRANT)


class StoreJumpsellerClient(JumpsellerClient):
    """A ``JumpsellerClient`` bound to one store: fresh tokens, shared budget, disconnect on 401."""

    def __init__(
        self,
        *,
        store_id: int,
        store_code: str,
        max_wait: float = MAX_WAIT,
        budget_wait: float = 0.0,
        **kwargs,
    ) -> None:
        self.store_id = store_id
        self.store_code = store_code
        self._last_token: str | None = None
        super().__init__(
            base_url=settings.JUMPSELLER_API_URL,
            access_token=self._current_token,
            # A slot now or ``JumpsellerRateLimited(retry_after)`` at once: the caller defers its task.
            throttle=partial(ratelimit.take, f"jumpseller:{store_code}", ratelimit.JUMPSELLER_LIMITS),
            max_wait=max_wait,
            budget_wait=budget_wait,
            **kwargs,
        )

    def _current_token(self) -> str:
        self._last_token = store_access_token(store_id=self.store_id)
        return self._last_token

    def _renew_token(self) -> bool:
        store_access_token(store_id=self.store_id, stale=self._last_token)
        return True

    def _unauthorized(self, exc: JumpsellerUnauthorized) -> None:
        store_mark_disconnected(store_id=self.store_id, reason=REASON_UNAUTHORIZED)
        raise StoreDisconnected(self.store_id, REASON_UNAUTHORIZED) from exc


def jumpseller_client_for(store_id: int, **kwargs) -> StoreJumpsellerClient:
    """The Jumpseller client of a connected store. Raises :class:`StoreDisconnected` otherwise."""
    store = Store.objects.only("pk", "code", "status", "refresh_token", "disconnected_reason").get(
        pk=store_id
    )
    _require_connected(store)
    return StoreJumpsellerClient(store_id=store.pk, store_code=store.code, **kwargs)


# --- Hooks ---------------------------------------------------------------------------------------
def store_hooks_ensure(*, store_id: int) -> list[StoreHook]:
    """Make sure the store has exactly our hooks (list, then create what is missing; keep their ids).

    Hooks of ours that point elsewhere (an old ``PUBLIC_BASE_URL``) and repeated ones are deleted, so
    that each event is delivered once. A cache lock keeps two runs for a store from racing.
    """
    lock = f"integration:hooks-ensure:{store_id}"
    if not cache.add(lock, 1, HOOKS_LOCK_SECONDS):
        return list(StoreHook.objects.filter(store_id=store_id))
    try:
        with jumpseller_client_for(store_id) as client:
            return _store_hooks_sync(client, store_id=store_id)
    finally:
        cache.delete(lock)


def _store_hooks_sync(client: JumpsellerClient, *, store_id: int) -> list[StoreHook]:
    """One pass of :func:`store_hooks_ensure` with the store's client."""
    url = oauth.webhook_url()
    remote = client.list_hooks()
    ours = {hook.event: hook for hook in StoreHook.objects.filter(store_id=store_id)}
    rows = []
    for event in settings.JUMPSELLER_HOOK_EVENTS:
        matches = [hook for hook in remote if hook.event == event and hook.url == url]
        if matches:
            keep = matches[0]
        else:
            keep = client.create_hook(event, url)
            logger.info("store %s: hook %s created (#%s)", store_id, event, keep.id)
        stale = [hook.id for hook in matches[1:]]
        previous = ours.get(event)
        if previous and previous.hook_id != keep.id and any(h.id == previous.hook_id for h in remote):
            stale.append(previous.hook_id)
        for hook_id in stale:
            try:
                client.delete_hook(hook_id)
            except JumpsellerNotFound:
                pass
        row, _ = StoreHook.objects.update_or_create(
            store_id=store_id, event=event, defaults={"url": url, "hook_id": keep.id}
        )
        rows.append(row)
    StoreHook.objects.filter(store_id=store_id).exclude(event__in=settings.JUMPSELLER_HOOK_EVENTS).delete()
    return rows


def stores_hooks_ensure() -> dict[str, int]:
    """:func:`store_hooks_ensure` for every connected store; one store's failure does not stop the rest."""
    outcome = {"ok": 0, "failed": 0}
    for store_id in selectors.connected_store_ids():
        try:
            store_hooks_ensure(store_id=store_id)
            outcome["ok"] += 1
        except (JumpsellerError, StoreDisconnected) as exc:
            outcome["failed"] += 1
            logger.warning("store %s: hooks check failed (%s: %s)", store_id, type(exc).__name__, exc)
    return outcome


def store_hooks_token_refetch(*, store_id: int) -> str | None:
    """Re-read the hooks token from ``/store/info.json`` (the merchant can reset it in the admin).

    Within ``HOOKS_TOKEN_REFETCH_LIMITS`` per store (shared by every process), so bad signatures cannot
    make us hammer the API; one earlier bad delivery does not hide a later reset. Returns the token when
    it changed, else None.
    """
    if ratelimit.try_acquire(f"jumpseller-hooks-token:{store_id}", HOOKS_TOKEN_REFETCH_LIMITS) > 0:
        return None
    try:
        # Inside a webhook request: one quick attempt, no waiting for budget or retries.
        with jumpseller_client_for(store_id, max_retries=0, max_wait=2.0) as client:
            info = client.store_info()
    except (JumpsellerError, StoreDisconnected) as exc:
        logger.warning("store %s: hooks token could not be re-read (%s)", store_id, type(exc).__name__)
        return None
    store = Store.objects.only("pk", "hooks_token").get(pk=store_id)
    if not info.hooks_token or info.hooks_token == store.hooks_token:
        return None
    Store.objects.filter(pk=store_id).update(hooks_token=info.hooks_token, updated_at=timezone.now())
    logger.info("store %s: hooks token changed in Jumpseller; updated", store_id)
    return info.hooks_token


# --- Disconnect ----------------------------------------------------------------------------------
def store_disconnect(*, store_id: int) -> None:
    """The merchant disconnects the app: delete our hooks in Jumpseller (a 404 is fine), forget the
    tokens and the hooks token and the store's OpenFactura API key, mark the store uninstalled (its
    customers' links then answer 404). Documents and events are kept."""
    hooks = list(StoreHook.objects.filter(store_id=store_id))
    if hooks:
        try:
            with jumpseller_client_for(store_id) as client:
                for hook in hooks:
                    try:
                        client.delete_hook(hook.hook_id)
                    except JumpsellerNotFound:
                        pass
        except StoreDisconnected:
            pass  # no access left: Jumpseller pauses the hooks once they fail (our answer will be 401)
        except JumpsellerError as exc:
            logger.warning("store %s: hooks not deleted on disconnect (%s)", store_id, type(exc).__name__)
    with transaction.atomic():
        StoreHook.objects.filter(store_id=store_id).delete()
        Store.objects.filter(pk=store_id).update(
            status=Store.Status.UNINSTALLED,
            disconnected_reason=REASON_MERCHANT,
            access_token="",
            refresh_token="",
            hooks_token="",
            token_expires_at=None,
            updated_at=timezone.now(),
        )
        # emission owns the key; integration imports emission only inside functions (STYLE.md).
        from emission.services import emission_settings_forget_api_key

        emission_settings_forget_api_key(store_id=store_id)
    logger.info("store %s disconnected by the merchant", store_id)


# --- Webhook events ------------------------------------------------------------------------------
def handled_events() -> set[str]:
    return set(settings.JUMPSELLER_HOOK_EVENTS) | set(settings.JUMPSELLER_EVENT_HANDLERS)


def webhook_event_receive(
    *,
    store_id: int,
    event: str,
    order_id: int | None,
    raw_body: bytes,
    headers: dict[str, str],
    invalid_reason: str = "",
) -> WebhookEvent:
    """Record one verified delivery and, when it is new work, queue it once the row is committed.

    ``invalid_reason`` (malformed body) records it as ``invalid``; an event the app does not handle is
    ``ignored``; the same event for the same order while a work row exists is ``duplicate``.
    """
    fields = {
        "store_id": store_id,
        "event": event,
        "order_id": order_id,
        "raw_body": raw_body,
        "headers": headers,
        "dedupe_key": f"{event}:{order_id}" if order_id is not None else "",
    }
    if invalid_reason:
        return WebhookEvent.objects.create(**fields, status=WebhookEvent.Status.INVALID, error=invalid_reason)
    if event not in handled_events():
        return WebhookEvent.objects.create(
            **fields, status=WebhookEvent.Status.IGNORED, error="Evento no usado por la aplicación."
        )
    # Stored as already dispatched and published once committed: one statement on the hot path. A failed
    # publish puts it back to ``received``; a publish lost with the process or the broker is found by the
    # sweeper (dispatched, never started, older than WEBHOOK_REDISPATCH_AFTER_SECONDS).
    try:
        with _atomic_if_nested():
            row = WebhookEvent.objects.create(
                **fields, status=WebhookEvent.Status.DISPATCHED, dispatched_at=timezone.now()
            )
    except IntegrityError:
        return WebhookEvent.objects.create(**fields, status=WebhookEvent.Status.DUPLICATE)
    transaction.on_commit(partial(webhook_event_publish, event_id=row.pk, store_id=row.store_id))
    return row


def _atomic_if_nested():
    """A savepoint inside a transaction (a failed insert must not break it); in autocommit the single
    INSERT is its own transaction and needs no BEGIN/COMMIT round trips."""
    return transaction.atomic() if connection.in_atomic_block else nullcontext()


def enqueue_event_processing(event_id: int, priority: int | None = None) -> None:
    """Publish ``integration.process_webhook_event`` for the event (raises when the broker is down)."""
    task_queue.publish("integration.process_webhook_event", event_id, priority=priority)


def webhook_event_publish(*, event_id: int, store_id: int | None = None) -> bool:
    """Publish the processing of an event already marked ``dispatched``. A broker failure is logged and
    puts it back to ``received`` (unless a worker already started on it), for the sweeper. A store's burst
    goes behind the other stores' events (``core.queue.fair_priority``)."""
    priority = task_queue.fair_priority(f"webhooks:{store_id}") if store_id is not None else None
    try:
        if priority is None:
            enqueue_event_processing(event_id)
        else:
            enqueue_event_processing(event_id, priority)
    except Exception:  # noqa: BLE001 - broker down (or an eager run failed): the sweeper retries
        logger.exception("webhook event %s not queued; the sweeper will dispatch it", event_id)
        WebhookEvent.objects.filter(pk=event_id, status=WebhookEvent.Status.DISPATCHED, attempts=0).update(
            status=WebhookEvent.Status.RECEIVED, dispatched_at=None
        )
        return False
    return True


def webhook_events_dispatch_pending(
    *, older_than: float | None = None, lost_after: float | None = None, limit: int = 200
) -> int:
    """The sweeper: queue events of connected stores still ``received`` after ``older_than`` seconds, and
    again those ``dispatched`` that no worker started within ``lost_after`` seconds (their message went
    with a web process or with Redis, which keeps nothing on disk; processing twice is harmless).

    Rows are claimed with ``select_for_update(skip_locked=True)`` and marked ``dispatched`` (now) in the
    same transaction, so concurrent sweepers never queue one event twice; publishing happens on commit.
    """
    seconds = settings.WEBHOOK_DISPATCH_AFTER_SECONDS if older_than is None else older_than
    lost = settings.WEBHOOK_REDISPATCH_AFTER_SECONDS if lost_after is None else lost_after
    now = timezone.now()
    with transaction.atomic():
        claimed = list(
            WebhookEvent.objects.select_for_update(skip_locked=True, of=("self",))
            .filter(
                Q(status=WebhookEvent.Status.RECEIVED, received_at__lte=now - timedelta(seconds=seconds))
                | Q(
                    status=WebhookEvent.Status.DISPATCHED,
                    attempts=0,
                    dispatched_at__lte=now - timedelta(seconds=lost),
                ),
                store__status=Store.Status.CONNECTED,
            )
            .order_by("received_at", "pk")
            .values_list("pk", flat=True)[:limit]
        )
        WebhookEvent.objects.filter(pk__in=claimed).update(
            status=WebhookEvent.Status.DISPATCHED, dispatched_at=now
        )
        for event_id in claimed:
            transaction.on_commit(partial(webhook_event_publish, event_id=event_id))
    if claimed:
        logger.info("sweeper: %d webhook events dispatched", len(claimed))
    return len(claimed)


_OPEN = (WebhookEvent.Status.RECEIVED, WebhookEvent.Status.DISPATCHED)


def webhook_event_process(*, event_id: int) -> str | None:
    """Run the handler configured for the event (``settings.JUMPSELLER_EVENT_HANDLERS``).

    Returns the new status, or None when the event is gone or no longer open. Exceptions of the handler
    propagate (the task retries); :class:`StoreDisconnected` puts the event back to ``received`` without
    an error count, and the sweeper dispatches it again once the store is reconnected.
    """
    started = WebhookEvent.objects.filter(pk=event_id, status__in=_OPEN).update(attempts=F("attempts") + 1)
    if not started:
        return None
    event = WebhookEvent.objects.select_related("store").defer("raw_body").get(pk=event_id)
    open_rows = WebhookEvent.objects.filter(pk=event.pk, store_id=event.store_id, status__in=_OPEN)
    path = settings.JUMPSELLER_EVENT_HANDLERS.get(event.event)
    with log_context(store_code=event.store.code, order_id=event.order_id):
        if not path:
            open_rows.update(status=WebhookEvent.Status.IGNORED, processed_at=timezone.now(), error="")
            logger.info("webhook %s #%s: no handler configured; ignored", event.event, event.pk)
            return WebhookEvent.Status.IGNORED
        handler = import_string(path)
        try:
            handler(store_id=event.store_id, order_id=event.order_id, event_id=event.pk)
        except StoreDisconnected as exc:
            open_rows.update(status=WebhookEvent.Status.RECEIVED, dispatched_at=None, error=exc.reason[:500])
            logger.warning("webhook %s #%s: store disconnected; waiting", event.event, event.pk)
            return WebhookEvent.Status.RECEIVED
        open_rows.update(status=WebhookEvent.Status.PROCESSED, processed_at=timezone.now(), error="")
    return WebhookEvent.Status.PROCESSED


def webhook_event_record_error(*, event_id: int, error: str, final: bool) -> None:
    """Keep the last error of an event; after the last retry the event is ``failed``."""
    rows = WebhookEvent.objects.filter(pk=event_id, status__in=_OPEN)
    if final:
        rows.update(status=WebhookEvent.Status.FAILED, error=error[:2000], processed_at=timezone.now())
    else:
        rows.update(error=error[:2000])


def webhook_events_prune(*, days: int | None = None) -> int:
    """Clear raw bodies and headers (personal data) of closed events older than ``days``."""
    days = settings.WEBHOOK_RAW_RETENTION_DAYS if days is None else days
    cutoff = timezone.now() - timedelta(days=days)
    return (
        WebhookEvent.objects.filter(received_at__lt=cutoff)
        .exclude(status__in=_OPEN)
        .exclude(raw_body=b"")
        .update(raw_body=b"", headers={})
    )
