"""HTTP client for OpenFactura (Haulmer) ``/v2/dte/...``.

Contract: ``../shared/reference/openfactura-api.md``. One ``requests.Session``; ``(connect, read)``
timeouts on every call; redirects off; typed results; a small error tree whose class decides
whether a caller may retry (``OpenFacturaError.transient``). The client is tolerant of every
response shape the reference records (§9): wrapped or flat error envelopes, the OF-06 token in
``error.token`` or in ``details``, ``SELF_SERVICE`` as an object or a string, 401 or 403 for a bad
key, both 429 bodies.

Emission (``POST /v2/dte/document``) is never retried inside the client: the caller (a Celery task)
retries with the same ``Idempotency-Key``. Reads are retried here, bounded, on transient errors.
The per-key budget of 3 requests/s and 100/min is shared by every process through
``core.ratelimit``. API keys are never logged.
"""

from __future__ import annotations

import base64
import logging
import random
import re
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import requests

from core.ratelimit import BudgetExhausted

logger = logging.getLogger(__name__)

DEFAULT_TIMEOUT = (5.0, 45.0)  # Haulmer's plugins use 30 s; PDF generation can be slow (§6).
READ_RETRIES = 3

# OF codes that mean "the data is wrong": never retried, shown to the merchant (§2.5, §6).
PERMANENT_CODES = {"OF-01", "OF-02", "OF-04", "OF-05", "OF-07", "OF-08", "OF-09", "OF-10", "OF-11", "OF-20"}
# OF codes that are worth retrying later with the same key.
TRANSIENT_CODES = {"OF-12", "OF-13", "OF-21", "OF-22"}


# --- Errors ------------------------------------------------------------------------------------
class OpenFacturaError(Exception):
    """Base error. ``transient`` says whether retrying the same request later can succeed;
    ``fresh_key`` whether the next try of the document must go with a new Idempotency-Key revision."""

    transient = False
    # Whether OpenFactura keeps the Idempotency-Key of a rejected request is documented nowhere
    # (openfactura-api.md, Addendum: "assume it may"). If it does, a corrected body sent with the same key
    # meets OF-06 without a token forever; so a rejection that created nothing gets a new key revision.
    # Timeouts, 5xx, 429 and the "try later" OF codes keep the key: the first request may have created it.
    fresh_key = False

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        code: str | None = None,
        details: list[dict[str, str]] | None = None,
        body: Any = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.status = status
        self.code = code
        self.details = details or []
        self.body = body

    def describe(self) -> str:
        """A merchant-readable one-liner (Spanish where OpenFactura answered in Spanish)."""
        parts = [self.message]
        if self.code:
            parts.insert(0, self.code)
        if self.details:
            parts.append(
                "; ".join(f"{d.get('field', '')}: {d.get('issue', '')}".strip(": ") for d in self.details)
            )
        return " — ".join(p for p in parts if p)


class OpenFacturaUnauthorized(OpenFacturaError):
    """401/403: the API key is wrong or revoked."""


# The documented data errors (openfactura-api.md § errors: "treat OF-01/02/05/08/09/10/20 as
# non-retryable data errors"): OpenFactura checked the body and created nothing with this request.
DATA_ERROR_CODES = frozenset({"OF-01", "OF-02", "OF-05", "OF-08", "OF-09", "OF-10", "OF-20"})


class OpenFacturaRejected(OpenFacturaError):
    """A 4xx data error (400 OF-01, OF-02, OF-05, OF-08, OF-10, …; any other 4xx that is not auth, rate
    limit, OF-06 or a "try later" code). Fix the document, don't retry as it is. Only a documented data
    code says that this request created nothing (``fresh_key``); an unknown 4xx (a gateway's 400, 408,
    409, 413) keeps the key, since it proves nothing about what OpenFactura did."""

    @property
    def fresh_key(self) -> bool:  # type: ignore[override]
        return self.code in DATA_ERROR_CODES


class OpenFacturaDuplicate(OpenFacturaError):
    """400 OF-06: this Idempotency-Key was already used. ``token`` is the original document, if given."""

    def __init__(self, message: str, *, token: str | None, **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self.token = token


class OpenFacturaTransient(OpenFacturaError):
    transient = True


class OpenFacturaUnavailable(OpenFacturaTransient):
    """5xx, connection errors, OF-21 (database unavailable) and friends."""


class OpenFacturaTimeout(OpenFacturaTransient):
    """No answer within the read timeout. The document may or may not exist: retry with the same key."""


class OpenFacturaRateLimited(OpenFacturaTransient):
    def __init__(self, message: str, *, retry_after: float, **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self.retry_after = retry_after


class OpenFacturaBlocked(OpenFacturaTransient):
    """OF-23: boleta emission temporarily blocked for this taxpayer (SII). Alert, retry later."""


# --- Results -----------------------------------------------------------------------------------
@dataclass(frozen=True)
class EmitResult:
    token: str
    folio: int | None
    pdf: bytes | None = None
    self_service_url: str | None = None
    warning: Any = None
    raw: Mapping[str, Any] = field(default_factory=dict, repr=False)


@dataclass(frozen=True)
class IssuedPage:
    current_page: int
    last_page: int
    total: int
    rows: list[dict[str, Any]]


# --- Parsing helpers ---------------------------------------------------------------------------
_RETRY_SECONDS = re.compile(r"(\d+)\s*(?:seconds|segundos)", re.IGNORECASE)


def _error_envelope(body: Any) -> tuple[str, str | None, list[dict[str, str]], dict[str, Any]]:
    """(message, code, details, envelope) from any of the documented error shapes."""
    if isinstance(body, dict):
        envelope = body.get("error") if isinstance(body.get("error"), dict) else body
        if isinstance(body.get("error"), str):
            return body["error"], None, [], body
        message = str(envelope.get("message") or body.get("message") or "Error de OpenFactura")
        code = envelope.get("code")
        raw_details = envelope.get("details")
        details: list[dict[str, str]] = []
        if isinstance(raw_details, list):
            details = [
                {"field": str(d.get("field", "")), "issue": str(d.get("issue", ""))}
                for d in raw_details
                if isinstance(d, dict)
            ]
        elif isinstance(raw_details, dict):
            details = [{"field": str(k), "issue": str(v)} for k, v in raw_details.items()]
        return message, (str(code) if code else None), details, envelope
    if isinstance(body, str) and body:
        return body[:300], None, [], {}
    return "Respuesta vacía de OpenFactura", None, [], {}


def duplicate_token(envelope: Mapping[str, Any], details: list[dict[str, str]]) -> str | None:
    """The original token of an OF-06: ``error.token`` (docs) or ``details[{field: token}]`` (§9 #1)."""
    token = envelope.get("token") or envelope.get("Token")
    if token:
        return str(token)
    for detail in details:
        if detail.get("field", "").lower() == "token" and detail.get("issue"):
            return detail["issue"]
    return None


def _retry_after(response: requests.Response, message: str) -> float:
    header = response.headers.get("Retry-After")
    if header and header.isdigit():
        return float(header)
    match = _RETRY_SECONDS.search(message or "")
    return float(match.group(1)) if match else 1.0


class OpenFacturaClient:
    """One merchant's OpenFactura API (one API key, one base URL: production or demo)."""

    def __init__(
        self,
        *,
        api_key: str,
        base_url: str,
        timeout: tuple[float, float] = DEFAULT_TIMEOUT,
        session: requests.Session | None = None,
        throttle: Callable[[str], None] | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self._api_key = api_key
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout
        self.session = session or requests.Session()
        self._throttle = throttle
        self._sleep = sleep
        # Requests whose budget slot the caller already booked (the scheduler books one before it claims
        # a document): they are not throttled again.
        self.prepaid = 0

    def __repr__(self) -> str:  # never show the key
        return f"OpenFacturaClient(base_url={self.base_url!r})"

    # -- low level ------------------------------------------------------------------------------
    def _request(
        self,
        method: str,
        path: str,
        *,
        json: Any = None,
        headers: Mapping[str, str] | None = None,
    ) -> Any:
        if self.prepaid > 0:  # a slot the scheduler booked before claiming the document
            self.prepaid -= 1
        elif self._throttle is not None:
            try:
                self._throttle(self._api_key)
            except BudgetExhausted as exc:  # our own pacing, OpenFactura was not called: the caller defers
                raise OpenFacturaRateLimited(
                    "Límite de solicitudes por segundo alcanzado", retry_after=exc.retry_after
                ) from exc
        all_headers = {"apikey": self._api_key, "Accept": "application/json", **(headers or {})}
        url = f"{self.base_url}{path}"
        started = time.monotonic()
        try:
            response = self.session.request(
                method, url, json=json, headers=all_headers, timeout=self.timeout, allow_redirects=False
            )
        except requests.Timeout as exc:
            raise OpenFacturaTimeout("OpenFactura no respondió a tiempo") from exc
        except requests.RequestException as exc:
            raise OpenFacturaUnavailable(
                f"No fue posible conectar con OpenFactura ({type(exc).__name__})"
            ) from exc
        logger.info(
            "openfactura %s %s -> %s in %.0f ms",
            method,
            path.split("?")[0],
            response.status_code,
            (time.monotonic() - started) * 1000,
        )
        return self._parse(response)

    def _parse(self, response: requests.Response) -> Any:
        status = response.status_code
        if status == 204:
            return None
        try:
            body: Any = response.json()
        except ValueError:
            body = response.text
        if 200 <= status < 300:
            return body
        message, code, details, envelope = _error_envelope(body)
        kwargs = {"status": status, "code": code, "details": details, "body": body}
        if status in (401, 403):
            raise OpenFacturaUnauthorized(message or "API key inválida", **kwargs)
        if status == 429:
            raise OpenFacturaRateLimited(message, retry_after=_retry_after(response, message), **kwargs)
        if status >= 500:
            raise OpenFacturaUnavailable(message, **kwargs)
        if code == "OF-06":
            raise OpenFacturaDuplicate(message, token=duplicate_token(envelope, details), **kwargs)
        if code == "OF-23":
            raise OpenFacturaBlocked(message, **kwargs)
        if code == "OF-03":
            raise OpenFacturaUnauthorized(message, **kwargs)
        if code in TRANSIENT_CODES:
            raise OpenFacturaUnavailable(message, **kwargs)
        raise OpenFacturaRejected(message, **kwargs)

    def _read(self, method: str, path: str, *, json: Any = None) -> Any:
        """A read: retried on transient errors with exponential backoff and jitter, bounded."""
        for attempt in range(READ_RETRIES + 1):
            try:
                return self._request(method, path, json=json)
            except OpenFacturaTransient as exc:
                # A spent budget is never slept on: the caller's task defers (a worker slot never waits).
                if attempt == READ_RETRIES or isinstance(exc, OpenFacturaRateLimited):
                    raise
                delay = 0.5 * 2**attempt
                self._sleep(min(delay, 10.0) + random.uniform(0, 0.25))  # noqa: S311 - jitter, not crypto
        raise AssertionError("unreachable")

    # -- API ------------------------------------------------------------------------------------
    def emit(self, body: Mapping[str, Any], *, idempotency_key: str) -> EmitResult:
        """``POST /v2/dte/document`` (§2). Raises ``OpenFacturaDuplicate`` on OF-06 (caller recovers)."""
        data = self._request(
            "POST",
            "/v2/dte/document",
            json=body,
            headers={"Idempotency-Key": idempotency_key, "Content-Type": "application/json"},
        )
        if not isinstance(data, dict) or not data.get("TOKEN"):
            raise OpenFacturaUnavailable("Respuesta de OpenFactura sin TOKEN", body=data)
        return self._emit_result(data)

    @staticmethod
    def _emit_result(data: Mapping[str, Any]) -> EmitResult:
        pdf = data.get("PDF")
        self_service = data.get("SELF_SERVICE")
        url = self_service.get("url") if isinstance(self_service, dict) else self_service
        folio = data.get("FOLIO")
        return EmitResult(
            token=str(data["TOKEN"]),
            folio=int(folio) if folio not in (None, "") else None,
            pdf=base64.b64decode(pdf) if pdf else None,
            self_service_url=str(url) if url else None,
            warning=data.get("WARNING"),
            raw={k: v for k, v in data.items() if k not in {"PDF", "XML", "TIMBRE", "LOGO"}},
        )

    def document(self, token: str, value: str) -> Any:
        """``GET /v2/dte/document/{token}/{status|json|xml|pdf|cedible}`` (§4.6)."""
        return self._read("GET", f"/v2/dte/document/{token}/{value}")

    def document_pdf(self, token: str) -> bytes:
        data = self.document(token, "pdf")
        return base64.b64decode(data["pdf"])

    def document_json(self, token: str) -> dict[str, Any]:
        return self.document(token, "json")

    def issued(self, filters: Mapping[str, Any], *, page: int = 1) -> IssuedPage:
        """``POST /v2/dte/document/issued`` (30 a page; 204 when empty)."""
        data = self._read("POST", "/v2/dte/document/issued", json={**filters, "Page": page})
        if not data:
            return IssuedPage(current_page=page, last_page=page, total=0, rows=[])
        return IssuedPage(
            current_page=int(data.get("current_page", page)),
            last_page=int(data.get("last_page", page)),
            total=int(data.get("total", 0)),
            rows=list(data.get("data") or []),
        )

    def organization(self) -> dict[str, Any]:
        """``GET /v2/dte/organization`` (§5.1): the issuer behind this key."""
        return self._read("GET", "/v2/dte/organization")

    def taxpayer(self, rut: str) -> dict[str, Any]:
        """``GET /v2/dte/taxpayer/{rut}`` (§5.3). Unknown RUT → 200 with nulls."""
        return self._read("GET", f"/v2/dte/taxpayer/{rut}")
