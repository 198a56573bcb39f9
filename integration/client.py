"""HTTP client for Jumpseller's REST API (``https://api.jumpseller.com/v1``).

Contract: ``../shared/reference/jumpseller-api.md`` §2. One ``requests.Session``; ``(connect, read)``
timeouts on every call; redirects off; typed results; an error tree whose class decides the retry
(``JumpsellerError.transient``):

* transient — timeouts, connection errors, 5xx, 429 — retried here with exponential backoff and jitter,
  bounded. Reads (GET/PUT/DELETE) retry on all of them; a POST only on 429 and on a connect timeout
  (nothing was sent), since Jumpseller may have created the resource before failing;
* permanent — 400/403/404/422 — never retried; 401 is retried once after the token is renewed (when the
  caller can renew it) and then raised.

Rate limits (§2.1): 20 requests/s and 800/min per store. The caller passes a ``throttle`` that takes a
slot in the budget shared by every process (``core.ratelimit``); the client also honours the
``Jumpseller-Per{Second,Minute}RateLimit-Remaining`` headers (pauses when one reaches 0) and, on 429,
``Jumpseller-BannedByRateLimit-Reset`` (a ban: wait until then, or give up past ``max_wait``). The OAS
Ruby stub calls the rate-limit answer a 403 [D]: a 403 carrying the ban header is treated as a 429.

This module imports no models; tokens are never logged.
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

import requests

from core.ratelimit import BudgetExhausted

logger = logging.getLogger(__name__)

DEFAULT_TIMEOUT = (5.0, 20.0)
MAX_RETRIES = 3
MAX_WAIT = 30.0  # seconds the client may sleep for one retry; beyond that the caller retries later
PAGE_LIMIT = 100  # Jumpseller's maximum ``limit`` (§2.1)
BODY_KEEP = 1000  # characters of an error body kept on the exception

# ``document_type`` of ``POST /orders/{id}/documents.json`` (jumpseller-api.md §2.6 and Addendum, OAS schema
# ``DocumentFields``): declared ``"type": "integer"``, but its enum and every code sample are these strings.
# Which form the API takes is unknown [D]: the caller picks one per request (emission sends the documented
# string first and remembers, per store, the form that was accepted).
DOCUMENT_TYPE_STRINGS = {0: "0 - credit note", 1: "1 - invoice"}
DOCUMENT_TYPE_FORMS = ("string", "integer")

BAN_HEADER = "Jumpseller-BannedByRateLimit-Reset"
PER_SECOND_REMAINING = "Jumpseller-PerSecondRateLimit-Remaining"
PER_MINUTE_REMAINING = "Jumpseller-PerMinuteRateLimit-Remaining"


# --- Errors ------------------------------------------------------------------------------------
class JumpsellerError(Exception):
    """Base error. ``transient`` says whether the same request may succeed later."""

    transient = False

    def __init__(self, message: str, *, status: int | None = None, body: Any = None) -> None:
        super().__init__(message)
        self.message = message
        self.status = status
        self.body = body


class JumpsellerTransientError(JumpsellerError):
    transient = True
    not_sent = False  # True when the request surely never reached Jumpseller


class JumpsellerTimeout(JumpsellerTransientError):
    """No answer in time. A write may or may not have happened."""


class JumpsellerUnavailable(JumpsellerTransientError):
    """5xx or a connection error."""


class JumpsellerRateLimited(JumpsellerTransientError):
    """429 (or our own budget is exhausted). ``retry_after`` seconds; ``banned_until`` on a ban."""

    def __init__(
        self, message: str, *, retry_after: float, banned_until: datetime | None = None, **kwargs: Any
    ) -> None:
        super().__init__(message, **kwargs)
        self.retry_after = retry_after
        self.banned_until = banned_until


class JumpsellerPermanentError(JumpsellerError):
    """The request is wrong or not allowed: retrying it as it is cannot succeed."""


class JumpsellerUnauthorized(JumpsellerPermanentError):
    """401: the access token is expired, revoked or unknown."""


class JumpsellerInvalidGrant(JumpsellerUnauthorized):
    """OAuth ``invalid_grant``: the code or refresh token is used, expired or revoked (app uninstalled)."""


class JumpsellerInvalidClient(JumpsellerPermanentError):
    """OAuth ``invalid_client``: the app's own credentials are wrong (configuration, not the store)."""


class JumpsellerForbidden(JumpsellerPermanentError):
    """403: the token lacks the endpoint's scope."""


class JumpsellerNotFound(JumpsellerPermanentError):
    """404."""


class JumpsellerValidationError(JumpsellerPermanentError):
    """400/422: Jumpseller refused the body. ``errors`` holds the field errors when given."""

    def __init__(self, message: str, *, errors: Mapping[str, Any] | None = None, **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self.errors = dict(errors or {})

    def may_concern(self, field_name: str) -> bool:
        """True when the error names ``field_name``, or names no field at all (so it may be that one)."""
        return not self.errors or field_name in self.errors


# --- Results -----------------------------------------------------------------------------------
@dataclass(frozen=True)
class StoreInfo:
    """``GET /store/info.json`` (§2.2), flat or wrapped in ``{"store": {...}}``."""

    code: str
    name: str
    url: str
    currency: str
    country: str
    timezone: str
    email: str
    hooks_token: str = field(repr=False)
    raw: Mapping[str, Any] = field(default_factory=dict, repr=False)


@dataclass(frozen=True)
class Hook:
    id: int
    event: str
    url: str


@dataclass(frozen=True)
class OrderDocument:
    """``{"document": {...}}`` of ``POST /orders/{id}/documents.json`` (§2.6)."""

    document_type: int
    public_id: str
    external_id: str | None
    url: str | None
    order_id: int | None
    raw: Mapping[str, Any] = field(default_factory=dict, repr=False)


# --- HTTP helpers shared with the OAuth client ---------------------------------------------------
def parse_body(response: requests.Response) -> Any:
    try:
        return response.json()
    except ValueError:
        return response.text[:BODY_KEEP]


def error_message(body: Any, default: str) -> str:
    if isinstance(body, dict):
        for key in ("message", "error_description", "error"):
            if isinstance(body.get(key), str) and body[key]:
                return body[key][:300]
    if isinstance(body, str) and body.strip():
        return body.strip()[:300]
    return default


def document_type_value(document_type: int, form: str) -> int | str:
    """``document_type`` 0 (credit note) or 1 (invoice) in ``form``: "string" (``"1 - invoice"``, the
    OAS enum and samples) or "integer" (``1``, the OAS declared type)."""
    if form == "string":
        return DOCUMENT_TYPE_STRINGS[int(document_type)]
    if form == "integer":
        return int(document_type)
    raise ValueError(f"document_type form must be one of {DOCUMENT_TYPE_FORMS}, not {form!r}")


def _parse_ban(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        moment = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def rate_limited(response: requests.Response, body: Any) -> JumpsellerRateLimited:
    """A 429 (or a 403 with the ban header): how long to wait, from the headers."""
    banned_until = _parse_ban(response.headers.get(BAN_HEADER))
    if banned_until is not None:
        retry_after = max(1.0, (banned_until - datetime.now(UTC)).total_seconds())
    elif (response.headers.get("Retry-After") or "").isdigit():
        retry_after = float(response.headers["Retry-After"])
    elif (
        response.headers.get(PER_SECOND_REMAINING, "0") != "0"
        and response.headers.get(PER_MINUTE_REMAINING) == "0"
    ):
        retry_after = 60.0  # the minute budget is spent; the second one is not
    else:
        retry_after = 1.0
    return JumpsellerRateLimited(
        error_message(body, "Too Many Requests"),
        retry_after=retry_after,
        banned_until=banned_until,
        status=response.status_code,
        body=body,
    )


def raise_for_status(response: requests.Response) -> Any:
    """The decoded body of a 2xx answer; otherwise the matching error of the tree."""
    status = response.status_code
    body = parse_body(response) if response.content else None
    if 200 <= status < 300:
        return body
    message = error_message(body, f"HTTP {status}")
    if status == 429 or (status == 403 and response.headers.get(BAN_HEADER)):
        raise rate_limited(response, body)
    if status == 401:
        raise JumpsellerUnauthorized(message, status=status, body=body)
    if status == 403:
        raise JumpsellerForbidden(message, status=status, body=body)
    if status == 404:
        raise JumpsellerNotFound(message, status=status, body=body)
    if status in (400, 422):
        errors = body.get("errors") if isinstance(body, dict) and isinstance(body.get("errors"), dict) else {}
        raise JumpsellerValidationError(message, errors=errors, status=status, body=body)
    if status >= 500:
        raise JumpsellerUnavailable(message, status=status, body=body)
    raise JumpsellerPermanentError(message, status=status, body=body)


def send(
    session: requests.Session,
    method: str,
    url: str,
    *,
    timeout: tuple[float, float],
    **kwargs: Any,
) -> requests.Response:
    """One HTTP exchange, with requests' exceptions mapped onto the error tree."""
    try:
        return session.request(method, url, timeout=timeout, allow_redirects=False, **kwargs)
    except requests.ConnectTimeout as exc:
        error = JumpsellerTimeout("Jumpseller no aceptó la conexión a tiempo")
        error.not_sent = True
        raise error from exc
    except requests.Timeout as exc:
        raise JumpsellerTimeout("Jumpseller no respondió a tiempo") from exc
    except requests.RequestException as exc:
        raise JumpsellerUnavailable(f"No fue posible conectar con Jumpseller ({type(exc).__name__})") from exc


def sleep_for(seconds: float) -> None:
    time.sleep(seconds)


def backoff(attempt: int, *, base: float = 0.5, cap: float = 8.0) -> float:
    """Exponential backoff with jitter: ``base·2ⁿ`` (capped) plus up to a quarter more."""
    delay = min(cap, base * 2**attempt)
    return delay + random.uniform(0, delay / 4)  # noqa: S311 - jitter, not cryptography


# --- The client --------------------------------------------------------------------------------
class JumpsellerClient:
    """One store's Jumpseller API, authenticated with an OAuth access token (``Bearer``).

    ``access_token`` is the token or a callable returning the current one (called before every
    request, so a store-bound caller can refresh it ahead of expiry). Subclasses may override
    :meth:`_renew_token` (renew after a 401; return True to retry once) and :meth:`_unauthorized`.
    """

    def __init__(
        self,
        *,
        base_url: str,
        access_token: str | Callable[[], str],
        timeout: tuple[float, float] = DEFAULT_TIMEOUT,
        session: requests.Session | None = None,
        throttle: Callable[[], None] | None = None,
        sleep: Callable[[float], None] | None = None,
        max_retries: int = MAX_RETRIES,
        max_wait: float = MAX_WAIT,
        budget_wait: float | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self._access_token = access_token
        self.timeout = timeout
        self.session = session or requests.Session()
        self._throttle = throttle
        self._sleep = sleep if sleep is not None else sleep_for
        self.max_retries = max_retries
        self.max_wait = max_wait
        # The longest this client sleeps for a spent budget (ours, a 429, or the headers' "0 remaining");
        # beyond it ``JumpsellerRateLimited`` goes to the caller, who defers. Store clients used by workers
        # pass 0: a worker slot never sleeps for a budget.
        self.budget_wait = max_wait if budget_wait is None else budget_wait
        self._not_before = 0.0  # time.monotonic() before which no request is sent

    def __repr__(self) -> str:  # never show the token
        return f"{type(self).__name__}(base_url={self.base_url!r})"

    def close(self) -> None:
        """Release the pooled connections (the client is usable as a context manager)."""
        self.session.close()

    def __enter__(self) -> JumpsellerClient:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # -- hooks for store-bound subclasses ---------------------------------------------------------
    def _token(self) -> str:
        return self._access_token() if callable(self._access_token) else self._access_token

    def _renew_token(self) -> bool:
        """Called on a 401. Return True when a new token was obtained and the request may be retried."""
        return False

    def _unauthorized(self, exc: JumpsellerUnauthorized) -> None:
        """Called when a 401 persists. Must raise."""
        raise exc

    # -- low level ------------------------------------------------------------------------------
    def _pace(self) -> None:
        wait = self._not_before - time.monotonic()
        if wait > self.budget_wait:
            raise JumpsellerRateLimited("Presupuesto de Jumpseller agotado por ahora", retry_after=wait)
        if wait > 0:
            self._sleep(wait)
        if self._throttle is not None:
            try:
                self._throttle()
            except BudgetExhausted as exc:
                raise JumpsellerRateLimited(
                    "Presupuesto de Jumpseller agotado por ahora", retry_after=exc.retry_after
                ) from exc

    def _observe(self, response: requests.Response) -> None:
        """Pause the next request when Jumpseller says a budget is spent (§2.1 headers).

        Only after a success: a 429 carries its own wait, applied by the retry loop.
        """
        if response.status_code >= 400:
            return
        if response.headers.get(PER_MINUTE_REMAINING) == "0":
            self._not_before = time.monotonic() + 60.0
        elif response.headers.get(PER_SECOND_REMAINING) == "0":
            self._not_before = time.monotonic() + 1.0

    def _send_once(self, method: str, path: str, params: Any, json: Any) -> Any:
        self._pace()
        headers = {"Authorization": f"Bearer {self._token()}", "Accept": "application/json"}
        started = time.monotonic()
        response = send(
            self.session,
            method,
            f"{self.base_url}{path}",
            timeout=self.timeout,
            params=params,
            json=json,
            headers=headers,
        )
        logger.info(
            "jumpseller %s %s -> %s in %.0f ms",
            method,
            path,
            response.status_code,
            (time.monotonic() - started) * 1000,
        )
        self._observe(response)
        return raise_for_status(response)

    def _request(self, method: str, path: str, *, params: Any = None, json: Any = None) -> Any:
        idempotent = method != "POST"
        renewed = False
        attempt = 0
        while True:
            try:
                return self._send_once(method, path, params, json)
            except JumpsellerUnauthorized as exc:
                if not renewed and self._renew_token():
                    renewed = True
                    continue
                self._unauthorized(exc)
                raise
            except JumpsellerTransientError as exc:
                rate = isinstance(exc, JumpsellerRateLimited)
                if attempt >= self.max_retries or not (idempotent or rate or exc.not_sent):
                    raise
                delay = exc.retry_after + random.uniform(0, 0.2) if rate else backoff(attempt)  # noqa: S311
                if delay > (self.budget_wait if rate else self.max_wait):
                    raise
                logger.warning("jumpseller %s %s: %s; retrying in %.1f s", method, path, exc.message, delay)
                self._sleep(delay)
                attempt += 1

    def _pages(self, path: str, key: str, params: Mapping[str, Any] | None = None) -> list[dict]:
        """Every item of a paginated list, unwrapped (pages of ``PAGE_LIMIT`` until a short page)."""
        items: list[dict] = []
        for page in range(1, 1001):
            data = self._request("GET", path, params={**(params or {}), "limit": PAGE_LIMIT, "page": page})
            batch = _unwrap_list(data, key)
            items += batch
            if len(batch) < PAGE_LIMIT:
                break
        return items

    # -- store ----------------------------------------------------------------------------------
    def store_info(self) -> StoreInfo:
        """``GET /store/info.json`` (scope ``read_store``), flat or wrapped [D §2.2]."""
        data = self._request("GET", "/store/info.json")
        info = data.get("store") if isinstance(data, dict) and isinstance(data.get("store"), dict) else data
        if not isinstance(info, dict) or not info.get("code"):
            raise JumpsellerPermanentError(
                "Jumpseller respondió /store/info.json sin código de tienda", body=data
            )
        return StoreInfo(
            code=str(info["code"]),
            name=str(info.get("name") or ""),
            url=str(info.get("url") or ""),
            currency=str(info.get("currency") or ""),
            country=str(info.get("country") or ""),
            timezone=str(info.get("timezone") or ""),
            email=str(info.get("email") or ""),
            hooks_token=str(info.get("hooks_token") or ""),
            raw={k: v for k, v in info.items() if k != "hooks_token"},
        )

    # -- orders ---------------------------------------------------------------------------------
    def get_order(self, order_id: int) -> dict[str, Any]:
        """``GET /orders/{id}.json``: the order object (inner dict of ``{"order": {...}}``), whole."""
        data = self._request("GET", f"/orders/{int(order_id)}.json")
        return _unwrap(data, "order")

    @staticmethod
    def _order_filters(status: str | None, date_from: date | None, date_to: date | None) -> dict[str, Any]:
        params: dict[str, Any] = {}
        if status:
            params["status_filters[]"] = status
        if date_from or date_to:
            params["dateFilter"] = "customDate"
            if date_from:
                params["initialDate"] = date_from.isoformat()
            if date_to:
                params["finalDate"] = date_to.isoformat()
        return params

    def list_orders(
        self,
        *,
        status: str | None = None,
        date_from: date | None = None,
        date_to: date | None = None,
        page: int = 1,
        limit: int = 50,
    ) -> list[dict[str, Any]]:
        """``GET /orders.json`` (newest first), one page; ``status`` is a ``status_enum`` (``paid``…)."""
        params = {
            **self._order_filters(status, date_from, date_to),
            "page": page,
            "limit": min(limit, PAGE_LIMIT),
        }
        return _unwrap_list(self._request("GET", "/orders.json", params=params), "order")

    def orders_after(self, order_id: int, *, page: int = 1, limit: int = PAGE_LIMIT) -> list[dict[str, Any]]:
        """``GET /orders/after/{id}.json``: orders with a greater id, one page (for reconciliation)."""
        params = {"page": page, "limit": min(limit, PAGE_LIMIT)}
        return _unwrap_list(
            self._request("GET", f"/orders/after/{int(order_id)}.json", params=params), "order"
        )

    def count_orders(
        self, *, status: str | None = None, date_from: date | None = None, date_to: date | None = None
    ) -> int:
        """``GET /orders/count.json`` → ``{"count": N}``."""
        data = self._request(
            "GET", "/orders/count.json", params=self._order_filters(status, date_from, date_to)
        )
        try:
            return int(data["count"])
        except (TypeError, KeyError, ValueError):
            raise JumpsellerPermanentError("Respuesta de /orders/count.json sin count", body=data) from None

    def create_order_document(
        self,
        order_id: int,
        *,
        document_type: int,
        public_id: str,
        url: str | None = None,
        external_id: str | None = None,
        document_type_form: str = "string",
    ) -> OrderDocument:
        """``POST /orders/{id}/documents.json`` (scope ``write_orders``; §2.6): 1 invoice, 0 credit note,
        sent in ``document_type_form`` (:func:`document_type_value`; by default the documented string). A
        store that takes only the other form answers 422 (``JumpsellerValidationError``): the caller
        retries with it."""
        body = {
            "document": {
                "document_type": document_type_value(document_type, document_type_form),
                "public_id": str(public_id),
            }
        }
        if url:
            body["document"]["url"] = url
        if external_id:
            body["document"]["external_id"] = str(external_id)
        data = _unwrap(
            self._request("POST", f"/orders/{int(order_id)}/documents.json", json=body), "document"
        )
        return _order_document(data, default_type=document_type, default_public_id=public_id)

    def list_order_documents(self, order_id: int) -> list[OrderDocument]:
        """``GET /orders/{id}/documents.json`` (``read_orders``): what is attached already, every page."""
        return [
            _order_document(item)
            for item in self._pages(f"/orders/{int(order_id)}/documents.json", "document")
        ]

    def create_order_history(self, order_id: int, message: str) -> dict[str, Any]:
        """``POST /orders/{id}/history.json``: a note on the order's timeline."""
        body = {"order_history": {"message": message}}
        return _unwrap(
            self._request("POST", f"/orders/{int(order_id)}/history.json", json=body), "order_history"
        )

    # -- customers ------------------------------------------------------------------------------
    def get_customer(self, customer_id: int) -> dict[str, Any]:
        """``GET /customers/{id}.json`` (scope ``read_customers``): the customer object, unwrapped.

        [GAP] The reference lists the customer scopes (§1.3) but not this endpoint's body. Read here as the
        OAS ``CustomerFields`` schema reads it (the generated OpenAPI clients agree): ``{"customer": {id,
        email, name, surname, phone, status, customer_categories: [{id, name}], ...}}``; the sandbox
        answers exactly that."""
        return _unwrap(self._request("GET", f"/customers/{int(customer_id)}.json"), "customer")

    # -- hooks ----------------------------------------------------------------------------------
    def list_hooks(self) -> list[Hook]:
        """``GET /hooks.json`` (scope ``read_hooks``), every page."""
        return [_hook(item) for item in self._pages("/hooks.json", "hook")]

    def create_hook(self, event: str, url: str) -> Hook:
        """``POST /hooks.json`` ``{"hook": {"event", "url"}}`` (scope ``write_hooks``)."""
        data = self._request("POST", "/hooks.json", json={"hook": {"event": event, "url": url}})
        return _hook(_unwrap(data, "hook"))

    def delete_hook(self, hook_id: int) -> None:
        """``DELETE /hooks/{id}.json``. Raises ``JumpsellerNotFound`` when it is already gone."""
        self._request("DELETE", f"/hooks/{int(hook_id)}.json")


def _unwrap(data: Any, key: str) -> dict[str, Any]:
    if isinstance(data, dict) and isinstance(data.get(key), dict):
        return data[key]
    if isinstance(data, dict):
        return data
    raise JumpsellerPermanentError(f"Respuesta inesperada de Jumpseller (se esperaba {key})", body=data)


def _unwrap_list(data: Any, key: str) -> list[dict[str, Any]]:
    if not isinstance(data, list):
        raise JumpsellerPermanentError(f"Respuesta inesperada de Jumpseller (lista de {key})", body=data)
    return [_unwrap(item, key) for item in data]


def _order_document(
    data: Mapping[str, Any], *, default_type: int = 1, default_public_id: str = ""
) -> OrderDocument:
    raw_type = data.get("document_type", default_type)
    return OrderDocument(
        document_type=int(raw_type) if str(raw_type).isdigit() else int(str(raw_type)[:1] or default_type),
        public_id=str(data.get("public_id", default_public_id)),
        external_id=data.get("external_id"),
        url=data.get("url"),
        order_id=data.get("order_id"),
        raw=data,
    )


def _hook(data: Mapping[str, Any]) -> Hook:
    return Hook(id=int(data["id"]), event=str(data.get("event") or ""), url=str(data.get("url") or ""))


def customer_category_names(customer: Mapping[str, Any]) -> list[str]:
    """The names of a customer's categories (``customer_categories[].name``; a bare string is taken as
    the name), in Jumpseller's order, blanks dropped."""
    names = []
    for item in customer.get("customer_categories") or []:
        name = item.get("name") if isinstance(item, dict) else item
        if isinstance(name, str) and name.strip():
            names.append(name.strip())
    return names
