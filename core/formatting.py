"""Chilean formatting for people: pesos as ``$12.990`` and RUTs as ``12.345.678-5``."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

from cl_sii.rut import Rut


def format_clp(amount: int | Decimal | str | None) -> str:
    """``12990`` → ``$12.990``; negative amounts keep their sign (``-$1.000``). Rounds half-up."""
    if amount is None or amount == "":
        return ""
    value = Decimal(str(amount)).quantize(Decimal(1), rounding=ROUND_HALF_UP)
    sign = "-" if value < 0 else ""
    return f"{sign}${abs(int(value)):,}".replace(",", ".")


def format_rut(value: str | None) -> str:
    """Any accepted RUT spelling (``123456785``, ``12.345.678-5``, ``12345678-5``) → ``12.345.678-5``.

    A value that is not a RUT is returned unchanged, so a page never fails on bad stored data.
    """
    if not value:
        return ""
    raw = str(value).strip().replace(".", "").replace(" ", "").upper()
    if "-" not in raw and len(raw) >= 2:
        raw = f"{raw[:-1]}-{raw[-1]}"
    try:
        return Rut(raw).verbose
    except (ValueError, TypeError):
        return str(value)
