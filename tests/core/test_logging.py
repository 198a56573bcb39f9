"""Structured logging carries the store code and order id of the work in progress."""

import json
import logging

from core.logging import ContextFilter, JsonFormatter, log_context, redact


def _record(message="emitida"):
    record = logging.LogRecord("emission", logging.INFO, __file__, 1, message, None, None)
    ContextFilter().filter(record)
    return record


def test_json_lines_carry_context():
    with log_context(store_code="demo", order_id=1001):
        line = JsonFormatter().format(_record())
    payload = json.loads(line)
    assert payload["store_code"] == "demo"
    assert payload["order_id"] == "1001"
    assert payload["message"] == "emitida"
    assert payload["level"] == "INFO"


def test_context_is_reset_after_the_block():
    with log_context(store_code="demo"):
        pass
    assert json.loads(JsonFormatter().format(_record()))["store_code"] == "-"


def test_redact_keeps_only_last_four():
    assert redact("928e15a2d14d4a6292345f04960f4bd3") == "••••4bd3"
    assert redact("short") == "••••"
    assert redact("") == ""
