"""Money arithmetic for DTEs: ``Decimal`` with half-up rounding, never floats, never ``round()``.

dte-semantics.md (preamble): all money is whole CLP and every rounding is half-up on ``Decimal``; Python's
``round()`` is banker's rounding (``round(2.5) == 2``) and is never used for money (dte-rules.md §2.1).

Sources of the constants:

* ``IVA_PERCENT`` 19 — the rate in force (DL 825 art. 14; dte-rules.md §2.1 "TasaIVA ... 19 %").
* ``MAX_DECIMALS`` 6 — ``QtyItem``/``PrcItem`` are ``Dec12_6Type`` (``fractionDigits`` 6,
  ``minInclusive`` 0.000001) in SiiTypes_v10.xsd and ``Dec5Type`` (same facets) in EnvioBOLETA_v11.xsd.
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import ROUND_HALF_UP, Decimal

IVA_PERCENT = 19
IVA_RATE = Decimal("0.19")
IVA_FACTOR = Decimal("1.19")
MAX_DECIMALS = 6
MICRO = Decimal("0.000001")
# Dec12_6Type maxInclusive 999999999999.999999: a quantity this large could not carry a 6-decimal price
# that reproduces every integer amount (the price grid must be finer than one peso per unit).
MAX_QTY = Decimal(1_000_000)

_UNIT = Decimal(1)


def half_up(value: Decimal | int) -> int:
    """Round to whole pesos, ties away from zero (``ROUND_HALF_UP``)."""
    if isinstance(value, int):
        return value
    return int(value.quantize(_UNIT, rounding=ROUND_HALF_UP))


def net_of_gross(gross: int) -> int:
    """``round(T / 1.19)``: the net inside a gross (IVA-included) amount (dte-semantics.md §4)."""
    return half_up(Decimal(gross) / IVA_FACTOR)


def iva_of_net(net: int) -> int:
    """``round(MntNeto × 0.19)``, on the total, never per line (dte-rules.md §2.2)."""
    return half_up(Decimal(net) * IVA_RATE)


def gross_of_net(net: Decimal | int) -> int:
    """``round(N × 1.19)``: Jumpseller adds IVA on top item by item (jumpseller-api.md §4.3)."""
    return half_up(Decimal(net) * IVA_FACTOR)


def decimals_of(value: Decimal) -> int:
    """Number of significant decimals (``1.500`` → 1, ``2`` → 0)."""
    exponent = value.as_tuple().exponent
    if isinstance(exponent, int) and exponent >= 0:
        return 0
    exponent = value.normalize().as_tuple().exponent
    return max(0, -exponent) if isinstance(exponent, int) else 0


def quantize6(value: Decimal) -> Decimal:
    """At most 6 decimals, half-up (the SII's ``Dec12_6Type``)."""
    if decimals_of(value) <= MAX_DECIMALS:
        return value
    return value.quantize(MICRO, rounding=ROUND_HALF_UP)


def allocate(total: int, weights: Sequence[int]) -> list[int]:
    """Split ``total`` pesos in proportion to ``weights`` (largest remainder, ties to the first line).

    Integer arithmetic only, so it is exact and deterministic; a zero weight never receives a peso.
    """
    weight_sum = sum(weights)
    if weight_sum <= 0:
        if total:
            raise ValueError("cannot allocate a non-zero amount over zero weights")
        return [0] * len(weights)
    shares = [total * weight // weight_sum for weight in weights]
    remainders = [total * weight % weight_sum for weight in weights]
    left = total - sum(shares)
    for index in sorted(range(len(weights)), key=lambda i: (-remainders[i], i))[:left]:
        shares[index] += 1
    return shares


def price_for(qty: Decimal, amount: int, preferred: Decimal | None = None) -> Decimal | None:
    """A unit price with at most 6 decimals such that ``round(qty × price) == amount`` exactly.

    ``preferred`` (the shop's own unit price) is used when it already reproduces ``amount``. ``None`` for
    an amount of 0: a free item omits ``PrcItem`` (0 is not a valid ``Dec12_6Type``).
    """
    if amount < 0:
        raise ValueError(f"negative line amount {amount}")
    if amount == 0:
        return None
    if qty <= 0 or qty >= MAX_QTY:
        raise ValueError(f"quantity {qty} out of range")
    if (
        preferred is not None
        and preferred > 0
        and decimals_of(preferred) <= MAX_DECIMALS
        and half_up(qty * preferred) == amount
    ):
        return preferred
    price = (Decimal(amount) / qty).quantize(MICRO, rounding=ROUND_HALF_UP)
    # |qty × price − amount| ≤ qty × 0.5e-6 < 0.5 for qty < 10⁶, so this loop ends on its first pass;
    # the neighbours are a guard, not a search.
    for step in (0, 1, -1, 2, -2):
        candidate = price + step * MICRO
        if candidate >= MICRO and half_up(qty * candidate) == amount:
            return candidate
    raise ValueError(f"no 6-decimal price gives {amount} for quantity {qty}")


def plain(value: Decimal) -> str:
    """``Decimal`` as the SII writes numbers: dot, no exponent, no trailing zeros (dte-rules.md §2.1)."""
    if value == value.to_integral_value():
        return str(int(value))
    return format(value.normalize(), "f")


def json_number(value: Decimal) -> int | float:
    """A JSON number for ``QtyItem``/``PrcItem``: an int when whole, else a float.

    Values carry at most 6 decimals and stay far below 10⁹, i.e. at most 15 significant digits, so the
    float's ``repr`` (what ``json.dumps`` writes) is exactly the decimal text.
    """
    if value == value.to_integral_value():
        return int(value)
    return float(value)


def clp(amount: int) -> str:
    """``$12.990``: pesos the way Chileans read them (for messages and notes)."""
    sign = "-" if amount < 0 else ""
    return f"{sign}${abs(amount):,}".replace(",", ".")
