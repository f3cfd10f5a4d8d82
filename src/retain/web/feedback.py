"""The pages and endpoints customers answer through.

- ``/s/{token}`` and ``/r/{token}``: a survey or a review from its invitation link. GET shows
  the question, POST keeps the answer; an invitation takes one answer, a second one gets a
  "you already answered" page and nothing is recorded.
- ``/complaint/{token}``: "Something wrong? Tell us", with an optional photo or PDF; it opens
  a ticket. The form carries an id of its own, so pressing Send twice opens one ticket.
- ``POST /api/v1/surveys/{token}``: a survey answer as JSON, for a store that shows the
  survey in its own pages.
- ``POST /api/v1/feedback``: reviews and answers from other platforms, signed with
  ``RETAIN_FEEDBACK_WEBHOOK_SECRET`` (the scheme of ``retain.messaging.webhook``); the
  platform's id keeps a retried delivery from being kept twice.

The pages work without JavaScript. JSON errors are one object, ``{"error": {"code", "message"}}``.
"""

from __future__ import annotations

import json
import re
import time
import uuid
from dataclasses import dataclass
from pathlib import PurePosixPath
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, JSONResponse
from fastapi.templating import Jinja2Templates
from itsdangerous import SignatureExpired
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData, UploadFile

from retain import listening
from retain.bootstrap import App
from retain.config import Settings
from retain.domain.feedback import MAX_COMPLAINT, MAX_UPLOAD, FeedbackError, check_upload, complaint_text
from retain.domain.surveys import MAX_TEXT, SURVEYS, Answer, AnswerError, Survey, answer, clean_text
from retain.mailer import signer
from retain.messaging.links import BadToken, MessageLinks
from retain.messaging.webhook import verify_signature
from retain.service.feedback import Incoming, Received, Upload
from retain.web.loyalty import error
from retain.web.mail import NO_STORE

LinkPurpose = Literal["survey", "review"]
FORM_ID = re.compile(r"[0-9a-f]{32}")
MAX_ORDER = 64  # characters of an order number
MAX_REF = 200  # characters of a review platform's id
CHUNK = 64 * 1024
# A form whose file is a few times too big is still read, so the person's words survive the
# refusal; a body larger than this is refused before it is read at all.
MAX_BODY = 5 * MAX_UPLOAD
# What a file is, read from its first bytes rather than taken from the browser's word.
SIGNATURES = (
    (b"\xff\xd8\xff", "image/jpeg"),
    (b"\x89PNG\r\n\x1a\n", "image/png"),
    (b"GIF87a", "image/gif"),
    (b"GIF89a", "image/gif"),
    (b"%PDF-", "application/pdf"),
)


class Refusal(Exception):
    """A request answered with an error object: its status, code and message."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code


@dataclass(frozen=True)
class Complaint:
    """A complaint form as it was sent."""

    text: str = ""
    order: str = ""
    form_id: str = ""
    upload: Upload | None = None
    size: int = 0  # of the file as sent, which may be more than was read


def feedback_routes(app: App, templates: Jinja2Templates, settings: Settings) -> APIRouter:
    router = APIRouter()
    pages = FeedbackPages(app, templates, settings)
    survey_routes(router, pages, "s", "survey")
    survey_routes(router, pages, "r", "review")
    complaint_routes(router, pages)
    api_routes(router, pages)
    return router


class FeedbackPages:
    """What the routes share: the store, the page templates and the link signer."""

    def __init__(self, app: App, templates: Jinja2Templates, settings: Settings) -> None:
        self.app = app
        self.templates = templates
        self.settings = settings
        self._links: MessageLinks | None = None

    def links(self) -> MessageLinks:
        if self._links is None:  # made on first use: the key may have to be created in the database
            self._links = signer(self.app, self.settings)
        return self._links

    def page(self, request: Request, name: str, status: int = 200, **context: Any) -> HTMLResponse:
        return self.templates.TemplateResponse(request, name, context, status_code=status, headers=NO_STORE)

    def invalid(self, request: Request, problem: BadToken | None = None) -> HTMLResponse:
        expired = problem is not None and isinstance(problem.__cause__, SignatureExpired)
        return self.page(request, "mail_invalid.html", 400, expired=expired)

    def invitation(self, purpose: LinkPurpose, token: str) -> tuple[int, str, Survey]:
        """(customer, invitation key, survey) of a link; BadToken for any other link."""
        customer, key, kind = self.links().read_survey(purpose, token)
        if kind not in SURVEYS or (kind == "review") != (purpose == "review"):
            raise BadToken("this link is not valid")
        return customer, key, SURVEYS[kind]

    def answered(self, key: str) -> bool:
        with self.app.unit_of_work() as uow:
            return uow.feedback.by_ref(survey_ref(key)) is not None

    def complainant(self, token: str) -> int:
        found = self.links().read("complaint", token)
        if found.customer_id is None:
            raise BadToken("this link is not valid")
        return found.customer_id

    def open_ticket(self, customer: int, sent: Complaint, text: str) -> int | None:
        """The ticket the complaint opened, or opened already when the form was sent twice."""
        ref = f"complaint:{customer}:{sent.form_id}" if FORM_ID.fullmatch(sent.form_id) else None
        incoming = Incoming(
            ref=ref or listening.new_ref("complaint"), source="complaint", text=text, customer_id=customer,
            subject=None, uploads=(sent.upload,) if sent.upload else (),
            data={"order": sent.order} if sent.order else {},
        )  # fmt: skip
        received = listening.receive(self.app, incoming)
        if not received.duplicate:
            return received.ticket_id
        with self.app.unit_of_work() as uow:
            kept = uow.feedback.get(received.feedback_id)
        return None if kept is None else kept["ticket_id"]

    def take(self, incoming: Incoming) -> Received:
        """Feedback from the API; a customer who is not in the store is a 404."""
        try:
            return listening.receive(self.app, incoming)
        except FeedbackError as exc:
            raise Refusal(404, "unknown_customer", str(exc)) from None

    def customer_of(self, reference: object) -> int | None:
        if reference is None:
            return None
        if isinstance(reference, bool) or not isinstance(reference, str | int):
            raise Refusal(422, "invalid_request", "'customer' is an id, the store's id or an e-mail address")
        try:
            return listening.customer_id(self.app, str(reference))
        except FeedbackError as exc:
            raise Refusal(404, "unknown_customer", str(exc)) from None


def survey_routes(router: APIRouter, pages: FeedbackPages, prefix: str, purpose: LinkPurpose) -> None:
    def form_page(
        request: Request, form: Survey, token: str, status: int = 200, **context: Any
    ) -> HTMLResponse:
        context = {"error": None, "chosen": None, "text": "", "max_text": MAX_TEXT} | context
        action = f"/{prefix}/{token}"
        return pages.page(request, "survey.html", status, state="form", survey=form, action=action, **context)

    @router.get(f"/{prefix}/{{token}}", response_class=HTMLResponse)
    def survey_page(request: Request, token: str) -> HTMLResponse:
        try:
            _, key, form = pages.invitation(purpose, token)
        except BadToken as exc:
            return pages.invalid(request, exc)
        if pages.answered(key):
            return pages.page(request, "survey.html", state="answered", survey=form)
        return form_page(request, form, token)

    @router.post(f"/{prefix}/{{token}}", response_class=HTMLResponse)
    def answer_survey(
        request: Request,
        token: str,
        score: Annotated[str | None, Form()] = None,
        text: Annotated[str, Form()] = "",
    ) -> HTMLResponse:
        try:
            customer, key, form = pages.invitation(purpose, token)
        except BadToken as exc:
            return pages.invalid(request, exc)
        if pages.answered(key):
            return pages.page(request, "survey.html", 409, state="answered", survey=form)
        try:
            given = answer(form.kind, score, text)
        except AnswerError as exc:
            return form_page(request, form, token, 422, error=str(exc), chosen=whole(score), text=text)
        try:
            received = listening.receive(pages.app, survey_incoming(customer, key, given))
        except FeedbackError:  # the customer is no longer in the store
            return pages.invalid(request)
        if received.duplicate:
            return pages.page(request, "survey.html", 409, state="answered", survey=form)
        return pages.page(request, "survey.html", state="thanks", survey=form, negative=given.negative)


def complaint_routes(router: APIRouter, pages: FeedbackPages) -> None:
    def form_page(
        request: Request, token: str, sent: Complaint, status: int = 200, problem: str | None = None
    ) -> HTMLResponse:
        form_id = sent.form_id if FORM_ID.fullmatch(sent.form_id) else uuid.uuid4().hex
        return pages.page(
            request, "complaint.html", status, token=token, done=False, error=problem, text=sent.text,
            order=sent.order, form_id=form_id, max_text=MAX_COMPLAINT, max_order=MAX_ORDER,
            max_mb=MAX_UPLOAD // 1024 // 1024,
        )  # fmt: skip

    @router.get("/complaint/{token}", response_class=HTMLResponse)
    def complaint_page(request: Request, token: str) -> HTMLResponse:
        try:
            pages.complainant(token)
        except BadToken as exc:
            return pages.invalid(request, exc)
        return form_page(request, token, Complaint())

    @router.post("/complaint/{token}", response_class=HTMLResponse)
    async def complain(request: Request, token: str) -> HTMLResponse:
        try:
            customer = pages.complainant(token)
        except BadToken as exc:
            return pages.invalid(request, exc)
        if declared_length(request) > MAX_BODY:
            too_big = f"the file is too big; files up to {MAX_UPLOAD // 1024 // 1024} MB are accepted"
            return form_page(request, token, Complaint(), 413, too_big)
        async with request.form(max_files=1, max_fields=8) as form:
            sent = await read_complaint(form)
        try:
            text = complaint_text(sent.text)
        except FeedbackError as exc:
            return form_page(request, token, sent, 422, str(exc))
        if refused := upload_refusal(sent):
            return form_page(request, token, sent, *refused)
        try:
            ticket = await run_in_threadpool(pages.open_ticket, customer, sent, text)
        except FeedbackError:  # the customer is no longer in the store
            return pages.invalid(request)
        return pages.page(request, "complaint.html", token=token, done=True, ticket=ticket)


def api_routes(router: APIRouter, pages: FeedbackPages) -> None:
    def invitation(token: str) -> tuple[int, str, Survey]:
        purposes: tuple[LinkPurpose, ...] = ("survey", "review")
        for purpose in purposes:
            try:
                return pages.invitation(purpose, token)
            except BadToken:
                continue
        raise Refusal(401, "bad_token", "this link is not valid or has expired")

    def answer_by_api(token: str, body: dict[str, Any]) -> JSONResponse:
        customer, key, form = invitation(token)
        if pages.answered(key):
            raise Refusal(409, "already_answered", "this invitation has been answered already")
        try:
            given = answer(form.kind, body.get("score"), body.get("text"))
        except AnswerError as exc:
            raise Refusal(422, "invalid_answer", str(exc)) from None
        received = pages.take(survey_incoming(customer, key, given))
        if received.duplicate:
            raise Refusal(409, "already_answered", "this invitation has been answered already")
        return JSONResponse(outcome(received), status_code=201)

    def platform_feedback(event: dict[str, Any]) -> JSONResponse:
        ref, kind = event.get("ref"), event.get("kind")
        if not isinstance(ref, str) or not ref.strip() or len(ref) > MAX_REF:
            raise Refusal(422, "invalid_request", f"'ref' is the platform's id: up to {MAX_REF} characters")
        if kind is not None and (not isinstance(kind, str) or kind not in SURVEYS):
            raise Refusal(422, "invalid_request", f"'kind' is one of {', '.join(SURVEYS)}, or null")
        try:
            given = platform_answer(kind, event.get("score"), event.get("text"))
        except AnswerError as exc:
            raise Refusal(422, "invalid_answer", str(exc)) from None
        incoming = Incoming(
            ref=f"api:{ref.strip()}", source="review" if kind == "review" else "api",
            text=given.text if isinstance(given, Answer) else given,
            customer_id=pages.customer_of(event.get("customer")),
            answer=given if isinstance(given, Answer) else None,
        )  # fmt: skip
        received = pages.take(incoming)
        if received.duplicate:
            return JSONResponse({"feedback_id": received.feedback_id, "duplicate": True})
        return JSONResponse(outcome(received) | {"duplicate": False}, status_code=201)

    @router.post("/api/v1/surveys/{token}", tags=["feedback"])
    async def api_survey(request: Request, token: str) -> JSONResponse:
        """Answer a survey: ``{"score": 9, "text": "..."}`` with the token of its link."""
        try:
            body = json_object(await request.body())
            return await run_in_threadpool(answer_by_api, token, body)
        except Refusal as exc:
            return error(exc.status, exc.code, str(exc))

    @router.post("/api/v1/feedback", tags=["feedback"])
    async def feedback_webhook(request: Request) -> JSONResponse:
        """A review or an answer from another platform: ``{"ref", "customer"?, "kind"?,
        "score"?, "text"?}``, signed like the mail webhook."""
        try:
            body = await request.body()
            check_signature(pages.settings, request, body)
            return await run_in_threadpool(platform_feedback, json_object(body))
        except Refusal as exc:
            return error(exc.status, exc.code, str(exc))


def survey_ref(key: str) -> str:
    return f"survey:{key}"


def survey_incoming(customer: int, key: str, given: Answer) -> Incoming:
    return Incoming(
        ref=survey_ref(key), source="review" if given.kind == "review" else "survey", text=given.text,
        customer_id=customer, answer=given, data={"invitation": key},
    )  # fmt: skip


def outcome(received: Received) -> dict[str, Any]:
    return {
        "feedback_id": received.feedback_id,
        "ticket_id": received.ticket_id,
        "category": received.triage.category,
        "sentiment": received.triage.sentiment,
    }


def whole(score: str | None) -> int | None:
    """The score a person chose, to keep it chosen when the form comes back."""
    try:
        return int(score) if score is not None else None
    except ValueError:
        return None


def platform_answer(kind: str | None, score: object, text: object) -> Answer | str:
    """A scored answer, or the bare text of feedback without a score."""
    if score is not None:
        if kind is None:
            raise AnswerError("a score needs the 'kind' of survey it answers")
        return answer(kind, score, text)
    words = clean_text(text)
    if not words:
        raise AnswerError("nothing to keep: give a 'score', a 'text' or both")
    return words


def json_object(body: bytes) -> dict[str, Any]:
    try:
        found = json.loads(body)
    except (ValueError, RecursionError):
        found = None
    if not isinstance(found, dict):
        raise Refusal(422, "invalid_request", "the body must be a JSON object")
    return found


def check_signature(settings: Settings, request: Request, body: bytes) -> None:
    if settings.feedback_webhook_secret is None:
        raise Refusal(403, "webhook_off", "the feedback webhook is off: set RETAIN_FEEDBACK_WEBHOOK_SECRET")
    secret = settings.feedback_webhook_secret.get_secret_value().encode()
    timestamp = request.headers.get("X-Retain-Timestamp", "")
    signature = request.headers.get("X-Retain-Signature", "")
    if not verify_signature(secret, timestamp, body, signature, now=time.time()):
        raise Refusal(401, "bad_signature", "bad or missing signature")


def declared_length(request: Request) -> int:
    try:
        return int(request.headers.get("content-length", "0"))
    except ValueError:
        return 0


async def read_complaint(form: FormData) -> Complaint:
    def field(name: str) -> str:
        value = form.get(name)
        return value if isinstance(value, str) else ""

    file = form.get("file")
    upload, size = await read_upload(file) if isinstance(file, UploadFile) else (None, 0)
    return Complaint(field("text"), field("order").strip()[:MAX_ORDER], field("form_id"), upload, size)


async def read_upload(file: UploadFile) -> tuple[Upload | None, int]:
    """The file and its size as sent, reading no more than one byte past the limit; (None,
    0) when no file was chosen."""
    if not file.filename and not file.size:
        return None, 0
    chunks: list[bytes] = []
    read = 0
    while read <= MAX_UPLOAD:
        chunk = await file.read(min(CHUNK, MAX_UPLOAD + 1 - read))
        if not chunk:
            break
        chunks.append(chunk)
        read += len(chunk)
    content = b"".join(chunks)
    upload = Upload(file_name(file.filename), sniffed(content), content)
    return upload, max(read, file.size or 0)


def upload_refusal(sent: Complaint) -> tuple[int, str] | None:
    """(status, message) for a file too big (413) or of a kind not taken (415)."""
    if sent.upload is None:
        return None
    try:
        check_upload(sent.upload.filename, sent.upload.content_type, sent.size)
    except FeedbackError as exc:
        return (413 if sent.size > MAX_UPLOAD else 415), str(exc)
    return None


def file_name(sent: str | None) -> str:
    """The file's own name, without the folders some browsers send or control characters."""
    name = PurePosixPath((sent or "").replace("\\", "/")).name
    name = "".join(c for c in name if c.isprintable())
    return name[-255:] or "upload"


def sniffed(content: bytes) -> str:
    if content[:4] == b"RIFF" and content[8:12] == b"WEBP":
        return "image/webp"
    return next((kind for magic, kind in SIGNATURES if content.startswith(magic)), "application/octet-stream")
