from __future__ import annotations

from decimal import Decimal

import pytest

from retain.domain.money import UnknownCurrencyError, exponent, format_money, to_decimal, to_minor


def test_two_decimal_currencies_count_cents() -> None:
    assert to_minor("12.50", "USD") == 1250
    assert to_decimal(1250, "USD") == Decimal("12.50")


def test_zero_and_three_decimal_currencies_use_their_own_minor_unit() -> None:
    assert exponent("JPY") == 0
    assert to_minor("1200", "JPY") == 1200
    assert to_minor("1.234", "KWD") == 1234


def test_more_decimals_than_the_currency_allows_is_refused() -> None:
    with pytest.raises(ValueError, match="more decimals"):
        to_minor("1.005", "USD")


def test_unknown_currency_is_named_in_the_error() -> None:
    with pytest.raises(UnknownCurrencyError, match="'ABC'"):
        exponent("ABC")


def test_money_is_formatted_with_separators() -> None:
    assert format_money(123456789, "USD") == "USD 1,234,567.89"
    assert format_money(5000, "JPY") == "JPY 5,000"
