"""Gunicorn logger that keeps bearer capabilities out of the access and error logs.

Installed by ``logger_class = "core.gunicorn_logging.RedactingLogger"`` in gunicorn.conf.py. Every
string atom of the access log (request line, path, query string, ``Referer``, any ``{header}i`` or
``{variable}e``) goes through ``core.redaction.redact_capabilities``, whatever ``access_log_format``
picks; the error log (``Error handling request /documento/…``) goes through the same redaction. It must
not import Django: gunicorn's master process loads it before the application.
"""

from __future__ import annotations

import datetime
from typing import Any

from gunicorn.glogging import Logger

from core.logging import RedactCapabilitiesFilter
from core.redaction import redact_capabilities

# One instance, so that a configuration reload (which runs ``setup`` again) does not stack copies.
_ERROR_LOG_FILTER = RedactCapabilitiesFilter()


class RedactingLogger(Logger):
    def setup(self, cfg: Any) -> None:
        super().setup(cfg)
        self.error_log.addFilter(_ERROR_LOG_FILTER)

    def atoms(
        self, resp: Any, req: Any, environ: dict[str, Any], request_time: datetime.timedelta
    ) -> dict[str, Any]:
        atoms = super().atoms(resp, req, environ, request_time)
        return {
            key: redact_capabilities(value) if isinstance(value, str) else value
            for key, value in atoms.items()
        }
