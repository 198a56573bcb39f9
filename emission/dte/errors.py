"""Typed refusals of the DTE engine.

A refusal means "this order must not become a document as it is": nothing is sent to OpenFactura, the
order is recorded as "requiere revisión" and the merchant reads :attr:`DteRefusal.message`, which says in
Spanish what to fix (dte-semantics.md §6). :attr:`DteRefusal.code` is a short stable slug for code and
logs; the subclasses let callers catch one kind.
"""

from __future__ import annotations


class DteRefusal(Exception):
    """Base refusal: ``code`` (stable slug), ``message`` (Spanish, for the merchant), optional ``field``."""

    code: str = "refused"

    def __init__(
        self,
        message: str,
        *,
        code: str | None = None,
        field: str | None = None,
        details: tuple[str, ...] = (),
    ) -> None:
        super().__init__(message)
        if code is not None:
            self.code = code
        self.message = message
        self.field = field
        self.details = details

    def __str__(self) -> str:
        return self.message

    def __repr__(self) -> str:
        return f"{type(self).__name__}(code={self.code!r}, message={self.message!r})"


class CurrencyNotSupported(DteRefusal):
    """dte-semantics.md §1: only CLP orders become documents."""

    code = "currency"


class UnsupportedTax(DteRefusal):
    """dte-semantics.md §2: a fixed tax, a rate other than 19 % or a tax besides IVA."""

    code = "unsupported_tax"


class ReceptorMissing(DteRefusal):
    """dte-semantics.md §5: a factura needs RUT, razón social, giro, dirección and comuna."""

    code = "receptor_missing"


class ReceptorRutInvalid(DteRefusal):
    """The buyer's RUT is malformed or its check digit (módulo 11) is wrong (dte-rules.md §3)."""

    code = "receptor_rut_invalid"


class TotalsMismatch(DteRefusal):
    """The document would not add up to what the customer paid (dte-semantics.md §4, §6)."""

    code = "totals_mismatch"


class TooManyLines(DteRefusal):
    """More detail lines than the SII allows: 60 on a factura, 1000 on a boleta (dte-rules.md §2.4)."""

    code = "too_many_lines"


class BoletaOver135UF(DteRefusal):
    """A boleta over 135 UF needs the real buyer (Ley 21.713; dte-rules.md §3)."""

    code = "boleta_over_135_uf"


class SchemaInvalid(DteRefusal):
    """The pre-flight check (SII schema and the rules it leaves out) failed; ``details`` lists why."""

    code = "schema_invalid"


class OrderInvalid(DteRefusal):
    """The order itself cannot be read (no lines, negative amounts, non-numeric values...)."""

    code = "order_invalid"


class EmisorInvalid(DteRefusal):
    """The issuer data from OpenFactura (``GET /v2/dte/organization``) lacks what the SII requires."""

    code = "emisor_invalid"


class SettingsInvalid(DteRefusal):
    """The store's DTE settings are not usable (unknown option values)."""

    code = "settings_invalid"


class NotaInvalid(DteRefusal):
    """A nota de crédito request that does not match its original document."""

    code = "nota_invalid"
