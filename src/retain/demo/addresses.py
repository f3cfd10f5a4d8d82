"""Where customers live: the states the shop ships to, their cities and streets, and an address each."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from retain.demo.arrays import Columns

STREETS = (
    "Maple Ave", "Oak St", "Pine St", "Cedar Ln", "Elm St", "Washington Blvd", "Lake Dr", "Hillside Rd",
    "River Rd", "Park Pl", "Sunset Blvd", "Main St", "Willow Way", "Chestnut St", "Highland Ave", "Mill Rd",
)  # fmt: skip


@dataclass(frozen=True)
class State:
    code: str
    name: str
    cities: tuple[str, ...]
    timezone: str
    tax_basis_points: int
    zip_prefix: str
    area_code: str
    weight: float


STATES = (
    State("NY", "New York", ("New York", "Brooklyn", "Buffalo"), "America/New_York", 888, "10", "212", 9),
    State("CA", "California", ("Los Angeles", "San Francisco", "San Diego"), "America/Los_Angeles", 725,
          "94", "415", 14),
    State("TX", "Texas", ("Austin", "Houston", "Dallas"), "America/Chicago", 625, "78", "512", 10),
    State("IL", "Illinois", ("Chicago", "Evanston", "Springfield"), "America/Chicago", 625, "60", "312", 5),
    State("WA", "Washington", ("Seattle", "Spokane", "Tacoma"), "America/Los_Angeles", 650, "98", "206", 5),
    State("MA", "Massachusetts", ("Boston", "Cambridge", "Worcester"), "America/New_York", 625, "02", "617",
          4),
    State("CO", "Colorado", ("Denver", "Boulder"), "America/Denver", 290, "80", "303", 3),
    State("AZ", "Arizona", ("Phoenix", "Tucson"), "America/Phoenix", 560, "85", "602", 3),
    State("OR", "Oregon", ("Portland", "Eugene"), "America/Los_Angeles", 0, "97", "503", 3),
    State("FL", "Florida", ("Miami", "Orlando", "Tampa"), "America/New_York", 600, "33", "305", 8),
    State("GA", "Georgia", ("Atlanta", "Savannah"), "America/New_York", 400, "30", "404", 4),
    State("PA", "Pennsylvania", ("Philadelphia", "Pittsburgh"), "America/New_York", 600, "19", "215", 5),
    State("MN", "Minnesota", ("Minneapolis", "Saint Paul"), "America/Chicago", 688, "55", "612", 3),
    State("NC", "North Carolina", ("Charlotte", "Raleigh"), "America/New_York", 475, "27", "919", 4),
)  # fmt: skip
CITIES = tuple(city for state in STATES for city in state.cities)
_CITY_START = np.cumsum([0] + [len(s.cities) for s in STATES])[:-1].astype(np.int64)


def draw_addresses(rng: np.random.Generator, count: int) -> Columns:
    weights = np.array([s.weight for s in STATES])
    state = rng.choice(len(STATES), size=count, p=weights / weights.sum())
    city_count = np.array([len(s.cities) for s in STATES], dtype=np.int64)
    return {
        "state": state,
        "city": _CITY_START[state] + rng.integers(0, 1 << 30, count) % city_count[state],
        "street_number": rng.integers(1, 9999, count),
        "street": rng.integers(0, len(STREETS), count),
        "unit": np.where(rng.random(count) < 0.2, rng.integers(1, 40, count), -1),
        "zip": rng.integers(0, 1000, count),
    }
