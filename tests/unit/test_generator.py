"""The synthetic demo store: deterministic, internally consistent, and shaped like a real shop."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

import polars as pl
import pytest

from retain.demo.generator import (
    CUSTOMERS_FILE,
    MAX_CUSTOMERS,
    ORDER_HEADER,
    ORDERS_FILE,
    PRODUCTS_FILE,
    GeneratedStore,
    generate_store,
)
from retain.ingest.reader import read_orders

CUSTOMERS = 2000
SHOPIFY_HEADER = (  # Shopify's own order export, as the importer expects it
    "Name,Email,Financial Status,Paid at,Fulfillment Status,Fulfilled at,Accepts Marketing,Currency,"
    "Subtotal,Shipping,Taxes,Total,Discount Code,Discount Amount,Shipping Method,Created at,"
    "Lineitem quantity,Lineitem name,Lineitem price,Lineitem compare at price,Lineitem sku,"
    "Lineitem requires shipping,Lineitem taxable,Lineitem fulfillment status,Billing Name,Billing Street,"
    "Billing Address1,Billing Address2,Billing Company,Billing City,Billing Zip,Billing Province,"
    "Billing Country,Billing Phone,Shipping Name,Shipping Street,Shipping Address1,Shipping Address2,"
    "Shipping Company,Shipping City,Shipping Zip,Shipping Province,Shipping Country,Shipping Phone,Notes,"
    "Note Attributes,Cancelled at,Payment Method,Payment Reference,Refunded Amount,Vendor,"
    "Outstanding Balance,Employee,Location,Device ID,Id,Tags,Risk Level,Source,Lineitem discount,"
    "Tax 1 Name,Tax 1 Value,Tax 2 Name,Tax 2 Value,Tax 3 Name,Tax 3 Value,Tax 4 Name,Tax 4 Value,"
    "Tax 5 Name,Tax 5 Value,Phone,Receipt Number,Duties,Billing Province Name,Shipping Province Name,"
    "Payment ID,Payment Terms Name,Next Payment Due At,Payment References"
)
ORDER_LEVEL = (
    "Email", "Financial Status", "Paid at", "Accepts Marketing", "Currency", "Subtotal", "Shipping", "Taxes",
    "Total", "Discount Code", "Discount Amount", "Created at", "Billing Name", "Phone", "Cancelled at",
    "Refunded Amount", "Id", "Tags", "Source", "Billing Street", "Billing City", "Billing Zip",
    "Billing Country", "Shipping Name", "Shipping Address1", "Shipping City", "Shipping Country",
)  # fmt: skip
MONEY = ("Subtotal", "Shipping", "Taxes", "Total", "Discount Amount", "Refunded Amount")


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> GeneratedStore:
    return generate_store(tmp_path_factory.mktemp("store"), customers=CUSTOMERS, seed=11)


@pytest.fixture(scope="module")
def rows(store: GeneratedStore) -> pl.DataFrame:
    return pl.read_csv(store.orders_csv, infer_schema=False).with_row_index("row")


@pytest.fixture(scope="module")
def orders(rows: pl.DataFrame) -> pl.DataFrame:
    """Each order's first row, with its money in integer cents."""
    heads = rows.filter(pl.col("row") == pl.col("row").min().over("Name"))
    return heads.with_columns(cents(name).alias(f"{name} cents") for name in MONEY)


@pytest.fixture(scope="module")
def customers(store: GeneratedStore) -> pl.DataFrame:
    return pl.read_csv(store.customers_csv, infer_schema=False)


def cents(column: str) -> pl.Expr:
    """Exact cents of a ``12.50`` cell; null unless it has exactly two decimals."""
    parts = pl.col(column).str.extract_groups(r"^(\d+)\.(\d\d)$")
    return parts.struct.field("1").cast(pl.Int64) * 100 + parts.struct.field("2").cast(pl.Int64)


def share(flags: pl.Series) -> float:
    return int(flags.sum()) / flags.len()


def file_paths(store: GeneratedStore) -> list[Path]:
    return [store.orders_csv, store.customers_csv, store.products_csv]


def counts(store: GeneratedStore) -> tuple[int, int, int]:
    return store.customers, store.orders, store.line_items


def test_the_same_seed_writes_byte_identical_files(tmp_path: Path) -> None:
    first = generate_store(tmp_path / "a", customers=300, seed=3)
    second = generate_store(tmp_path / "b", customers=300, seed=3)
    assert [p.read_bytes() for p in file_paths(first)] == [p.read_bytes() for p in file_paths(second)]
    assert counts(first) == counts(second)


def test_a_different_seed_writes_a_different_store(tmp_path: Path) -> None:
    first = generate_store(tmp_path / "a", customers=300, seed=3)
    other = generate_store(tmp_path / "b", customers=300, seed=4)
    assert first.orders_csv.read_bytes() != other.orders_csv.read_bytes()
    assert first.customers_csv.read_bytes() != other.customers_csv.read_bytes()


def test_the_files_have_the_promised_names_in_a_directory_created_on_demand(tmp_path: Path) -> None:
    store = generate_store(tmp_path / "new" / "dir", customers=20)
    assert [p.name for p in file_paths(store)] == [
        "orders_export.csv", "customers.csv", "products_export.csv",
    ]  # fmt: skip
    assert all(p.parent == tmp_path / "new" / "dir" and p.is_file() for p in file_paths(store))


def test_the_orders_file_has_shopify_exact_header(store: GeneratedStore) -> None:
    assert store.orders_csv.read_text(encoding="utf-8").split("\n", 1)[0] == SHOPIFY_HEADER


def test_the_generator_module_still_exports_the_names_callers_import() -> None:
    assert ",".join(ORDER_HEADER) == SHOPIFY_HEADER
    assert (ORDERS_FILE, CUSTOMERS_FILE, PRODUCTS_FILE) == (
        "orders_export.csv", "customers.csv", "products_export.csv",
    )  # fmt: skip
    assert MAX_CUSTOMERS == 1_000_000


def test_the_reported_counts_match_the_files(
    store: GeneratedStore, rows: pl.DataFrame, orders: pl.DataFrame, customers: pl.DataFrame
) -> None:
    assert store.line_items == rows.height
    assert store.orders == orders.height == orders["Id"].n_unique()
    assert store.customers == customers.height == CUSTOMERS  # without a cap every customer has ordered


def test_every_amount_has_exactly_two_decimals_and_none_is_negative(
    orders: pl.DataFrame, rows: pl.DataFrame
) -> None:
    for name in MONEY:
        assert orders[f"{name} cents"].null_count() == 0, name
    for name in ("Lineitem price", "Lineitem discount"):
        assert rows.select(cents(name)).to_series().null_count() == 0, name


def test_every_order_total_is_subtotal_less_discount_plus_shipping_and_taxes(orders: pl.DataFrame) -> None:
    subtotal, discount = pl.col("Subtotal cents"), pl.col("Discount Amount cents")
    expected = subtotal - discount + pl.col("Shipping cents") + pl.col("Taxes cents")
    assert orders.select((expected == pl.col("Total cents")).all()).item()
    assert (orders["Refunded Amount cents"] <= orders["Total cents"]).all()


def test_the_subtotal_is_the_sum_of_its_line_items_after_line_discounts(
    rows: pl.DataFrame, orders: pl.DataFrame
) -> None:
    quantity = pl.col("Lineitem quantity").cast(pl.Int64)
    per_line = quantity * cents("Lineitem price") - cents("Lineitem discount")
    sums = rows.group_by("Name").agg(per_line.sum().alias("lines"))
    joined = orders.join(sums, on="Name")
    assert (joined["lines"] == joined["Subtotal cents"]).all()


def test_order_level_cells_are_filled_on_the_first_row_only(rows: pl.DataFrame) -> None:
    first = pl.col("row") == pl.col("row").min().over("Name")
    later = rows.filter(~first)
    assert later.height > 0, "the fixture should contain orders with several line items"
    for name in ORDER_LEVEL:
        assert later[name].null_count() == later.height, name
    assert later["Lineitem sku"].null_count() == 0
    heads = rows.filter(first)
    for name in ("Email", "Created at", "Total", "Id", "Financial Status", "Billing Name", "Source"):
        assert heads[name].null_count() == 0, name


def test_order_names_count_up_in_the_order_they_were_created(orders: pl.DataFrame) -> None:
    numbers = orders["Name"].str.strip_prefix("#").cast(pl.Int64)
    assert numbers.to_list() == list(range(1001, 1001 + orders.height))
    created = orders["Created at"]
    assert created.str.contains(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d -0500$").all()
    assert created.to_list() == sorted(created.to_list())  # same offset, so text order is time order


def test_refunds_and_cancellations_are_rare_and_consistent(orders: pl.DataFrame) -> None:
    status = orders["Financial Status"]
    shares = {s: share(status == s) for s in ("refunded", "partially_refunded", "voided")}
    assert 0.015 < shares["refunded"] < 0.05
    assert 0.005 < shares["partially_refunded"] < 0.04
    assert 0.002 < shares["voided"] < 0.025
    refunded = orders.filter(pl.col("Financial Status") == "refunded")
    assert (refunded["Refunded Amount cents"] == refunded["Total cents"]).all()
    partial = orders.filter(pl.col("Financial Status") == "partially_refunded")
    refund = partial["Refunded Amount cents"]
    assert ((refund > 0) & (refund < partial["Total cents"])).all()
    voided = orders.filter(pl.col("Financial Status") == "voided")
    assert voided["Cancelled at"].null_count() == 0
    assert voided["Paid at"].null_count() == voided.height
    paid = orders.filter(pl.col("Financial Status") != "voided")
    assert paid["Cancelled at"].null_count() == paid.height
    assert paid["Paid at"].null_count() == 0


def test_paid_orders_are_paid_minutes_after_they_are_placed(orders: pl.DataFrame) -> None:
    stamp = "%Y-%m-%d %H:%M:%S %z"
    delay = pl.col("Paid at").str.to_datetime(stamp) - pl.col("Created at").str.to_datetime(stamp)
    paid = orders.filter(pl.col("Paid at").is_not_null()).select(delay.alias("delay"))
    assert paid["delay"].min() >= timedelta(0)  # type: ignore[operator]
    assert paid["delay"].max() <= timedelta(minutes=15)  # type: ignore[operator]


def test_discount_codes_include_the_campaigns_and_some_unique_codes(orders: pl.DataFrame) -> None:
    codes = orders["Discount Code"].drop_nulls()
    assert {"WELCOME10", "BFCM25"} <= set(codes.to_list())
    assert codes.str.contains(r"^[A-Z]+-[A-Z0-9]{6}$").sum() > 10
    with_code = orders.filter(pl.col("Discount Code").is_not_null())
    assert (with_code["Discount Amount cents"] > 0).all()
    without = orders.filter(pl.col("Discount Code").is_null())
    assert (without["Discount Amount cents"] == 0).all()
    assert 0.05 < with_code.height / orders.height < 0.5


def test_between_a_fifth_and_seven_tenths_of_customers_order_again(orders: pl.DataFrame) -> None:
    per_customer = orders.group_by("Email").len()
    assert 0.2 <= share(per_customer["len"] >= 2) <= 0.7


def test_november_and_december_are_busier_per_day_than_june_and_july(orders: pl.DataFrame) -> None:
    months = orders["Created at"].str.slice(5, 2).cast(pl.Int64)
    start, end = date(2023, 1, 1), date(2025, 12, 31)  # the default period
    days = [start + timedelta(days=n) for n in range((end - start).days + 1)]

    def per_day(wanted: set[int]) -> float:
        return float(months.is_in(list(wanted)).sum()) / sum(1 for d in days if d.month in wanted)

    assert per_day({11, 12}) > 1.3 * per_day({6, 7})


def test_most_but_not_all_customers_accept_marketing(customers: pl.DataFrame, orders: pl.DataFrame) -> None:
    assert 0.6 <= share(customers["accepts_marketing"] == "yes") <= 0.9
    in_orders = orders.select("Email", "Accepts Marketing").unique()
    joined = customers.join(in_orders, left_on="email", right_on="Email", how="left")
    assert (joined["accepts_marketing"] == joined["Accepts Marketing"]).all()


def test_customers_file_lists_each_buyer_once_with_the_orders_email(
    customers: pl.DataFrame, orders: pl.DataFrame
) -> None:
    assert customers.columns == [
        "customer_id", "email", "first_name", "last_name", "phone", "birthday", "timezone",
        "accepts_marketing", "preferred_roast", "brew_method",
    ]  # fmt: skip
    assert customers["email"].n_unique() == customers.height
    assert set(customers["email"]) == set(orders["Email"])
    assert customers["email"].str.contains(r"^[a-z]+\.[a-z]+\.\d+@example\.(com|org|net)$").all()
    assert customers["customer_id"].to_list() == [f"C{n:06d}" for n in range(1, customers.height + 1)]


def test_only_some_customers_share_phones_birthdays_and_preferences(customers: pl.DataFrame) -> None:
    def filled(column: str) -> float:
        return 1 - customers[column].null_count() / customers.height

    assert 0.3 < filled("phone") < 0.5
    assert 0.25 < filled("birthday") < 0.45
    assert 0.2 < filled("preferred_roast") < 0.4
    assert filled("timezone") == 1.0
    assert customers["birthday"].drop_nulls().str.contains(r"^(19|20)\d\d-\d\d-\d\d$").all()
    assert set(customers["preferred_roast"].drop_nulls()) <= {"light", "medium", "dark"}
    assert set(customers["brew_method"].drop_nulls()) <= {"espresso", "filter", "french press"}


def test_every_line_item_matches_a_product_by_sku_title_and_price(
    store: GeneratedStore, rows: pl.DataFrame
) -> None:
    products = pl.read_csv(store.products_csv, infer_schema=False)
    assert products.columns == [
        "Handle", "Title", "Body (HTML)", "Vendor", "Type", "Tags", "Published", "Variant SKU",
        "Variant Price", "Status",
    ]  # fmt: skip
    assert 120 <= products.height <= 300
    assert 8 <= products["Type"].n_unique() <= 12
    assert products["Variant SKU"].n_unique() == products.height == products["Handle"].n_unique()
    sold = rows.select("Lineitem sku", "Lineitem name", "Lineitem price").unique()
    matched = sold.join(products, left_on="Lineitem sku", right_on="Variant SKU", how="left")
    assert matched["Title"].null_count() == 0
    assert (matched["Title"] == matched["Lineitem name"]).all()
    assert (matched["Variant Price"] == matched["Lineitem price"]).all()


def test_popular_products_sell_far_more_than_the_rest(rows: pl.DataFrame) -> None:
    counts = rows["Lineitem sku"].value_counts()["count"].sort(descending=True).to_list()
    assert sum(counts[: len(counts) // 10]) > 0.3 * sum(counts)


def test_orders_have_one_to_four_lines_mostly_one_or_two(rows: pl.DataFrame) -> None:
    sizes = rows.group_by("Name").len()["len"]
    assert set(sizes.unique()) == {1, 2, 3, 4}
    assert share(sizes <= 2) > 0.7
    assert set(rows["Lineitem quantity"].unique()) <= {"1", "2", "3"}


def test_max_line_items_keeps_whole_orders_up_to_the_cap(tmp_path: Path) -> None:
    capped = generate_store(tmp_path, customers=CUSTOMERS, max_line_items=1000)
    lines = pl.read_csv(capped.orders_csv, infer_schema=False)
    assert capped.line_items == lines.height <= 1000
    assert capped.line_items > 1000 - 4  # the next order, at most 4 lines, would not have fitted
    assert capped.orders == lines["Email"].drop_nulls().len() == lines["Name"].n_unique()
    buyers = pl.read_csv(capped.customers_csv, infer_schema=False)
    assert capped.customers == buyers.height < CUSTOMERS


def test_the_importer_reads_the_export_without_rejecting_a_row(store: GeneratedStore) -> None:
    parsed = read_orders(store.orders_csv)
    assert parsed.format == "shopify"
    assert parsed.rejects.height == 0
    assert parsed.batch.orders.height == store.orders
    assert parsed.batch.customers.height == store.customers


@pytest.mark.parametrize(
    "arguments",
    [
        {"customers": 0},
        {"customers": 1_000_001},
        {"customers": -5},
        {"start": date(2024, 5, 1), "end": date(2024, 5, 1)},
        {"start": date(2024, 5, 2), "end": date(2024, 5, 1)},
        {"max_line_items": 0},
        {"max_line_items": -1},
    ],
)
def test_invalid_arguments_raise_a_clear_value_error(tmp_path: Path, arguments: dict[str, object]) -> None:
    with pytest.raises(ValueError, match=r"customers|start|max_line_items"):
        generate_store(tmp_path, **arguments)  # type: ignore[arg-type]
    assert not (tmp_path / "orders_export.csv").exists()


def test_every_email_in_the_orders_uses_a_reserved_example_domain(orders: pl.DataFrame) -> None:
    domains = set(orders["Email"].str.extract(r"@(.+)$").to_list())
    assert domains == {"example.com", "example.org", "example.net"}
