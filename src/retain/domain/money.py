"""Money as integer minor units of an ISO 4217 currency, never a float."""

from __future__ import annotations

from decimal import Decimal

# ISO 4217 active codes whose minor unit is not 2 decimal places.
_EXPONENT_EXCEPTIONS = {
    "BHD": 3,
    "BIF": 0,
    "CLF": 4,
    "CLP": 0,
    "DJF": 0,
    "GNF": 0,
    "IQD": 3,
    "ISK": 0,
    "JOD": 3,
    "JPY": 0,
    "KMF": 0,
    "KRW": 0,
    "KWD": 3,
    "LYD": 3,
    "OMR": 3,
    "PYG": 0,
    "RWF": 0,
    "TND": 3,
    "UGX": 0,
    "UYI": 0,
    "UYW": 4,
    "VND": 0,
    "VUV": 0,
    "XAF": 0,
    "XOF": 0,
    "XPF": 0,
}

_TWO_DECIMAL_CODES = """
AED AFN ALL AMD ANG AOA ARS AUD AWG AZN BAM BBD BDT BGN BMD BND BOB BOV BRL BSD BTN BWP
BYN BZD CAD CDF CHE CHF CHW CNY COP COU CRC CUC CUP CVE CZK DKK DOP DZD EGP ERN ETB EUR
FJD FKP GBP GEL GHS GIP GMD GTQ GYD HKD HNL HTG HUF IDR ILS INR IRR JMD KES KGS KHR KPW
KYD KZT LAK LBP LKR LRD LSL MAD MDL MGA MKD MMK MNT MOP MRU MUR MVR MWK MXN MXV MYR MZN
NAD NGN NIO NOK NPR NZD PAB PEN PGK PHP PKR PLN QAR RON RSD RUB SAR SBD SCR SDG SEK SGD
SHP SLE SLL SOS SRD SSP STN SVC SYP SZL THB TJS TMT TOP TRY TTD TWD TZS UAH USD USN UYU
UZS VED VES WST XCD XCG YER ZAR ZMW ZWG ZWL
""".split()  # noqa: SIM905

CURRENCY_EXPONENTS: dict[str, int] = dict.fromkeys(_TWO_DECIMAL_CODES, 2)
CURRENCY_EXPONENTS.update(_EXPONENT_EXCEPTIONS)


class UnknownCurrencyError(ValueError):
    def __init__(self, code: str) -> None:
        super().__init__(f"unknown currency code {code!r} (expected an ISO 4217 code like USD)")
        self.code = code


def exponent(currency: str) -> int:
    """Number of decimal places of the currency's minor unit (2 for USD, 0 for JPY)."""
    try:
        return CURRENCY_EXPONENTS[currency]
    except KeyError:
        raise UnknownCurrencyError(currency) from None


def to_minor(amount: Decimal | str, currency: str) -> int:
    """Convert an exact decimal amount to integer minor units, refusing lost precision."""
    value = Decimal(amount)
    scaled = value.scaleb(exponent(currency))
    if scaled != scaled.to_integral_value():
        raise ValueError(f"{amount} has more decimals than {currency} allows")
    return int(scaled)


def to_decimal(minor: int, currency: str) -> Decimal:
    return Decimal(minor).scaleb(-exponent(currency))


def format_money(minor: int, currency: str) -> str:
    """Human form with thousands separators: ``1234567, 'USD'`` -> ``'USD 12,345.67'``."""
    places = exponent(currency)
    return f"{currency} {to_decimal(minor, currency):,.{places}f}"


_SYMBOLS = {
    "USD": "$",
    "EUR": "€",
    "GBP": "£",
    "JPY": "¥",
    "CAD": "CA$",
    "AUD": "A$",
    "NZD": "NZ$",
    "INR": "₹",
}


def display_money(minor: int, currency: str) -> str:
    """The form a customer reads in a message: ``'$12.50'``, ``'€1,200.00'``; other currencies
    keep their code (``'CHF 12.50'``)."""
    symbol = _SYMBOLS.get(currency)
    if symbol is None:
        return format_money(minor, currency)
    places = exponent(currency)
    amount = to_decimal(minor, currency)
    sign = "-" if amount < 0 else ""
    return f"{sign}{symbol}{abs(amount):,.{places}f}"
