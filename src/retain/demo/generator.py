"""A deterministic synthetic store: Kettle & Crema, a specialty coffee and tea shop.

Customers follow the BG/NBD story (buy till you die): each has a Gamma-distributed purchase
rate and, after every purchase, a Beta-distributed chance of never coming back. Purchases
happen in "operational time", which runs faster in November and December and slower in
summer, so mapping it back to the calendar gives seasonality without any per-order logic.

Everything is drawn as whole numpy arrays from one ``numpy.random.default_rng(seed)`` and
written through Polars, so a million line items take seconds and the same seed gives the
same bytes. Money is integer cents throughout so the totals add up exactly.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import TypeAlias

import numpy as np
import numpy.typing as npt
import polars as pl

IntArray: TypeAlias = npt.NDArray[np.int64]
FloatArray: TypeAlias = npt.NDArray[np.float64]
BoolArray: TypeAlias = npt.NDArray[np.bool_]

MAX_CUSTOMERS = 1_000_000
ORDERS_FILE = "orders_export.csv"
CUSTOMERS_FILE = "customers.csv"
PRODUCTS_FILE = "products_export.csv"
STORE_OFFSET = "-0500"  # one fixed offset keeps the demo free of DST edge cases
CURRENCY = "USD"

ORDER_HEADER: tuple[str, ...] = (  # Shopify's order export, column for column
    "Name", "Email", "Financial Status", "Paid at", "Fulfillment Status", "Fulfilled at",
    "Accepts Marketing", "Currency", "Subtotal", "Shipping", "Taxes", "Total", "Discount Code",
    "Discount Amount", "Shipping Method", "Created at", "Lineitem quantity", "Lineitem name",
    "Lineitem price", "Lineitem compare at price", "Lineitem sku", "Lineitem requires shipping",
    "Lineitem taxable", "Lineitem fulfillment status", "Billing Name", "Billing Street", "Billing Address1",
    "Billing Address2", "Billing Company", "Billing City", "Billing Zip", "Billing Province",
    "Billing Country", "Billing Phone", "Shipping Name", "Shipping Street", "Shipping Address1",
    "Shipping Address2", "Shipping Company", "Shipping City", "Shipping Zip", "Shipping Province",
    "Shipping Country", "Shipping Phone", "Notes", "Note Attributes", "Cancelled at", "Payment Method",
    "Payment Reference", "Refunded Amount", "Vendor", "Outstanding Balance", "Employee", "Location",
    "Device ID", "Id", "Tags", "Risk Level", "Source", "Lineitem discount", "Tax 1 Name", "Tax 1 Value",
    "Tax 2 Name", "Tax 2 Value", "Tax 3 Name", "Tax 3 Value", "Tax 4 Name", "Tax 4 Value", "Tax 5 Name",
    "Tax 5 Value", "Phone", "Receipt Number", "Duties", "Billing Province Name", "Shipping Province Name",
    "Payment ID", "Payment Terms Name", "Next Payment Due At", "Payment References",
)  # fmt: skip
# Columns that every row of an order carries; all others are on the order's first row only.
LINE_COLUMNS = frozenset(
    {
        "Name", "Lineitem quantity", "Lineitem name", "Lineitem price", "Lineitem compare at price",
        "Lineitem sku", "Lineitem requires shipping", "Lineitem taxable", "Lineitem fulfillment status",
        "Vendor", "Lineitem discount",
    }
)  # fmt: skip
CUSTOMER_HEADER = (
    "customer_id", "email", "first_name", "last_name", "phone", "birthday", "timezone",
    "accepts_marketing", "preferred_roast", "brew_method",
)  # fmt: skip
PRODUCT_HEADER = (
    "Handle", "Title", "Body (HTML)", "Vendor", "Type", "Tags", "Published", "Variant SKU", "Variant Price",
    "Status",
)  # fmt: skip


@dataclass(frozen=True)
class GeneratedStore:
    orders_csv: Path  # Shopify order export format
    customers_csv: Path  # customers file
    products_csv: Path  # Shopify product export format
    customers: int  # customers who placed at least one order
    orders: int
    line_items: int


# --- How customers behave -------------------------------------------------------------------

# BG/NBD: purchase rate per day ~ Gamma(shape, scale) while active; after each purchase the
# customer drops out with probability p ~ Beta(a, b). Tuned so roughly a third buy again.
_RATE_SHAPE = 0.8
_RATE_SCALE = 1 / 90
_MAX_RATE = 1 / 5  # nobody orders coffee every day, however keen
_DROPOUT_A = 1.2
_DROPOUT_B = 2.2
_GROWTH = 1.1  # new customers per day at the end of the period are e**1.1 (about 3) times the start's
_STAPLE_SHARE = 0.35  # orders led by the customer's usual product: coffee is a replenishment purchase
_FAVOURITE_SHARE = 0.55  # orders (not led by the staple) led by one of the customer's favourite categories
_LINE_COUNT_SHARE = (0.56, 0.28, 0.11, 0.05)  # 1, 2, 3 or 4 line items
_QUANTITY_SHARE = (0.80, 0.15, 0.05)  # 1, 2 or 3 of an item

_MONTH_FACTOR = np.array([0.95, 0.85, 0.95, 0.95, 0.95, 0.82, 0.78, 0.85, 1.0, 1.05, 1.25, 1.45])
_WEEKDAY_FACTOR = np.array([1.08, 1.03, 1.0, 0.98, 0.93, 0.9, 1.08])  # Monday first
# Days from Black Friday: the week before warms up, the weekend through Cyber Monday peaks.
_BFCM_FACTOR = {-4: 1.5, -3: 1.5, -2: 1.6, -1: 1.3, 0: 3.5, 1: 2.6, 2: 2.4, 3: 3.0}
_CHRISTMAS_LULL = 0.5  # 24-26 December: the gifts have shipped
# Orders per hour of the day: quiet at night, a lunch bump, the evening on the sofa.
_HOUR_WEIGHT = np.array([
    0.8, 0.5, 0.3, 0.2, 0.2, 0.3, 0.8, 1.6, 2.6, 3.4, 3.8, 4.0,
    4.6, 4.4, 4.0, 3.8, 3.8, 4.0, 4.6, 5.4, 5.8, 5.2, 3.6, 1.8,
])  # fmt: skip

# --- Who the customers are ------------------------------------------------------------------

_FIRST_NAMES = (
    "Maria", "James", "Olivia", "Liam", "Emma", "Noah", "Sophia", "Mateo", "Ava", "Lucas", "Isabella",
    "Ethan", "Mia", "Daniel", "Amelia", "Wei", "Harper", "Aiden", "Chloé", "Santiago", "Zoë", "Omar",
    "Fatima", "Hiroshi", "Yuki", "Priya", "Arjun", "Aisha", "Kwame", "Ngozi", "José", "Lucía", "Sofia",
    "Diego", "Hannah", "Samuel", "Grace", "Benjamin", "Lily", "Elijah", "Nora", "Henry", "Leila",
    "Mohammed", "Chen", "Mei", "Anna", "David", "Sarah", "Michael", "Emily", "John", "Jessica", "Carlos",
    "Ana", "Nikolai", "Ingrid", "Søren", "Kai", "Jamal", "Tyler", "Megan", "Rosa", "Patrick", "Siobhan",
)  # fmt: skip
_LAST_NAMES = (
    "Smith", "Johnson", "Williams", "Brown", "Jones", "Garcia", "Miller", "Davis", "Rodriguez", "Martinez",
    "Hernandez", "Lopez", "Gonzalez", "Wilson", "Anderson", "Thomas", "Taylor", "Moore", "Jackson",
    "Martin", "Lee", "Perez", "Thompson", "White", "Harris", "Sanchez", "Clark", "Ramirez", "Lewis",
    "Robinson", "Walker", "Young", "Allen", "King", "Wright", "Scott", "Torres", "Nguyen", "Hill",
    "Flores", "Green", "Adams", "Nelson", "Baker", "Hall", "Rivera", "Campbell", "Mitchell", "Carter",
    "Roberts", "Kim", "Patel", "Chen", "Wang", "Singh", "Okafor", "Müller", "O'Brien", "Kowalski",
    "Yamamoto", "Rossi", "Silva", "Haddad", "Cohen", "Andersson", "Dubois", "Ibrahim",
)  # fmt: skip
_DOMAINS = ("example.com", "example.org", "example.net")
_DOMAIN_SHARE = (0.6, 0.25, 0.15)
_STREETS = (
    "Maple Ave", "Oak St", "Pine St", "Cedar Ln", "Elm St", "Washington Blvd", "Lake Dr", "Hillside Rd",
    "River Rd", "Park Pl", "Sunset Blvd", "Main St", "Willow Way", "Chestnut St", "Highland Ave", "Mill Rd",
)  # fmt: skip


@dataclass(frozen=True)
class _State:
    code: str
    name: str
    cities: tuple[str, ...]
    timezone: str
    tax_basis_points: int
    zip_prefix: str
    area_code: str
    weight: float


_STATES = (
    _State("NY", "New York", ("New York", "Brooklyn", "Buffalo"), "America/New_York", 888, "10", "212", 9),
    _State("CA", "California", ("Los Angeles", "San Francisco", "San Diego"), "America/Los_Angeles", 725,
           "94", "415", 14),
    _State("TX", "Texas", ("Austin", "Houston", "Dallas"), "America/Chicago", 625, "78", "512", 10),
    _State("IL", "Illinois", ("Chicago", "Evanston", "Springfield"), "America/Chicago", 625, "60", "312", 5),
    _State("WA", "Washington", ("Seattle", "Spokane", "Tacoma"), "America/Los_Angeles", 650, "98", "206", 5),
    _State("MA", "Massachusetts", ("Boston", "Cambridge", "Worcester"), "America/New_York", 625, "02", "617",
           4),
    _State("CO", "Colorado", ("Denver", "Boulder"), "America/Denver", 290, "80", "303", 3),
    _State("AZ", "Arizona", ("Phoenix", "Tucson"), "America/Phoenix", 560, "85", "602", 3),
    _State("OR", "Oregon", ("Portland", "Eugene"), "America/Los_Angeles", 0, "97", "503", 3),
    _State("FL", "Florida", ("Miami", "Orlando", "Tampa"), "America/New_York", 600, "33", "305", 8),
    _State("GA", "Georgia", ("Atlanta", "Savannah"), "America/New_York", 400, "30", "404", 4),
    _State("PA", "Pennsylvania", ("Philadelphia", "Pittsburgh"), "America/New_York", 600, "19", "215", 5),
    _State("MN", "Minnesota", ("Minneapolis", "Saint Paul"), "America/Chicago", 688, "55", "612", 3),
    _State("NC", "North Carolina", ("Charlotte", "Raleigh"), "America/New_York", 475, "27", "919", 4),
)  # fmt: skip
_CITIES = tuple(city for state in _STATES for city in state.cities)
_CITY_START = np.cumsum([0] + [len(s.cities) for s in _STATES])[:-1].astype(np.int64)

_PHONE_SHARE = 0.4
_CONSENT_SHARE = 0.75
_BIRTHDAY_SHARE = 0.35
_PREFERENCE_SHARE = 0.3
_ROASTS = ("light", "medium", "dark")
_ROAST_SHARE = (0.3, 0.45, 0.25)
_BREW_METHODS = ("espresso", "filter", "french press")

# --- What they buy --------------------------------------------------------------------------

_HOUSE = "Kettle & Crema"
_CATALOG_SEED = 20230101  # the catalog is the same for every seed so demo stores look alike


@dataclass(frozen=True)
class _CategorySpec:
    name: str
    sku_prefix: str
    popularity: float  # share of orders led by this category
    price_range: tuple[int, int]  # whole dollars for the smallest size
    products: tuple[str, ...]
    # (title suffix, price factor, popularity factor): big bags sell less often than small ones
    sizes: tuple[tuple[str, float, float], ...] = (("", 1.0, 1.0),)
    vendors: tuple[str, ...] = (_HOUSE,)
    fixed_prices: tuple[int, ...] = ()  # whole dollars, for gift cards
    ships: bool = True  # gift cards are neither shipped nor taxed nor discounted
    blurb: str = ""
    tags: str = ""


_GEAR_VENDORS = ("Northbrew", "Kilnworks", "Brightmill")
_CATEGORIES = (
    _CategorySpec(
        "Coffee", "COF", 0.30, (14, 24),
        ("Ethiopia Yirgacheffe", "Ethiopia Guji", "Kenya Nyeri AA", "Colombia Huila", "Colombia Decaf",
         "Brazil Cerrado", "Guatemala Antigua", "Costa Rica Tarrazu", "Honduras Marcala", "Peru Cajamarca",
         "Rwanda Nyamasheke", "Burundi Kayanza", "Sumatra Mandheling", "Mexico Chiapas", "Nicaragua Jinotega",
         "El Salvador Santa Ana", "Panama Boquete", "Tanzania Peaberry", "India Monsooned Malabar",
         "Bolivia Caranavi", "Uganda Bugisu", "House Filter Blend"),
        (("250g", 1.0, 1.0), ("1kg", 3.3, 0.35)),
        blurb="Single-origin coffee, roasted to order and shipped as whole beans.", tags="coffee, whole bean",
    ),
    _CategorySpec(
        "Espresso", "ESP", 0.12, (15, 21),
        ("House Espresso", "Dark Horse Espresso", "Morning Crema", "Velvet Espresso", "Decaf Espresso",
         "Bright Side Espresso", "Nocturne Espresso", "Old Town Espresso"),
        (("250g", 1.0, 1.0), ("1kg", 3.3, 0.4)),
        blurb="An espresso blend built for sweetness and body.", tags="coffee, espresso",
    ),
    _CategorySpec(
        "Tea", "TEA", 0.16, (9, 18),
        ("Earl Grey", "English Breakfast", "Darjeeling First Flush", "Assam Golden Tips", "Sencha", "Gyokuro",
         "Jasmine Pearls", "Dragonwell", "Tieguanyin Oolong", "Da Hong Pao", "Silver Needle",
         "Rooibos Vanilla", "Chamomile", "Peppermint", "Masala Chai", "Genmaicha", "Lapsang Souchong",
         "Hibiscus Berry"),
        (("50g Tin", 1.0, 1.0), ("100g Pouch", 1.7, 0.5)),
        blurb="Loose-leaf tea from small gardens.", tags="tea, loose leaf",
    ),
    _CategorySpec(
        "Matcha", "MAT", 0.05, (18, 34),
        ("Ceremonial Matcha", "Daily Matcha", "Culinary Matcha", "Uji Reserve Matcha"),
        (("30g", 1.0, 1.0), ("100g", 2.8, 0.4)),
        blurb="Stone-ground Japanese green tea.", tags="tea, matcha",
    ),
    _CategorySpec(
        "Mugs", "MUG", 0.07, (14, 32),
        ("Stoneware Mug", "Double-Wall Glass Cup", "Enamel Camp Mug", "Espresso Cup & Saucer",
         "Travel Tumbler", "Cappuccino Cup"),
        (("Charcoal", 1.0, 1.0), ("Sand", 1.0, 0.8), ("Sage", 1.0, 0.6), ("Cobalt", 1.0, 0.5)),
        blurb="Made to be held every morning.", tags="mugs, drinkware",
    ),
    _CategorySpec(
        "Brewing Gear", "GEA", 0.08, (18, 95),
        ("Ceramic Pour-Over Dripper", "Glass Pour-Over Carafe", "French Press 1L", "French Press 350ml",
         "Stovetop Espresso Maker 6-Cup", "Stovetop Espresso Maker 3-Cup", "Gooseneck Kettle",
         "Electric Gooseneck Kettle", "Cold Brew Bottle", "Coffee Scale with Timer", "Immersion Brewer",
         "Milk Frother", "Tea Infuser Basket", "Cast Iron Teapot", "Glass Teapot with Infuser",
         "Bamboo Matcha Whisk", "Matcha Bowl", "Milk Pitcher 600ml"),
        vendors=_GEAR_VENDORS, blurb="Brewing equipment we use behind our own bar.", tags="gear, brewing",
    ),
    _CategorySpec(
        "Grinders", "GRI", 0.03, (45, 260),
        ("Hand Grinder Classic", "Hand Grinder Pro", "Travel Hand Grinder", "Electric Burr Grinder",
         "Electric Burr Grinder Plus", "Espresso Grinder"),
        vendors=_GEAR_VENDORS, blurb="Burr grinders for an even grind.", tags="gear, grinders",
    ),
    _CategorySpec(
        "Filters & Supplies", "FIL", 0.06, (6, 24),
        ("Paper Filters #2 (100)", "Paper Filters #4 (100)", "Cone Filters 01 (100)", "Cone Filters 02 (100)",
         "Reusable Metal Filter", "Descaling Powder", "Espresso Machine Cleaning Tablets",
         "Grinder Cleaning Pellets", "Airtight Coffee Canister", "Tea Filter Bags (100)",
         "Water Filter Cartridge", "Knock Box"),
        blurb="Everything that runs out.", tags="supplies",
    ),
    _CategorySpec(
        "Syrups & Sweets", "SYR", 0.06, (5, 14),
        ("Vanilla Syrup", "Caramel Syrup", "Hazelnut Syrup", "Gingerbread Syrup", "Almond Biscotti",
         "Chocolate Biscotti", "Dark Chocolate Bar 70%", "Stroopwafels (8)", "Raw Honey",
         "Chocolate-Covered Espresso Beans", "Lemon Shortbread", "Maple Sugar"),
        blurb="Something sweet for the cup or beside it.", tags="pantry",
    ),
    _CategorySpec(
        "Gift Cards", "GFT", 0.03, (25, 100),
        ("Gift Card $25", "Gift Card $50", "Gift Card $75", "Gift Card $100"),
        fixed_prices=(25, 50, 75, 100), ships=False, blurb="Delivered by e-mail.", tags="gift",
    ),
    _CategorySpec(
        "Gift Sets", "SET", 0.04, (29, 89),
        ("Coffee Discovery Set", "Tea Tasting Flight", "Pour-Over Starter Kit", "Espresso Lover's Box",
         "Matcha Ritual Set", "Cozy Mug & Tea Set", "Holiday Gift Box", "Cold Brew Kit", "Canvas Tote Bag",
         "Barista Apron", "Enamel Pin Set"),
        blurb="Ready to give.", tags="gift, sets",
    ),
)  # fmt: skip
_CATEGORY_INDEX = {spec.name: i for i, spec in enumerate(_CATEGORIES)}
_CONSUMABLES = tuple(_CATEGORY_INDEX[n] for n in ("Coffee", "Espresso", "Tea", "Matcha"))
_NOT_FAVOURITES = ("Gift Cards", "Gift Sets")  # people buy these for others, not for themselves
# Which categories an order's other items come from, given its first item's category.
_AFFINITY: dict[str, dict[str, float]] = {
    "Coffee": {"Coffee": 3, "Espresso": 1, "Filters & Supplies": 2, "Mugs": 1, "Syrups & Sweets": 1,
               "Brewing Gear": 1},
    "Espresso": {"Espresso": 2, "Coffee": 2, "Syrups & Sweets": 2, "Mugs": 1, "Grinders": 0.5},
    "Tea": {"Tea": 4, "Matcha": 1, "Mugs": 1.5, "Syrups & Sweets": 1},
    "Matcha": {"Matcha": 1, "Tea": 2, "Mugs": 1, "Brewing Gear": 1},
    "Mugs": {"Coffee": 2, "Tea": 2, "Mugs": 2},
    "Brewing Gear": {"Coffee": 4, "Filters & Supplies": 3, "Brewing Gear": 1, "Grinders": 0.5},
    "Grinders": {"Coffee": 4, "Espresso": 2, "Brewing Gear": 1},
    "Filters & Supplies": {"Coffee": 3, "Filters & Supplies": 1, "Brewing Gear": 1},
    "Syrups & Sweets": {"Espresso": 2, "Coffee": 2, "Syrups & Sweets": 2},
    "Gift Cards": {"Gift Sets": 2, "Coffee": 1, "Gift Cards": 1},
    "Gift Sets": {"Gift Sets": 1, "Mugs": 1, "Coffee": 1, "Tea": 1},
}  # fmt: skip
_AFFINITY_FLOOR = 0.05  # any category can turn up next to any other, just rarely
_ZIPF_EXPONENT = 1.1

# --- How orders are paid, shipped and settled -----------------------------------------------

_CODES: tuple[str | None, ...] = (
    None, "WELCOME10", "BFCM25", "SUMMER15", "HOLIDAY20", "COMEBACK-", "FRIEND-",
)  # fmt: skip
_WELCOME, _BFCM, _SUMMER, _HOLIDAY, _COMEBACK, _FRIEND = range(1, 7)  # indexes into _CODES
_CODE_PERCENT = np.array([0, 10, 25, 15, 20, 15, 10], dtype=np.int64)
_UNIQUE_CODES = (_COMEBACK, _FRIEND)  # these get a per-order suffix, like codes a marketing tool mints
_CODE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O or 1/I to misread
_CODE_SUFFIX_LENGTH = 6
_SOURCES = ("web", "pos", "shopify_draft_order")
_SOURCE_SHARE = (0.90, 0.06, 0.04)
_WEB, _POS, _DRAFT = 0, 1, 2
_SOURCE_TAGS: tuple[str | None, ...] = (None, "market-stall", "phone-order")
_PAYMENT_METHODS = ("Shopify Payments", "PayPal Express Checkout", "Cash", "Manual")
_CARD, _PAYPAL, _CASH, _MANUAL = range(4)
_SHIPPING_METHODS: tuple[str | None, ...] = (None, "Standard Shipping", "Express Shipping", "Free Shipping")
_NOT_SHIPPED, _STANDARD, _EXPRESS, _FREE = range(4)
_STANDARD_SHIPPING, _EXPRESS_SHIPPING = 695, 1495
_FREE_SHIPPING_FROM = 5000  # cents of goods after discount
_EXPRESS_SHARE = 0.08
_STATUSES = ("paid", "partially_refunded", "refunded", "voided")
_PAID, _PARTIAL, _REFUNDED, _VOIDED = 0, 1, 2, 3
_CANCEL_SHARE, _REFUND_SHARE, _PARTIAL_SHARE = 0.01, 0.03, 0.02
_BULK_DISCOUNT_PERCENT = 10  # three bags of the same coffee or tea
_NOTE_SHARE = 0.02
_NOTES: tuple[str | None, ...] = (
    None, "Please grind for pour-over", "It's a gift - no invoice in the box please",
    "Leave with the front desk", "Happy birthday, Sam!", "Can you pack the tins separately?",
)  # fmt: skip
_ORDER_ID_BASE = 5_600_000_000_000
_FIRST_ORDER_NUMBER = 1001
_EPOCH = date(1970, 1, 1)
_WRITE_BATCH = 100_000  # orders formatted at a time
# Export columns that repeat another column of the same row.
_COPIES = {
    "Phone": "Billing Phone",
    "Payment References": "Payment Reference",
    **{
        f"Shipping {part}": f"Billing {part}"
        for part in ("Name", "Street", "Address1", "Address2", "City", "Zip", "Province", "Country", "Phone")
    },
    "Shipping Province Name": "Billing Province Name",
}
_DAY = 86_400


# --- Public entry point -----------------------------------------------------------------------


def generate_store(
    out_dir: Path,
    *,
    customers: int = 5000,
    seed: int = 7,
    start: date = date(2023, 1, 1),
    end: date = date(2025, 12, 31),
    max_line_items: int | None = None,
) -> GeneratedStore:
    """Write a believable store's orders, customers and products to ``out_dir``.

    ``max_line_items`` stops after that many line items, counting whole orders only, so the
    files may hold a few fewer; the earliest orders are the ones kept.
    """
    _check_arguments(customers, start, end, max_line_items)
    out_dir.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    calendar = _Calendar.build(start, end)
    catalog = _build_catalog()
    people = _simulate_customers(rng, customers, calendar, catalog)
    orders = _simulate_orders(rng, people, calendar, max_line_items)
    orders, lines = _fill_orders(rng, orders, people, catalog, max_line_items)
    order_frame = _settle_orders(rng, orders, lines, people, catalog, calendar)
    paths = out_dir / ORDERS_FILE, out_dir / CUSTOMERS_FILE, out_dir / PRODUCTS_FILE
    _write_orders(paths[0], lines, order_frame, people.frame, orders.customer, catalog)
    buyers = orders.customer[orders.first]  # in order of their first purchase
    _customer_table(people.frame[buyers]).write_csv(paths[1])
    _product_table(catalog).write_csv(paths[2])
    return GeneratedStore(*paths, customers=int(buyers.size), orders=orders.count, line_items=lines.count)


def _check_arguments(customers: int, start: date, end: date, max_line_items: int | None) -> None:
    if isinstance(customers, bool) or not isinstance(customers, int) or not 1 <= customers <= MAX_CUSTOMERS:
        raise ValueError(f"customers must be a whole number from 1 to {MAX_CUSTOMERS:,}, not {customers!r}")
    if not start < end:
        raise ValueError(f"start ({start}) must be before end ({end})")
    if max_line_items is not None and (
        isinstance(max_line_items, bool) or not isinstance(max_line_items, int) or max_line_items < 1
    ):
        raise ValueError(f"max_line_items must be a positive whole number or None, not {max_line_items!r}")


# --- Calendar -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Calendar:
    first_second: int  # the period's first local midnight, in seconds since 1970 (wall clock)
    days: int
    boundaries: FloatArray  # operational time elapsed at each midnight, days + 1 of them
    month: IntArray  # 1-12, per day
    day_of_month: IntArray
    bfcm: BoolArray  # Black Friday week through Cyber Monday, per day

    @classmethod
    def build(cls, start: date, end: date) -> _Calendar:
        first_day = (start - _EPOCH).days
        days = (end - start).days + 1  # the end date is included
        numbers = first_day + np.arange(days, dtype=np.int64)
        dates = numbers.astype("datetime64[D]")
        months = dates.astype("datetime64[M]")
        month = months.astype(np.int64) % 12 + 1
        day_of_month = (dates - months.astype("datetime64[D]")).astype(np.int64) + 1
        weekday = (numbers + 3) % 7  # 1970-01-01 was a Thursday; Monday is 0
        intensity, bfcm = _seasonality(month, day_of_month, weekday)
        boundaries = np.concatenate(([0.0], np.cumsum(intensity / intensity.mean())))
        return cls(first_day * _DAY, days, boundaries, month, day_of_month, bfcm)

    @property
    def span(self) -> float:
        return float(self.boundaries[-1])

    @property
    def end_second(self) -> int:
        return self.first_second + self.days * _DAY

    def day_of(self, seconds: IntArray) -> IntArray:
        return (seconds - self.first_second) // _DAY

    def wall_clock(self, rng: np.random.Generator, operational: FloatArray) -> IntArray:
        """Local seconds for operational times: the day from the season, the hour from habit."""
        day = np.interp(operational, self.boundaries, np.arange(self.days + 1, dtype=np.float64))
        whole_day = np.minimum(np.floor(day).astype(np.int64), self.days - 1)
        hour = rng.choice(24, size=operational.size, p=_HOUR_WEIGHT / _HOUR_WEIGHT.sum())
        second = rng.integers(0, 3600, size=operational.size)
        return self.first_second + whole_day * _DAY + hour * 3600 + second


def _seasonality(month: IntArray, day_of_month: IntArray, weekday: IntArray) -> tuple[FloatArray, BoolArray]:
    """Relative order intensity per day, and which days are Black Friday week."""
    intensity = _MONTH_FACTOR[month - 1] * _WEEKDAY_FACTOR[weekday]
    black_friday = (month == 11) & (weekday == 4) & (day_of_month >= 23) & (day_of_month <= 29)
    bfcm = np.zeros(month.size, dtype=np.bool_)
    for offset, factor in _BFCM_FACTOR.items():
        hit = _shifted(black_friday, offset)
        intensity[hit] *= factor
        bfcm |= hit
    intensity[(month == 12) & (day_of_month >= 24) & (day_of_month <= 26)] *= _CHRISTMAS_LULL
    return intensity, bfcm


def _shifted(mask: BoolArray, offset: int) -> BoolArray:
    """``mask`` moved ``offset`` days later (earlier when negative), padded with False."""
    out = np.zeros_like(mask)
    if abs(offset) >= mask.size:
        return out
    if offset >= 0:
        out[offset:] = mask[: mask.size - offset]
    else:
        out[:offset] = mask[-offset:]
    return out


# --- Catalog ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Catalog:
    titles: tuple[str, ...]
    skus: tuple[str, ...]
    vendors: tuple[str, ...]
    prices: tuple[str, ...]  # "12.50": the same text in the product and the order export
    category: IntArray
    cents: IntArray
    ships: BoolArray
    # Cumulative chances, stacked so that group g occupies (g, g + 1]: see _draw_stacked.
    products_by_category: FloatArray
    category_end: IntArray  # one past each category's last product
    lead_category: FloatArray
    next_category: FloatArray

    @property
    def size(self) -> int:
        return len(self.titles)


@dataclass
class _CatalogRows:
    titles: list[str] = field(default_factory=list)
    skus: list[str] = field(default_factory=list)
    vendors: list[str] = field(default_factory=list)
    cents: list[int] = field(default_factory=list)
    category: list[int] = field(default_factory=list)
    weight: list[float] = field(default_factory=list)


def _build_catalog() -> _Catalog:
    rng = np.random.default_rng(_CATALOG_SEED)
    rows = _CatalogRows()
    for index, spec in enumerate(_CATEGORIES):
        _add_category(rows, rng, index, spec)
    category = np.array(rows.category, dtype=np.int64)
    cents = np.array(rows.cents, dtype=np.int64)
    popularity = np.array([spec.popularity for spec in _CATEGORIES])
    return _Catalog(
        titles=tuple(rows.titles),
        skus=tuple(rows.skus),
        vendors=tuple(rows.vendors),
        prices=tuple(f"{c // 100}.{c % 100:02d}" for c in rows.cents),
        category=category,
        cents=cents,
        ships=np.array([_CATEGORIES[c].ships for c in rows.category], dtype=np.bool_),
        products_by_category=_stacked_cumulative(np.array(rows.weight), category),
        category_end=np.cumsum(np.bincount(category, minlength=len(_CATEGORIES))).astype(np.int64),
        lead_category=_stacked_cumulative(popularity, np.zeros(popularity.size, dtype=np.int64)),
        next_category=_affinity_cumulative(),
    )


def _add_category(rows: _CatalogRows, rng: np.random.Generator, index: int, spec: _CategorySpec) -> None:
    count = len(spec.products)
    low, high = spec.price_range
    dollars = np.array(spec.fixed_prices) if spec.fixed_prices else rng.integers(low, high + 1, size=count)
    endings = rng.choice(np.array([0, 50, -5]), size=count)  # 18.00, 18.50 or 17.95
    ranks = rng.permutation(count) + 1  # popularity order within the category, Zipf-like
    number = 0
    for i, name in enumerate(spec.products):
        for suffix, price_factor, popularity_factor in spec.sizes:
            number += 1
            rows.titles.append(f"{name} - {suffix}" if suffix else name)
            rows.skus.append(f"{spec.sku_prefix}-{number:03d}")
            rows.vendors.append(spec.vendors[i % len(spec.vendors)])
            ending = 0 if spec.fixed_prices else int(endings[i])
            rows.cents.append(round(float(dollars[i]) * price_factor) * 100 + ending)
            rows.category.append(index)
            rows.weight.append(float(ranks[i]) ** -_ZIPF_EXPONENT * popularity_factor)


def _affinity_cumulative() -> FloatArray:
    size = len(_CATEGORIES)
    weights = np.full((size, size), _AFFINITY_FLOOR)
    for lead, related in _AFFINITY.items():
        for other, weight in related.items():
            weights[_CATEGORY_INDEX[lead], _CATEGORY_INDEX[other]] += weight
    weights[:, _CATEGORY_INDEX["Gift Cards"]] *= 0.2  # an add-on gift card is rare
    return _stacked_cumulative(weights.ravel(), np.repeat(np.arange(size, dtype=np.int64), size))


def _stacked_cumulative(weights: FloatArray, groups: IntArray) -> FloatArray:
    """Cumulative weights normalised within each (contiguous) group and shifted by the group
    number, so one ``searchsorted`` draws from many different distributions at once."""
    out = np.empty(weights.size, dtype=np.float64)
    for group in np.unique(groups):  # one pass per category, not per draw
        members = np.flatnonzero(groups == group)
        running = np.cumsum(weights[members])
        out[members] = group + running / running[-1]
        out[members[-1]] = group + 1.0
    return out


def _draw_stacked(
    rng: np.random.Generator, stacked: FloatArray, groups: IntArray, ends: IntArray
) -> IntArray:
    """For each group number in ``groups``, the index of an item drawn from that group."""
    index = np.searchsorted(stacked, groups + rng.random(groups.size), side="right").astype(np.int64)
    # group + u can round up to group + 1 when u is within an ulp of 1; stay in the group.
    return np.minimum(index, ends[groups] - 1)


def _draw_categories(rng: np.random.Generator, catalog: _Catalog, after: IntArray) -> IntArray:
    size = len(_CATEGORIES)
    row_ends = (np.arange(size, dtype=np.int64) + 1) * size
    return _draw_stacked(rng, catalog.next_category, after, row_ends) - after * size


def _draw_lead_categories(rng: np.random.Generator, catalog: _Catalog, count: int) -> IntArray:
    groups = np.zeros(count, dtype=np.int64)
    return _draw_stacked(rng, catalog.lead_category, groups, np.array([len(_CATEGORIES)], dtype=np.int64))


def _draw_products(rng: np.random.Generator, catalog: _Catalog, category: IntArray) -> IntArray:
    return _draw_stacked(rng, catalog.products_by_category, category, catalog.category_end)


# --- Customers ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Customers:
    frame: pl.DataFrame  # identity and address codes, one row per customer index
    favourite: IntArray  # (n, 2) categories; -1 where a customer has only one
    staple: IntArray  # the product the customer keeps coming back for
    rate: FloatArray  # purchases per operational day while active
    dropout: FloatArray  # chance of never coming back after each purchase
    acquired: FloatArray  # operational time of the first purchase

    @property
    def count(self) -> int:
        return int(self.rate.size)


def _simulate_customers(
    rng: np.random.Generator, count: int, calendar: _Calendar, catalog: _Catalog
) -> _Customers:
    favourite = _favourite_categories(rng, count, catalog)
    staple = _draw_products(rng, catalog, favourite[:, 0])
    columns = _identities(rng, count) | _addresses(rng, count) | _preferences(rng, favourite[:, 0])
    rate = np.minimum(rng.gamma(_RATE_SHAPE, _RATE_SCALE, size=count), _MAX_RATE)
    dropout = np.clip(rng.beta(_DROPOUT_A, _DROPOUT_B, size=count), 1e-3, 1.0)
    # Inverse CDF of a density growing like exp(GROWTH * t) over the period.
    share = np.log1p(rng.random(count) * np.expm1(_GROWTH)) / _GROWTH
    return _Customers(pl.DataFrame(columns), favourite, staple, rate, dropout, share * calendar.span)


def _favourite_categories(rng: np.random.Generator, count: int, catalog: _Catalog) -> IntArray:
    weights = np.array([0.0 if s.name in _NOT_FAVOURITES else s.popularity for s in _CATEGORIES])
    stacked = _stacked_cumulative(weights, np.zeros(weights.size, dtype=np.int64))
    ends = np.array([weights.size], dtype=np.int64)
    first = _draw_stacked(rng, stacked, np.zeros(count, dtype=np.int64), ends)
    second = _draw_stacked(rng, stacked, np.zeros(count, dtype=np.int64), ends)
    # About half have a second love; drawing the first one twice means they don't.
    second = np.where((rng.random(count) < 0.55) & (second != first), second, -1)
    return np.stack([first, second], axis=1)


def _identities(rng: np.random.Generator, count: int) -> dict[str, npt.NDArray[np.generic]]:
    birthday_days = rng.integers((date(1955, 1, 1) - _EPOCH).days, (date(2006, 12, 31) - _EPOCH).days, count)
    return {
        "first": _zipf_choice(rng, len(_FIRST_NAMES), count),
        "last": _zipf_choice(rng, len(_LAST_NAMES), count),
        # Unique numbers make unique e-mails however often a name repeats.
        "number": 1000 + rng.choice(max(9000, 10 * count), size=count, replace=False),
        "domain": rng.choice(len(_DOMAINS), size=count, p=_DOMAIN_SHARE),
        "phone": np.where(rng.random(count) < _PHONE_SHARE, rng.integers(0, 100, count), -1),
        "consent": rng.random(count) < _CONSENT_SHARE,
        "birthday": np.where(rng.random(count) < _BIRTHDAY_SHARE, birthday_days, -1).astype(np.int32),
    }


def _addresses(rng: np.random.Generator, count: int) -> dict[str, npt.NDArray[np.generic]]:
    weights = np.array([s.weight for s in _STATES])
    state = rng.choice(len(_STATES), size=count, p=weights / weights.sum())
    city_count = np.array([len(s.cities) for s in _STATES], dtype=np.int64)
    return {
        "state": state,
        "city": _CITY_START[state] + rng.integers(0, 1 << 30, count) % city_count[state],
        "street_number": rng.integers(1, 9999, count),
        "street": rng.integers(0, len(_STREETS), count),
        "unit": np.where(rng.random(count) < 0.2, rng.integers(1, 40, count), -1),
        "zip": rng.integers(0, 1000, count),
    }


def _preferences(rng: np.random.Generator, favourite: IntArray) -> dict[str, npt.NDArray[np.generic]]:
    count = favourite.size
    told = rng.random(count) < _PREFERENCE_SHARE
    brew = np.where(favourite == _CATEGORY_INDEX["Espresso"], 0, rng.integers(0, len(_BREW_METHODS), count))
    return {
        "roast": np.where(told, rng.choice(len(_ROASTS), size=count, p=_ROAST_SHARE), -1),
        "brew": np.where(told, brew, -1),
    }


def _zipf_choice(rng: np.random.Generator, size: int, count: int) -> IntArray:
    """Indexes into a list of names, earlier names more common, as in any phone book."""
    weights = 1.0 / np.arange(1, size + 1) ** 0.7
    return rng.choice(size, size=count, p=weights / weights.sum()).astype(np.int64)


# --- Orders -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Orders:
    customer: IntArray  # sorted by ``created``
    created: IntArray  # local wall-clock seconds since 1970
    first: BoolArray  # the customer's first order
    size: IntArray  # line items

    @property
    def count(self) -> int:
        return int(self.customer.size)

    def head(self, count: int) -> _Orders:
        return _Orders(self.customer[:count], self.created[:count], self.first[:count], self.size[:count])


def _simulate_orders(
    rng: np.random.Generator, people: _Customers, calendar: _Calendar, max_line_items: int | None
) -> _Orders:
    customer, operational = _purchases(rng, people, calendar.span)
    created = calendar.wall_clock(rng, operational)
    by_time = np.argsort(created, kind="stable")
    customer, created = customer[by_time], created[by_time]
    first = np.zeros(customer.size, dtype=np.bool_)
    first[np.unique(customer, return_index=True)[1]] = True
    size = rng.choice(len(_LINE_COUNT_SHARE), size=customer.size, p=_LINE_COUNT_SHARE).astype(np.int64) + 1
    orders = _Orders(customer, created, first, size)
    if max_line_items is None:
        return orders
    # Some lines are dropped as duplicates later, so keep a little more than asked for now.
    return orders.head(_orders_within(size, int(max_line_items * 1.1) + 8))


def _purchases(rng: np.random.Generator, people: _Customers, span: float) -> tuple[IntArray, FloatArray]:
    """(customer, operational time) of every purchase, the first at acquisition.

    While active, purchases are a Poisson process, so the n purchases that would fall in the
    rest of the period are uniform order statistics; the customer only lives to make the first
    k of them. The first k of n uniform order statistics are cumulative exponential spacings
    over their total (k spacings plus a Gamma(n - k + 1) for the rest), so only the purchases
    that happen are ever drawn.
    """
    remaining = span - people.acquired
    lifetime = rng.geometric(people.dropout) - 1  # repeat purchases before dropping out
    possible = rng.poisson(people.rate * remaining)
    repeats = np.minimum(lifetime, possible)
    owner = np.repeat(np.arange(people.count, dtype=np.int64), repeats)
    running = np.concatenate(([0.0], np.cumsum(rng.standard_exponential(owner.size))))
    ends = np.cumsum(repeats)
    before = running[ends - repeats]
    spacing = running[1:] - before[owner]
    total = running[ends] - before + rng.standard_gamma((possible - repeats + 1).astype(np.float64))
    times = people.acquired[owner] + spacing / total[owner] * remaining[owner]
    everyone = np.arange(people.count, dtype=np.int64)
    return np.concatenate((everyone, owner)), np.concatenate((people.acquired, times))


def _orders_within(size: IntArray, line_items: int) -> int:
    """How many leading orders fit in ``line_items`` lines, counting whole orders only."""
    return int(np.searchsorted(np.cumsum(size), line_items, side="right"))


# --- Line items ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Lines:
    order: IntArray  # position of the order in _Orders, non-decreasing
    product: IntArray
    quantity: IntArray
    discount: IntArray  # cents

    @property
    def count(self) -> int:
        return int(self.order.size)


def _fill_orders(
    rng: np.random.Generator,
    orders: _Orders,
    people: _Customers,
    catalog: _Catalog,
    max_line_items: int | None,
) -> tuple[_Orders, _Lines]:
    """Products for every order: the lead item, then add-ons from related categories."""
    owner = np.repeat(np.arange(orders.count, dtype=np.int64), orders.size)
    lead = _lead_products(rng, orders.customer, people, catalog)
    product = _draw_products(rng, catalog, _draw_categories(rng, catalog, catalog.category[lead][owner]))
    product[_starts(orders.size)] = lead
    owner, product = _without_repeats(owner, product, catalog.size)
    size = np.bincount(owner, minlength=orders.count).astype(np.int64)
    orders = _Orders(orders.customer, orders.created, orders.first, size)
    if max_line_items is not None:
        orders = orders.head(_orders_within(orders.size, max_line_items))
        owner, product = owner[: orders.size.sum()], product[: orders.size.sum()]
    quantity = rng.choice(len(_QUANTITY_SHARE), size=owner.size, p=_QUANTITY_SHARE).astype(np.int64) + 1
    quantity[~catalog.ships[product]] = 1  # one gift card at a time
    bulk = (quantity == 3) & np.isin(catalog.category[product], _CONSUMABLES)
    discount = np.where(bulk, (quantity * catalog.cents[product] * _BULK_DISCOUNT_PERCENT + 50) // 100, 0)
    return orders, _Lines(owner, product, quantity, discount)


def _without_repeats(owner: IntArray, product: IntArray, products: int) -> tuple[IntArray, IntArray]:
    """Drop a product's second row in the same order: a shop would show one row, quantity two."""
    keep = np.zeros(owner.size, dtype=np.bool_)
    keep[np.unique(owner * products + product, return_index=True)[1]] = True  # first occurrences
    return owner[keep], product[keep]


def _lead_products(
    rng: np.random.Generator, customer: IntArray, people: _Customers, catalog: _Catalog
) -> IntArray:
    """The first item of each order: the customer's staple, a favourite category, or anything."""
    count = customer.size
    favourite = people.favourite[customer]
    use_second = (rng.random(count) < 0.4) & (favourite[:, 1] >= 0)
    loved = np.where(use_second, favourite[:, 1], favourite[:, 0])
    anything = _draw_lead_categories(rng, catalog, count)
    category = np.where(rng.random(count) < _FAVOURITE_SHARE, loved, anything)
    product = _draw_products(rng, catalog, category)
    return np.where(rng.random(count) < _STAPLE_SHARE, people.staple[customer], product)


def _starts(size: IntArray) -> IntArray:
    return np.cumsum(size) - size


# --- Money and lifecycle ------------------------------------------------------------------------


def _settle_orders(
    rng: np.random.Generator,
    orders: _Orders,
    lines: _Lines,
    people: _Customers,
    catalog: _Catalog,
    calendar: _Calendar,
) -> pl.DataFrame:
    """One row per order: every order-level number the export needs, in cents and seconds."""
    source = rng.choice(len(_SOURCES), size=orders.count, p=_SOURCE_SHARE).astype(np.int64)
    amounts = _amounts(rng, orders, lines, people, catalog, calendar, source)
    total, shippable = np.asarray(amounts["total"], np.int64), np.asarray(amounts["shippable"], np.bool_)
    lifecycle = _lifecycle(rng, orders, calendar, source, total, shippable)
    online = np.where(rng.random(orders.count) < 0.2, _PAYPAL, _CARD)
    at_the_stall = np.where(rng.random(orders.count) < 0.3, _CASH, _CARD)
    payment = np.select([source == _DRAFT, source == _POS], [_MANUAL, at_the_stall], online)
    sequence = np.arange(orders.count, dtype=np.int64)
    note = np.where(rng.random(orders.count) < _NOTE_SHARE, rng.integers(1, len(_NOTES), orders.count), 0)
    return pl.DataFrame(
        amounts
        | lifecycle
        | {
            "order_number": sequence + _FIRST_ORDER_NUMBER,
            "order_id": _ORDER_ID_BASE + sequence * 1000 + rng.integers(0, 1000, orders.count),
            "created": orders.created,
            "source": source,
            "payment": payment,
            "note": note,
        }
    )


def _amounts(
    rng: np.random.Generator,
    orders: _Orders,
    lines: _Lines,
    people: _Customers,
    catalog: _Catalog,
    calendar: _Calendar,
    source: IntArray,
) -> dict[str, npt.NDArray[np.generic]]:
    """Money per order in cents; codes, tax and free shipping apply to goods, not gift cards."""
    starts = _starts(orders.size)
    gross = lines.quantity * catalog.cents[lines.product] - lines.discount
    subtotal = np.add.reduceat(gross, starts)
    goods = np.add.reduceat(gross * catalog.ships[lines.product], starts)
    code, serial = _discount_codes(rng, orders, calendar)
    discount = (goods * _CODE_PERCENT[code] + 50) // 100
    code = np.where(discount > 0, code, 0)
    method = _shipping_method(rng, goods - discount, goods > 0, source)
    charged = [_STANDARD_SHIPPING, _EXPRESS_SHIPPING]
    shipping = np.select([method == _STANDARD, method == _EXPRESS], charged, 0)
    state = people.frame["state"].to_numpy()[orders.customer]
    rates = np.array([s.tax_basis_points for s in _STATES], dtype=np.int64)
    tax = ((goods - discount) * rates[state] + 5000) // 10000
    return {
        "subtotal": subtotal,
        "discount": discount,
        "code": code,
        "code_serial": serial,
        "method": method,
        "shipping": shipping,
        "tax": tax,
        "total": subtotal - discount + shipping + tax,
        "shippable": goods > 0,
    }


def _discount_codes(
    rng: np.random.Generator, orders: _Orders, calendar: _Calendar
) -> tuple[IntArray, IntArray]:
    """(code index, serial for unique codes) per order; later rules win."""
    day = calendar.day_of(orders.created)
    month, day_of_month = calendar.month[day], calendar.day_of_month[day]
    chance = rng.random(orders.count)
    code = np.zeros(orders.count, dtype=np.int64)
    code[(month >= 6) & (month <= 8) & (chance < 0.06)] = _SUMMER
    code[(month == 12) & (day_of_month <= 20) & (chance < 0.10)] = _HOLIDAY
    code[~orders.first & (chance > 0.97)] = _COMEBACK  # win-back e-mails mint one code per customer
    code[orders.first & (chance < 0.22)] = _WELCOME
    code[orders.first & (chance >= 0.22) & (chance < 0.25)] = _FRIEND  # referral codes
    code[calendar.bfcm[day] & (chance < 0.55)] = _BFCM
    serial = rng.integers(0, len(_CODE_ALPHABET) ** _CODE_SUFFIX_LENGTH, orders.count)
    return code, serial


def _shipping_method(
    rng: np.random.Generator, goods_after_discount: IntArray, shippable: BoolArray, source: IntArray
) -> IntArray:
    express = rng.random(source.size) < _EXPRESS_SHARE
    return np.select(
        [~shippable | (source == _POS), express, goods_after_discount >= _FREE_SHIPPING_FROM],
        [_NOT_SHIPPED, _EXPRESS, _FREE],
        _STANDARD,
    ).astype(np.int64)


def _lifecycle(
    rng: np.random.Generator,
    orders: _Orders,
    calendar: _Calendar,
    source: IntArray,
    total: IntArray,
    shippable: BoolArray,
) -> dict[str, npt.NDArray[np.generic]]:
    """Status, refunds and the paid / fulfilled / cancelled times (-1 when not applicable)."""
    count, created = orders.count, orders.created
    chance = rng.random(count)
    edges = np.cumsum([_CANCEL_SHARE, _REFUND_SHARE, _PARTIAL_SHARE])
    status = np.select(
        [chance < edges[0], chance < edges[1], chance < edges[2]], [_VOIDED, _REFUNDED, _PARTIAL], _PAID
    )
    voided = status == _VOIDED
    partial = np.maximum(1, total * rng.integers(10, 61, count) // 100)
    handed_over = (source == _POS) | ~shippable  # no parcel to pack
    packing = np.where(handed_over, rng.integers(0, 120, count), rng.integers(4 * 3600, 3 * _DAY, count))
    fulfilled = created + packing
    return {
        "status": status.astype(np.int64),
        "refunded": np.select([status == _REFUNDED, status == _PARTIAL], [total, partial], 0),
        "paid_at": np.where(voided, -1, created + rng.integers(30, 600, count)),
        "cancelled_at": np.where(voided, created + rng.integers(600, 36 * 3600, count), -1),
        "fulfilled_at": np.where(voided | (fulfilled >= calendar.end_second), -1, fulfilled),
    }


# --- Writing ------------------------------------------------------------------------------------


def _write_orders(
    path: Path,
    lines: _Lines,
    order_frame: pl.DataFrame,
    customer_frame: pl.DataFrame,
    buyer: IntArray,
    catalog: _Catalog,
) -> None:
    """Write slices of orders one after another, so memory stays flat however big the store."""
    count = order_frame.height
    fulfilled = order_frame["fulfilled_at"].to_numpy() >= 0
    with path.open("wb") as sink:
        for batch, low in enumerate(range(0, max(count, 1), _WRITE_BATCH)):  # once even with no orders
            first, end = np.searchsorted(lines.order, [low, min(low + _WRITE_BATCH, count)])
            taken = slice(int(first), int(end))
            order_slice = pl.concat(
                [order_frame.slice(low, _WRITE_BATCH), customer_frame[buyer[low : low + _WRITE_BATCH]]],
                how="horizontal",
            )
            line_slice = _line_slice(lines, taken, low, fulfilled)
            _export_rows(line_slice, order_slice, catalog).write_csv(sink, include_header=batch == 0)


def _line_slice(lines: _Lines, taken: slice, first_order: int, fulfilled: BoolArray) -> pl.DataFrame:
    order = lines.order[taken]
    return pl.DataFrame(
        {
            "order": order - first_order,  # position within the slice of orders
            "order_number": order + _FIRST_ORDER_NUMBER,
            "product": lines.product[taken],
            "quantity": lines.quantity[taken],
            "line_discount": lines.discount[taken],
            "fulfilled": fulfilled[order],
        }
    )


def _export_rows(line_slice: pl.DataFrame, order_slice: pl.DataFrame, catalog: _Catalog) -> pl.DataFrame:
    """Export rows for a slice: line cells on every row, order cells on each order's first row."""
    order_cells = _order_cells() | _address_cells() | _payment_cells()
    order_text = order_slice.select([expr.alias(name) for name, expr in order_cells.items()])
    order = pl.col("order")
    first_row = order != order.shift(1).fill_null(-1)
    line_text = line_slice.select(
        *[expr.alias(name) for name, expr in _line_cells(catalog).items()],
        pl.when(first_row).then(order).cast(pl.UInt32).alias("__first_of"),
    )
    # Gathering with a null index gives a row of nulls: the empty order cells of later rows.
    rows = pl.concat([line_text, order_text[line_text["__first_of"]]], how="horizontal")
    return rows.select(_export_column(name, rows.columns) for name in ORDER_HEADER)


def _export_column(name: str, available: list[str]) -> pl.Expr:
    if name in available:
        return pl.col(name)
    if name in _COPIES:
        return pl.col(_COPIES[name]).alias(name)
    return pl.lit(None, pl.String).alias(name)


def _line_cells(catalog: _Catalog) -> dict[str, pl.Expr]:
    product = pl.col("product")
    flags = tuple("true" if ships else "false" for ships in catalog.ships.tolist())
    return {
        "Name": pl.format("#{}", pl.col("order_number")),
        "Lineitem quantity": pl.col("quantity").cast(pl.String),
        "Lineitem name": _lookup(catalog.titles, product),
        "Lineitem price": _lookup(catalog.prices, product),
        "Lineitem sku": _lookup(catalog.skus, product),
        "Lineitem requires shipping": _lookup(flags, product),
        "Lineitem taxable": _lookup(flags, product),
        "Lineitem fulfillment status": _either(pl.col("fulfilled"), "fulfilled", "pending"),
        "Vendor": _lookup(catalog.vendors, product),
        "Lineitem discount": _money(pl.col("line_discount")),
    }


def _order_cells() -> dict[str, pl.Expr]:
    fulfilled = pl.col("fulfilled_at") >= 0
    return {
        "Email": _email(),
        "Financial Status": _lookup(_STATUSES, pl.col("status")),
        "Paid at": _timestamp("paid_at"),
        "Fulfillment Status": _either(fulfilled, "fulfilled", "unfulfilled"),
        "Fulfilled at": _timestamp("fulfilled_at"),
        "Accepts Marketing": _yes_no(pl.col("consent")),
        "Currency": pl.lit(CURRENCY),
        "Subtotal": _money(pl.col("subtotal")),
        "Shipping": _money(pl.col("shipping")),
        "Taxes": _money(pl.col("tax")),
        "Total": _money(pl.col("total")),
        "Discount Code": _discount_code(),
        "Discount Amount": _money(pl.col("discount")),
        "Shipping Method": _lookup(_SHIPPING_METHODS, pl.col("method")),
        "Created at": _timestamp("created"),
        "Notes": _lookup(_NOTES, pl.col("note")),
        "Cancelled at": _timestamp("cancelled_at"),
        "Refunded Amount": _money(pl.col("refunded")),
        "Id": pl.col("order_id").cast(pl.String),
        "Tags": _lookup(_SOURCE_TAGS, pl.col("source")),
        "Source": _lookup(_SOURCES, pl.col("source")),
        "Billing Phone": _phone(),
        "Tax 1 Name": _tax_name(),
        "Tax 1 Value": pl.when(pl.col("tax") > 0).then(_money(pl.col("tax"))),
    }


def _address_cells() -> dict[str, pl.Expr]:
    state = pl.col("state")
    unit = pl.col("unit")
    street = pl.format("{} {}", pl.col("street_number"), _lookup(_STREETS, pl.col("street")))
    zip_code = pl.concat_str(_lookup([s.zip_prefix for s in _STATES], state), _zero_padded(pl.col("zip"), 3))
    apartment = pl.when(unit >= 0).then(pl.format("Apt {}", unit))
    return {
        "Billing Name": _full_name(),
        "Billing Street": pl.concat_str(street, apartment, separator=", ", ignore_nulls=True),
        "Billing Address1": street,
        "Billing Address2": apartment,
        "Billing City": _lookup(_CITIES, pl.col("city")),
        "Billing Zip": zip_code,
        "Billing Province": _lookup([s.code for s in _STATES], state),
        "Billing Country": pl.lit("US"),
        "Billing Province Name": _lookup([s.name for s in _STATES], state),
    }


def _payment_cells() -> dict[str, pl.Expr]:
    pos = pl.col("source") == _POS
    reference = pl.format("c{}.1", pl.col("order_id") // 1000)
    return {
        "Payment Method": _lookup(_PAYMENT_METHODS, pl.col("payment")),
        "Payment Reference": reference,
        "Outstanding Balance": pl.lit("0.00"),
        "Employee": pl.when(pos).then(pl.lit("Sam Rivera")),
        "Location": pl.when(pos).then(pl.lit("Saturday Market Stall")),
        "Risk Level": pl.lit("Low"),
    }


def _customer_table(buyers: pl.DataFrame) -> pl.DataFrame:
    # Numbered in order of first purchase, so C000001 is the store's first customer.
    return buyers.with_row_index("rank", offset=1).select(
        pl.format("C{}", _zero_padded(pl.col("rank"), 6)).alias("customer_id"),
        _email().alias("email"),
        _lookup(_FIRST_NAMES, pl.col("first")).alias("first_name"),
        _lookup(_LAST_NAMES, pl.col("last")).alias("last_name"),
        _phone().alias("phone"),
        _birthday().alias("birthday"),
        _lookup([s.timezone for s in _STATES], pl.col("state")).alias("timezone"),
        _yes_no(pl.col("consent")).alias("accepts_marketing"),
        _lookup(_ROASTS, pl.col("roast")).alias("preferred_roast"),
        _lookup(_BREW_METHODS, pl.col("brew")).alias("brew_method"),
    )


def _product_table(catalog: _Catalog) -> pl.DataFrame:
    category = catalog.category.tolist()
    return pl.DataFrame(
        {
            "Handle": [_slug(title, "-") for title in catalog.titles],
            "Title": catalog.titles,
            "Body (HTML)": [f"<p>{_CATEGORIES[c].blurb}</p>" for c in category],
            "Vendor": catalog.vendors,
            "Type": [_CATEGORIES[c].name for c in category],
            "Tags": [_CATEGORIES[c].tags for c in category],
            "Published": ["true"] * catalog.size,
            "Variant SKU": catalog.skus,
            "Variant Price": catalog.prices,
            "Status": ["active"] * catalog.size,
        }
    )


# --- Cell formatting ----------------------------------------------------------------------------


def _lookup(values: Sequence[str | None], index: pl.Expr) -> pl.Expr:
    """``values[index]``, or empty for a negative index."""
    table = pl.lit(pl.Series(list(values), dtype=pl.String))
    return pl.when(index >= 0).then(table.gather(index.clip(lower_bound=0)))


def _money(cents: pl.Expr) -> pl.Expr:
    return pl.format("{}.{}", cents // 100, _zero_padded(cents % 100, 2))


def _zero_padded(number: pl.Expr, width: int) -> pl.Expr:
    return number.cast(pl.String).str.zfill(width)


def _timestamp(column: str) -> pl.Expr:
    seconds = pl.col(column)
    stamp = pl.from_epoch(seconds, time_unit="s").dt.strftime(f"%Y-%m-%d %H:%M:%S {STORE_OFFSET}")
    return pl.when(seconds >= 0).then(stamp)


def _either(flag: pl.Expr, yes: str, no: str) -> pl.Expr:
    return pl.when(flag).then(pl.lit(yes)).otherwise(pl.lit(no))


def _yes_no(flag: pl.Expr) -> pl.Expr:
    return _either(flag, "yes", "no")


def _birthday() -> pl.Expr:
    days = pl.col("birthday")  # since 1970, or -1 when the customer never told
    return pl.when(days >= 0).then(days.cast(pl.Date).dt.strftime("%Y-%m-%d"))


def _full_name() -> pl.Expr:
    return pl.format("{} {}", _lookup(_FIRST_NAMES, pl.col("first")), _lookup(_LAST_NAMES, pl.col("last")))


def _email() -> pl.Expr:
    first = _lookup([_slug(name, "") for name in _FIRST_NAMES], pl.col("first"))
    last = _lookup([_slug(name, "") for name in _LAST_NAMES], pl.col("last"))
    return pl.format("{}.{}.{}@{}", first, last, pl.col("number"), _lookup(_DOMAINS, pl.col("domain")))


def _phone() -> pl.Expr:
    # 555-0100 to 555-0199 are reserved for fiction, so no real person gets a call.
    area = _lookup([s.area_code for s in _STATES], pl.col("state"))
    number = pl.format("+1{}55501{}", area, _zero_padded(pl.col("phone"), 2))
    return pl.when(pl.col("phone") >= 0).then(number)


def _tax_name() -> pl.Expr:
    names = [f"{s.code} State Tax {s.tax_basis_points / 100:g}%" for s in _STATES]
    return pl.when(pl.col("tax") > 0).then(_lookup(names, pl.col("state")))


def _discount_code() -> pl.Expr:
    serial = pl.col("code_serial")
    base = len(_CODE_ALPHABET)
    suffix = pl.concat_str(
        [_lookup(list(_CODE_ALPHABET), serial // base**k % base) for k in range(_CODE_SUFFIX_LENGTH)]
    )
    code = _lookup(_CODES, pl.col("code"))
    unique = pl.col("code").is_in(list(_UNIQUE_CODES))
    return pl.when(unique).then(pl.concat_str(code, suffix)).otherwise(code)


_NOT_DECOMPOSABLE = str.maketrans({"ø": "o", "Ø": "O", "æ": "ae", "ß": "ss", "ł": "l", "đ": "d"})


def _slug(text: str, separator: str) -> str:
    """ASCII, lower case, words joined by ``separator``: "Zoë O'Brien" -> "zoe-obrien"."""
    spelled = text.translate(_NOT_DECOMPOSABLE)
    plain = unicodedata.normalize("NFKD", spelled).encode("ascii", "ignore").decode("ascii").lower()
    words = re.sub(r"[^a-z0-9\s-]", "", plain.replace("&", " and ")).replace("-", " ").split()
    return separator.join(words)
