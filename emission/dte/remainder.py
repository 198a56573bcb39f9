"""What remains of a sale after earlier notas de crédito, and the two documents that cover exactly that
(dte-semantics.md §4, "Boleta → factura after earlier notas").

What remains is counted per tax class in pesos the customer paid: taxed ``R_t`` = (original ``MntNeto`` +
``IVA``) − Σ earlier notas' (``MntNeto`` + ``IVA``), exempt ``R_e`` = original ``MntExe`` − Σ their
``MntExe`` (a class credited past zero by a peso of rounding passes the excess to the other class, so the
sum is always original ``MntTotal`` − Σ notas' ``MntTotal``). Nothing left → :class:`NothingRemains`.

Both documents are net-form factura-family documents (the engine's one choice, :mod:`.amounts`), so the
taxed remainder is carried by one net ``N``: the largest net whose ``N + round(N × 0.19)`` does not exceed
``R_t`` (never more than what remains; it is ``R_t`` exactly, or ``R_t − 1`` for the one gross amount in
about six that no net reaches). **How the annulling nota and the factura agree to the peso**: both take
their ``Totales`` from the same :class:`SaleRemainder` (``MntNeto`` = ``N``, ``IVA`` = ``round(N × 0.19)``,
``MntExe`` = ``R_e``); each shows the original lines, its own discounts, and then the earlier notas as
global discounts (:func:`credited_discounts`: ``TpoMov`` D, ``TpoValor`` $, the taxed one in net, the
exempt one with ``IndExeDR`` 1) whose values are *whatever the lines leave above the remainder*, so that
lines − discounts = the remainder by construction. The lines are aimed at ``N`` + Σ notas' ``MntNeto``,
which makes the taxed discount exactly the notas' net (unless lines priced without IVA keep their own net,
and then the discount absorbs the peso).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from .amounts import (
    FACTURA_EXENTA,
    DocumentAmounts,
    GlobalDiscount,
    Totals,
    exempt_document,
    factura_amounts,
)
from .classify import OrderLine
from .errors import DteRefusal, NotaInvalid
from .money import clp, iva_of_net, net_of_gross

GLOSA_DR_MAX = 45  # DTE_v10.xsd DscRcgGlobal/GlosaDR maxLength 45
GLOSA_NOTAS = "Notas de crédito anteriores"


class NothingRemains(DteRefusal):
    """Earlier notas de crédito already credited the whole sale: nothing to annul or invoice."""

    code = "nothing_remains"


@dataclass(frozen=True, slots=True)
class EarlierNota:
    """A nota de crédito already issued (or on its way) against the original: its folio and ``Totales``."""

    folio: int | None
    neto: int = 0
    iva: int = 0
    exe: int = 0

    @property
    def taxed(self) -> int:
        return self.neto + self.iva

    @property
    def total(self) -> int:
        return self.neto + self.iva + self.exe

    @classmethod
    def from_totals(cls, totals: Mapping[str, Any], *, folio: int | None = None) -> EarlierNota:
        """From a nota's ``Totales`` (``MntNeto``, ``IVA``, ``MntExe``; absent = 0)."""
        return cls(
            folio=folio,
            neto=_pesos(totals.get("MntNeto")),
            iva=_pesos(totals.get("IVA")),
            exe=_pesos(totals.get("MntExe")),
        )


def _pesos(value: Any) -> int:
    if value is None:
        return 0
    try:
        number = Decimal(str(value))
    except InvalidOperation:
        number = Decimal("NaN")
    if not number.is_finite() or number != number.to_integral_value() or number < 0:
        raise NotaInvalid(f"Una nota de crédito anterior tiene un monto no válido: {value!r}.")
    return int(number)


def net_within(gross: int) -> int:
    """The largest net ``N`` with ``N + round(N × 0.19) ≤ gross`` (0 for nothing)."""
    if gross <= 0:
        return 0
    net = net_of_gross(gross)
    while net > 0 and net + iva_of_net(net) > gross:
        net -= 1
    return net


@dataclass(frozen=True, slots=True)
class SaleRemainder:
    """What remains of the sale (``taxed`` IVA included, ``exempt``) and the net both documents carry."""

    taxed: int
    exempt: int
    neto: int
    credited_net: int  # Σ earlier notas' MntNeto
    folios: tuple[int | None, ...]  # None: a nota not emitted yet

    @property
    def expected(self) -> int:
        """Original ``MntTotal`` − Σ earlier notas' ``MntTotal``."""
        return self.taxed + self.exempt

    @property
    def totals(self) -> Totals:
        """The ``Totales`` of the annulling nota and of the factura alike."""
        if self.neto <= 0:
            return Totals(neto=None, exe=self.exempt, iva=None, total=self.exempt)
        iva = iva_of_net(self.neto)
        return Totals(neto=self.neto, exe=self.exempt or None, iva=iva, total=self.neto + iva + self.exempt)

    @property
    def glosa(self) -> str:
        """``GlosaDR`` of the notas' discounts: their folios, when all are known and short enough."""
        if not self.folios or None in self.folios:
            return GLOSA_NOTAS
        prefix = "Nota de crédito N°" if len(self.folios) == 1 else "Notas de crédito N°"
        text = f"{prefix} {', '.join(str(folio) for folio in self.folios)}"
        return text if len(text) <= GLOSA_DR_MAX else GLOSA_NOTAS


def sale_remainder(
    original_totals: Mapping[str, Any], notas: Sequence[EarlierNota], *, label: str = "venta"
) -> SaleRemainder:
    """What ``notas`` leave of the document whose ``Totales`` are ``original_totals``, per tax class.

    Raises :class:`NothingRemains` (Spanish message naming ``label``) when nothing is left."""
    original = EarlierNota.from_totals(original_totals)
    taxed = original.taxed - sum(nota.taxed for nota in notas)
    exempt = original.exe - sum(nota.exe for nota in notas)
    if taxed < 0:
        taxed, exempt = 0, exempt + taxed
    if exempt < 0:
        taxed, exempt = taxed + exempt, 0
    if taxed + exempt <= 0:
        credited = sum(nota.total for nota in notas)
        raise NothingRemains(
            f"La {label} ({clp(original.total)}) ya fue devuelta por completo con notas de crédito "
            f"({clp(credited)}): no queda monto que anular ni facturar.",
            field="MntTotal",
        )
    return SaleRemainder(
        taxed=max(taxed, 0),
        exempt=max(exempt, 0),
        neto=net_within(max(taxed, 0)),
        credited_net=sum(nota.neto for nota in notas),
        folios=tuple(nota.folio or None for nota in notas),
    )


def lines_target(remainder: SaleRemainder) -> int:
    """The net the taxed lines (after the document's own discounts) aim at: ``N`` + Σ notas' net."""
    return remainder.neto + remainder.credited_net if remainder.neto > 0 else 0


def credited_discounts(
    *, taxed_before: int, exempt_before: int, remainder: SaleRemainder, exempt_document: bool = False
) -> tuple[GlobalDiscount, ...]:
    """The earlier notas as ``DscRcgGlobal`` entries: what the lines (after the document's own discounts:
    ``taxed_before`` net, ``exempt_before``) leave above the remainder, per class. On an exempt document
    every amount is exempt (``exempt_before`` holds them all)."""
    if exempt_document:
        taxed_value, exempt_value = 0, exempt_before - remainder.exempt
    else:
        taxed_value = taxed_before - max(remainder.neto, 0)
        exempt_value = exempt_before - remainder.exempt
    if taxed_value < 0 or exempt_value < 0:
        raise NotaInvalid(
            "Las líneas del documento no alcanzan a cubrir lo que queda de la venta: revisa el pedido y sus "
            "notas de crédito."
        )
    entries = []
    if taxed_value > 0:
        entries.append(GlobalDiscount(value=taxed_value, exempt=False, glosa=remainder.glosa))
    if exempt_value > 0:
        entries.append(GlobalDiscount(value=exempt_value, exempt=True, glosa=remainder.glosa))
    return tuple(entries)


def factura_remainder_amounts(
    lines: Sequence[OrderLine], order_discount: int, remainder: SaleRemainder
) -> DocumentAmounts:
    """The factura of what remains: the order's lines and discount as a factura of the whole sale would
    show them (taxed lines aimed at :func:`lines_target`), then the earlier notas as global discounts and
    the remainder's ``Totales``. Nothing taxed left → a 34 whose every amount is exempt."""
    if remainder.neto <= 0:
        base = exempt_document(lines, order_discount, tipo=FACTURA_EXENTA)
        credited = credited_discounts(
            taxed_before=0, exempt_before=base.totals.exe or 0, remainder=remainder, exempt_document=True
        )
    else:
        base = factura_amounts(lines, order_discount, net_target=lines_target(remainder))
        if (base.totals.neto or 0) < remainder.neto:
            # Lines priced without IVA keep their exact net and may fall a peso short of the target
            # when the notas credited only pesos: spread them like the others instead.
            base = factura_amounts(lines, order_discount, net_target=lines_target(remainder), exact_net=False)
        if base.exempt_document:
            raise NotaInvalid("El pedido ya no tiene montos afectos que facturar.")
        credited = credited_discounts(
            taxed_before=base.totals.neto or 0, exempt_before=base.totals.exe or 0, remainder=remainder
        )
    return DocumentAmounts(
        tipo=base.tipo, lines=base.lines, discounts=base.discounts + credited, totals=remainder.totals
    )
