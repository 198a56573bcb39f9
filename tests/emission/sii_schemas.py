"""The SII schemas of the DTE tests in any clone: ``DTE_v10.xsd`` always, the boleta XSD when at hand.

``DTE_v10.xsd`` (33, 34, 61) is read from the ``schemas_dir`` folder (``SII_SCHEMAS_DIR`` or
``../shared/sii-schemas``) when it is there, and otherwise from the ``cl-sii`` package, the copy the
product validates with at run time. ``BoletaDTE_wrapper.xsd`` ships with no package: without it a boleta
is still checked by every rule of the pre-flight validation and every other assertion of its test runs;
only the boleta-XSD check is skipped — with one reason, :attr:`SiiSchemas.missing_boleta`, so that
pytest's summary says it in one line — and under CI, which has the folder, it fails instead.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from functools import lru_cache
from pathlib import Path
from typing import Any

import pytest
from lxml import etree

from emission.dte import validate_body
from emission.dte.validation import BOLETA_WRAPPER, BOLETAS, FACTURA_SCHEMA, cl_sii_factura_schema_path
from tests.conftest import REPO_ROOT, _require

# Set on a test that left a boleta-XSD check for lack of the schema: the reason it is reported with.
BOLETA_XSD_MISSED = pytest.StashKey[str]()


@lru_cache(maxsize=4)
def _load(path: str) -> etree.XMLSchema:
    return etree.XMLSchema(etree.parse(path))


def _shown(path: Path) -> str:
    """``path`` as the developer would type it from the repository root."""
    if path.is_absolute() and path.is_relative_to(REPO_ROOT.parent):
        return os.path.relpath(path, REPO_ROOT)
    return str(path)


def _tipo(body: Mapping[str, Any]) -> int:
    return int(body["dte"]["Encabezado"]["IdDoc"]["TipoDTE"])


class SiiSchemas:
    """The schemas of one test; ``item`` (the test) lets :meth:`validate` report a skipped boleta XSD."""

    def __init__(self, folder: Path, item: pytest.Item | None = None) -> None:
        self.folder = folder
        self.item = item

    @property
    def factura_dir(self) -> Path | None:
        """``schemas_dir`` for :func:`validate_body` on 33/34/61: the folder, or ``None`` (cl-sii's copy)."""
        return self.folder if (self.folder / FACTURA_SCHEMA).is_file() else None

    @property
    def factura_path(self) -> Path:
        folder = self.factura_dir
        return folder / FACTURA_SCHEMA if folder is not None else Path(cl_sii_factura_schema_path())

    @property
    def boleta_path(self) -> Path | None:
        path = self.folder / BOLETA_WRAPPER
        return path if path.is_file() else None

    @property
    def missing_boleta(self) -> str:
        """The one skip reason of every boleta-XSD check that could not run."""
        factura = _shown(self.factura_path) if self.factura_dir else "cl-sii's DTE_v10.xsd"
        return (
            f"boleta XSD not found: {_shown(self.folder / BOLETA_WRAPPER)} "
            f"(only the boleta-XSD checks skipped; facturas and notas validated against {factura})"
        )

    def path(self, tipo: int) -> Path:
        """The XSD of ``tipo``; for a boleta without its XSD the test stops here as skipped (CI: failed)."""
        if tipo not in BOLETAS:
            return self.factura_path
        path = self.boleta_path
        _require(path is not None, self.missing_boleta)
        return path

    def xsd(self, tipo: int) -> etree.XMLSchema:
        return _load(str(self.path(tipo)))

    def validate(self, body: Mapping[str, Any]) -> None:
        """:func:`validate_body` with every schema at hand. A boleta without its XSD is checked by the rules
        and the test goes on; once it has passed it is reported as skipped (CI: failed), or right here when
        there is no test to report it."""
        if _tipo(body) not in BOLETAS:
            validate_body(body, schemas_dir=self.factura_dir)
            return
        boleta = self.boleta_path
        validate_body(body, schemas_dir=boleta.parent if boleta else None)
        if boleta is None:
            if self.item is None:
                _require(False, self.missing_boleta)
            self.item.stash[BOLETA_XSD_MISSED] = self.missing_boleta


def report_missed_boleta_xsd(item: pytest.Item) -> None:
    """Called after a test has passed: skip it (CI: fail it) if it left a boleta-XSD check."""
    reason = item.stash.get(BOLETA_XSD_MISSED, None)
    if reason is not None:
        _require(False, reason)
