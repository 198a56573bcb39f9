"""Request budgets shared by every process: a sliding-window log per key.

OpenFactura allows 3 requests/s and 100/min per API key; Jumpseller 20/s and 800/min per store. Both
are enforced by the providers (HTTP 429; OpenFactura's messages are those of a sliding-window gateway
limit), so the product paces itself to never exceed N requests in ANY window of the period and does not
learn of the limit by failing.

With Redis configured (``CACHE_URL`` or a Redis broker) the log lives in Redis sorted sets and one Lua
script checks and records every limit of a key atomically, so all web and worker processes share the
budget. Without Redis (local eager runs: one process) it lives in memory behind a lock.
"""

from __future__ import annotations

import itertools
import os
import threading
import time
from collections import deque
from collections.abc import Callable, Sequence
from functools import lru_cache

from django.conf import settings

Limit = tuple[int, float]  # (requests, per seconds)

# A small margin on the period absorbs network jitter between our clock and the provider's.
OPENFACTURA_LIMITS: Sequence[Limit] = ((3, 1.1), (100, 61.0))
JUMPSELLER_LIMITS: Sequence[Limit] = ((18, 1.0), (780, 60.0))  # a margin below 20/s and 800/min


class BudgetExhausted(Exception):
    """No slot within ``max_wait``: the caller should retry later (after ``retry_after`` seconds)."""

    def __init__(self, retry_after: float) -> None:
        super().__init__(f"request budget exhausted; retry in {retry_after:.2f} s")
        self.retry_after = retry_after


# KEYS: one sorted set per limit; ARGV: (unused), a unique member, then (count, period) per limit.
# Returns '0' when admitted (and records it), else the seconds to wait until a slot frees.
_SLIDING_LOG_LUA = """
local t = redis.call('TIME')  -- the server's clock: every host shares it
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
local member = ARGV[2]
local wait = 0
for i, key in ipairs(KEYS) do
  local count = tonumber(ARGV[1 + 2 * i])
  local period = tonumber(ARGV[2 + 2 * i])
  redis.call('ZREMRANGEBYSCORE', key, '-inf', now - period)
  if redis.call('ZCARD', key) >= count then
    local oldest = tonumber(redis.call('ZRANGE', key, 0, 0, 'WITHSCORES')[2])
    local w = oldest + period - now
    if w > wait then wait = w end
  end
end
if wait > 0 then return tostring(wait) end
for i, key in ipairs(KEYS) do
  local period = tonumber(ARGV[2 + 2 * i])
  redis.call('ZADD', key, now, member)
  redis.call('EXPIRE', key, math.ceil(period) + 1)
end
return '0'
"""

_counter = itertools.count()


class _MemoryLog:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.logs: dict[str, deque[float]] = {}

    def try_acquire(self, keys: list[str], limits: Sequence[Limit], now: float) -> float:
        with self.lock:
            wait = 0.0
            for key, (count, period) in zip(keys, limits, strict=True):
                log = self.logs.setdefault(key, deque())
                while log and log[0] <= now - period:
                    log.popleft()
                if len(log) >= count:
                    wait = max(wait, log[0] + period - now)
            if wait > 0:
                return wait
            for key in keys:
                self.logs[key].append(now)
            return 0.0


_memory = _MemoryLog()


def _redis_url() -> str:
    location = settings.CACHES["default"].get("LOCATION", "")
    backend = settings.CACHES["default"]["BACKEND"]
    return location if "redis" in backend and isinstance(location, str) else ""


@lru_cache(maxsize=4)
def _redis_script(url: str):
    import redis

    return redis.Redis.from_url(url).register_script(_SLIDING_LOG_LUA)


def try_acquire(key: str, limits: Sequence[Limit], *, now: float | None = None) -> float:
    """Take a slot for ``key`` under every limit if all allow it now. Returns 0.0 or seconds to wait."""
    now = time.time() if now is None else now
    keys = [f"of:rl:{key}:{count}/{period:g}" for count, period in limits]
    url = _redis_url()
    if not url:
        return _memory.try_acquire(keys, limits, now)
    args: list[float | str] = [now, f"{os.getpid()}:{threading.get_ident()}:{next(_counter)}"]
    for count, period in limits:
        args += [count, period]
    return float(_redis_script(url)(keys=keys, args=args))


def acquire(
    key: str,
    limits: Sequence[Limit],
    *,
    max_wait: float = 30.0,
    sleep: Callable[[float], None] = time.sleep,
) -> None:
    """Block until ``key`` may make one more request, or raise ``BudgetExhausted`` past ``max_wait``."""
    waited = 0.0
    while True:
        wait = try_acquire(key, limits)
        if wait <= 0:
            return
        if waited + wait > max_wait:
            raise BudgetExhausted(retry_after=wait)
        sleep(wait)
        waited += wait


def throttle_openfactura(api_key: str) -> None:
    """Pace calls with one OpenFactura API key (hashed: keys never appear in Redis in clear)."""
    import hashlib

    acquire("openfactura:" + hashlib.sha256(api_key.encode()).hexdigest()[:24], OPENFACTURA_LIMITS)
