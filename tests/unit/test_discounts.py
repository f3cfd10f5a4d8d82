"""Discount codes: unguessable, readable, matched however they are written, validated."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest

from retain.domain.discounts import ALPHABET, DiscountError, DiscountSpec, codes_in, new_code, normalise


def test_codes_are_grouped_from_an_alphabet_without_look_alikes_and_do_not_repeat() -> None:
    codes = [new_code() for _ in range(20_000)]
    assert all(re.fullmatch(r"[A-Z2-9]{4}-[A-Z2-9]{4}-[A-Z2-9]{4}", c) for c in codes)
    assert not set("".join(codes)) - set(ALPHABET + "-")
    assert not set("01OIL") & set("".join(codes))
    assert len(set(codes)) == len(codes)


def test_codes_match_whatever_the_case_spaces_and_dashes() -> None:
    assert normalise(" k7qx-m2pd 9htw ") == "K7QXM2PD9HTW"
    assert codes_in("k7qx-m2pd-9htw, WELCOME10;  ") == {"K7QXM2PD9HTW", "WELCOME10"}
    assert codes_in(None) == set()
    assert codes_in("") == set()


@pytest.mark.parametrize(
    ("changes", "part"),
    [
        ({"kind": "bogus"}, "kind"),
        ({"kind": "percent", "value": 0}, "value"),
        ({"kind": "percent", "value": 101}, "value"),
        ({"kind": "fixed", "value": -500}, "value"),
        ({"kind": "free_shipping", "value": 5}, "value"),
        ({"minimum_order": -1}, "minimum_order"),
        ({"expires_at": datetime(2026, 1, 1, tzinfo=UTC).replace(tzinfo=None)}, "expires_at"),
        ({"currency": "dollars"}, "currency"),
    ],
)
def test_a_discount_no_store_could_honour_is_refused_naming_the_part(
    changes: dict[str, object], part: str
) -> None:
    fields: dict[str, object] = {"kind": "percent", "value": 15, "currency": "USD"} | changes
    with pytest.raises(DiscountError, match=f"^{part}:"):
        DiscountSpec(**fields)  # type: ignore[arg-type]


def test_a_valid_spec_keeps_its_values() -> None:
    expiry = datetime(2026, 12, 31, tzinfo=UTC)
    spec = DiscountSpec("fixed", 1000, "EUR", minimum_order=5000, expires_at=expiry, purpose="winback")
    assert (spec.value, spec.minimum_order, spec.expires_at) == (1000, 5000, expiry)
