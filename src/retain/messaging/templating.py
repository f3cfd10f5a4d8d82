"""E-mail templates: Jinja2 writes MJML for one customer, mrml compiles it to HTML.

A template file is the MJML *body* of one e-mail, with a short front matter for its
subject, preheader and topic. The shared ``layout.mjml`` wraps every body with the head,
the brand header and the footer (complaint link, preferences, unsubscribe, postal
address), so no template can forget them.

Why this order: Jinja renders the MJML first and mrml compiles the result, once per
e-mail. Personalised values (a name, a product list of any length, an optional discount
block) change the structure of the document, and MJML only produces correct responsive
HTML when it sees that final structure; compiling a generic document once and filling in
values afterwards would mean writing template logic inside MJML's table soup. mrml is
fast enough (a fraction of a millisecond per document) that compiling per e-mail costs
little, and each Jinja template is compiled once and kept on its ``Template``.

The plain-text part is read from the Jinja-rendered MJML, not from the compiled HTML: the
MJML still says "this is a paragraph, this is a button, this is a divider", while the
HTML has buried all of that in layout tables.

Templates are written by store staff, so they are treated as untrusted. Jinja runs in its
immutable sandbox with autoescaping, no globals, and a loader that knows only the layout.
On top of that, ``parse_template`` reads the template's syntax tree before accepting it:
every name and field must exist in ``MessageContext`` (a typo is reported with its line
instead of sending e-mails with a hole in them), no function or method may be called, no
file included, and only a short list of harmless filters is available. Each template is
then rendered against a full and a sparse sample context, so a template that breaks for a
customer without an order, a code or points is refused when it is saved, not when it is
sent.
"""

from __future__ import annotations

import dataclasses
import functools
import re
import types
import typing
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import date
from importlib import resources
from typing import Literal

import jinja2
import mrml
from jinja2 import nodes
from jinja2.sandbox import ImmutableSandboxedEnvironment
from markupsafe import Markup, escape

from retain.domain.messages import MessageError
from retain.domain.personalization import (
    Brand,
    CodeView,
    CustomerView,
    Links,
    MessageContext,
    OrderView,
    PointsView,
    ProductView,
)
from retain.domain.surveys import SURVEY_KINDS
from retain.messaging.plaintext import mjml_to_text

TOPICS = ("transactional", "offers", "newsletter", "reviews", "loyalty")
_FRONT_MATTER_KEYS = ("subject", "preheader", "topic")
# Optional: which survey ``links.survey`` opens (nps, csat or post_purchase, the default).
_OPTIONAL_KEYS = ("survey",)
SURVEY_LINKS = tuple(k for k in SURVEY_KINDS if k != "review")
_LAYOUT_NAME = "layout.mjml"


class TemplateError(MessageError):
    """A template that cannot be used; ``str()`` reads ``winback.mjml line 12: ...``."""

    def __init__(self, template: str, reason: str, line: int | None = None, field: str | None = None) -> None:
        self.template = template if template.endswith(".mjml") else f"{template}.mjml"
        self.reason = reason
        self.line = line
        self.field = field
        where = self.template if line is None else f"{self.template} line {line}"
        super().__init__(f"{where}: {reason}")


class _Rejected(Exception):
    """Raised inside the checker; carries the line within the checked source."""

    def __init__(self, reason: str, line: int | None, field: str | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.line = line
        self.field = field


class _MissingValue(Exception):
    """A template printed None: a missing optional value it did not guard."""


# --- the Jinja environments --------------------------------------------------------------


def _long_date(value: object) -> str:
    """``2025-03-07`` as "7 March 2025"."""
    if not isinstance(value, date):
        return str(value)
    return f"{value.day} {value:%B} {value.year}"


def _paragraphs(value: object) -> Markup:
    """Plain text as HTML: escaped, blank lines between paragraphs, line breaks kept."""
    text = str(value).replace("\r\n", "\n").replace("\r", "\n").strip()
    blocks = [block.strip() for block in re.split(r"\n[ \t]*\n", text) if block.strip()]
    return Markup("").join(
        Markup('<p style="margin: 0 0 12px;">%s</p>') % escape(block).replace("\n", Markup("<br>\n"))
        for block in blocks
    )


def _finalize(value: object) -> object:
    if value is None:
        raise _MissingValue
    return value


# Harmless built-in filters: they format a value and reach nothing else. Left out on
# purpose: ``safe`` (would print a customer's text unescaped), ``attr`` and ``map``
# (attribute access by a name the checker cannot see), ``format`` (str.format is a
# sandbox escape hatch), ``tojson``, ``xmlattr`` and the rest (no use in an e-mail).
_FILTERS = frozenset(
    {
        "default", "d", "upper", "lower", "title", "capitalize", "trim", "truncate",
        "join", "length", "count", "first", "last", "replace", "round", "int", "abs",
        "string", "urlencode", "e", "escape", "long_date",
    }
)  # fmt: skip
_HTML_FILTERS = _FILTERS | {"paragraphs"}
_TESTS = frozenset(
    {
        "defined", "undefined", "none", "true", "false", "number", "string", "even", "odd",
        "divisibleby", "eq", "ne", "lt", "le", "gt", "ge", "in", "equalto", "sameas",
    }
)  # fmt: skip


# The fields of the values a template sees. Reading one of them is known to be safe, so
# the sandbox answers at once instead of running its general checks, which cost as much
# as the rest of the Jinja rendering.
_VIEW_FIELDS: dict[type, frozenset[str]] = {
    view: frozenset(f.name for f in dataclasses.fields(view))
    for view in (Brand, CustomerView, Links, OrderView, ProductView, CodeView, PointsView)
}


class _Sandbox(ImmutableSandboxedEnvironment):
    def is_safe_attribute(self, obj: object, attr: str, value: object) -> bool:
        fields = _VIEW_FIELDS.get(type(obj))
        if fields is not None and attr in fields:
            return True
        return super().is_safe_attribute(obj, attr, value)


def _environment(*, html: bool, layout: str | None) -> ImmutableSandboxedEnvironment:
    loader = jinja2.DictLoader({_LAYOUT_NAME: layout}) if layout is not None else None
    env = _Sandbox(
        autoescape=html,
        undefined=jinja2.StrictUndefined,
        loader=loader,
        finalize=_finalize,
        auto_reload=False,
    )
    env.globals.clear()
    custom = {"long_date": _long_date, "paragraphs": _paragraphs}
    allowed = _HTML_FILTERS if html else _FILTERS
    env.filters = {name: custom.get(name) or env.filters[name] for name in allowed}
    env.tests = {name: env.tests[name] for name in _TESTS}
    return env


def _package_file(name: str) -> str:
    return resources.files("retain.messaging").joinpath("templates", name).read_text("utf-8")


_HTML_ENV = _environment(html=True, layout=_package_file(_LAYOUT_NAME))
_TEXT_ENV = _environment(html=False, layout=None)


# --- the static check ----------------------------------------------------------------------


@dataclass(frozen=True)
class _Kind:
    """What an expression holds, as far as the checker can tell."""

    what: Literal["record", "sequence", "mapping", "value", "loop", "macro"]
    record: type | None = None
    item: _Kind | None = None


_VALUE = _Kind("value")
_LOOP = _Kind("loop")
_MACRO = _Kind("macro")
_LOOP_FIELDS = frozenset(
    {"index", "index0", "revindex", "revindex0", "first", "last", "length", "depth", "depth0"}
)
_DICT_METHODS = frozenset(dir(dict))


def _kind_of(hint: object) -> _Kind:
    origin = typing.get_origin(hint)
    if origin in (typing.Union, types.UnionType):
        args = [arg for arg in typing.get_args(hint) if arg is not type(None)]
        return _kind_of(args[0]) if len(args) == 1 else _VALUE
    if origin is tuple or origin is list:
        return _Kind("sequence", item=_kind_of(typing.get_args(hint)[0]))
    if origin is dict:
        return _Kind("mapping")
    if isinstance(hint, type) and dataclasses.is_dataclass(hint):
        return _Kind("record", record=hint)
    return _VALUE


@functools.cache
def _fields(record: type) -> dict[str, _Kind]:
    hints = typing.get_type_hints(record)
    return {f.name: _kind_of(hints[f.name]) for f in dataclasses.fields(record)}


@functools.cache
def _root_names() -> tuple[tuple[str, _Kind], ...]:
    context_fields = _fields(MessageContext)
    return tuple((name, context_fields[name]) for name in sample_context().as_variables())


def _path(node: nodes.Node) -> str:
    if isinstance(node, nodes.Name):
        return node.name
    if isinstance(node, nodes.Getattr):
        return f"{_path(node.node)}.{node.attr}"
    if isinstance(node, nodes.Getitem) and isinstance(node.arg, nodes.Const):
        return f"{_path(node.node)}[{node.arg.value!r}]"
    if isinstance(node, nodes.Const):
        return repr(node.value)
    return "(...)"


class _Checker:
    """Walks a Jinja syntax tree and raises ``_Rejected`` at the first thing not allowed."""

    def __init__(self, filters: frozenset[str]) -> None:
        self.filters = filters

    def body(self, statements: list[nodes.Node], scope: dict[str, _Kind]) -> None:
        for statement in statements:
            self.statement(statement, scope)

    def statement(self, node: nodes.Node, scope: dict[str, _Kind]) -> None:
        if isinstance(node, nodes.Output):
            for child in node.nodes:
                if not isinstance(child, nodes.TemplateData):
                    self.expr(child, scope)
        elif isinstance(node, nodes.If):
            self.expr(node.test, scope)
            self.body(node.body, scope)
            for branch in node.elif_:
                self.statement(branch, scope)
            self.body(node.else_, scope)
        elif isinstance(node, nodes.For):
            if node.recursive:
                raise _Rejected("recursive loops are not allowed", node.lineno)
            iterated = self.expr(node.iter, scope)
            inner = dict(scope)
            self.bind(node.target, iterated.item or _VALUE, inner)
            inner["loop"] = _LOOP
            if node.test is not None:
                self.expr(node.test, inner)
            self.body(node.body, inner)
            self.body(node.else_, dict(scope))
        elif isinstance(node, nodes.Assign):
            self.bind(node.target, self.expr(node.node, scope), scope)
        elif isinstance(node, nodes.AssignBlock):
            self.body(node.body, dict(scope))
            if node.filter is not None:
                self.expr(node.filter, scope)
            self.bind(node.target, _VALUE, scope)
        elif isinstance(node, nodes.Macro):
            for default in node.defaults:
                self.expr(default, scope)
            scope[node.name] = _MACRO
            inner = dict(scope)
            for arg in node.args:
                inner[arg.name] = _VALUE
            self.body(node.body, inner)
        elif isinstance(node, nodes.FilterBlock):
            self.expr(node.filter, scope)
            self.body(node.body, scope)
        elif isinstance(node, nodes.With):
            inner = dict(scope)
            for target, value in zip(node.targets, node.values, strict=True):
                self.bind(target, self.expr(value, scope), inner)
            self.body(node.body, inner)
        elif isinstance(node, nodes.Scope):
            self.body(node.body, dict(scope))
        elif isinstance(node, nodes.Include | nodes.Import | nodes.FromImport | nodes.Extends):
            raise _Rejected("a template cannot include, import or extend other files", node.lineno)
        elif isinstance(node, nodes.Block):
            raise _Rejected("blocks are not allowed: a template is the e-mail body only", node.lineno)
        elif isinstance(node, nodes.EvalContextModifier | nodes.ScopedEvalContextModifier):
            raise _Rejected("autoescaping cannot be switched off", node.lineno)
        else:
            raise _Rejected(f"'{type(node).__name__.lower()}' is not allowed", node.lineno)

    def bind(self, target: nodes.Node, kind: _Kind, scope: dict[str, _Kind]) -> None:
        if isinstance(target, nodes.Name):
            scope[target.name] = kind
        elif isinstance(target, nodes.Tuple):
            for item in target.items:
                self.bind(item, _VALUE, scope)
        else:
            raise _Rejected("only plain names can be assigned", target.lineno)

    def expr(self, node: nodes.Node, scope: dict[str, _Kind]) -> _Kind:
        if isinstance(node, nodes.Name):
            if node.name not in scope:
                raise _Rejected(f"unknown field '{node.name}'", node.lineno, node.name)
            return scope[node.name]
        if isinstance(node, nodes.Getattr):
            return self.attribute(node, self.expr(node.node, scope), node.attr)
        if isinstance(node, nodes.Getitem):
            return self.item(node, scope)
        if isinstance(node, nodes.Const):
            return _VALUE
        if isinstance(node, nodes.Filter):
            return self.filter(node, scope)
        if isinstance(node, nodes.Test):
            if node.name not in _TESTS:
                raise _Rejected(f"unknown test '{node.name}'", node.lineno)
            self.arguments(node, scope)
            return _VALUE
        if isinstance(node, nodes.Call):
            if not (isinstance(node.node, nodes.Name) and scope.get(node.node.name) == _MACRO):
                what = _path(node.node)
                raise _Rejected(f"calling functions or methods is not allowed ({what})", node.lineno)
            self.arguments(node, scope)
            return _VALUE
        if isinstance(node, nodes.CondExpr):
            self.expr(node.test, scope)
            kind = self.expr(node.expr1, scope)
            if node.expr2 is not None:
                self.expr(node.expr2, scope)
            return kind
        if isinstance(node, nodes.List | nodes.Tuple):
            kinds = [self.expr(item, scope) for item in node.items]
            return _Kind("sequence", item=kinds[0] if kinds else _VALUE)
        if isinstance(node, nodes.Dict):
            for pair in node.items:
                self.expr(pair.key, scope)
                self.expr(pair.value, scope)
            return _Kind("mapping")
        if isinstance(node, nodes.BinExpr | nodes.UnaryExpr | nodes.Compare | nodes.Concat):
            for child in node.iter_child_nodes():
                self.expr(child.expr if isinstance(child, nodes.Operand) else child, scope)
            return _VALUE
        raise _Rejected(f"'{type(node).__name__}' expressions are not allowed", node.lineno)

    def attribute(self, node: nodes.Node, base: _Kind, name: str) -> _Kind:
        known: Mapping[str, _Kind] = {}
        if base.what == "record" and base.record is not None:
            known = _fields(base.record)
        elif base.what == "loop":
            known = dict.fromkeys(_LOOP_FIELDS, _VALUE)
        elif base.what == "mapping" and name not in _DICT_METHODS:
            known = {name: _VALUE}
        if name.startswith("_") or name not in known:
            path = _path(node)
            raise _Rejected(f"unknown field '{path}'", node.lineno, path)
        return known[name]

    def item(self, node: nodes.Getitem, scope: dict[str, _Kind]) -> _Kind:
        base = self.expr(node.node, scope)
        if isinstance(node.arg, nodes.Const) and isinstance(node.arg.value, str):
            return self.attribute(node, base, node.arg.value)
        if isinstance(node.arg, nodes.Slice):
            for part in (node.arg.start, node.arg.stop, node.arg.step):
                if part is not None:
                    self.expr(part, scope)
            if base.what == "sequence":
                return base
        else:
            self.expr(node.arg, scope)
            if base.what == "sequence":
                return base.item or _VALUE
        if base.what in ("value", "mapping"):
            return _VALUE
        path = _path(node.node)
        raise _Rejected(f"'{path}' cannot be indexed", node.lineno, path)

    def filter(self, node: nodes.Filter, scope: dict[str, _Kind]) -> _Kind:
        if node.name not in self.filters:
            raise _Rejected(f"unknown filter '{node.name}'", node.lineno)
        if any(keyword.key == "attribute" for keyword in node.kwargs):
            raise _Rejected(f"filter '{node.name}' cannot take attribute=", node.lineno)
        base = _VALUE if node.node is None else self.expr(node.node, scope)
        self.arguments(node, scope)
        if node.name in ("first", "last") and base.what == "sequence":
            return base.item or _VALUE
        return base if node.name in ("default", "d") else _VALUE

    def arguments(self, node: nodes.Filter | nodes.Test | nodes.Call, scope: dict[str, _Kind]) -> None:
        if node.dyn_args is not None or node.dyn_kwargs is not None:
            raise _Rejected("*args and **kwargs are not allowed", node.lineno)
        if isinstance(node, nodes.Test):
            self.expr(node.node, scope)
        for arg in node.args:
            self.expr(arg, scope)
        for keyword in node.kwargs:
            self.expr(keyword.value, scope)


# --- templates -------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Compiled:
    subject: jinja2.Template
    preheader: jinja2.Template
    body: jinja2.Template
    subject_line: int
    preheader_line: int
    body_offset: int  # body line + body_offset = line in the file


@dataclass(frozen=True)
class Template:
    """One e-mail template, checked and compiled; make it with ``parse_template``."""

    name: str
    subject: str
    preheader: str
    topic: str
    body: str
    compiled: _Compiled = field(repr=False, compare=False)
    survey: str | None = None  # the survey ``links.survey`` opens, when the front matter names one

    @property
    def surveys(self) -> tuple[str, ...]:
        """The survey links the body shows: its survey (post_purchase unless named) and a review."""
        wanted = []
        if "links.survey" in self.body:
            wanted.append(self.survey or "post_purchase")
        if "links.review" in self.body:
            wanted.append("review")
        return tuple(wanted)


@dataclass(frozen=True)
class RenderedEmail:
    subject: str
    html: str
    text: str
    topic: str


def _front_matter(name: str, source: str) -> tuple[dict[str, tuple[str, int]], str, int]:
    """The front-matter values with their lines, the body, and the body's line offset."""
    lines = source.split("\n")
    if lines[0].strip() != "---":
        raise TemplateError(name, "must start with a '---' line, then subject, preheader and topic", 1)
    found: dict[str, tuple[str, int]] = {}
    for index, raw in enumerate(lines[1:], start=1):
        text = raw.strip()
        if text == "---":
            end = index
            break
        if not text or text.startswith("#"):
            continue
        key, colon, value = (part.strip() for part in text.partition(":"))
        if not colon:
            raise TemplateError(name, f"expected 'key: value', found {text!r}", index + 1)
        if key not in _FRONT_MATTER_KEYS + _OPTIONAL_KEYS:
            raise TemplateError(name, f"unknown front-matter key {key!r}", index + 1, key)
        if key in found:
            raise TemplateError(name, f"{key!r} is given twice", index + 1, key)
        if key in ("topic", "survey"):
            value = value.split("#", 1)[0].strip()
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
            value = value[1:-1]
        found[key] = (value, index + 1)
    else:
        raise TemplateError(name, "the front matter is not closed with a '---' line", 1)
    for key in _FRONT_MATTER_KEYS:
        if key not in found or not found[key][0]:
            raise TemplateError(name, f"the front matter needs a {key!r}", end + 1, key)
    return found, "\n".join(lines[end + 1 :]), end + 1


def _check(
    name: str, env: ImmutableSandboxedEnvironment, source: str, offset: int, filters: frozenset[str]
) -> None:
    try:
        tree = env.parse(source)
    except jinja2.TemplateSyntaxError as error:
        raise TemplateError(name, error.message or "syntax error", error.lineno + offset) from None
    try:
        _Checker(filters).body(tree.body, dict(_root_names()))
    except _Rejected as rejected:
        line = None if rejected.line is None else rejected.line + offset
        raise TemplateError(name, rejected.reason, line, rejected.field) from None


# Styles e-mail clients need on the tag itself. mrml can inline an <mj-style> sheet, but
# that costs more than the rest of the compile together, so the few tags a body uses are
# given their style once, when the template is compiled. A tag written with its own
# attributes is left alone.
_P_STYLE = "margin: 0 0 12px;"
_INLINE_STYLES = {
    "<a href=": '<a style="color: {{ store.accent_colour }}; text-decoration: underline;" href=',
    "<h1>": '<h1 style="font-size: 24px; line-height: 1.25; margin: 0 0 12px;">',
    "<h2>": '<h2 style="font-size: 19px; line-height: 1.3; margin: 0 0 8px;">',
    "<p>": f'<p style="{_P_STYLE}">',
    "<ul>": '<ul style="margin: 0 0 12px; padding-left: 20px;">',
}


def _with_inline_styles(body: str) -> str:
    for plain, styled in _INLINE_STYLES.items():
        body = body.replace(plain, styled)
    return body


def _compile(env: ImmutableSandboxedEnvironment, source: str, filename: str) -> jinja2.Template:
    code = env.compile(source, filename=filename)
    return env.template_class.from_code(env, code, env.make_globals(None))


def parse_template(name: str, source: str) -> Template:
    """A checked template from the text of a template file; raises ``TemplateError``."""
    name = name.removesuffix(".mjml")
    found, body, offset = _front_matter(name, source)
    topic, topic_line = found["topic"]
    if topic not in TOPICS:
        raise TemplateError(name, f"topic {topic!r} is not one of {', '.join(TOPICS)}", topic_line, "topic")
    if not body.strip():
        raise TemplateError(name, "the template has no body", offset + 1)
    survey = found.get("survey", (None, 0))[0]
    if survey is not None and survey not in SURVEY_LINKS:
        kinds = ", ".join(SURVEY_LINKS)
        raise TemplateError(name, f"survey {survey!r} is not one of {kinds}", found["survey"][1], "survey")
    (subject, subject_line), (preheader, preheader_line) = found["subject"], found["preheader"]
    _check(name, _TEXT_ENV, subject, subject_line - 1, _FILTERS)
    _check(name, _TEXT_ENV, preheader, preheader_line - 1, _FILTERS)
    _check(name, _HTML_ENV, body, offset, _HTML_FILTERS)
    wrapped = f'{{% extends "{_LAYOUT_NAME}" %}}{{% block body %}}{_with_inline_styles(body)}{{% endblock %}}'
    compiled = _Compiled(
        subject=_compile(_TEXT_ENV, subject, f"<{name}:subject>"),
        preheader=_compile(_TEXT_ENV, preheader, f"<{name}:preheader>"),
        body=_compile(_HTML_ENV, wrapped, f"<{name}:body>"),
        subject_line=subject_line,
        preheader_line=preheader_line,
        body_offset=offset,
    )
    template = Template(name, subject, preheader, topic, body, compiled, survey)
    render(template, sample_context())
    render(template, sample_context(sparse=True))
    return template


@functools.cache
def default_templates() -> dict[str, Template]:
    """The templates shipped with Retain, by name (``winback_1`` and so on)."""
    folder = resources.files("retain.messaging").joinpath("templates")
    names = sorted(entry.name for entry in folder.iterdir() if entry.name.endswith(".mjml"))
    return {
        name.removesuffix(".mjml"): parse_template(name, _package_file(name))
        for name in names
        if name != _LAYOUT_NAME
    }


# --- rendering -----------------------------------------------------------------------------

_NO_INCLUDES = mrml.ParserOptions(include_loader=mrml.noop_loader())
_NO_WEB_FONTS = mrml.RenderOptions(disable_comments=False, fonts={})


def _template_lines(error: BaseException, filename: str) -> Iterator[int]:
    trace = error.__traceback__
    while trace is not None:
        if trace.tb_frame.f_code.co_filename == filename:
            yield trace.tb_lineno
        trace = trace.tb_next


def _run(
    template: Template, part: Literal["subject", "preheader", "body"], variables: dict[str, object]
) -> str:
    compiled = template.compiled
    jinja_template = getattr(compiled, part)
    try:
        return str(jinja_template.render(variables))
    except Exception as error:
        line: int | None = compiled.subject_line if part == "subject" else compiled.preheader_line
        if part == "body":
            lines = list(_template_lines(error, jinja_template.filename or ""))
            line = lines[-1] + compiled.body_offset if lines else None
        if isinstance(error, _MissingValue):
            reason = "prints a missing value (None): guard it with {% if ... %}"
        elif isinstance(error, jinja2.UndefinedError):
            reason = f"missing value: {error.message} (guard optional values with {{% if ... %}})"
        elif isinstance(error, jinja2.exceptions.SecurityError):
            reason = f"not allowed: {error}"
        else:
            reason = f"{type(error).__name__}: {error}"
        raise TemplateError(template.name, reason, line) from None


def _one_line(text: str) -> str:
    return " ".join(text.split())


def _mjml_error(template: Template, mjml: str, error: Exception) -> TemplateError:
    reason = f"the MJML does not compile: {error}"
    if found := re.search(r"position (\d+):(\d+)", str(error)):
        start = int(found.group(1))
        snippet = _one_line(mjml[max(0, start - 30) : start + 50])
        reason = f"{reason} (near {snippet!r})"
    return TemplateError(template.name, reason)


def render(template: Template, context: MessageContext) -> RenderedEmail:
    """The subject, HTML and plain text of ``template`` for one customer."""
    variables = context.as_variables()
    subject = _one_line(_run(template, "subject", variables))
    if not subject:
        raise TemplateError(template.name, "the subject came out empty", template.compiled.subject_line)
    preheader = _one_line(_run(template, "preheader", variables))
    variables["layout_title"] = subject
    variables["layout_preheader"] = preheader
    mjml = _run(template, "body", variables)
    try:
        html = mrml.to_html(mjml, parser_options=_NO_INCLUDES, render_options=_NO_WEB_FONTS).content
    except Exception as error:
        raise _mjml_error(template, mjml, error) from None
    return RenderedEmail(subject=subject, html=html, text=mjml_to_text(mjml), topic=template.topic)


# --- sample data -----------------------------------------------------------------------------


def sample_context(*, sparse: bool = False) -> MessageContext:
    """A made-up customer of a made-up store, for checking and previewing templates.

    ``sparse`` leaves out everything a real customer may lack: a name, an order,
    recommendations, points and a discount code.
    """
    store = Brand(
        store_name="Fern & Kettle",
        sender_name="Maya at Fern & Kettle",
        sender_address="hello@fernandkettle.example",
        postal_address="12 Mill Lane, Bristol BS1 4QA, United Kingdom",
        shop_url="https://fernandkettle.example",
        logo_url=None if sparse else "https://fernandkettle.example/logo.png",
    )
    shop = store.shop_url
    links = Links(
        shop=shop,
        unsubscribe=f"{shop}/u/sample-token",
        preferences=f"{shop}/p/sample-token",
        complaint=f"{shop}/c/sample-token",
        survey=f"{shop}/s/sample-token",
        review=f"{shop}/r/sample-token",
        referral=f"{shop}/ref/MAYA10",
    )
    if sparse:
        return MessageContext(
            customer=CustomerView(first_name="there", known_name=False), store=store, links=links
        )
    products = (
        ProductView("Stoneware mug, sage", "Mugs", "€18.00", f"{shop}/p/mug", f"{shop}/img/mug.jpg"),
        ProductView(
            "Single-origin beans, 250 g", "Coffee", "€12.50", f"{shop}/p/beans", f"{shop}/img/beans.jpg"
        ),
        ProductView("Hand grinder", "Brewing", "€49.00", f"{shop}/p/grinder", f"{shop}/img/grinder.jpg"),
    )
    return MessageContext(
        customer=CustomerView("Anna", "Berg", "anna@example.com"),
        store=store,
        links=links,
        last_order=OrderView("#1042", date(2025, 3, 7), "€42.50", products[:2]),
        recommended=products,
        points=PointsView(balance=420, tier="Silver", worth="€4.20"),
        code=CodeView("K7QX-M2PD-9HTW", "15% off", date(2025, 4, 30), "€30.00"),
        note="We changed our packaging.\nNo more plastic.\n\nThanks for telling us.",
    )
