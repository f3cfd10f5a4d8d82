"""Who the customers are: names, e-mails, consent, birthdays and what they like to drink."""

from __future__ import annotations

from datetime import date

import numpy as np

from retain.demo.addresses import draw_addresses
from retain.demo.arrays import Columns, IntArray
from retain.demo.categories import CATEGORIES, CATEGORY_INDEX, NOT_FAVOURITES
from retain.demo.sampling import draw_stacked, stacked_cumulative
from retain.demo.seasons import EPOCH

FIRST_NAMES = (
    "Maria", "James", "Olivia", "Liam", "Emma", "Noah", "Sophia", "Mateo", "Ava", "Lucas", "Isabella",
    "Ethan", "Mia", "Daniel", "Amelia", "Wei", "Harper", "Aiden", "Chloé", "Santiago", "Zoë", "Omar",
    "Fatima", "Hiroshi", "Yuki", "Priya", "Arjun", "Aisha", "Kwame", "Ngozi", "José", "Lucía", "Sofia",
    "Diego", "Hannah", "Samuel", "Grace", "Benjamin", "Lily", "Elijah", "Nora", "Henry", "Leila",
    "Mohammed", "Chen", "Mei", "Anna", "David", "Sarah", "Michael", "Emily", "John", "Jessica", "Carlos",
    "Ana", "Nikolai", "Ingrid", "Søren", "Kai", "Jamal", "Tyler", "Megan", "Rosa", "Patrick", "Siobhan",
)  # fmt: skip
LAST_NAMES = (
    "Smith", "Johnson", "Williams", "Brown", "Jones", "Garcia", "Miller", "Davis", "Rodriguez", "Martinez",
    "Hernandez", "Lopez", "Gonzalez", "Wilson", "Anderson", "Thomas", "Taylor", "Moore", "Jackson",
    "Martin", "Lee", "Perez", "Thompson", "White", "Harris", "Sanchez", "Clark", "Ramirez", "Lewis",
    "Robinson", "Walker", "Young", "Allen", "King", "Wright", "Scott", "Torres", "Nguyen", "Hill",
    "Flores", "Green", "Adams", "Nelson", "Baker", "Hall", "Rivera", "Campbell", "Mitchell", "Carter",
    "Roberts", "Kim", "Patel", "Chen", "Wang", "Singh", "Okafor", "Müller", "O'Brien", "Kowalski",
    "Yamamoto", "Rossi", "Silva", "Haddad", "Cohen", "Andersson", "Dubois", "Ibrahim",
)  # fmt: skip
DOMAINS = ("example.com", "example.org", "example.net")
_DOMAIN_SHARE = (0.6, 0.25, 0.15)
_PHONE_SHARE = 0.4
_CONSENT_SHARE = 0.75
_BIRTHDAY_SHARE = 0.35
_PREFERENCE_SHARE = 0.3
ROASTS = ("light", "medium", "dark")
_ROAST_SHARE = (0.3, 0.45, 0.25)
BREW_METHODS = ("espresso", "filter", "french press")


def draw_people(rng: np.random.Generator, count: int, favourite: IntArray) -> Columns:
    """Identity, address and stated preferences per customer, given each one's favourite category."""
    return _identities(rng, count) | draw_addresses(rng, count) | _preferences(rng, favourite)


def favourite_categories(rng: np.random.Generator, count: int) -> IntArray:
    """(n, 2) categories; -1 where a customer has only one."""
    weights = np.array([0.0 if s.name in NOT_FAVOURITES else s.popularity for s in CATEGORIES])
    stacked = stacked_cumulative(weights, np.zeros(weights.size, dtype=np.int64))
    ends = np.array([weights.size], dtype=np.int64)
    first = draw_stacked(rng, stacked, np.zeros(count, dtype=np.int64), ends)
    second = draw_stacked(rng, stacked, np.zeros(count, dtype=np.int64), ends)
    # About half have a second love; drawing the first one twice means they don't.
    second = np.where((rng.random(count) < 0.55) & (second != first), second, -1)
    return np.stack([first, second], axis=1)


def _identities(rng: np.random.Generator, count: int) -> Columns:
    birthday_days = rng.integers((date(1955, 1, 1) - EPOCH).days, (date(2006, 12, 31) - EPOCH).days, count)
    return {
        "first": _zipf_choice(rng, len(FIRST_NAMES), count),
        "last": _zipf_choice(rng, len(LAST_NAMES), count),
        # Unique numbers make unique e-mails however often a name repeats.
        "number": 1000 + rng.choice(max(9000, 10 * count), size=count, replace=False),
        "domain": rng.choice(len(DOMAINS), size=count, p=_DOMAIN_SHARE),
        "phone": np.where(rng.random(count) < _PHONE_SHARE, rng.integers(0, 100, count), -1),
        "consent": rng.random(count) < _CONSENT_SHARE,
        "birthday": np.where(rng.random(count) < _BIRTHDAY_SHARE, birthday_days, -1).astype(np.int32),
    }


def _preferences(rng: np.random.Generator, favourite: IntArray) -> Columns:
    count = favourite.size
    told = rng.random(count) < _PREFERENCE_SHARE
    brew = np.where(favourite == CATEGORY_INDEX["Espresso"], 0, rng.integers(0, len(BREW_METHODS), count))
    return {
        "roast": np.where(told, rng.choice(len(ROASTS), size=count, p=_ROAST_SHARE), -1),
        "brew": np.where(told, brew, -1),
    }


def _zipf_choice(rng: np.random.Generator, size: int, count: int) -> IntArray:
    """Indexes into a list of names, earlier names more common, as in any phone book."""
    weights = 1.0 / np.arange(1, size + 1) ** 0.7
    return rng.choice(size, size=count, p=weights / weights.sum()).astype(np.int64)
