"""``retain codes``: single-use discount codes to hand out and to load into the store platform."""

from __future__ import annotations

import csv
from datetime import UTC, datetime, time, timedelta
from decimal import InvalidOperation
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from retain.bootstrap import App
from retain.cli.ui import DbOption, console, fail, on_store
from retain.domain.discounts import KINDS, DiscountError, DiscountKind, DiscountSpec, grouped
from retain.domain.money import format_money, to_decimal, to_minor
from retain.service.discounts import issue_codes
from retain.store.queries import store_currency

app = typer.Typer(
    help="Single-use discount codes: create them, export them for the store platform, and see "
    "which were redeemed (an imported order carrying a code redeems it).",
    no_args_is_help=True,
)
EXPORT_COLUMNS = (
    "code",
    "kind",
    "value",
    "currency",
    "minimum_order",
    "expires_at",
    "purpose",
    "customer_id",
)


@app.command()
def create(
    kind: Annotated[str, typer.Option(help=f"One of {', '.join(KINDS)}.")],
    value: Annotated[
        str,
        typer.Option(
            help="Percent off (1-100), or an amount in the currency for fixed; 0 for free shipping."
        ),
    ] = "0",
    count: Annotated[int, typer.Option(help="How many codes.", min=1)] = 1,
    min_order: Annotated[
        str, typer.Option(help="Smallest order the code applies to, in the currency.")
    ] = "0",
    valid_days: Annotated[
        int | None, typer.Option(help="Days the codes stay valid (default: forever).", min=1)
    ] = None,
    purpose: Annotated[str, typer.Option(help="A label, e.g. winback or review-reward.")] = "",
    currency: Annotated[str | None, typer.Option(help="Default: the currency of most orders.")] = None,
    out: Annotated[Path | None, typer.Option(help="Also write the new codes to this CSV file.")] = None,
    db: DbOption = None,
) -> None:
    """Create single-use codes that anyone may use once, and print them."""

    def work(app_: App) -> tuple[list[str], DiscountSpec]:
        money = currency or store_currency(app_.engine) or "USD"
        now = app_.now()
        expires = None
        if valid_days is not None:  # to the end of the last valid day
            expires = datetime.combine((now + timedelta(days=valid_days)).date(), time.max, tzinfo=UTC)
        spec = DiscountSpec(
            kind=_kind(kind), value=_amount("value", value, money, kind == "fixed"), currency=money.upper(),
            minimum_order=_amount("min-order", min_order, money, True), expires_at=expires, purpose=purpose,
        )  # fmt: skip
        return issue_codes(app_.unit_of_work(), spec, now, count=count), spec

    if out is not None and not out.parent.is_dir():
        fail(f"{out}: directory {out.parent} does not exist")
    codes, spec = on_store(db, work, (DiscountError,))
    if out is not None:
        with out.open("w", newline="", encoding="utf-8") as handle:
            writer = csv.writer(handle)
            writer.writerow(["code"])
            writer.writerows([c] for c in codes)
    console.print(f"Created {len(codes):,} {_describe(spec)} code(s):", highlight=False)
    for code in codes[:20]:
        typer.echo(code)
    if len(codes) > 20:
        console.print(f"... and {len(codes) - 20:,} more" + (f", all in {out}" if out else "; use --out"))


def _amount(option: str, text: str, currency: str, money: bool) -> int:
    """Minor units of an amount in the currency, or a whole number (percent points)."""
    try:
        return to_minor(text, currency.upper()) if money else int(text)
    except (ValueError, InvalidOperation) as exc:
        raise DiscountError(
            f"--{option}: {text!r} is not {'an amount' if money else 'a whole number'}"
        ) from exc


def _kind(text: str) -> DiscountKind:
    if text not in KINDS:
        raise DiscountError(f"kind: {text!r} is not one of {', '.join(KINDS)}")
    return text  # type: ignore[return-value]


def _describe(spec: DiscountSpec) -> str:
    what = {"percent": f"{spec.value}% off", "free_shipping": "free shipping"}.get(
        spec.kind, f"{format_money(spec.value, spec.currency)} off"
    )
    if spec.minimum_order:
        what += f" on orders from {format_money(spec.minimum_order, spec.currency)}"
    if spec.expires_at:
        what += f", valid to {spec.expires_at:%Y-%m-%d}"
    return what


@app.command()
def export(
    file: Annotated[Path, typer.Argument(help="CSV file to write.")],
    unredeemed: Annotated[bool, typer.Option(help="Only codes not redeemed yet.")] = True,
    db: DbOption = None,
) -> None:
    """Write codes as CSV (amounts in the currency, times in UTC) for the store platform."""
    if not file.parent.is_dir():
        fail(f"{file}: directory {file.parent} does not exist")

    def work(app_: App) -> list[dict[str, object]]:
        with app_.unit_of_work() as uow:
            return uow.codes.listing(unredeemed_only=unredeemed)

    rows = on_store(db, work)
    with file.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(EXPORT_COLUMNS)
        for row in rows:
            writer.writerow(_export_row(row))
    console.print(f"Wrote {len(rows):,} code(s) to {file}.", highlight=False)


def _export_row(row: dict[str, object]) -> list[object]:
    currency = str(row["currency"])
    value = int(row["value"])  # type: ignore[call-overload]
    expires = row["expires_at"]
    return [
        grouped(str(row["code"])),
        row["kind"],
        to_decimal(value, currency) if row["kind"] == "fixed" else value,
        currency,
        to_decimal(int(row["minimum_order"]), currency),  # type: ignore[call-overload]
        expires.isoformat() if isinstance(expires, datetime) else "",
        row["purpose"],
        row["customer_id"] if row["customer_id"] is not None else "",
    ]


@app.command("list")
def list_codes(db: DbOption = None) -> None:
    """How many codes were issued and redeemed, by purpose and kind."""

    def work(app_: App) -> list[dict[str, object]]:
        with app_.unit_of_work() as uow:
            return uow.codes.listing()

    rows = on_store(db, work)
    tally: dict[tuple[str, str], list[int]] = {}
    for row in rows:
        counts = tally.setdefault((str(row["purpose"]) or "-", str(row["kind"])), [0, 0])
        counts[0] += 1
        counts[1] += row["redeemed_at"] is not None
    table = Table(title="Discount codes")
    for column in ("purpose", "kind", "issued", "redeemed", "rate"):
        table.add_column(column, justify="left" if column in ("purpose", "kind") else "right")
    for (purpose, kind), (issued, redeemed) in sorted(tally.items()):
        table.add_row(purpose, kind, f"{issued:,}", f"{redeemed:,}", f"{redeemed / issued:.1%}")
    console.print(table if tally else "No discount codes yet; create some with `retain codes create`.")
