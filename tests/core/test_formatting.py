"""CLP and RUT formatting for people."""

from decimal import Decimal

import pytest
from django.template import Context, Template

from core.formatting import format_clp, format_rut


@pytest.mark.parametrize(
    ("amount", "expected"),
    [
        (12990, "$12.990"),
        (0, "$0"),
        (1_234_567, "$1.234.567"),
        (Decimal("999.5"), "$1.000"),  # half-up, never banker's rounding
        (Decimal("2.5"), "$3"),
        ("1190", "$1.190"),
        (-1000, "-$1.000"),
        (None, ""),
    ],
)
def test_format_clp(amount, expected):
    assert format_clp(amount) == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("123456785", "12.345.678-5"),
        ("12345678-5", "12.345.678-5"),
        ("12.345.678-5", "12.345.678-5"),
        ("96874030-k", "96.874.030-K"),
        ("66666666-6", "66.666.666-6"),
        ("no es rut", "no es rut"),
        ("", ""),
    ],
)
def test_format_rut(value, expected):
    assert format_rut(value) == expected


def test_filters_are_builtins_in_templates():
    rendered = Template("{{ total|clp }} {{ rut|rut }}").render(Context({"total": 27970, "rut": "765432103"}))
    assert rendered == "$27.970 76.543.210-3"
