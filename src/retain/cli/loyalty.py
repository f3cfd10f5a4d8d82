"""``retain loyalty``: the points program: its rules, the sync that runs it, members' points,
what they spend them on, and what the points outstanding are worth."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import asdict, fields
from datetime import datetime
from pathlib import Path
from textwrap import indent
from typing import Annotated, Any, TypeVar

import typer
from rich.markup import escape
from rich.table import Table

from retain import membership
from retain.bootstrap import App
from retain.cli.ui import DbOption, console, fail, on_store, progress_bars
from retain.config import Settings
from retain.domain.discounts import DiscountError, grouped
from retain.domain.loyalty import Entry, InsufficientPoints, LoyaltyError, Program, Tier
from retain.domain.money import format_money
from retain.loyalty.program import ProgramError, load_program, program_to_dict
from retain.mailer import signer
from retain.service import loyalty
from retain.service.ports import no_progress

app = typer.Typer(
    help="The loyalty program: points on paid orders, tiers, rewards to spend them on, bonuses "
    "and referrals. `retain loyalty sync` brings every member's points up to date.",
    no_args_is_help=True,
)
REFUSED = (LoyaltyError, DiscountError)
BAR_WIDTH = 30
JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON instead of tables.")]
CustomerArgument = Annotated[
    str, typer.Argument(help="The customer: external id, e-mail or Retain's customer id.", show_default=False)
]
T = TypeVar("T")


def _run(db: str | None, work: Callable[[App], T]) -> T:
    """Run ``work`` on the store: a refused request is one line and exit status 1, a balance
    too short for it exit status 2."""
    try:
        return on_store(db, work, (InsufficientPoints,))
    except REFUSED as exc:
        fail(escape(str(exc)), 1)


def _print_json(data: Any) -> None:
    typer.echo(json.dumps(data, default=_json_value))


def _json_value(value: Any) -> str:
    """Times in ISO 8601, decimals as their exact digits."""
    return value.isoformat() if isinstance(value, datetime) else str(value)


def _customer_id(app_: App, who: str) -> int:
    """The customer ``who`` names: external id or e-mail first, else Retain's own id."""
    with app_.unit_of_work() as uow:
        found = uow.outreach.find_customers([who])
        if who in found:
            return found[who]
        if who.isdigit() and uow.loyalty.customer(int(who)) is not None:
            return int(who)
    raise LoyaltyError(f"no customer with external id, e-mail or id {who!r}")


def _account(app_: App, who: str) -> dict[str, Any]:
    """The loyalty account of the customer ``who`` names; refused when they are not a member."""
    customer_id = _customer_id(app_, who)
    with app_.unit_of_work() as uow:
        account = uow.loyalty.account(customer_id)
    if account is None:
        raise LoyaltyError(f"customer {who!r} is not a loyalty member yet")
    return account


def _signed(points: int) -> str:
    return f"{points:+,}" if points else "0"


def _percent(rate: float | None) -> str:
    return "-" if rate is None else f"{rate:.1%}"


def _bars(counts: dict[str, int], title: str) -> Table:
    """Counts as a horizontal bar chart, the largest BAR_WIDTH characters long."""
    top = max(counts.values(), default=0)
    chart = Table(title=title, show_header=False, box=None)
    chart.add_column()
    chart.add_column(justify="right")
    chart.add_column()
    for label, count in counts.items():
        chart.add_row(label, f"{count:,}", "█" * round(BAR_WIDTH * count / top) if top else "")
    return chart


def _figures(title: str, rows: dict[str, str]) -> Table:
    table = Table(title=title, show_header=False)
    table.add_column()
    table.add_column(justify="right")
    for label, value in rows.items():
        table.add_row(label, value)
    return table


# --- the program -----------------------------------------------------------------------------


def _read(file: Path) -> Program:
    """The program in ``file``; every problem printed with its line, and exit status 1."""
    try:
        return load_program(file)
    except ProgramError as exc:
        many = len(exc.problems) > 1
        fail(escape(f"{len(exc.problems)} problems:\n{indent(str(exc), '  ')}" if many else str(exc)), 1)
    except UnicodeDecodeError:
        fail(escape(f"{file}: not UTF-8 text"), 1)


@app.command()
def program(
    file: Annotated[
        Path | None,
        typer.Argument(help="A program in YAML or JSON to check and store.", exists=True, dir_okay=False),
    ] = None,
    check: Annotated[bool, typer.Option("--check", help="Only check FILE; store nothing.")] = False,
    as_json: JsonOption = False,
    db: DbOption = None,
) -> None:
    """Show the program (the stored one, else the one Retain ships), or check FILE and store
    it. A file with problems is refused whole, each problem printed with its line."""
    if file is None:
        if check:
            fail("--check needs a FILE to check", 1)
        text, source = _run(db, membership.program_text)
        if as_json:
            _print_json({"source": source, "text": text})
            return
        console.print(f"[bold]Loyalty program[/] from {escape(source)}:", highlight=False)
        typer.echo(text)
        return
    rules = _read(file)
    if not check:
        _run(db, lambda app_: membership.save_program(app_, file))
    if as_json:
        _print_json({"source": file.name, "stored": not check, "program": program_to_dict(rules)})
        return
    what = f"{len(rules.tiers)} tier(s), {len(rules.rewards)} reward(s), currency {rules.currency}"
    done = "is a valid program" if check else "is now the loyalty program"
    console.print(f"{escape(str(file))} {done}: {what}.", highlight=False)


@app.command()
def rewards(as_json: JsonOption = False, db: DbOption = None) -> None:
    """The rewards members spend points on: what each costs and gives, the smallest order it
    applies to, and how long its code stays valid."""
    rules = _run(db, membership.load_program)
    money = rules.currency
    if as_json:
        _print_json([asdict(reward) | {"gives": reward.gives(money)} for reward in rules.rewards])
        return
    table = Table(title="Rewards")
    for column in ("key", "title", "points", "gives", "minimum order", "valid"):
        table.add_column(column, justify="right" if column == "points" else "left")
    for reward in rules.rewards:
        table.add_row(
            reward.key, escape(reward.title), f"{reward.points:,}", reward.gives(money),
            format_money(reward.minimum_order, money) if reward.minimum_order else "-",
            f"{reward.valid_days} days" if reward.valid_days else "no expiry",
        )  # fmt: skip
    console.print(table if rules.rewards else "The program has no rewards.")


@app.command()
def tiers(as_json: JsonOption = False, db: DbOption = None) -> None:
    """The tiers: what reaches each (12-month spend or points), the points multiplier, the
    entry reward and perks, and how many members hold each."""

    def work(app_: App) -> tuple[Program, dict[str, int]]:
        rules = membership.load_program(app_)
        return rules, loyalty.report(rules, app_.unit_of_work).tiers

    rules, members = _run(db, work)
    if as_json:
        levels = [asdict(tier) | {"members": members.get(tier.name, 0)} for tier in rules.tiers]
        _print_json({"basis": rules.tier_basis, "tiers": levels, "members": members})
        return
    table = Table(title=f"Tiers (by {'12-month spend' if rules.tier_basis == 'spend' else 'points earned'})")
    for column in ("tier", "from", "multiplier", "entry reward", "perks", "members"):
        table.add_column(column, justify="left" if column in ("tier", "perks") else "right")
    for tier in rules.tiers:
        table.add_row(
            escape(tier.name), _threshold(rules, tier), f"x{tier.multiplier}", f"{tier.entry_reward:,}",
            _perks(tier), f"{members.get(tier.name, 0):,}",
        )  # fmt: skip
    console.print(table if rules.tiers else "The program has no tiers.")
    if members:
        console.print(_bars(members, "Members by tier"))


def _threshold(rules: Program, tier: Tier) -> str:
    if rules.tier_basis == "spend":
        return format_money(tier.threshold, rules.currency)
    return f"{tier.threshold:,} points"


def _perks(tier: Tier) -> str:
    perks = ["free shipping each quarter"] if tier.free_shipping_quarterly else []
    perks += [f"early access: {segment}" for segment in tier.early_access]
    return escape(", ".join(perks)) or "-"


# --- running it ------------------------------------------------------------------------------


@app.command()
def sync(as_json: JsonOption = False, db: DbOption = None) -> None:
    """Bring every member's points up to date now: earn on new paid orders, take points back
    for refunds and cancellations, approve those past the return window, credit referrals,
    move tiers, give birthday and anniversary bonuses, and expire points. Running it again
    changes nothing that is already done."""

    def work(app_: App) -> loyalty.SyncReport:
        if as_json:
            return membership.sync(app_, progress=no_progress)
        with progress_bars() as (sink, _):
            return membership.sync(app_, progress=sink)

    done = _run(db, work)
    figures = {item.name: getattr(done, item.name) for item in fields(done) if not item.name.startswith("_")}
    if as_json:
        _print_json(figures)
        return
    shown = {name.replace("_", " "): f"{value:,}" for name, value in figures.items()}
    console.print(_figures("Loyalty sync", shown))


@app.command()
def report(as_json: JsonOption = False, db: DbOption = None) -> None:
    """The program in figures: members, points issued, redeemed, reversed and expired, what
    refunds could not take back, the points outstanding and what they are worth, members by
    tier, and how often members buy again compared with everyone else."""

    def work(app_: App) -> tuple[Program, loyalty.LoyaltyReport]:
        rules = membership.load_program(app_)
        return rules, loyalty.report(rules, app_.unit_of_work)

    rules, done = _run(db, work)
    if as_json:
        _print_json(asdict(done) | {"point_value": rules.point_value})
        return
    money = done.currency
    shown = {
        "members": f"{done.members:,}", "points issued": f"{done.issued:,}",
        "points redeemed": f"{done.redeemed:,}", "points reversed": f"{done.reversed:,}",
        "points expired": f"{done.expired:,}", "shortfall (not taken back)": f"{done.shortfall:,}",
        "balance outstanding": f"{done.balance:,}", "pending outstanding": f"{done.pending:,}",
        "liability": format_money(rules.worth(done.balance), money),
        "pending liability": format_money(rules.worth(done.pending), money),
        "repeat purchase, members": _percent(done.members_repeat_rate),
        "repeat purchase, others": _percent(done.others_repeat_rate),
    }  # fmt: skip
    console.print(_figures("Loyalty program", shown))
    if done.tiers:
        console.print(_bars(done.tiers, "Members by tier"))


# --- members ---------------------------------------------------------------------------------


@app.command()
def balance(customer: CustomerArgument, as_json: JsonOption = False, db: DbOption = None) -> None:
    """A member's points: approved (spendable) and pending, their tier, what the balance is
    worth, and their referral code."""

    def work(app_: App) -> tuple[Program, dict[str, Any]]:
        return membership.load_program(app_), _account(app_, customer)

    rules, account = _run(db, work)
    balance_points = account["balance"]
    worth = rules.value_of(balance_points)
    expires = account["referral_code_expires_at"]
    figures = {
        "customer_id": account["customer_id"], "balance": account["balance"], "pending": account["pending"],
        "tier": account["tier"], "value": worth, "currency": rules.currency,
        "referral_code": account["referral_code"], "referral_code_expires_at": expires,
    }  # fmt: skip
    if as_json:
        _print_json(figures)
        return
    shown = {
        "balance": f"{account['balance']:,} points", "pending": f"{account['pending']:,} points",
        "tier": account["tier"] or "-", "worth": format_money(rules.worth(balance_points), rules.currency),
        "referral code": f"{grouped(account['referral_code'])} (valid to {expires:%Y-%m-%d})",
    }  # fmt: skip
    console.print(_figures(f"Points of {escape(customer)}", shown))


@app.command()
def history(
    customer: CustomerArgument,
    limit: Annotated[int, typer.Option(help="How many entries, newest first.", min=1)] = 50,
    as_json: JsonOption = False,
    db: DbOption = None,
) -> None:
    """A member's ledger, newest first: every earning, approval, redemption, reversal,
    expiry and adjustment, with the balance after it."""

    def work(app_: App) -> list[dict[str, Any]]:
        account = _account(app_, customer)
        with app_.unit_of_work() as uow:
            return uow.loyalty.history(account["customer_id"], limit)

    entries = _run(db, work)
    if as_json:
        _print_json([{k: v for k, v in entry.items() if k not in ("id", "key")} for entry in entries])
        return
    table = Table(title=f"Points history of {escape(customer)}")
    figures = ("points", "pending", "balance after")
    for column in ("when", "kind", "source", *figures, "reason", "code"):
        table.add_column(
            column, justify="right" if column in figures else "left", no_wrap=column in ("kind", "code")
        )
    for entry in entries:
        table.add_row(
            f"{entry['at']:%Y-%m-%d %H:%M}", entry["kind"], entry["source"], _signed(entry["points"]),
            _signed(entry["pending"]), f"{entry['balance_after']:,}", escape(entry["reason"]),
            grouped(entry["code"]) if entry["code"] else "",
        )  # fmt: skip
    console.print(table if entries else f"No points entries for {escape(customer)} yet.")


@app.command(context_settings={"ignore_unknown_options": True})
def adjust(
    customer: CustomerArgument,
    points: Annotated[int, typer.Argument(help="Points to add, or to take away when negative (-200).")],
    reason: Annotated[str, typer.Option(help="Why; the customer sees it in their history.")] = "",
    by: Annotated[str, typer.Option(help="Who made the correction.")] = "admin",
    as_json: JsonOption = False,
    db: DbOption = None,
) -> None:
    """Correct a customer's points by hand, with a reason. A deduction beyond the balance is
    refused (exit status 2) and changes nothing. `-- -200` also passes a negative number."""

    def work(app_: App) -> tuple[int, Entry]:
        customer_id = _customer_id(app_, customer)
        rules = membership.load_program(app_)
        return customer_id, loyalty.adjust(
            rules, app_.unit_of_work, customer_id, points, reason, app_.now(), actor=by
        )

    customer_id, entry = _run(db, work)
    if as_json:
        figures = {"points": entry.points, "reason": entry.reason, "balance": entry.balance_after}
        _print_json({"customer_id": customer_id, **figures})
        return
    console.print(
        f"{_signed(entry.points)} points for {escape(customer)}: the balance is {entry.balance_after:,}.",
        highlight=False,
    )


@app.command()
def redeem(
    customer: CustomerArgument,
    reward: Annotated[str, typer.Argument(help="The reward's key (see `retain loyalty rewards`).")],
    request_id: Annotated[
        str | None, typer.Option(help="Any id of the request: repeating it redeems once.")
    ] = None,
    as_json: JsonOption = False,
    db: DbOption = None,
) -> None:
    """Spend a member's points on a reward and print its single-use code. A balance too short
    is refused (exit status 2) and nothing changes."""

    def work(app_: App) -> loyalty.Redemption:
        member = _account(app_, customer)["customer_id"]
        rules = membership.load_program(app_)
        return loyalty.redeem(rules, app_.unit_of_work, member, reward, app_.now(), request_id)

    done = _run(db, work)
    code = grouped(done.code)
    if as_json:
        _print_json({"reward": done.reward.key, "code": code, "points": done.points, "balance": done.balance})
        return
    console.print(f"{escape(done.reward.title)}: code [bold]{code}[/]", highlight=False)
    console.print(f"Spent {done.points:,} points; the balance is {done.balance:,}.", highlight=False)


@app.command()
def award(
    customer: CustomerArgument,
    bonus: Annotated[str, typer.Argument(help="The bonus, e.g. review or survey (see the program).")],
    ref: Annotated[str, typer.Option(help="The review's or answer's id: each is rewarded once.")],
    as_json: JsonOption = False,
    db: DbOption = None,
) -> None:
    """Give the program's bonus for a review, a survey or another bonus it names, once per
    --ref."""

    def work(app_: App) -> Entry | None:
        customer_id = _customer_id(app_, customer)
        rules = membership.load_program(app_)
        return loyalty.award(rules, app_.unit_of_work, customer_id, bonus, ref, app_.now())

    entry = _run(db, work)
    if as_json:
        given = {"points": entry.points, "balance": entry.balance_after} if entry else {}
        _print_json({"awarded": entry is not None, **given})
        return
    if entry is None:
        console.print(f"The {escape(bonus)} bonus for {escape(ref)} was given already.", highlight=False)
        return
    console.print(
        f"{_signed(entry.points)} points for the {escape(bonus)}: the balance is {entry.balance_after:,}.",
        highlight=False,
    )


@app.command()
def refer(
    code: Annotated[str, typer.Argument(help="The member's referral code.")],
    friend_email: Annotated[str, typer.Argument(help="The friend's e-mail address.")],
    phone: Annotated[str | None, typer.Option(help="The friend's phone, to refuse self-referrals.")] = None,
    address: Annotated[str | None, typer.Option(help="The friend's address, likewise.")] = None,
    payment: Annotated[str | None, typer.Option(help="The friend's payment fingerprint, likewise.")] = None,
    as_json: JsonOption = False,
    db: DbOption = None,
) -> None:
    """Record that a friend came with a member's referral code and print the friend's welcome
    code. The member earns their points when the friend's first order is past the return
    window. An unknown or expired code, a self-referral and a friend referred before are
    refused."""

    def work(app_: App) -> loyalty.Referral:
        rules = membership.load_program(app_)
        return loyalty.refer(
            rules, app_.unit_of_work, code, friend_email, app_.now(),
            phone=phone, address=address, payment=payment,
        )  # fmt: skip

    done = _run(db, work)
    welcome = grouped(done.welcome_code) if done.welcome_code else None
    if as_json:
        _print_json(asdict(done) | {"welcome_code": welcome})
        return
    console.print(f"Referral of {escape(done.friend_email)} recorded.", highlight=False)
    if welcome:
        console.print(f"Welcome code: [bold]{welcome}[/]", highlight=False)


@app.command()
def link(customer: CustomerArgument, as_json: JsonOption = False, db: DbOption = None) -> None:
    """A signed address of the member's points as JSON (balance, tier, history, rewards; POST
    .../redeem to spend), valid 90 days, for the store's account page. Served by `retain serve`
    at RETAIN_PUBLIC_URL; it names the member without their id, and nobody can forge one."""

    def work(app_: App) -> tuple[int, str]:
        customer_id = int(_account(app_, customer)["customer_id"])
        links = signer(app_, Settings())
        return customer_id, f"{links.base_url}/api/v1/loyalty/{links.token('loyalty', customer_id, None)}"

    customer_id, url = _run(db, work)
    if as_json:
        _print_json({"customer_id": customer_id, "url": url})
        return
    typer.echo(url)
