"""Chilean formatting for people: pesos as ``$12.990`` and RUTs as ``12.345.678-5``."""

from __future__ import annotations

import re
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


# How people in Chile type pesos: "10000", "10.000", "$10.000", "$ 10.000" (dots only as thousands
# separators, in groups of three). Anything else — "10,5", "10.00", "1.0000" — is ambiguous or has
# decimals, and pesos have none: refused rather than guessed ("10.000" read as 10 issued a $10 nota).
_CLP_TYPED = re.compile(r"\$?\s*(?P<digits>[0-9]{1,3}(?:\.[0-9]{3})+|[0-9]+)")


def parse_clp(text: str) -> int | None:
    """``"$10.000"`` → ``10000``; ``None`` for anything that is not a whole number of pesos typed the
    Chilean way (a decimal comma or point, a misplaced dot, a sign, letters)."""
    match = _CLP_TYPED.fullmatch((text or "").strip())
    if match is None:
        return None
    return int(match["digits"].replace(".", ""))
