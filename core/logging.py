"""Structured logging: every record carries the store code and order id of the work in progress.

``log_context(store_code=..., order_id=...)`` sets them for the current thread/task; the
``ContextFilter`` copies them onto records and ``JsonFormatter`` writes one JSON object a line
(production). Secrets are never passed to loggers: see ``redact``. Django itself logs request paths
(``Not Found: /documento/<token>/``, runserver's request lines); ``RedactCapabilitiesFilter``, on the
handler, removes the bearer capabilities from them (``core.redaction``).
"""

from __future__ import annotations

import contextlib
import contextvars
import json
import logging
from collections.abc import Iterator
from datetime import UTC, datetime

from core.redaction import redact_capabilities

_store_code: contextvars.ContextVar[str | None] = contextvars.ContextVar("store_code", default=None)
_order_id: contextvars.ContextVar[str | None] = contextvars.ContextVar("order_id", default=None)


@contextlib.contextmanager
def log_context(*, store_code: str | None = None, order_id: object | None = None) -> Iterator[None]:
    tokens = []
    if store_code is not None:
        tokens.append((_store_code, _store_code.set(store_code)))
    if order_id is not None:
        tokens.append((_order_id, _order_id.set(str(order_id))))
    try:
        yield
    finally:
        for var, token in reversed(tokens):
            var.reset(token)


class ContextFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        if not hasattr(record, "store_code"):
            record.store_code = _store_code.get() or "-"
        if not hasattr(record, "order_id"):
            record.order_id = _order_id.get() or "-"
        return True


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        payload = {
            "ts": datetime.fromtimestamp(record.created, tz=UTC).isoformat(),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "store_code": getattr(record, "store_code", "-"),
            "order_id": getattr(record, "order_id", "-"),
        }
        if record.exc_info:
            # ``exc_text`` first: ``RedactCapabilitiesFilter`` leaves the redacted traceback there.
            payload["exc"] = record.exc_text or self.formatException(record.exc_info)
        return json.dumps(payload, ensure_ascii=False)


_TRACEBACKS = logging.Formatter()


class RedactCapabilitiesFilter(logging.Filter):
    """Redact capability URLs (self-service and PDF link tokens, OAuth ``code``/``state``) from records.

    The message is rendered and stored back without arguments, so every handler after this one (and
    any formatter) sees only the redacted text; the traceback is rendered into ``exc_text``, which
    formatters print instead of formatting ``exc_info`` again.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a malformed record: the handler reports it, it is not ours to drop
            return True
        record.msg = redact_capabilities(message)
        record.args = ()
        if record.exc_info and not record.exc_text:
            record.exc_text = _TRACEBACKS.formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact_capabilities(record.exc_text)
        if record.stack_info:
            record.stack_info = redact_capabilities(record.stack_info)
        return True


def redact(secret: str | None) -> str:
    """Show at most the last 4 characters of a secret (for screens and logs)."""
    if not secret:
        return ""
    return "•" * 4 + secret[-4:] if len(secret) > 8 else "•" * 4
