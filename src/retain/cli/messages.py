"""``retain messages``: the store's brand and templates, previews, sends and their results."""

from __future__ import annotations

from dataclasses import asdict
from datetime import UTC, datetime, time, timedelta
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from retain.bootstrap import App
from retain.cli.ui import DbOption, console, fail, on_store, progress_bars
from retain.config import Settings
from retain.domain.discounts import DiscountError, DiscountSpec
from retain.domain.messages import Mailbox, MessageError
from retain.domain.money import to_minor
from retain.domain.personalization import Brand, BrandError
from retain.mailer import load_brand, load_templates, save_brand, save_template, send
from retain.mailer import preview as preview_message
from retain.messaging.templating import TemplateError, sample_context
from retain.service.outreach import Campaign, SendReport
from retain.store.queries import store_currency

app = typer.Typer(
    help="E-mail to customers: the brand every message wears, the templates (Retain's own and "
    "the store's), previews, sends, and what each message achieved.",
    no_args_is_help=True,
)
REFUSED = (TemplateError, BrandError, MessageError, DiscountError, ValueError)


@app.command()
def brand(
    store_name: Annotated[str | None, typer.Option(help="The store's name, as e-mails show it.")] = None,
    sender: Annotated[
        str | None, typer.Option(help='Sender, e.g. "Coffee & Co <hello@coffee.example>".')
    ] = None,
    postal_address: Annotated[str | None, typer.Option(help="The store's postal address (footer).")] = None,
    shop_url: Annotated[str | None, typer.Option(help="The shop's home page.")] = None,
    logo_url: Annotated[str | None, typer.Option(help="An https URL of the logo (PNG or JPEG).")] = None,
    accent_colour: Annotated[str | None, typer.Option(help="Buttons and links, e.g. #1F6F5C.")] = None,
    text_colour: Annotated[str | None, typer.Option(help="Body text colour.")] = None,
    background_colour: Annotated[str | None, typer.Option(help="Background around the message.")] = None,
    db: DbOption = None,
) -> None:
    """Show the brand, or change the parts given (the first time: name, sender, postal address
    and shop URL are required)."""
    changes: dict[str, str] = {
        k: v
        for k, v in {
            "store_name": store_name, "postal_address": postal_address, "shop_url": shop_url,
            "logo_url": logo_url, "accent_colour": accent_colour, "text_colour": text_colour,
            "background_colour": background_colour,
        }.items()
        if v is not None
    }  # fmt: skip

    def work(app_: App) -> Brand:
        if sender is not None:
            mailbox = Mailbox.parse(sender)
            changes.update(
                sender_address=mailbox.address, sender_name=mailbox.name or changes.get("store_name", "")
            )
        if not changes:
            return load_brand(app_)
        try:
            current = asdict(load_brand(app_))
        except BrandError:
            options = {"store_name": "--store-name", "sender_address": "--sender",
                       "postal_address": "--postal-address", "shop_url": "--shop-url"}  # fmt: skip
            if missing := [option for field, option in options.items() if field not in changes]:
                raise BrandError("a new brand needs " + ", ".join(missing)) from None
            current = {}
        merged = {**current, **changes}
        merged["sender_name"] = merged.get("sender_name") or merged["store_name"]
        new = Brand(**merged)
        save_brand(app_, new)
        return new

    shown = on_store(db, work, REFUSED)
    table = Table(title="Brand", show_header=False)
    for key, value in asdict(shown).items():
        table.add_row(key.replace("_", " "), str(value or "-"))
    console.print(table)


@app.command("templates")
def list_templates(db: DbOption = None) -> None:
    """List the templates: name, topic, the subject as a sample customer reads it, and
    whether the store wrote its own."""
    templates = on_store(db, load_templates, REFUSED)
    table = Table(title="Templates (subjects for a sample customer)")
    for column in ("name", "topic", "subject", "source"):
        table.add_column(column)
    sample = sample_context()
    for name in sorted(templates.all):
        template = templates.all[name]
        subject = templates.render(name, sample).subject
        table.add_row(name, template.topic, subject, "store" if name in templates.own else "Retain")
    console.print(table)


@app.command()
def save(
    file: Annotated[Path, typer.Argument(help="An .mjml template: front matter, then the MJML body.")],
    name: Annotated[str | None, typer.Option(help="Template name (default: the file name).")] = None,
    db: DbOption = None,
) -> None:
    """Check a template and keep it as the store's own; a syntax error or an unknown field
    is refused with its line, and nothing is saved."""
    if not file.is_file():
        fail(f"{file}: no such file")
    source = file.read_text(encoding="utf-8")
    template_name = name or file.name.removesuffix(".mjml")
    saved = on_store(db, lambda app_: save_template(app_, template_name, source), REFUSED)
    console.print(f"Saved template [bold]{saved.name}[/] ({saved.topic}).", highlight=False)


@app.command()
def preview(
    template: Annotated[str, typer.Argument(help="Template name (see `retain messages templates`).")],
    customer: Annotated[str, typer.Option(help="The customer's external id or email.")],
    out: Annotated[Path | None, typer.Option(help="Write the HTML here, to open in a browser.")] = None,
    db: DbOption = None,
) -> None:
    """Fill a template in for one customer, as they would get it (nothing is sent): the
    subject and plain text on screen, the HTML into --out."""
    if out is not None and not out.parent.is_dir():
        fail(f"{out}: directory {out.parent} does not exist")

    def work(app_: App) -> tuple[str, str, str]:
        done = preview_message(app_, template, customer)
        return done.subject, done.text, done.html

    subject, text, html = on_store(db, work, REFUSED)
    console.print(f"[bold]Subject:[/] {subject}", highlight=False)
    console.print(text, highlight=False, markup=False)
    if out is not None:
        out.write_text(html, encoding="utf-8")
        console.print(f"HTML written to {out}", highlight=False)


@app.command("send")
def send_command(
    template: Annotated[str, typer.Argument(help="Template name.")],
    customer: Annotated[
        list[str] | None, typer.Option(help="A customer's external id or email (repeatable).")
    ] = None,
    segment: Annotated[str | None, typer.Option(help='Everyone in a segment, e.g. "rfm:Champions".')] = None,
    campaign: Annotated[
        str | None, typer.Option(help="Campaign name: sending it again skips who already got it.")
    ] = None,
    offer: Annotated[
        str | None,
        typer.Option(help='A unique code each: "15%", "10.00" (store currency) or "free-shipping".'),
    ] = None,
    offer_days: Annotated[int, typer.Option(help="Days the offer's codes stay valid.", min=1)] = 14,
    note: Annotated[str, typer.Option(help="Text for templates that show a note (newsletter).")] = "",
    outbox: Annotated[
        Path, typer.Option(help="Folder of .eml files, used when RETAIN_SMTP_URL is not set.")
    ] = Path("outbox"),
    track: Annotated[bool, typer.Option(help="Track opens and clicks.")] = True,
    db: DbOption = None,
) -> None:
    """Send a template to customers, through RETAIN_SMTP_URL when set, else into --outbox.
    Customers without an address, consent or interest in the topic are skipped and counted."""
    if bool(customer) == bool(segment):
        fail("name --customer (one or more) or --segment, not both")

    def work(app_: App) -> SendReport:
        with app_.unit_of_work() as uow:
            if segment is not None:
                known = uow.segments.keys()  # the store's segment keys, not a dict
                if segment not in known:
                    raise ValueError(f"no segment {segment!r}; see `retain segments list`")
                ids = sorted(uow.segments.members(segment))
            else:
                found = uow.outreach.find_customers(customer or [])
                if missing := [c for c in customer or [] if c not in found]:
                    raise ValueError(f"no customer with external id or email {', '.join(missing)}")
                ids = [found[c] for c in customer or []]
        now = app_.now()
        name = campaign or f"{template}-{now:%Y%m%d}"
        spec = _offer(offer, offer_days, store_currency(app_.engine) or "USD", now, name) if offer else None
        chosen = Campaign(name=name, template=template, offer=spec, note=note, track=track)
        with progress_bars() as (sink, _):
            return send(app_, chosen, ids, outbox, progress=sink)

    report = on_store(db, work, REFUSED)
    settings = Settings()
    where = "the SMTP server" if settings.smtp_url else f"the outbox {outbox}/"
    console.print(
        f"Sent {report.sent:,} to {where}; {report.already_sent:,} had it already; "
        f"{report.total_skipped:,} skipped; {report.temporary_failures:,} to retry; "
        f"{report.permanent_failures:,} refused for good.",
        highlight=False,
    )
    if report.codes_issued:
        console.print(f"Issued {report.codes_issued:,} unique codes.", highlight=False)
    for reason, count in report.skipped.most_common():
        console.print(f"  skipped {count:,}: {reason}", highlight=False)


@app.command()
def report(
    days: Annotated[
        int | None, typer.Option(help="Attribution window in days (default: configured, 5).")
    ] = None,
    db: DbOption = None,
) -> None:
    """What each template achieved: sent, opened, clicked, unsubscribed, bounced, and orders
    placed within the attribution window after an open or a click."""
    window = days or Settings().attribution_days
    rows = on_store(db, lambda app_: _report(app_, window), REFUSED)
    table = Table(title=f"Messages (orders attributed within {window} days of an open or click)")
    widest = max((len(str(row["template"])) for row in rows), default=8)
    table.add_column("template", no_wrap=True, min_width=widest)
    for column in ("sent", "skipped", "opened", "clicked", "unsubscribed", "bounced", "orders", "revenue"):
        table.add_column(column, justify="right")
    counted = ("sent", "skipped", "opened", "clicked", "unsubscribed", "bounced", "orders")
    for row in rows:
        table.add_row(row["template"], *(f"{row[c]:,}" for c in counted), row["revenue"])
    console.print(table if rows else "No messages yet.")


def _report(app_: App, window: int) -> list[dict[str, Any]]:
    with app_.unit_of_work() as uow:
        return uow.outreach.report(timedelta(days=window))


def _offer(text: str, days: int, currency: str, now: datetime, purpose: str) -> DiscountSpec:
    expires = datetime.combine((now + timedelta(days=days)).date(), time.max, tzinfo=UTC)
    text = text.strip().lower()
    if text in ("free-shipping", "free_shipping"):
        return DiscountSpec("free_shipping", 0, currency, expires_at=expires, purpose=purpose[:64])
    if text.endswith("%"):
        try:
            value = int(text[:-1])
        except ValueError:
            raise DiscountError(f"--offer: {text!r} is not a whole percent like 15%") from None
        return DiscountSpec("percent", value, currency, expires_at=expires, purpose=purpose[:64])
    try:
        return DiscountSpec(
            "fixed", to_minor(text, currency), currency, expires_at=expires, purpose=purpose[:64]
        )
    except (ArithmeticError, ValueError) as exc:
        raise DiscountError(f"--offer: {text!r} is not 15%, 10.00 or free-shipping") from exc
