"""Sending for one store: its brand, its templates, its signed links and its transport.

The brand and any template a store writes itself live in the store's settings table, so
the command line and the dashboard see the same ones; templates shipped with Retain fill
in every name the store has not overridden.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass, replace
from functools import cached_property
from pathlib import Path

import numpy as np

from retain.analytics.engine import read_purchases
from retain.analytics.recommend import Recommender
from retain.bootstrap import App
from retain.config import Settings
from retain.domain.messages import RenderedMessage
from retain.domain.personalization import Brand, BrandError, MessageContext, ProductView, customer_view
from retain.membership import StorePoints, uses_points
from retain.messaging.courier import Courier
from retain.messaging.links import MessageLinks
from retain.messaging.templating import (
    Template,
    TemplateError,
    default_templates,
    parse_template,
    render,
    sample_context,
)
from retain.service.outreach import Campaign, Extras, SendReport, send_campaign
from retain.service.ports import Progress, no_progress

TEMPLATE_PREFIX = "template:"


class StoreTemplates:
    """The templates of a store: its own where it wrote one, Retain's defaults elsewhere."""

    def __init__(self, own: dict[str, Template]) -> None:
        self.own = own
        self.all = {**default_templates(), **own}

    def get(self, name: str) -> Template:
        if name not in self.all:
            raise TemplateError(name, f"no such template; there are: {', '.join(sorted(self.all))}")
        return self.all[name]

    def topic(self, template: str) -> str:
        return self.get(template).topic

    def surveys(self, template: str) -> tuple[str, ...]:
        return self.get(template).surveys

    def render(self, template: str, context: MessageContext) -> RenderedMessage:
        done = render(self.get(template), context)
        return RenderedMessage(subject=done.subject, html=done.html, text=done.text, topic=done.topic)


def load_templates(app: App) -> StoreTemplates:
    own: dict[str, Template] = {}
    with app.unit_of_work() as uow:
        for key, value in uow.settings.prefixed(TEMPLATE_PREFIX).items():
            name = key.removeprefix(TEMPLATE_PREFIX)
            own[name] = parse_template(name, str(value["source"]))
    return StoreTemplates(own)


def save_template(app: App, name: str, source: str) -> Template:
    """Check ``source`` and keep it as the store's template ``name``; a template that would
    fail to render is refused with its line and field, and nothing is saved."""
    template = parse_template(name, source)
    with app.unit_of_work() as uow:
        uow.settings.put(TEMPLATE_PREFIX + name, {"source": source}, app.now())
        uow.commit()
    return template


def load_brand(app: App) -> Brand:
    with app.unit_of_work() as uow:
        stored = uow.settings.get("brand")
    if not isinstance(stored, dict):
        raise BrandError(
            "the store has no brand yet: set it with `retain messages brand --store-name ... "
            "--sender ... --postal-address ... --shop-url ...`"
        )
    return Brand(**stored)


def sending_brand(app: App, settings: Settings) -> Brand:
    """The brand messages go out under: ``RETAIN_MAIL_FROM``, when set, names the sender."""
    brand = load_brand(app)
    if settings.mail_from is not None:
        sender = settings.mail_from
        brand = replace(brand, sender_address=sender.address, sender_name=sender.name or brand.sender_name)
    return brand


def save_brand(app: App, brand: Brand) -> None:
    with app.unit_of_work() as uow:
        uow.settings.put("brand", asdict(brand), app.now())
        uow.commit()


def signer(app: App, settings: Settings | None = None) -> MessageLinks:
    """Links signed with ``RETAIN_SECRET_KEY``, or with the key kept in the database."""
    settings = settings or Settings()
    if settings.secret_key is not None:
        secret = settings.secret_key.get_secret_value().encode()
    else:
        with app.unit_of_work() as uow:
            secret = uow.settings.signing_key(app.now())
            uow.commit()
    return MessageLinks(secret, settings.public_url)


def preview(
    app: App, template: str, customer: str | None = None, settings: Settings | None = None
) -> RenderedMessage:
    """``template`` filled in as ``customer`` (an external id or an e-mail) would get it, or
    for Retain's made-up sample customer under the store's brand; nothing is sent."""
    templates = load_templates(app)
    chosen = templates.get(template)
    if customer is None:
        sample = sample_context()
        try:
            return templates.render(template, replace(sample, store=load_brand(app)))
        except BrandError:  # no brand yet: the sample store's
            return templates.render(template, sample)
    brand = load_brand(app)
    with app.unit_of_work() as uow:
        ids = uow.outreach.find_customers([customer])
        if not ids:
            raise ValueError(f"no customer with external id or email {customer!r}")
        who = ids[customer]
        contact = uow.outreach.contacts([who])[0]
        orders = uow.outreach.last_orders([who])
    picks = StoreRecommendations(app)([who]).get(who, ()) if "recommended" in chosen.body else ()
    context = MessageContext(
        customer=customer_view(contact.first_name, contact.last_name, contact.email),
        store=brand,
        links=signer(app, settings).links(brand, who, f"preview:{template}:{who}"),
        last_order=orders.get(who),
        recommended=picks,
    )
    return templates.render(template, context)


@dataclass
class StoreRecommendations:
    """Picks for the customers of one send, learned once from the store's purchases."""

    app: App
    k: int = 3

    @cached_property
    def model(self) -> Recommender | None:
        purchases = read_purchases(self.app.url)
        try:
            return Recommender().fit(purchases, self.app.now())
        except ValueError:  # nothing bought yet to learn from
            return None

    def __call__(self, customer_ids: Sequence[int]) -> dict[int, tuple[ProductView, ...]]:
        model = self.model
        if model is None or not customer_ids:
            return {}
        picks = model.recommend(np.asarray(customer_ids, dtype=np.int64), self.k)
        wanted = sorted({int(p) for chosen in picks for p in chosen})
        with self.app.unit_of_work() as uow:
            views = uow.outreach.products(wanted)
        return {
            customer: tuple(views[int(p)] for p in chosen if int(p) in views)
            for customer, chosen in zip(customer_ids, picks, strict=True)
        }


def send(
    app: App,
    campaign: Campaign,
    customer_ids: Sequence[int],
    outbox: Path,
    *,
    settings: Settings | None = None,
    progress: Progress = no_progress,
) -> SendReport:
    settings = settings or Settings()
    templates = load_templates(app)
    chosen = templates.get(campaign.template)  # an unknown name fails before anything is sent
    # Learning the picks takes a pass over every purchase: only for templates that show them.
    picks = StoreRecommendations(app) if "recommended" in chosen.body else None
    brand = sending_brand(app, settings)
    with Courier(settings.smtp_url, outbox) as courier:
        return send_campaign(
            campaign,
            customer_ids,
            session=app.unit_of_work,
            renderer=templates,
            courier=courier,
            signer=signer(app, settings),
            brand=brand,
            now=app.now(),
            extras=Extras(recommend=picks, points=StorePoints(app) if uses_points(chosen.body) else None),
            progress=progress,
        )
