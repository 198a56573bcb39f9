"""Half-up money helpers: rounding, net/IVA split, largest-remainder allocation, 6-decimal prices."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from emission.dte.money import allocate, clp, half_up, iva_of_net, json_number, net_of_gross, plain, price_for


def test_half_up_is_not_bankers_rounding():
    assert [half_up(Decimal(x)) for x in ("0.5", "1.5", "2.5", "2.4999", "-2.5")] == [1, 2, 3, 2, -3]


def test_net_and_iva():
    assert (net_of_gross(680), iva_of_net(571)) == (571, 108)  # V17: the rate method drifts a peso
    assert net_of_gross(86710) == 72866


@given(st.integers(min_value=1, max_value=5_000_000))
def test_round_t_over_119_is_the_closest_net(gross):
    # dte-rules.md §2.2: not every gross has an exact net; round(T / 1.19) is never worse than ±1 away.
    best = net_of_gross(gross)
    gap = abs(best + iva_of_net(best) - gross)
    assert gap <= 1
    assert all(abs(c + iva_of_net(c) - gross) >= gap for c in (best - 1, best + 1))


def test_allocate_is_exact_and_deterministic():
    assert allocate(100, [1, 1, 1]) == [34, 33, 33]
    assert allocate(10, [0, 5, 5]) == [0, 5, 5]
    assert allocate(0, [0, 0]) == [0, 0]
    with pytest.raises(ValueError):
        allocate(1, [0])


@given(
    st.integers(min_value=0, max_value=10**7), st.lists(st.integers(min_value=0, max_value=10**6), min_size=1)
)
def test_allocate_sums_to_the_total(total, weights):
    if sum(weights) == 0:
        return
    shares = allocate(total, weights)
    assert sum(shares) == total
    assert all(share == 0 for share, weight in zip(shares, weights, strict=True) if weight == 0)


@given(
    st.decimals(min_value=Decimal("0.001"), max_value=Decimal("99999"), places=3),
    st.integers(min_value=1, max_value=10**9),
)
def test_price_for_reproduces_the_amount(qty, amount):
    price = price_for(qty, amount)
    assert price is not None and price > 0
    assert -price.normalize().as_tuple().exponent <= 6
    assert half_up(qty * price) == amount


def test_price_for_prefers_the_shop_price_and_omits_zero():
    assert price_for(Decimal(2), 23980, Decimal(11990)) == Decimal(11990)
    assert price_for(Decimal(3), 15100) == Decimal("5033.333333")
    assert price_for(Decimal(2), 0) is None


def test_number_formats():
    assert (plain(Decimal("1000.000")), plain(Decimal("10075.500")), plain(Decimal("1E+3"))) == (
        "1000",
        "10075.5",
        "1000",
    )
    assert json_number(Decimal("10075.630252")) == 10075.630252
    assert isinstance(json_number(Decimal("1000.00")), int)
    assert (clp(1234567), clp(0), clp(-990)) == ("$1.234.567", "$0", "-$990")
