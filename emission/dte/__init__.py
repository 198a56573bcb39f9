"""The DTE engine: a paid Jumpseller order → the OpenFactura body of its boleta, factura or nota.

Pure code (no Django, no database, no HTTP; the only I/O is reading the SII schema files). The rules it
implements are in ``../shared/reference/dte-semantics.md``; every module cites what it follows.

Public API::

    settings = StoreDteSettings(organization=..., acteco=None, sucursal=None, untaxed_items="exempt")
    built = build_document(order_payload, document="boleta", settings=settings, today=today)
    built.body, built.tipo, built.totals, built.difference, built.warnings
    build_nota_credito_anula(original_body, original_tipo=39, original_folio=..., original_fecha=...,
                             settings=settings, today=today)
    build_nota_credito_parcial(..., lines=[(1, Decimal(1))] or amount=5000, razon="Devolución")
    validate_body(body)  # raises DteRefusal(code="schema_invalid")

After earlier notas de crédito (dte-semantics.md §4, "Boleta → factura after earlier notas")::

    earlier = [EarlierNota.from_totals(nota_totales, folio=...), ...]
    remainder = sale_remainder(boleta_totales, earlier)       # raises NothingRemains
    build_nota_credito_anula(boleta_body, ..., earlier_notas=earlier)   # credits exactly the remainder
    build_document(order_payload, document="factura", ..., remainder=remainder)  # documents exactly it

Every refusal is a :class:`DteRefusal` with a stable ``code`` and a Spanish ``message``.
"""

from .builder import build_document
from .errors import (
    BoletaOver135UF,
    CurrencyNotSupported,
    DteRefusal,
    EmisorInvalid,
    NotaInvalid,
    OrderInvalid,
    ReceptorMissing,
    ReceptorRutInvalid,
    SchemaInvalid,
    SettingsInvalid,
    TooManyLines,
    TotalsMismatch,
    UnsupportedTax,
)
from .notas import build_nota_credito_anula, build_nota_credito_parcial
from .parties import CONSUMIDOR_FINAL_RUT, Receptor
from .payload import BuiltDocument
from .remainder import EarlierNota, NothingRemains, SaleRemainder, sale_remainder
from .store_settings import DEMO_ORGANIZATION, StoreDteSettings
from .validation import validate_body
from .xml import dte_to_string, dte_to_xml

__all__ = [
    "CONSUMIDOR_FINAL_RUT",
    "DEMO_ORGANIZATION",
    "BoletaOver135UF",
    "BuiltDocument",
    "CurrencyNotSupported",
    "DteRefusal",
    "EarlierNota",
    "EmisorInvalid",
    "NotaInvalid",
    "NothingRemains",
    "OrderInvalid",
    "Receptor",
    "ReceptorMissing",
    "ReceptorRutInvalid",
    "SaleRemainder",
    "SchemaInvalid",
    "SettingsInvalid",
    "StoreDteSettings",
    "TooManyLines",
    "TotalsMismatch",
    "UnsupportedTax",
    "build_document",
    "build_nota_credito_anula",
    "build_nota_credito_parcial",
    "dte_to_string",
    "dte_to_xml",
    "sale_remainder",
    "validate_body",
]
