"""``python manage.py dte_preview ORDER [--document boleta|factura] [--receptor R] [--store-settings S]``.

Prints the body that would be POSTed to OpenFactura's ``/v2/dte/document`` for a Jumpseller order
(exactly one JSON document on stdout, exit 0), or the Spanish refusal on stderr with exit 2 and nothing
on stdout. It touches no database and no network: it parses its files and calls the pure DTE engine.

``--store-settings`` (``--settings`` is Django's own option): JSON ``{"organization": <GET
/v2/dte/organization>, "acteco", "sucursal", "untaxed_items": "exempt"|"taxed"}``; defaults are
OpenFactura's demo organization, its principal activity, the head office and ``exempt``.
"""

from __future__ import annotations

import json
import sys
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from django.core.management.base import BaseCommand

from emission.dte import DteRefusal, Receptor, StoreDteSettings, build_document

SANTIAGO = ZoneInfo("America/Santiago")
EXIT_REFUSED = 2


class _Refused(Exception):
    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def _read_json(path: str, what: str) -> Any:
    try:
        text = Path(path).read_text(encoding="utf-8-sig")
    except OSError as error:
        raise _Refused(f"No se pudo leer {what} ({path}): {error.strerror or error}.") from None
    try:
        return json.loads(text)
    except json.JSONDecodeError as error:
        raise _Refused(f"{what.capitalize()} ({path}) no es JSON válido: {error}.") from None


class Command(BaseCommand):
    help = "Muestra el cuerpo que se enviaría a OpenFactura para un pedido de Jumpseller (sin enviarlo)."
    requires_system_checks: list[str] = []  # no database, no checks: a pure preview
    requires_migrations_checks = False

    def add_arguments(self, parser) -> None:
        parser.add_argument("order", metavar="ORDER", help='archivo JSON con el pedido {"order": {...}}')
        parser.add_argument("--document", choices=("boleta", "factura"), default="boleta")
        parser.add_argument("--receptor", metavar="RECEPTOR", help="archivo JSON con los datos del receptor")
        parser.add_argument(
            "--store-settings", dest="store_settings", metavar="SETTINGS", help="archivo JSON de la tienda"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        for stream in (sys.stdout, sys.stderr):
            if hasattr(stream, "reconfigure"):
                stream.reconfigure(encoding="utf-8")
        try:
            order = _read_json(options["order"], "el pedido")
            receptor = None
            if options.get("receptor"):
                data = _read_json(options["receptor"], "el receptor")
                if not isinstance(data, dict):
                    raise _Refused("El archivo del receptor debe ser un objeto JSON.")
                receptor = Receptor.from_json(data)
            if options.get("store_settings"):
                settings = StoreDteSettings.from_json(
                    _read_json(options["store_settings"], "la configuración")
                )
            else:
                settings = StoreDteSettings.demo()
            built = build_document(
                order,
                document=options["document"],
                settings=settings,
                receptor=receptor,
                today=datetime.now(SANTIAGO).date(),
            )
        except (DteRefusal, _Refused) as refusal:
            self.stderr.write(refusal.message)
            sys.exit(EXIT_REFUSED)
        self.stdout.write(json.dumps(built.body, ensure_ascii=False))
