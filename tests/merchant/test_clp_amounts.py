"""Pesos typed the Chilean way: "10.000" is ten thousand pesos, never ten; ambiguous forms are refused."""

import pytest

from core.formatting import parse_clp
from merchant.forms import NotaCreditoParcialForm

VALID = {"razon": "Devolución parcial", "request_key": "k1"}


@pytest.mark.parametrize(
    ("typed", "pesos"),
    [
        ("10000", 10000),
        ("10.000", 10000),
        ("$10.000", 10000),
        ("$ 10.000", 10000),
        (" 1.234.567 ", 1234567),
        ("990", 990),
        ("$990", 990),
    ],
)
def test_chilean_forms_are_read_as_pesos(typed, pesos):
    assert parse_clp(typed) == pesos
    form = NotaCreditoParcialForm({**VALID, "amount": typed})
    assert form.is_valid(), form.errors
    assert form.cleaned_data["amount"] == pesos


@pytest.mark.parametrize(
    "typed",
    ["10,5", "10.00", "10.0000", "1.00.000", "10,000", "-10.000", "10.000,50", "diez", "$", "1e4", "١٠"],
)
def test_ambiguous_or_decimal_amounts_are_refused_in_spanish(typed):
    assert parse_clp(typed) is None
    form = NotaCreditoParcialForm({**VALID, "amount": typed})
    assert not form.is_valid()
    assert form.errors["amount"] == [
        "Escribe el monto en pesos, sin decimales: por ejemplo 10.000 o $10.000."
    ]


def test_zero_is_refused_and_the_field_is_text_not_number():
    form = NotaCreditoParcialForm({**VALID, "amount": "0"})
    assert not form.is_valid()
    assert form.errors["amount"] == ["El monto debe ser de al menos $1."]
    # A number input would let the browser read "10.000" as 10 before we ever see it.
    html = str(NotaCreditoParcialForm()["amount"])
    assert 'type="text"' in html and 'inputmode="numeric"' in html
