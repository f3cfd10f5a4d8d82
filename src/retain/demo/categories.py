"""What Kettle & Crema sells: its categories, their products, and what is bought together."""

from __future__ import annotations

from dataclasses import dataclass

_HOUSE = "Kettle & Crema"


@dataclass(frozen=True)
class CategorySpec:
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
CATEGORIES = (
    CategorySpec(
        "Coffee", "COF", 0.30, (14, 24),
        ("Ethiopia Yirgacheffe", "Ethiopia Guji", "Kenya Nyeri AA", "Colombia Huila", "Colombia Decaf",
         "Brazil Cerrado", "Guatemala Antigua", "Costa Rica Tarrazu", "Honduras Marcala", "Peru Cajamarca",
         "Rwanda Nyamasheke", "Burundi Kayanza", "Sumatra Mandheling", "Mexico Chiapas", "Nicaragua Jinotega",
         "El Salvador Santa Ana", "Panama Boquete", "Tanzania Peaberry", "India Monsooned Malabar",
         "Bolivia Caranavi", "Uganda Bugisu", "House Filter Blend"),
        (("250g", 1.0, 1.0), ("1kg", 3.3, 0.35)),
        blurb="Single-origin coffee, roasted to order and shipped as whole beans.", tags="coffee, whole bean",
    ),
    CategorySpec(
        "Espresso", "ESP", 0.12, (15, 21),
        ("House Espresso", "Dark Horse Espresso", "Morning Crema", "Velvet Espresso", "Decaf Espresso",
         "Bright Side Espresso", "Nocturne Espresso", "Old Town Espresso"),
        (("250g", 1.0, 1.0), ("1kg", 3.3, 0.4)),
        blurb="An espresso blend built for sweetness and body.", tags="coffee, espresso",
    ),
    CategorySpec(
        "Tea", "TEA", 0.16, (9, 18),
        ("Earl Grey", "English Breakfast", "Darjeeling First Flush", "Assam Golden Tips", "Sencha", "Gyokuro",
         "Jasmine Pearls", "Dragonwell", "Tieguanyin Oolong", "Da Hong Pao", "Silver Needle",
         "Rooibos Vanilla", "Chamomile", "Peppermint", "Masala Chai", "Genmaicha", "Lapsang Souchong",
         "Hibiscus Berry"),
        (("50g Tin", 1.0, 1.0), ("100g Pouch", 1.7, 0.5)),
        blurb="Loose-leaf tea from small gardens.", tags="tea, loose leaf",
    ),
    CategorySpec(
        "Matcha", "MAT", 0.05, (18, 34),
        ("Ceremonial Matcha", "Daily Matcha", "Culinary Matcha", "Uji Reserve Matcha"),
        (("30g", 1.0, 1.0), ("100g", 2.8, 0.4)),
        blurb="Stone-ground Japanese green tea.", tags="tea, matcha",
    ),
    CategorySpec(
        "Mugs", "MUG", 0.07, (14, 32),
        ("Stoneware Mug", "Double-Wall Glass Cup", "Enamel Camp Mug", "Espresso Cup & Saucer",
         "Travel Tumbler", "Cappuccino Cup"),
        (("Charcoal", 1.0, 1.0), ("Sand", 1.0, 0.8), ("Sage", 1.0, 0.6), ("Cobalt", 1.0, 0.5)),
        blurb="Made to be held every morning.", tags="mugs, drinkware",
    ),
    CategorySpec(
        "Brewing Gear", "GEA", 0.08, (18, 95),
        ("Ceramic Pour-Over Dripper", "Glass Pour-Over Carafe", "French Press 1L", "French Press 350ml",
         "Stovetop Espresso Maker 6-Cup", "Stovetop Espresso Maker 3-Cup", "Gooseneck Kettle",
         "Electric Gooseneck Kettle", "Cold Brew Bottle", "Coffee Scale with Timer", "Immersion Brewer",
         "Milk Frother", "Tea Infuser Basket", "Cast Iron Teapot", "Glass Teapot with Infuser",
         "Bamboo Matcha Whisk", "Matcha Bowl", "Milk Pitcher 600ml"),
        vendors=_GEAR_VENDORS, blurb="Brewing equipment we use behind our own bar.", tags="gear, brewing",
    ),
    CategorySpec(
        "Grinders", "GRI", 0.03, (45, 260),
        ("Hand Grinder Classic", "Hand Grinder Pro", "Travel Hand Grinder", "Electric Burr Grinder",
         "Electric Burr Grinder Plus", "Espresso Grinder"),
        vendors=_GEAR_VENDORS, blurb="Burr grinders for an even grind.", tags="gear, grinders",
    ),
    CategorySpec(
        "Filters & Supplies", "FIL", 0.06, (6, 24),
        ("Paper Filters #2 (100)", "Paper Filters #4 (100)", "Cone Filters 01 (100)", "Cone Filters 02 (100)",
         "Reusable Metal Filter", "Descaling Powder", "Espresso Machine Cleaning Tablets",
         "Grinder Cleaning Pellets", "Airtight Coffee Canister", "Tea Filter Bags (100)",
         "Water Filter Cartridge", "Knock Box"),
        blurb="Everything that runs out.", tags="supplies",
    ),
    CategorySpec(
        "Syrups & Sweets", "SYR", 0.06, (5, 14),
        ("Vanilla Syrup", "Caramel Syrup", "Hazelnut Syrup", "Gingerbread Syrup", "Almond Biscotti",
         "Chocolate Biscotti", "Dark Chocolate Bar 70%", "Stroopwafels (8)", "Raw Honey",
         "Chocolate-Covered Espresso Beans", "Lemon Shortbread", "Maple Sugar"),
        blurb="Something sweet for the cup or beside it.", tags="pantry",
    ),
    CategorySpec(
        "Gift Cards", "GFT", 0.03, (25, 100),
        ("Gift Card $25", "Gift Card $50", "Gift Card $75", "Gift Card $100"),
        fixed_prices=(25, 50, 75, 100), ships=False, blurb="Delivered by e-mail.", tags="gift",
    ),
    CategorySpec(
        "Gift Sets", "SET", 0.04, (29, 89),
        ("Coffee Discovery Set", "Tea Tasting Flight", "Pour-Over Starter Kit", "Espresso Lover's Box",
         "Matcha Ritual Set", "Cozy Mug & Tea Set", "Holiday Gift Box", "Cold Brew Kit", "Canvas Tote Bag",
         "Barista Apron", "Enamel Pin Set"),
        blurb="Ready to give.", tags="gift, sets",
    ),
)  # fmt: skip
CATEGORY_INDEX = {spec.name: i for i, spec in enumerate(CATEGORIES)}
CONSUMABLES = tuple(CATEGORY_INDEX[n] for n in ("Coffee", "Espresso", "Tea", "Matcha"))
NOT_FAVOURITES = ("Gift Cards", "Gift Sets")  # people buy these for others, not for themselves
# Which categories an order's other items come from, given its first item's category.
AFFINITY: dict[str, dict[str, float]] = {
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
AFFINITY_FLOOR = 0.05  # any category can turn up next to any other, just rarely
