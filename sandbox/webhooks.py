"""Webhook deliveries of the fake Jumpseller, made like Jumpseller makes them (jumpseller-api.md §3.2).

* ``POST`` of ``{"order": {...}}`` (UTF-8 JSON) with exactly these headers: ``Content-Type:
  application/json``, ``Jumpseller-Event``, ``Jumpseller-Store-Code``, ``Jumpseller-Hmac-Sha256``
  (standard base64 of HMAC-SHA256 of the raw body, key = the store's ``hooks_token``, computed at send
  time) and ``Jumpseller-Triggered-At`` (``2025-01-01 10:18:51.829 UTC``, kept on retries).
* 15 s timeout (``SANDBOX_WEBHOOK_TIMEOUT``); redirects are not followed; only 2xx is success.
* A failed attempt is retried 4 more times, retry *n* at n⁴ minutes after the previous attempt, with the
  minute compressed to ``SANDBOX_WEBHOOK_RETRY_SCALE`` seconds (setting or environment; default 1, so
  retries come after 1 s, 16 s, 81 s and 256 s; 60 gives Jumpseller's real schedule; 0 disables retries).
  Retries are run by one daemon thread of the web process, started when a retry is scheduled and
  stopped when none is pending; ``manage.py sandbox_deliver_retries`` runs the due ones by hand.

HTTP never runs inside a database transaction: the attempts are made first (concurrently, in a thread
pool that touches no database), then recorded in one short ``bulk_create``.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import logging
import os
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, timedelta

import requests
from django.conf import settings
from django.db import connections
from django.utils import timezone

from .models import Hook, Store, WebhookDelivery

logger = logging.getLogger(__name__)

MAX_ATTEMPTS = 5  # the first attempt and 4 retries
RESPONSE_KEEP = 2000  # characters of the receiver's answer kept per attempt
MAX_CONCURRENCY = 128  # attempts in flight at once (``?deliveries=N`` must really be N at once)


def _number_setting(name: str, default: float) -> float:
    value = getattr(settings, name, None)
    if value is None:
        value = os.environ.get(name, default)
    return float(value)


def delivery_timeout() -> float:
    return _number_setting("SANDBOX_WEBHOOK_TIMEOUT", 15.0)


def retry_scale() -> float:
    """Seconds that stand for one of Jumpseller's retry-schedule minutes (0: no retries)."""
    return _number_setting("SANDBOX_WEBHOOK_RETRY_SCALE", 1.0)


def sign(body: bytes, hooks_token: str) -> str:
    """``Jumpseller-Hmac-Sha256``: standard base64 of HMAC-SHA256(key=hooks_token, msg=raw body)."""
    digest = hmac.new(hooks_token.encode(), body, hashlib.sha256).digest()
    return base64.b64encode(digest).decode()


def triggered_at(moment=None) -> str:
    moment = (moment or timezone.now()).astimezone(UTC)
    return moment.strftime("%Y-%m-%d %H:%M:%S.") + f"{moment.microsecond // 1000:03d} UTC"


def webhook_body(order: dict) -> bytes:
    return json.dumps({"order": order}, ensure_ascii=False).encode("utf-8")


@dataclass
class Job:
    store: Store
    hook: Hook | None
    url: str
    event: str
    order_id: int | None
    body: bytes
    triggered_at: str
    message_id: uuid.UUID
    attempt: int = 1


@dataclass
class Outcome:
    status: int | None
    error: str
    response_body: str
    duration_ms: int


def _post(job: Job, timeout: float) -> Outcome:
    headers = {
        "Content-Type": "application/json",
        "Jumpseller-Event": job.event,
        "Jumpseller-Store-Code": job.store.code,
        "Jumpseller-Hmac-Sha256": sign(job.body, job.store.hooks_token),
        "Jumpseller-Triggered-At": job.triggered_at,
    }
    started = time.monotonic()
    try:
        response = requests.post(
            job.url, data=job.body, headers=headers, timeout=timeout, allow_redirects=False
        )
    except requests.Timeout:
        error, status, text = f"sin respuesta en {timeout:g} s (timeout)", None, ""
    except requests.RequestException as exc:
        error, status, text = f"{type(exc).__name__}: {exc}"[:500], None, ""
    else:
        error, status, text = "", response.status_code, response.text[:RESPONSE_KEEP]
    return Outcome(status, error, text, int((time.monotonic() - started) * 1000))


def _run(jobs: list[Job]) -> list[WebhookDelivery]:
    """Make every attempt concurrently, then record them (and schedule retries of the failed ones)."""
    if not jobs:
        return []
    timeout = delivery_timeout()
    with ThreadPoolExecutor(
        max_workers=min(len(jobs), MAX_CONCURRENCY), thread_name_prefix="sandbox-webhook"
    ) as pool:
        outcomes = list(pool.map(lambda job: _post(job, timeout), jobs))
    now = timezone.now()
    scale = retry_scale()
    rows = []
    for job, outcome in zip(jobs, outcomes, strict=True):
        ok = outcome.status is not None and 200 <= outcome.status < 300
        next_retry_at = None
        if not ok and scale > 0 and job.attempt < MAX_ATTEMPTS:
            next_retry_at = now + timedelta(seconds=(job.attempt**4) * scale)
        rows.append(
            WebhookDelivery(
                store=job.store,
                hook=job.hook,
                message_id=job.message_id,
                event=job.event,
                order_id=job.order_id,
                url=job.url,
                body=job.body.decode("utf-8"),
                triggered_at=job.triggered_at,
                attempt=job.attempt,
                status=outcome.status,
                error=outcome.error,
                response_body=outcome.response_body,
                duration_ms=outcome.duration_ms,
                created_at=now,
                next_retry_at=next_retry_at,
            )
        )
    WebhookDelivery.objects.bulk_create(rows)
    if any(row.next_retry_at for row in rows):
        ensure_retry_worker()
    return rows


def deliver(*, store: Store, order: dict, events: list[tuple[str, int]]) -> list[WebhookDelivery]:
    """Deliver ``order`` for each ``(event, times)`` to every hook of ``store`` on that event.

    ``times`` concurrent deliveries per hook (each its own message with its own retries); all the
    attempts of the call run at once. Returns the recorded first attempts, in hook order.
    """
    body = webhook_body(order)
    stamp = triggered_at()
    hooks_by_event: dict[str, list[Hook]] = {}
    for hook in Hook.objects.filter(store=store, event__in=[event for event, _ in events]):
        hooks_by_event.setdefault(hook.event, []).append(hook)
    jobs = [
        Job(store, hook, hook.url, event, order.get("id"), body, stamp, uuid.uuid4())
        for event, times in events
        for hook in hooks_by_event.get(event, [])
        for _ in range(times)
    ]
    return _run(jobs)


def deliver_in_background(*, store: Store, order: dict, events: list[tuple[str, int]]) -> None:
    """Like :func:`deliver`, without waiting (order updates made through the API)."""
    if not Hook.objects.filter(store=store, event__in=[event for event, _ in events]).exists():
        return

    def work() -> None:
        try:
            deliver(store=store, order=order, events=events)
        except Exception:
            logger.exception("sandbox: background webhook delivery failed")
        finally:
            connections.close_all()

    threading.Thread(target=work, name="sandbox-webhook-bg", daemon=True).start()


# --- Retries ------------------------------------------------------------------------------------


def process_due_retries(*, now=None) -> float | None:
    """Run every retry that is due; return the seconds until the next one, or None if none is pending."""
    now = now or timezone.now()
    jobs = []
    due = WebhookDelivery.objects.filter(next_retry_at__lte=now).select_related("store", "hook")
    for row in due.order_by("next_retry_at")[:100]:
        claimed = WebhookDelivery.objects.filter(pk=row.pk, next_retry_at__isnull=False).update(
            next_retry_at=None
        )
        if not claimed or row.hook is None:  # taken by another runner, or the hook was deleted
            continue
        jobs.append(
            Job(
                store=row.store,
                hook=row.hook,
                url=row.hook.url,
                event=row.event,
                order_id=row.order_id,
                body=row.body.encode("utf-8"),
                triggered_at=row.triggered_at,
                message_id=row.message_id,
                attempt=row.attempt + 1,
            )
        )
    _run(jobs)
    upcoming = (
        WebhookDelivery.objects.filter(next_retry_at__isnull=False)
        .order_by("next_retry_at")
        .values_list("next_retry_at", flat=True)
        .first()
    )
    if upcoming is None:
        return None
    return max(0.0, (upcoming - timezone.now()).total_seconds())


_worker_lock = threading.Lock()
_worker: threading.Thread | None = None


def ensure_retry_worker() -> None:
    """Start the retry thread of this process unless it runs (or retries are disabled)."""
    global _worker
    if retry_scale() <= 0:
        return
    with _worker_lock:
        if _worker is not None:
            return
        _worker = threading.Thread(target=_retry_loop, name="sandbox-webhook-retries", daemon=True)
        _worker.start()


def _retry_loop() -> None:
    global _worker
    try:
        while True:
            try:
                wait = process_due_retries()
            except Exception:
                logger.exception("sandbox: webhook retries failed; the retry thread stops")
                wait = None
            if wait is None:
                with _worker_lock:
                    # Re-check under the lock: a retry scheduled meanwhile finds _worker set and relies
                    # on this thread, so it must not be missed.
                    try:
                        pending = WebhookDelivery.objects.filter(next_retry_at__isnull=False).exists()
                    except Exception:
                        pending = False
                    if not pending:
                        _worker = None
                        return
                wait = 0.05
            connections.close_all()  # hold no connection while idle (tests drop their database)
            time.sleep(min(max(wait, 0.01), 1.0))
    finally:
        with _worker_lock:
            if _worker is threading.current_thread():
                _worker = None
        connections.close_all()
