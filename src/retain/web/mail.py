"""The pages and endpoints recipients reach from a message.

- ``/unsubscribe/{token}``: GET shows the goodbye page; POST unsubscribes, whether it is
  the page's button or a mail client's RFC 8058 one-click request. Link scanners only GET,
  so they cannot unsubscribe anyone. The page is one form: unsubscribe or close the account
  in one click, a reason if the customer wants to give one, and, the first time only, the
  offer of one e-mail a month instead. Never a second screen, never a required reason.
- ``/preferences/{token}``: topics and frequency, GET shows and POST saves.
- ``/c/{token}``: a tracked click, redirected to the link the store wrote (and only there:
  the target is inside the signature).
- ``/o/{token}``: the open pixel.
- ``POST /webhooks/mail``: bounces and complaints from the sending provider, signed with
  ``RETAIN_MAIL_WEBHOOK_SECRET`` (the scheme of ``retain.messaging.webhook``), which
  suppress the address.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Annotated, Any
from urllib.parse import parse_qs

from fastapi import APIRouter, Form, Request, Response
from fastapi.responses import HTMLResponse, RedirectResponse
from fastapi.templating import Jinja2Templates

from retain.bootstrap import App
from retain.config import Settings
from retain.domain.feedback import GOODBYE_REASONS, FeedbackError
from retain.domain.outreach import FREQUENCIES, MARKETING_TOPICS, TOPIC_LABELS
from retain.mailer import signer
from retain.messaging.links import BadToken, MessageLinks, Purpose, Tracking
from retain.messaging.webhook import verify_signature
from retain.service import feedback
from retain.store.uow import SqlUnitOfWork

# A transparent 1x1 GIF.
PIXEL = bytes.fromhex(
    "47494638396101000100800000000000ffffff21f90401000000002c00000000010001000002024401003b"
)
NO_STORE = {"Cache-Control": "no-store, private", "Referrer-Policy": "no-referrer"}
GOODBYES = ("unsubscribe", "close_account", "fewer_emails")


def mail_routes(app: App, templates: Jinja2Templates, settings: Settings) -> APIRouter:
    router = APIRouter()
    links: list[MessageLinks] = []

    def link_signer() -> MessageLinks:
        if not links:  # made on first use: the key may have to be created in the database
            links.append(signer(app, settings))
        return links[0]

    def read(purpose: Purpose, token: str) -> Tracking | None:
        try:
            return link_signer().read(purpose, token)
        except BadToken:
            return None

    def page(request: Request, name: str, status: int = 200, **context: Any) -> HTMLResponse:
        response = templates.TemplateResponse(request, name, context, status_code=status, headers=NO_STORE)
        return response

    def invalid(request: Request) -> HTMLResponse:
        return page(request, "mail_invalid.html", 400)

    def store(work: Callable[[SqlUnitOfWork], Any]) -> Any:
        with app.unit_of_work() as uow:
            result = work(uow)
            uow.commit()
        return result

    @router.get("/unsubscribe/{token}", response_class=HTMLResponse)
    def unsubscribe_page(request: Request, token: str) -> HTMLResponse:
        found = read("unsubscribe", token)
        if found is None or found.customer_id is None:
            return invalid(request)
        offer = feedback.offer_once(app.unit_of_work, found.customer_id, app.now())
        return page(request, "unsubscribe.html", token=token, done=None, offer=offer, reasons=GOODBYE_REASONS)

    @router.post("/unsubscribe/{token}", response_class=HTMLResponse)
    def unsubscribe(
        request: Request,
        token: str,
        action: Annotated[str | None, Form()] = None,
        reason: Annotated[str | None, Form()] = None,
    ) -> HTMLResponse:
        """The page's buttons name their ``action``; a mail client's one-click request names
        none and unsubscribes, as the List-Unsubscribe header promised."""
        found = read("unsubscribe", token)
        if found is None or found.customer_id is None:
            return invalid(request)
        customer, key = found.customer_id, found.message_key
        if action is not None and action in GOODBYES:
            try:
                feedback.goodbye(app.unit_of_work, customer, action, reason or None, app.now())
            except FeedbackError:  # no such customer
                return invalid(request)
            if key and action != "fewer_emails":
                store(lambda uow: uow.outreach.add_event(key, "unsubscribe", app.now()))
            return page(request, "unsubscribe.html", token=token, done=action)

        def work(uow: SqlUnitOfWork) -> None:
            uow.outreach.unsubscribe(customer, app.now(), "unsubscribe link")
            if key:
                uow.outreach.add_event(key, "unsubscribe", app.now())

        store(work)
        return page(request, "unsubscribe.html", token=token, done="unsubscribe")

    @router.get("/preferences/{token}", response_class=HTMLResponse)
    def preferences_page(request: Request, token: str) -> HTMLResponse:
        found = read("preferences", token)
        if found is None or found.customer_id is None:
            return invalid(request)
        customer = found.customer_id
        current = store(lambda uow: uow.outreach.preferences(customer))
        if current is None:
            return invalid(request)
        consent, muted, frequency = current
        return page(
            request, "preferences.html", token=token, saved=False, subscribed=consent is True,
            topics=[(t, TOPIC_LABELS[t], t not in muted) for t in MARKETING_TOPICS],
            frequency=frequency, frequencies=FREQUENCIES,
        )  # fmt: skip

    @router.post("/preferences/{token}", response_class=HTMLResponse)
    async def save_preferences(request: Request, token: str) -> HTMLResponse:
        found = read("preferences", token)
        if found is None or found.customer_id is None:
            return invalid(request)
        customer = found.customer_id
        form = parse_qs((await request.body()).decode("utf-8", "replace"))
        wanted = set(form.get("topic", []))
        frequency = form.get("frequency", ["normal"])[0]
        if frequency not in FREQUENCIES:
            frequency = "normal"
        subscribed = form.get("subscribed", [""])[0] == "yes"
        muted = [t for t in MARKETING_TOPICS if t not in wanted]

        def work(uow: SqlUnitOfWork) -> bool:
            if uow.outreach.preferences(customer) is None:
                return False
            uow.outreach.set_preferences(customer, subscribed, muted, frequency, app.now())
            return True

        if not store(work):
            return invalid(request)
        return page(
            request, "preferences.html", token=token, saved=True, subscribed=subscribed,
            topics=[(t, TOPIC_LABELS[t], t not in muted) for t in MARKETING_TOPICS],
            frequency=frequency, frequencies=FREQUENCIES,
        )  # fmt: skip

    @router.get("/c/{token}")
    def click(request: Request, token: str) -> Response:
        found = read("click", token)
        if found is None or not found.url or not found.url.startswith(("https://", "http://")):
            return invalid(request)
        if found.message_key:
            key = found.message_key
            store(lambda uow: uow.outreach.add_event(key, "click", app.now(), found.url))
        return RedirectResponse(found.url, status_code=302, headers=NO_STORE)

    @router.get("/o/{token}")
    def opened(token: str) -> Response:
        found = read("open", token)
        if found is not None and found.message_key:
            key = found.message_key
            store(lambda uow: uow.outreach.add_event(key, "open", app.now()))
        return Response(PIXEL, media_type="image/gif", headers=NO_STORE)

    @router.post("/webhooks/mail")
    async def mail_webhook(request: Request) -> Response:
        """``{"event": "bounce"|"complaint", "address": ..., "message": key?, "permanent": bool?,
        "detail": str?}``; a soft bounce (``"permanent": false``) is recorded, not suppressed."""
        if settings.mail_webhook_secret is None:
            return _problem(403, "the mail webhook is off: set RETAIN_MAIL_WEBHOOK_SECRET")
        body = await request.body()
        secret = settings.mail_webhook_secret.get_secret_value().encode()
        timestamp = request.headers.get("X-Retain-Timestamp", "")
        signature = request.headers.get("X-Retain-Signature", "")
        if not verify_signature(secret, timestamp, body, signature, now=time.time()):
            return _problem(401, "bad or missing signature")
        try:
            event = json.loads(body)
            kind, address = event["event"], str(event["address"]).strip()
        except (ValueError, KeyError, TypeError):
            return _problem(422, "expected JSON with 'event' and 'address'")
        if kind not in ("bounce", "complaint") or not address:
            return _problem(422, "'event' must be 'bounce' or 'complaint', with an 'address'")
        permanent = kind == "complaint" or event.get("permanent", True) is not False
        detail = str(event.get("detail", ""))[:1000]
        key = event.get("message")

        def work(uow: SqlUnitOfWork) -> bool:
            if isinstance(key, str):
                uow.outreach.add_event(key, kind, app.now())
            return permanent and uow.outreach.suppress(address, kind, detail, app.now())

        suppressed = store(work)
        return Response(
            json.dumps({"suppressed": suppressed, "address": address.lower()}), media_type="application/json"
        )

    return router


def _problem(status: int, detail: str) -> Response:
    return Response(json.dumps({"detail": detail}), status_code=status, media_type="application/json")
