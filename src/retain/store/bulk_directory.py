"""Customers and products from their own files: profiles enrich, never erase."""

from __future__ import annotations

import json
from datetime import datetime

import polars as pl

from retain.domain.imports import ImportCounts
from retain.service.ports import Progress
from retain.store.bulk_base import BulkWriter
from retain.store.tables import customers, products

CONSENT_SOURCE = "customer import"
_UTC = pl.Datetime("us", "UTC")
_FILLED = ("external_id", "email", "name", "phone", "birthday", "timezone")  # kept when the file is silent


def merge_attributes(old: str | None, new: str | None) -> str:
    """The file's attributes over the stored ones; a key the file leaves out is kept."""
    merged: dict[str, object] = json.loads(old) if old else {}
    merged.update(json.loads(new) if new else {})
    return json.dumps(merged, sort_keys=True)


class BulkDirectoryWriter(BulkWriter):
    def write_profiles(self, profiles: pl.DataFrame, as_of: datetime, progress: Progress) -> ImportCounts:
        counts = ImportCounts()
        existing = self.existing_customers(profiles, "birthday", "timezone", "attributes", "consent_source")
        new = profiles.join(existing.select("customer_key"), on="customer_key", how="anti")
        new = new.with_columns(self.new_ids(customers, new.height))
        stated = pl.col("marketing_consent").is_not_null()
        now = pl.lit(as_of, dtype=_UTC)
        self.insert(
            customers,
            new.select(
                "id", "external_id", "email", "name", "phone", "birthday", "timezone",
                pl.col("created_at").fill_null(now),
                "marketing_consent",
                pl.when(stated).then(pl.lit(CONSENT_SOURCE)).alias("consent_source"),
                pl.when(stated).then(now).alias("consent_at"),
                pl.col("attributes").map_elements(lambda a: merge_attributes(None, a), pl.String),
            ),
            progress,
        )  # fmt: skip
        counts.customers_created = new.height
        counts.customers_updated = self._update_profiles(profiles, existing, as_of)
        return counts

    def _update_profiles(self, profiles: pl.DataFrame, existing: pl.DataFrame, as_of: datetime) -> int:
        both = profiles.join(existing, on="customer_key", suffix="_old")
        # A customer file states consent as it is now, so it is newer than any order's.
        consent_changes = pl.col("marketing_consent").is_not_null() & pl.col("marketing_consent").ne_missing(
            pl.col("marketing_consent_old")
        )
        consent = pl.when(consent_changes).then("marketing_consent").otherwise("marketing_consent_old")
        stamp = pl.when(consent_changes).then(pl.lit(as_of, dtype=_UTC)).otherwise("consent_at")
        attributes = pl.struct("attributes_old", "attributes").map_elements(
            lambda r: merge_attributes(r["attributes_old"], r["attributes"]), pl.String
        )
        merged = both.with_columns(
            *(pl.coalesce(c, f"{c}_old").alias(c) for c in _FILLED),
            consent.alias("marketing_consent"),
            stamp.alias("consent_at"),
            attributes.alias("attributes"),
            consent_changes.alias("__consent_changed"),
        )
        fields = (*_FILLED, "marketing_consent")
        changed = merged.filter(
            pl.any_horizontal(pl.col(f).ne_missing(pl.col(f"{f}_old")) for f in fields)
            | (pl.col("attributes") != pl.col("attributes_old").fill_null("{}"))
        )
        source = pl.when("__consent_changed").then(pl.lit(CONSENT_SOURCE)).otherwise("consent_source")
        self.update(
            customers,
            changed.select("id", *fields, "attributes", "consent_at", source.alias("consent_source")),
        )
        return changed.height

    def write_products(self, batch: pl.DataFrame, progress: Progress) -> ImportCounts:
        counts = ImportCounts()
        existing = self.lookup(
            products, "key", batch["product_key"].to_list(), "id", "title", "category", "price"
        )
        existing = existing.rename({"key": "product_key"})
        new = batch.join(existing, on="product_key", how="anti")
        new = new.with_columns(self.new_ids(products, new.height))
        self.insert(products, new.rename({"product_key": "key"}), progress)
        counts.products_created = new.height
        both = batch.join(existing, on="product_key", suffix="_old").with_columns(
            pl.coalesce("category", "category_old").alias("category"),
            pl.coalesce("price", "price_old").alias("price"),
        )
        changed = both.filter(
            pl.col("title").ne_missing(pl.col("title_old"))
            | pl.col("category").ne_missing(pl.col("category_old"))
            | pl.col("price").ne_missing(pl.col("price_old"))
        )
        self.update(products, changed.select("id", "title", "category", "price"))
        counts.products_updated = changed.height
        return counts
