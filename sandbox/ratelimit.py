"""Jumpseller's API rate limits per store: 20 requests/s and 800/min, 429 beyond, plus a temporary ban.

jumpseller-api.md §2.1: headers ``Jumpseller-PerMinuteRateLimit-Limit/Remaining`` and
``Jumpseller-PerSecondRateLimit-Limit/Remaining`` on API answers; 429 when exceeded; after 2000
rate-limit hits a temporary ban announced by ``Jumpseller-BannedByRateLimit-Reset``.

Counters are fixed windows (one per second, one per minute) in the Django cache, incremented atomically
(``add`` then ``incr``; atomic in Redis and behind a lock in LocMemCache). Only admitted requests count.

Configuration (README, "Sandbox"):

* ``SANDBOX_JUMPSELLER_RATE_LIMIT`` setting or environment variable: ``"20/800"`` (per second / per
  minute, the default), or ``"off"``/``0`` to disable. As a setting it may also be a dict
  ``{"per_second": 20, "per_minute": 800, "ban_after": 2000, "ban_seconds": 600}``.
* Per store (control API ``PATCH /sandbox/jumpseller/stores/{code}``): ``rate_limit_per_second`` and
  ``rate_limit_per_minute``; ``null`` follows the setting, ``0`` means unlimited.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime

from django.conf import settings
from django.core.cache import cache

DEFAULTS = {"per_second": 20, "per_minute": 800, "ban_after": 2000, "ban_seconds": 600}
_now = time.time  # tests replace it to stay inside one window


def configured_limits() -> dict[str, int]:
    raw = getattr(settings, "SANDBOX_JUMPSELLER_RATE_LIMIT", None)
    if raw is None:
        raw = os.environ.get("SANDBOX_JUMPSELLER_RATE_LIMIT", "")
    if isinstance(raw, dict):
        return {**DEFAULTS, **raw}
    if raw in (False, 0) or str(raw).strip().lower() in {"0", "off", "false", "no"}:
        return {**DEFAULTS, "per_second": 0, "per_minute": 0}
    if isinstance(raw, str) and "/" in raw:
        per_second, per_minute = raw.split("/", 1)
        return {**DEFAULTS, "per_second": int(per_second), "per_minute": int(per_minute)}
    return dict(DEFAULTS)


@dataclass
class Verdict:
    allowed: bool
    headers: dict[str, str] = field(default_factory=dict)
    banned_until: str | None = None


def _count(key: str, ttl: int) -> int:
    cache.add(key, 0, ttl)
    try:
        return cache.incr(key)
    except ValueError:  # expired between add and incr
        cache.add(key, 1, ttl)
        return 1


def hit(store) -> Verdict:
    """Count one API request of ``store`` and say whether it is admitted, with the headers to send."""
    limits = configured_limits()
    per_second = limits["per_second"] if store.rate_limit_per_second is None else store.rate_limit_per_second
    per_minute = limits["per_minute"] if store.rate_limit_per_minute is None else store.rate_limit_per_minute
    if not per_second and not per_minute:
        return Verdict(allowed=True)
    prefix = f"sandbox:jumpseller:rl:{store.uid}"
    banned_until = cache.get(f"{prefix}:ban")
    now = _now()
    if banned_until and banned_until > now:
        reset = datetime.fromtimestamp(banned_until, tz=UTC).isoformat(timespec="seconds")
        headers = _headers(per_second, per_minute, 0, 0)
        headers["Jumpseller-BannedByRateLimit-Reset"] = reset
        return Verdict(allowed=False, headers=headers, banned_until=reset)

    second_key = f"{prefix}:s:{int(now)}"
    minute_key = f"{prefix}:m:{int(now // 60)}"
    second_used = _count(second_key, 2) if per_second else 0
    if per_second and second_used > per_second:
        minute_used = cache.get(minute_key, 0)
        return _rejected(prefix, limits, per_second, per_minute, second_used, minute_used, now)
    minute_used = _count(minute_key, 61) if per_minute else 0
    if per_minute and minute_used > per_minute:
        return _rejected(prefix, limits, per_second, per_minute, second_used, minute_used, now)
    return Verdict(allowed=True, headers=_headers(per_second, per_minute, second_used, minute_used))


def _rejected(prefix, limits, per_second, per_minute, second_used, minute_used, now) -> Verdict:
    hits = _count(f"{prefix}:hits", 3600)
    headers = _headers(per_second, per_minute, second_used, minute_used)
    if limits["ban_after"] and hits >= limits["ban_after"]:
        until = now + limits["ban_seconds"]
        cache.set(f"{prefix}:ban", until, limits["ban_seconds"])
        cache.delete(f"{prefix}:hits")
        reset = datetime.fromtimestamp(until, tz=UTC).isoformat(timespec="seconds")
        headers["Jumpseller-BannedByRateLimit-Reset"] = reset
        return Verdict(allowed=False, headers=headers, banned_until=reset)
    return Verdict(allowed=False, headers=headers)


def _headers(per_second: int, per_minute: int, second_used: int, minute_used: int) -> dict[str, str]:
    headers = {}
    if per_minute:
        headers["Jumpseller-PerMinuteRateLimit-Limit"] = str(per_minute)
        headers["Jumpseller-PerMinuteRateLimit-Remaining"] = str(max(0, per_minute - minute_used))
    if per_second:
        headers["Jumpseller-PerSecondRateLimit-Limit"] = str(per_second)
        headers["Jumpseller-PerSecondRateLimit-Remaining"] = str(max(0, per_second - second_used))
    return headers
