"""What stands in front of the fake OpenFactura's API: key check, rate limit and fault injection.

Haulmer's API sits behind a gateway whose answers have their own shapes (openfactura-api.md §2.5,
§6): ``{"statusCode": 401, "message": ...}``, ``{"statusCode": 429, ...}``, ``{"statusCode": 404,
"message": "Resource not found"}``. The decorator :func:`api_view` applies, in this order:

1. faults ``latency_ms`` (sleep) and ``down_seconds`` (503 until then);
2. the ``apikey`` header. Choice (§9 #7): a missing header → 401 "missing subscription key", a
   well-formed but unknown key (32 hex) → 401 "invalid subscription key" (what dev answers today), a
   syntactically malformed key → 403 ``{"message": "Invalid authentication credentials"}`` (the
   docs' emission example), so both documented shapes exist;
3. the per-key limits, 3 requests/s and 100/min (fixed windows in the Django cache, atomic ``incr``;
   only admitted requests count) → 429 ``{"statusCode": 429, "message": "Rate limit is exceeded.
   Try again in N seconds."}`` plus ``Retry-After`` (§9 #8: the form with seconds);
4. faults ``error_rate``/``status`` and ``timeout`` (nothing is stored by a failed request, except that
   with ``reject_consumes_key`` an injected data error — ``OF-02``, ``OF-08``, ``OF-10`` — on the emission
   keeps its Idempotency-Key, as a rejected body does in the view).

Rate-limit switch: the setting ``SANDBOX_OPENFACTURA_RATE_LIMIT`` (environment variable of the same
name) — ``"3/100"`` per second/per minute by default, ``"off"``/``False``/``0`` to disable — and,
above it, the ``rate_limit`` field of the faults control (``false``, ``true``, ``"N/M"`` or
``{"per_second": N, "per_minute": M}``).

Faults never apply to the control API (``/sandbox/openfactura/documents``, ``/faults``).
"""

from __future__ import annotations

import contextlib
import math
import os
import random
import threading
import time
from collections.abc import Callable, Iterator
from functools import wraps

from django.conf import settings
from django.core.cache import cache
from django.db import DatabaseError, connection, models
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt

from . import services
from .companies import Account, account_for, well_formed
from .models import Faults
from .validation import OF_MESSAGES

DEFAULT_LIMITS = (3, 100)
DEFAULT_TIMEOUT_SECONDS = 60.0  # longer than the product's 45 s read timeout and Haulmer's plugins' 30 s
GATEWAY_MESSAGES = {
    500: "Internal server error",
    502: "Bad Gateway",
    503: "Service Unavailable",
    504: "Gateway Timeout",
}
MISSING_KEY = (
    "Access denied due to missing subscription key. Make sure to include subscription key when making "
    "requests to an API."
)
INVALID_KEY = (
    "Access denied due to invalid subscription key. Make sure to provide a valid key for an active "
    "subscription."
)
_now = time.time  # tests replace it to stay inside one window
_sleep = time.sleep
_shared_connection_lock = threading.RLock()


@contextlib.contextmanager
def serialized() -> Iterator[None]:
    """One request at a time on a shared in-memory SQLite connection (Django's live test server).

    The live server hands the test's single in-memory SQLite connection to every request thread;
    concurrent transactions on one connection corrupt each other. Real databases (PostgreSQL, a SQLite
    file: one connection per thread, IMMEDIATE transactions) need no lock. Never held while sleeping.
    """
    if connection.vendor == "sqlite" and connection.is_in_memory_db():
        with _shared_connection_lock:
            yield
    else:
        yield


def json_response(data, status: int = 200, **headers: str) -> JsonResponse:
    response = JsonResponse(data, status=status, safe=False, json_dumps_params={"ensure_ascii": False})
    for name, value in headers.items():
        response[name.replace("_", "-")] = value
    return response


def gateway_error(status: int, message: str | None = None, **headers: str) -> JsonResponse:
    return json_response(
        {"statusCode": status, "message": message or GATEWAY_MESSAGES.get(status, "Error")}, status, **headers
    )


def not_found() -> JsonResponse:
    return gateway_error(404, "Resource not found")


def of_error(code: str, details: list | None = None, *, message: str | None = None, status: int = 400):
    error: dict = {"message": message or OF_MESSAGES.get(code, "Error"), "code": code}
    if details:
        error["details"] = details
    return json_response({"error": error}, status)


# --- authentication ----------------------------------------------------------------------------
def authenticate(request: HttpRequest) -> tuple[Account | None, JsonResponse | None]:
    api_key = request.headers.get("apikey")
    if api_key is None or api_key == "":
        return None, gateway_error(401, MISSING_KEY)
    api_key = api_key.strip()
    if not well_formed(api_key):
        return None, json_response({"message": "Invalid authentication credentials"}, 403)
    account = account_for(api_key)
    if account is None:
        return None, gateway_error(401, INVALID_KEY)
    return account, None


# --- rate limit --------------------------------------------------------------------------------
def _parse_limits(raw) -> tuple[int, int] | None:
    """``(per_second, per_minute)``; ``None`` when limits are off. ``True``/``None`` → defaults."""
    if raw is None or raw is True:
        return DEFAULT_LIMITS
    if raw is False or raw == 0:
        return None
    if isinstance(raw, dict):
        per_second = int(raw.get("per_second", DEFAULT_LIMITS[0]) or 0)
        per_minute = int(raw.get("per_minute", DEFAULT_LIMITS[1]) or 0)
        return (per_second, per_minute) if per_second or per_minute else None
    text = str(raw).strip().lower()
    if text in {"", "on", "true", "yes", "1"}:
        return DEFAULT_LIMITS
    if text in {"0", "off", "false", "no"}:
        return None
    if "/" in text:
        second, minute = text.split("/", 1)
        return int(second), int(minute)
    raise ValueError(f"rate_limit inválido: {raw!r}")


def configured_limits(faults: Faults) -> tuple[int, int] | None:
    if faults.rate_limit is not None:
        return _parse_limits(faults.rate_limit)
    raw = getattr(settings, "SANDBOX_OPENFACTURA_RATE_LIMIT", None)
    if raw is None:
        raw = os.environ.get("SANDBOX_OPENFACTURA_RATE_LIMIT")
    return _parse_limits(raw)


def _count(key: str, ttl: int) -> int:
    cache.add(key, 0, ttl)
    try:
        return cache.incr(key)
    except ValueError:  # expired between add and incr
        cache.add(key, 1, ttl)
        return 1


def rate_limited(account: Account, faults: Faults) -> JsonResponse | None:
    """Count one request of ``account``; the 429 answer when a window is full."""
    limits = configured_limits(faults)
    if limits is None:
        return None
    now = _now()
    windows = []
    for limit, period in zip(limits, (1, 60), strict=True):
        if limit:
            start = int(now // period) * period
            windows.append(
                (f"sandbox:openfactura:rl:{account.key_hash[:32]}:{period}:{start}", limit, start + period)
            )
    counted = []
    for key, limit, ends in windows:
        count = _count(key, ttl=int(ends - now) + 2)
        counted.append(key)
        if count > limit:
            for done in counted:  # only admitted requests count
                try:
                    cache.decr(done)
                except ValueError:
                    pass
            seconds = max(1, math.ceil(ends - now))
            return gateway_error(
                429, f"Rate limit is exceeded. Try again in {seconds} seconds.", Retry_After=str(seconds)
            )
    return None


# --- faults ------------------------------------------------------------------------------------
def stall(seconds: float, *, version: int) -> None:
    """Sleep ``seconds``, waking early when the faults change (DELETE /faults ends a stalled test)."""
    left = seconds
    while left > 0:
        step = min(left, 0.25)
        _sleep(step)
        left -= step
        try:
            with serialized():
                current = Faults.objects.filter(pk=1).values_list("version", flat=True).first()
        except DatabaseError:
            return
        if current != version:
            return


def idempotency_key(request: HttpRequest) -> str | None:
    """The request's ``Idempotency-Key`` header, stripped; ``None`` when absent or empty."""
    return (request.headers.get("Idempotency-Key") or "").strip() or None


def fault_response(status: str) -> JsonResponse:
    """The answer of an injected failure: gateway 5xx, 429, or a 400 with an OF code."""
    if status.upper().startswith("OF-"):
        code = status.upper()
        details = None
        if code == "OF-23":
            details = [{"field": "TipoDTE", "issue": "Emisión de boletas bloqueada temporalmente (SII)"}]
        elif code in services.REJECTION_STATUSES:
            details = [{"field": "Error", "issue": "Rechazo simulado (fault del sandbox)"}]
        return of_error(code, details)
    number = int(status)
    if number == 429:
        return gateway_error(429, "Rate limit is exceeded. Try again in 1 seconds.", Retry_After="1")
    return gateway_error(number)


def _applies(faults: Faults, *, emits: bool) -> bool:
    return faults.scope == "all" or (faults.scope == "emit") == emits


def _take_one(faults: Faults) -> bool:
    """Consume one of the ``count`` failing requests (atomic across processes); True when allowed."""
    if faults.remaining is None:
        return True
    return bool(Faults.objects.filter(pk=1, remaining__gt=0).update(remaining=models.F("remaining") - 1))


def injected_failure(faults: Faults, *, emits: bool) -> JsonResponse | float | None:
    """The failure to answer now, or the seconds to stall before a 504 (``timeout``), or ``None``."""
    if not _applies(faults, emits=emits):
        return None
    status = faults.status or ("503" if faults.error_rate else "")
    if status:
        rate = 1.0 if faults.error_rate is None else faults.error_rate
        if random.random() < rate and _take_one(faults):  # noqa: S311 - a simulation, not crypto
            return fault_response(status)
    if faults.timeout and not (emits and faults.timeout_after_emit) and _take_one(faults):
        return timeout_seconds(faults)
    return None


def _rejects(faults: Faults) -> bool:
    """The injected failure is a data error (a rejection), not a "try later" one."""
    return faults.status.upper() in services.REJECTION_STATUSES


def timeout_seconds(faults: Faults) -> float:
    return faults.timeout_seconds if faults.timeout_seconds is not None else DEFAULT_TIMEOUT_SECONDS


def mark_stall_after_emit(response: HttpResponse, faults: Faults) -> HttpResponse:
    """The ``timeout_after_emit`` fault: the document is stored, then the answer comes too late."""
    if faults.timeout_after_emit and _applies(faults, emits=True) and _take_one(faults):
        response.of_stall_seconds = timeout_seconds(faults)  # the decorator stalls, outside any lock
    return response


# --- the decorator -----------------------------------------------------------------------------
def api_view(*methods: str, emits: bool = False) -> Callable:
    """Wrap an API view: faults, authentication, rate limit; the view gets ``account`` and ``faults``."""

    def decorate(func: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
        @csrf_exempt
        @wraps(func)
        def view(request: HttpRequest, **kwargs) -> HttpResponse:
            with serialized():
                faults = Faults.current()
            if faults.latency_ms:
                _sleep(faults.latency_ms / 1000)
            down = faults.down_for(timezone.now())
            if down is not None:
                return gateway_error(503, Retry_After=str(max(1, math.ceil(down.total_seconds()))))
            if request.method not in methods:
                return not_found()
            account, error = authenticate(request)
            if error is not None:
                return error
            limited = rate_limited(account, faults)
            if limited is not None:
                return limited
            with serialized():
                failure = injected_failure(faults, emits=emits)
                if emits and failure is not None and faults.reject_consumes_key and _rejects(faults):
                    services.idempotency_consume(account=account, key=idempotency_key(request))
            if isinstance(failure, int | float):
                stall(failure, version=faults.version)
                return gateway_error(504)
            if failure is not None:
                return failure
            with serialized():
                response = func(request, account=account, faults=faults, **kwargs)
            seconds = getattr(response, "of_stall_seconds", None)
            if seconds:
                stall(seconds, version=faults.version)
            return response

        return view

    return decorate
