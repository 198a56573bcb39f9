"""Structured logging: every record carries the store code and order id of the work in progress.

``log_context(store_code=..., order_id=...)`` sets them for the current thread/task; the
``ContextFilter`` copies them onto records and ``JsonFormatter`` writes one JSON object a line
(production). Secrets are never passed to loggers: see ``redact``.
"""

from __future__ import annotations

import contextlib
import contextvars
import json
import logging
from collections.abc import Iterator
from datetime import UTC, datetime

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
            payload["exc"] = self.formatException(record.exc_info)
        return json.dumps(payload, ensure_ascii=False)


def redact(secret: str | None) -> str:
    """Show at most the last 4 characters of a secret (for screens and logs)."""
    if not secret:
        return ""
    return "•" * 4 + secret[-4:] if len(secret) > 8 else "•" * 4
