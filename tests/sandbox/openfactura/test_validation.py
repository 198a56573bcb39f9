"""The fake's own SII arithmetic against the worked vectors of dte-rules.md §6, and properties."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sandbox.openfactura import validation
from sandbox.openfactura.validation import Rejection, compute_totals, rut_dv, validate_emission

from .conftest import body


def line(n, qty, price, *, exe=None, desc=None):
    monto = int((Decimal(str(qty)) * Decimal(str(price))).quantize(Decimal(1), ROUND_HALF_UP)) - (desc or 0)
    data = {"NroLinDet": n, "NmbItem": f"item {n}", "QtyItem": qty, "PrcItem": price, "MontoItem": monto}
    if exe:
        data["IndExe"] = exe
    if desc:
        data["DescuentoMonto"] = desc
    return data


def dte(lines, discounts=()):
    return {"Encabezado": {"IdDoc": {}}, "Detalle": list(lines), "DscRcgGlobal": list(discounts)}


def dr(value, kind="%", exe=None):
    data = {"NroLinDR": 1, "TpoMov": "D", "TpoValor": kind, "ValorDR": value}
    if exe:
        data["IndExeDR"] = exe
    return data


@pytest.mark.parametrize(
    ("vector", "tipo", "lines", "discounts", "expected"),
    [
        ("V1", 39, [line(1, 1, 1190)], [], (1000, 0, 190, 1190)),
        ("V2", 39, [line(1, 2, 1000), line(2, 1, 1500), line(3, 3, 500)], [], (4202, 0, 798, 5000)),
        ("V3", 39, [line(1, 1, 1190)], [dr(10)], (900, 0, 171, 1071)),
        ("V5", 39, [line(1, 8, 1590), line(2, 2, 1000, exe=1)], [], (10689, 2000, 2031, 14720)),
        ("V6", 41, [line(1, 1, 1000, exe=1)], [dr(10, exe=1)], (0, 900, 0, 900)),
        ("V7", 33, [line(1, 20, 4500), line(2, 1, 5000), line(3, 5, 1000)], [], (100000, 0, 19000, 119000)),
        ("V8", 33, [line(1, 1, 104090)], [dr(10)], (93681, 0, 17799, 111480)),
        ("V10", 33, [line(1, 1, 104097, desc=10000)], [], (94097, 0, 17878, 111975)),
        (
            "V11",
            33,
            [line(1, 1, 6000, desc=3000), line(2, 10, 10000, exe=1)],
            [],
            (3000, 100000, 570, 103570),
        ),
        (
            "V12",
            33,
            [line(1, 414, 5919), line(2, 175, 7204), line(3, 2, 6833, exe=1)],
            [dr(22)],
            (2894709, 13666, 549995, 3458370),
        ),
        (
            "V13",
            33,
            [line(1, 759, 5874, desc=445837), line(2, 703, 4925, desc=796323)],
            [],
            (6678481, 0, 1268911, 7947392),
        ),
        ("V14", 33, [line(1, 1.0, 8942.86)], [], (8943, 0, 1699, 10642)),
        ("V15", 61, [line(1, 450, 20)], [], (9000, 0, 1710, 10710)),
        ("V17", 39, [line(1, 1, 680)], [], (571, 0, 109, 680)),
        ("V18", 39, [line(1, 1, 86710)], [], (72866, 0, 13844, 86710)),
    ],
)
def test_worked_vectors(vector, tipo, lines, discounts, expected):
    totals = compute_totals(dte(lines, discounts), tipo)
    assert (totals.mnt_neto, totals.mnt_exe, totals.iva, totals.mnt_total) == expected, vector


def test_v16_non_billable_lines():
    totals = compute_totals(dte([line(1, 1, 20000, exe=1), line(2, 1, 35000, exe=2)]), 34)
    assert (totals.mnt_exe, totals.mnt_total, totals.monto_nf) == (20000, 20000, 35000)


def test_rut_check_digits():
    assert [rut_dv(d) for d in (76795561, 76430498, 66666666, 96874030, 12345678)] == [
        "8",
        "5",
        "6",
        "K",
        "5",
    ]
    assert validation.parse_rut("96.874.030-k") == "96874030-K"
    assert validation.parse_rut("96874030-1") is None
    assert validation.parse_rut("968740301") is None


def test_the_validation_is_independent_of_the_product():
    import ast
    import pathlib

    package = pathlib.Path(validation.__file__).parent
    for path in package.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom | ast.Import):
                names = (
                    [node.module or ""] if isinstance(node, ast.ImportFrom) else [a.name for a in node.names]
                )
                assert not any(name.startswith(("emission", "integration")) for name in names), path


gross_lines = st.lists(
    st.tuples(
        st.integers(min_value=1, max_value=5),
        st.integers(min_value=1, max_value=200_000),
        st.booleans(),
    ),
    min_size=1,
    max_size=6,
).filter(lambda lines: any(not exempt for _, _, exempt in lines))


def _boleta(lines, iva_shift=0):
    document = body("boleta__docs")
    detalle = [
        line(n, qty, price, exe=1 if exempt else None) for n, (qty, price, exempt) in enumerate(lines, 1)
    ]
    taxed = sum(d["MontoItem"] for d in detalle if "IndExe" not in d)
    exempt = sum(d["MontoItem"] for d in detalle if "IndExe" in d)
    neto = int((Decimal(taxed) / Decimal("1.19")).quantize(Decimal(1), ROUND_HALF_UP))
    iva = taxed - neto + iva_shift
    totales = {"MntNeto": neto, "IVA": iva, "MntTotal": neto + iva + exempt}
    if exempt:
        totales = {"MntNeto": neto, "MntExe": exempt, "IVA": iva, "MntTotal": neto + iva + exempt}
    document["dte"]["Detalle"] = detalle
    document["dte"]["Encabezado"]["Totales"] = totales
    return document


@settings(max_examples=150, deadline=None)
@given(gross_lines)
def test_boletas_built_by_the_rules_are_accepted(lines):
    emission = validate_emission(_boleta(lines), organization_rut="76795561-8")
    assert emission.totals.mnt_neto + emission.totals.iva == sum(
        qty * price for qty, price, exempt in lines if not exempt
    )


@settings(max_examples=100, deadline=None)
@given(gross_lines, st.sampled_from([-1, 1]))
def test_an_iva_one_peso_off_is_rejected(lines, shift):
    with pytest.raises(Rejection) as caught:
        validate_emission(_boleta(lines, iva_shift=shift), organization_rut="76795561-8")
    assert caught.value.code == "OF-10"
    assert caught.value.details[0]["field"] == "IVA"
