"""Optional error reporting to Sentry, with personal data and bearer capabilities scrubbed.

Settings call :func:`init_error_reporting` only when ``SENTRY_DSN`` is set; without it the SDK is never
started and nothing leaves the process. The SDK is imported inside that function, so importing this module
costs nothing and needs no DSN.

Everything an event carries passes :func:`scrub_event` (``before_send``) and every breadcrumb
:func:`scrub_breadcrumb` (``before_breadcrumb``) before it is sent:

* the request keeps its method, its URL with the capabilities redacted (``core.redaction``: self-service
  and PDF link tokens, the OAuth callback's ``code``/``state``), the names of its query parameters and the
  ``User-Agent``, ``Content-Type`` and ``Content-Length`` headers; cookies, body, query values, every other
  header (``Authorization``, ``Cookie``, ``Jumpseller-Hmac-Sha256``, ``Idempotency-Key``, ``apikey``,
  ``X-Forwarded-For``…) and the client address are dropped;
* the user loses address, email and username;
* messages, log entries, exception values, extra data and breadcrumbs lose capabilities, email
  addresses and Chilean RUTs (``12.345.678-5``, ``12345678-K``).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from core.redaction import REDACTED, redact_capabilities

ALLOWED_HEADERS = frozenset({"user-agent", "content-type", "content-length"})
_USER_FIELDS_DROPPED = ("ip_address", "email", "username")  # Django usernames are often emails
_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
_RUT = re.compile(r"\b(?:\d{1,2}\.\d{3}\.\d{3}|\d{7,8})-[\dkK]\b")
_MAX_DEPTH = 8  # bounds the walk: a container that holds itself would otherwise never end

Event = dict[str, Any]


def scrub_text(text: str) -> str:
    """``text`` without capabilities, email addresses and RUTs."""
    text = redact_capabilities(text)
    text = _EMAIL.sub(REDACTED, text)
    return _RUT.sub(REDACTED, text)


def _scrub_value(value: Any, depth: int = 0) -> Any:
    if value is None or isinstance(value, bool | int | float):
        return value
    if depth >= _MAX_DEPTH:
        return REDACTED
    if isinstance(value, str):
        return scrub_text(value)
    if isinstance(value, Mapping):
        return {key: _scrub_value(item, depth + 1) for key, item in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [_scrub_value(item, depth + 1) for item in value]
    # The SDK would send repr() of any other object (an HttpRequest's repr holds its full path).
    return scrub_text(repr(value))


def _scrub_query(query: Any) -> str:
    """Parameter names only: every value of a query string may be personal (``rut=``) or a secret."""
    if isinstance(query, Mapping):
        names = [str(name) for name in query]
    elif isinstance(query, str):
        names = [part.split("=", 1)[0] for part in query.split("&") if part]
    else:
        return ""
    return "&".join(f"{scrub_text(name)}={REDACTED}" for name in names)


def _scrub_request(request: dict[str, Any]) -> None:
    request.pop("cookies", None)
    request.pop("data", None)
    if isinstance(request.get("url"), str):
        request["url"] = scrub_text(request["url"])
    if request.get("query_string"):
        request["query_string"] = _scrub_query(request["query_string"])
    headers = request.get("headers")
    if isinstance(headers, Mapping):
        request["headers"] = {
            name: scrub_text(str(value))
            for name, value in headers.items()
            if str(name).lower() in ALLOWED_HEADERS
        }
    else:
        request.pop("headers", None)
    env = request.get("env")
    if isinstance(env, dict):
        env.pop("REMOTE_ADDR", None)


def scrub_event(event: Event, hint: dict[str, Any] | None) -> Event:
    """``before_send``: the event without personal data or capabilities (see the module docstring)."""
    request = event.get("request")
    if isinstance(request, dict):
        _scrub_request(request)
    user = event.get("user")
    if isinstance(user, dict):
        for field in _USER_FIELDS_DROPPED:
            user.pop(field, None)
    for key in ("message", "logentry", "extra"):
        if key in event:
            event[key] = _scrub_value(event[key])
    # A route (``/documento/{token}/``) is our own pattern; any other transaction name may be a raw path.
    if (
        isinstance(event.get("transaction"), str)
        and (event.get("transaction_info") or {}).get("source") != "route"
    ):
        event["transaction"] = scrub_text(event["transaction"])
    for exception in (event.get("exception") or {}).get("values") or []:
        if isinstance(exception.get("value"), str):
            exception["value"] = scrub_text(exception["value"])
    breadcrumbs = event.get("breadcrumbs")
    crumbs = breadcrumbs.get("values") if isinstance(breadcrumbs, dict) else breadcrumbs
    for crumb in crumbs or []:
        if isinstance(crumb, dict):
            scrub_breadcrumb(crumb, None)
    return event


def scrub_breadcrumb(crumb: dict[str, Any], hint: dict[str, Any] | None) -> dict[str, Any]:
    """``before_breadcrumb``: log lines, SQL and outgoing HTTP calls without personal data or capabilities."""
    if isinstance(crumb.get("message"), str):
        crumb["message"] = scrub_text(crumb["message"])
    data = crumb.get("data")
    if isinstance(data, Mapping):
        data = _scrub_value(data)
        if data.get("http.query"):
            data["http.query"] = _scrub_query(data["http.query"])
        crumb["data"] = data
    return crumb


def init_error_reporting(*, dsn: str, environment: str, release: str | None = None) -> bool:
    """Start the Sentry SDK (Django and Celery integrations) with the scrubbers; False without a DSN."""
    if not dsn:
        return False
    import sentry_sdk
    from sentry_sdk.integrations.celery import CeleryIntegration
    from sentry_sdk.integrations.django import DjangoIntegration

    sentry_sdk.init(
        dsn=dsn,
        environment=environment,
        release=release,
        integrations=[DjangoIntegration(), CeleryIntegration()],
        send_default_pii=False,
        # Errors only: no performance data, which would carry URLs and SQL of every request.
        traces_sample_rate=0,
        max_request_body_size="never",
        include_local_variables=False,
        before_send=scrub_event,
        before_breadcrumb=scrub_breadcrumb,
    )
    return True
