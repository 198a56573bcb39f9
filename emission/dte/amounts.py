"""Detail lines, global discounts and totals of a document (dte-semantics.md §3–§4).

Boleta 39/41 — gross lines, no ``IndMntNeto``:
``MontoItem = round(QtyItem × PrcItem) − DescuentoMonto``; ``T`` = Σ taxed ``MontoItem`` − taxed global
discounts; ``MntNeto = round(T / 1.19)``; ``IVA = T − MntNeto`` (never ``round(MntNeto × 0.19)``, which
drifts a peso in about one amount in six: dte-rules.md §2.3, V17/V18); ``MntExe`` = Σ exempt − exempt
discounts; a 41 has no ``MntNeto``/``IVA``.

Factura 33/34 — the choice, made here and only here: **net lines** (no ``IdDoc.MntBruto``), so that
``IVA == round(MntNeto × 0.19)`` holds exactly, as the SII computes it and OpenFactura re-checks it
(openfactura-api.md §2.3). Gross (IVA-included) taxed lines: the taxed gross after discounts ``T`` gives
``MntNeto = round(T / 1.19)``; that net is spread over the lines by largest remainder (deterministic)
so that Σ net ``MontoItem`` − net global discount == ``MntNeto``, and each line gets a ``PrcItem`` of at
most 6 decimals with ``round(QtyItem × PrcItem) − DescuentoMonto == MontoItem`` exactly. Lines whose
Jumpseller price excludes IVA keep their exact net ``N``. ``MntTotal`` then lands within 1 peso of the
paid total (``round(T/1.19)`` is always the best net for ``T``; checked for every T < 200 000), or
within half a peso per net-priced line (Jumpseller rounds IVA per item, the SII on the total).

Order-level discount (dte-semantics.md §1): ``DscRcgGlobal`` D/$, on the taxed lines first; what exceeds
the taxed gross goes to the exempt lines with ``IndExeDR`` 1 (one DR line per class, dte-rules.md
§2.2). On a factura the taxed DR carries its net value. When discounts leave no taxed amount the
document is the exempt type (41/34): every line is ``IndExe`` 1 and every DR ``IndExeDR`` 1 (a DR without
it would target taxed items, which an exempt document has none of: dte-rules.md §6 "Known quirk").
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

from .classify import OrderLine
from .errors import OrderInvalid
from .money import (
    IVA_FACTOR,
    allocate,
    clp,
    gross_of_net,
    half_up,
    iva_of_net,
    net_of_gross,
    price_for,
)

BOLETA, BOLETA_EXENTA, FACTURA, FACTURA_EXENTA, NOTA_CREDITO = 39, 41, 33, 34, 61
GLOSA_DESCUENTO = "Descuento"


@dataclass(frozen=True, slots=True)
class DetailLine:
    """One ``Detalle`` entry. ``price`` None = free item (``PrcItem`` omitted, ``MontoItem`` 0)."""

    name: str
    qty: Decimal | None
    price: Decimal | None
    discount: int  # DescuentoMonto; 0 = omitted
    amount: int  # MontoItem
    exempt: bool

    def reproduces_amount(self) -> bool:
        """``MontoItem == round(QtyItem × PrcItem) − DescuentoMonto`` (dte-semantics.md §4)."""
        if self.price is None:
            return self.amount == 0
        return half_up((self.qty or Decimal(1)) * self.price) - self.discount == self.amount


@dataclass(frozen=True, slots=True)
class GlobalDiscount:
    """One ``DscRcgGlobal`` entry: always ``TpoMov`` D and ``TpoValor`` $ (pesos)."""

    value: int
    exempt: bool
    glosa: str = GLOSA_DESCUENTO


@dataclass(frozen=True, slots=True)
class Totals:
    neto: int | None
    exe: int | None
    iva: int | None
    total: int

    def as_dict(self) -> dict[str, int | None]:
        return {"MntNeto": self.neto, "MntExe": self.exe, "IVA": self.iva, "MntTotal": self.total}


@dataclass(frozen=True, slots=True)
class DocumentAmounts:
    tipo: int
    lines: tuple[DetailLine, ...]
    discounts: tuple[GlobalDiscount, ...]
    totals: Totals

    @property
    def exempt_document(self) -> bool:
        return self.tipo in (BOLETA_EXENTA, FACTURA_EXENTA)


@dataclass(frozen=True, slots=True)
class TaxedItem:
    """A taxed line to express in net form (facturas, and notas de crédito that annul a boleta).

    ``gross`` is what the customer paid for it after its own discount. A line priced without IVA also
    carries its exact Jumpseller net (``net``, ``net_price``, ``net_discount``), which is kept as is.
    """

    name: str
    qty: Decimal
    gross: int
    gross_discount: int = 0
    net: int | None = None
    net_price: Decimal | None = None
    net_discount: int = 0


def split_order_discount(lines: Sequence[OrderLine], order_discount: int) -> tuple[int, int]:
    """``(taxed part, exempt part)`` of the order-level discount: taxed lines first."""
    taxed = sum(line.gross for line in lines if line.taxed)
    exempt = sum(line.gross for line in lines if not line.taxed)
    on_taxed = min(order_discount, taxed)
    on_exempt = order_discount - on_taxed
    if on_exempt > exempt:
        raise OrderInvalid(
            f"El descuento del pedido ({clp(order_discount)}) supera el total de sus líneas "
            f"({clp(taxed + exempt)}): revisa los descuentos del pedido en Jumpseller."
        )
    return on_taxed, on_exempt


def gross_detail(line: OrderLine, *, exempt: bool) -> DetailLine:
    """The line as a boleta (or exempt document) shows it: what the customer paid, IVA included."""
    if line.net_priced:
        # Jumpseller added IVA on top: show the gross it charged, round(N × 1.19), with the line
        # discount grossed up too; the unit price is the net price × 1.19 when that reproduces it.
        discount = gross_of_net(line.discount) if line.discount else 0
        before = line.gross + discount
        preferred: Decimal | None = line.price * IVA_FACTOR
    else:
        discount = line.discount
        before = line.listed
        preferred = line.price
    price = price_for(line.qty, before, preferred)
    return DetailLine(
        name=line.name,
        qty=line.qty,
        price=price,
        discount=discount if price is not None else 0,
        amount=line.gross,
        exempt=exempt,
    )


def _discounts(on_taxed: int, on_exempt: int) -> tuple[GlobalDiscount, ...]:
    entries = []
    if on_taxed > 0:
        entries.append(GlobalDiscount(value=on_taxed, exempt=False))
    if on_exempt > 0:
        entries.append(GlobalDiscount(value=on_exempt, exempt=True))
    return tuple(entries)


def exempt_document(lines: Sequence[OrderLine], order_discount: int, *, tipo: int) -> DocumentAmounts:
    """41 or 34: no taxed amount is left, every line and discount is exempt."""
    detail = tuple(gross_detail(line, exempt=True) for line in lines)
    exe = sum(line.amount for line in detail) - order_discount
    if exe < 0:
        raise OrderInvalid(
            "El descuento del pedido supera el total de sus líneas: revisa los descuentos del pedido en "
            "Jumpseller."
        )
    discounts = (GlobalDiscount(value=order_discount, exempt=True),) if order_discount > 0 else ()
    return DocumentAmounts(
        tipo=tipo, lines=detail, discounts=discounts, totals=Totals(neto=None, exe=exe, iva=None, total=exe)
    )


def boleta_amounts(lines: Sequence[OrderLine], order_discount: int) -> DocumentAmounts:
    on_taxed, on_exempt = split_order_discount(lines, order_discount)
    taxed_gross = sum(line.gross for line in lines if line.taxed) - on_taxed
    if taxed_gross <= 0:
        return exempt_document(lines, order_discount, tipo=BOLETA_EXENTA)
    detail = tuple(gross_detail(line, exempt=not line.taxed) for line in lines)
    exe = sum(line.gross for line in lines if not line.taxed) - on_exempt
    neto = net_of_gross(taxed_gross)
    totals = Totals(neto=neto, exe=exe or None, iva=taxed_gross - neto, total=taxed_gross + exe)
    return DocumentAmounts(
        tipo=BOLETA, lines=detail, discounts=_discounts(on_taxed, on_exempt), totals=totals
    )


def net_lines(
    items: Sequence[TaxedItem], *, discount_gross: int, target: int | None = None
) -> tuple[list[DetailLine], int, int]:
    """Taxed lines in net form: ``(lines in the same order, net global discount, MntNeto)``.

    ``MntNeto = round(T / 1.19)`` with ``T`` = Σ gross − ``discount_gross`` (or ``target`` when the caller
    chose a neighbouring net, see :func:`factura_amounts`); exact-net items keep their net; the rest of
    the net is spread over the other items in proportion to their gross. Invariant: Σ ``MontoItem`` −
    net discount == ``MntNeto`` (unless only exact-net items exist and there is no discount: then
    ``MntNeto`` is their sum, and the paid total may differ by half a peso per line).
    """
    taxed_gross = sum(item.gross for item in items) - discount_gross
    if target is None:
        target = net_of_gross(taxed_gross)
    fixed = sum(item.net for item in items if item.net is not None)
    spread = [index for index, item in enumerate(items) if item.net is None and item.gross > 0]
    share = 0
    if spread:
        net_discount = net_of_gross(discount_gross) if discount_gross > 0 else 0
        share = target - fixed + net_discount
        if share < 0:  # exact-net lines already exceed the target: the discount absorbs the rest
            share, net_discount = 0, fixed - target
    elif discount_gross > 0:
        net_discount = max(fixed - target, 0)
    else:
        net_discount = 0
    shares = dict(zip(spread, allocate(share, [items[i].gross for i in spread]), strict=True))

    result = []
    for index, item in enumerate(items):
        if item.net is not None:
            before = item.net + item.net_discount
            price = price_for(item.qty, before, item.net_price)
            discount, amount = item.net_discount, item.net
        else:
            amount = shares.get(index, 0)
            discount = net_of_gross(item.gross_discount) if item.gross_discount > 0 else 0
            price = price_for(item.qty, amount + discount)
        result.append(
            DetailLine(
                name=item.name,
                qty=item.qty,
                price=price,
                discount=discount if price is not None else 0,
                amount=amount,
                exempt=False,
            )
        )
    neto = sum(line.amount for line in result) - net_discount
    return result, net_discount, neto


def taxed_item(line: OrderLine, *, exact_net: bool = True) -> TaxedItem:
    """The line as a net-form item; ``exact_net`` False spreads a net-priced line like a gross one."""
    if line.net_priced and not exact_net:
        discount = gross_of_net(line.discount) if line.discount else 0
        return TaxedItem(name=line.name, qty=line.qty, gross=line.gross, gross_discount=discount)
    if line.net_priced:
        return TaxedItem(
            name=line.name,
            qty=line.qty,
            gross=line.gross,
            net=line.base,
            net_price=line.price,
            net_discount=line.discount,
        )
    return TaxedItem(name=line.name, qty=line.qty, gross=line.gross, gross_discount=line.discount)


def _factura_net_target(taxed_gross: int, exe: int, paid_total: int | None) -> int:
    """The ``MntNeto`` a factura aims at: ``round(T / 1.19)``, or a neighbour of it when that lands
    nearer the paid total.

    Not every gross ``T`` has a net whose ``net + round(net × 0.19)`` is ``T`` exactly; then two nets
    are one peso off on either side. Among the nets whose total stays within 1 peso of the lines' gross
    (dte-semantics.md §4), the one closest to ``order.total`` is taken, so that an order whose total
    Jumpseller rounded one peso away still gets a factura within 1 peso of what was paid.
    """
    base = net_of_gross(taxed_gross)
    if paid_total is None:
        return base

    def total(net: int) -> int:
        return net + iva_of_net(net) + exe

    candidates = [net for net in (base, base - 1, base + 1) if net > 0]
    candidates = [net for net in candidates if abs(total(net) - (taxed_gross + exe)) <= 1] or [base]
    return min(candidates, key=lambda net: (abs(total(net) - paid_total), abs(net - base)))


def factura_amounts(
    lines: Sequence[OrderLine],
    order_discount: int,
    *,
    paid_total: int | None = None,
    net_target: int | None = None,
    exact_net: bool = True,
) -> DocumentAmounts:
    """33 (34 when nothing taxed is left). ``net_target``: the ``MntNeto`` the taxed lines aim at when the
    caller fixes it (a factura after earlier notas, :mod:`.remainder`); else :func:`_factura_net_target`.
    ``exact_net`` False: lines priced without IVA are spread too, so that any target is reached."""
    on_taxed, on_exempt = split_order_discount(lines, order_discount)
    taxed_gross = sum(line.gross for line in lines if line.taxed) - on_taxed
    if taxed_gross <= 0:
        return exempt_document(lines, order_discount, tipo=FACTURA_EXENTA)
    taxed_positions = [index for index, line in enumerate(lines) if line.taxed]
    exe_gross = sum(line.gross for line in lines if not line.taxed) - on_exempt
    converted, net_discount, neto = net_lines(
        [taxed_item(lines[index], exact_net=exact_net) for index in taxed_positions],
        discount_gross=on_taxed,
        target=net_target
        if net_target is not None
        else _factura_net_target(taxed_gross, exe_gross, paid_total),
    )
    by_position = dict(zip(taxed_positions, converted, strict=True))
    detail = tuple(
        by_position[index] if line.taxed else gross_detail(line, exempt=True)
        for index, line in enumerate(lines)
    )
    exe = sum(line.gross for line in lines if not line.taxed) - on_exempt
    iva = iva_of_net(neto)
    totals = Totals(neto=neto, exe=exe or None, iva=iva, total=neto + iva + exe)
    return DocumentAmounts(
        tipo=FACTURA, lines=detail, discounts=_discounts(net_discount, on_exempt), totals=totals
    )


def net_priced_tolerance(lines: Sequence[OrderLine]) -> int:
    """Pesos a factura may differ from the paid total (dte-semantics.md §4).

    1 peso, or half a peso per taxed line priced without IVA, rounded up, when that is more:
    Jumpseller rounds IVA per line (each ≤ 0.5 off) and the SII on the total (≤ 0.5 off), so
    ``|difference| ≤ 0.5 × (n + 1)``, i.e. at most ``ceil(n / 2)`` whole pesos.
    """
    count = sum(1 for line in lines if line.net_priced)
    return max(1, (count + 1) // 2)
