"""Request budgets shared by every process: a sliding-window log per key.

OpenFactura allows 3 requests/s and 100/min per API key; Jumpseller 20/s and 800/min per store. Both
are enforced by the providers (HTTP 429; OpenFactura's messages are those of a sliding-window gateway
limit), so the product paces itself to never exceed N requests in ANY window of the period and does not
learn of the limit by failing.

With Redis configured (``CACHE_URL`` or a Redis broker) the log lives in Redis sorted sets and one Lua
script checks and records every limit of a key atomically, so all web and worker processes share the
budget. Without Redis (local eager runs: one process) it lives in memory behind a lock.

Workers never sleep for a budget. ``reserve`` books the earliest moment the key may send (now, or a
future time computed from the window) and returns the wait; the caller defers its work to that moment
(a Celery countdown) and frees its slot at once. Reservations of one key are booked in increasing time,
each at least one window after the request ``count`` places before it, so every window holds at most
``count`` of them and deferred tasks wake one by one, never as a herd.
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

# The documented limits (openfactura-api.md, jumpseller-api.md §2.1) with a margin for the jitter between
# the booked moment and the request reaching the provider (a deferred send waits for a free worker slot):
# 50 ms on OpenFactura's second (≤ 5 % of 3/s) and 1 s on its minute (1.6 % of 100/min). A 429 in the
# minute window would cost a whole minute at the end of a store's backlog (issue 16: 300 orders fill exactly
# three windows), so that margin is wide; the occasional per-second 429 left is a deferral like any other
# (same key, no failure counted). The refused request keeps its booking in both windows: the references do
# not say whether OpenFactura's gateway counts refused requests, so the product assumes it does.
OPENFACTURA_LIMITS: Sequence[Limit] = ((3, 1.05), (100, 61.0))
JUMPSELLER_LIMITS: Sequence[Limit] = ((20, 1.0), (800, 60.0))
# The furthest a reservation is booked ahead. Beyond it the work is deferred without one and books again
# when it wakes; it stays well below the broker's visibility timeout (900 s), past which Redis would
# deliver a waiting message twice. (A 30 s horizon was measured too, issue 16: the work beyond it woke as
# a herd every 30 s and cost 20 % more worker CPU per document, for no gain in drain rate.)
RESERVE_HORIZON = 300.0
# The longest a web request (a merchant's page, a customer's self-service form: a person waiting, no worker
# slot held) waits for a budget, as it always did; workers never wait.
WEB_MAX_WAIT = 10.0


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

# KEYS: one sorted set per limit; ARGV: a unique member, the horizon, then (count, period) per limit.
# Books the earliest moment >= now and >= the key's last booking at which every limit allows one more
# request and returns {seconds from now, 1}; past the horizon books nothing and returns {seconds, 0}.
_RESERVE_LUA = """
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
local member = ARGV[1]
local horizon = tonumber(ARGV[2])
local at = now
for i, key in ipairs(KEYS) do
  local count = tonumber(ARGV[1 + 2 * i])
  local period = tonumber(ARGV[2 + 2 * i])
  redis.call('ZREMRANGEBYSCORE', key, '-inf', now - period)
  local n = redis.call('ZCARD', key)
  if n > 0 then
    local last = tonumber(redis.call('ZRANGE', key, -1, -1, 'WITHSCORES')[2])
    if last > at then at = last end
  end
  if n >= count then
    local kth = tonumber(redis.call('ZRANGE', key, n - count, n - count, 'WITHSCORES')[2])
    if kth + period > at then at = kth + period end
  end
end
if at - now > horizon then return {tostring(at - now), 0} end
for i, key in ipairs(KEYS) do
  local period = tonumber(ARGV[2 + 2 * i])
  redis.call('ZADD', key, at, member)
  redis.call('EXPIRE', key, math.ceil(at - now + period) + 1)
end
return {tostring(at - now), 1}
"""

_counter = itertools.count()


class _MemoryLog:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.logs: dict[str, deque[float]] = {}
        self.members: dict[str, dict[str, float]] = {}

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

    def reserve(self, keys: list[str], limits: Sequence[Limit], now: float, horizon: float, member: str):
        with self.lock:
            at = now
            for key, (count, period) in zip(keys, limits, strict=True):
                log = self.logs.setdefault(key, deque())
                while log and log[0] <= now - period:
                    log.popleft()
                if log:
                    at = max(at, log[-1])
                if len(log) >= count:
                    at = max(at, log[-count] + period)
            if at - now > horizon:
                return at - now, False
            for key in keys:
                self.logs[key].append(at)
                self.members.setdefault(key, {})[member] = at
            return at - now, True

    def release(self, keys: list[str], member: str) -> None:
        with self.lock:
            for key in keys:
                at = self.members.get(key, {}).pop(member, None)
                if at is not None and at in self.logs.get(key, ()):
                    self.logs[key].remove(at)


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


@lru_cache(maxsize=4)
def _redis_reserve_script(url: str):
    import redis

    return redis.Redis.from_url(url).register_script(_RESERVE_LUA)


@lru_cache(maxsize=4)
def _redis_client(url: str):
    import redis

    return redis.Redis.from_url(url)


def redis_client():
    """The shared Redis client of the budgets (None without Redis: local eager runs)."""
    url = _redis_url()
    return _redis_client(url) if url else None


class Reservation:
    """A booked request slot: ``wait`` seconds from now (0 → send now). ``booked`` is False when the slot
    lies past the horizon: nothing was booked and the caller must reserve again after ``wait``."""

    __slots__ = ("booked", "key", "limits", "member", "wait")

    def __init__(self, key: str, limits: Sequence[Limit], member: str, wait: float, booked: bool) -> None:
        self.key, self.limits, self.member, self.wait, self.booked = key, limits, member, wait, booked

    def release(self) -> None:
        """Give the slot back (the work it was booked for turned out to need no request)."""
        if self.booked:
            release(self.key, self.limits, self.member)
            self.booked = False


def _keys(key: str, limits: Sequence[Limit]) -> list[str]:
    return [f"of:rl:{key}:{count}/{period:g}" for count, period in limits]


def reserve(
    key: str, limits: Sequence[Limit], *, horizon: float = RESERVE_HORIZON, now: float | None = None
) -> Reservation:
    """Book the earliest request slot of ``key`` under every limit; never waits (see the module docstring)."""
    member = f"{os.getpid()}:{threading.get_ident()}:{next(_counter)}:{time.time():.6f}"
    keys = _keys(key, limits)
    url = _redis_url()
    if not url:
        wait, booked = _memory.reserve(keys, limits, time.time() if now is None else now, horizon, member)
        return Reservation(key, limits, member, max(0.0, wait), booked)
    args: list[float | str] = [member, horizon]
    for count, period in limits:
        args += [count, period]
    wait_text, booked = _redis_reserve_script(url)(keys=keys, args=args)
    return Reservation(key, limits, member, max(0.0, float(wait_text)), bool(int(booked)))


def release(key: str, limits: Sequence[Limit], member: str) -> None:
    """Remove a booking ``reserve`` made (a deferred task that found nothing left to send)."""
    keys = _keys(key, limits)
    url = _redis_url()
    if not url:
        _memory.release(keys, member)
        return
    client = _redis_client(url)
    pipe = client.pipeline()
    for k in keys:
        pipe.zrem(k, member)
    pipe.execute()


def take(key: str, limits: Sequence[Limit]) -> None:
    """Take a slot now or raise ``BudgetExhausted`` at once (with the wait): for calls whose caller
    defers on its own (a task retried with a countdown); no booking is left behind."""
    reservation = reserve(key, limits)
    if reservation.wait > 0:
        reservation.release()
        raise BudgetExhausted(retry_after=reservation.wait)


def openfactura_budget_key(api_key: str) -> str:
    """The budget of one OpenFactura API key (hashed: keys never appear in Redis in clear)."""
    import hashlib

    return "openfactura:" + hashlib.sha256(api_key.encode()).hexdigest()[:24]


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


def throttle_openfactura(api_key: str, *, max_wait: float = 0.0) -> None:
    """Pace calls with one OpenFactura API key: a slot now, or ``BudgetExhausted`` at once (workers never
    sleep). A web request (a person waiting for the page, no worker slot held) may wait ``max_wait``."""
    if max_wait > 0:
        acquire(openfactura_budget_key(api_key), OPENFACTURA_LIMITS, max_wait=max_wait)
    else:
        take(openfactura_budget_key(api_key), OPENFACTURA_LIMITS)
