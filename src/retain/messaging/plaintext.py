"""The plain-text part of an e-mail, read from its Jinja-rendered MJML.

The MJML says what the reader sees (paragraphs, buttons, links, dividers) without the
layout tables the compiled HTML wraps around every block, so it reads back into text far
more reliably than the HTML does.
"""

from __future__ import annotations

import re
from html import unescape

_SKIPPED = frozenset({"mj-head", "mj-raw", "mj-style", "style", "script"})
# Tags inside mj-text that start and end a paragraph.
_BLOCKS = frozenset({"p", "div", "h1", "h2", "h3", "h4", "h5", "h6", "ul", "ol", "table", "tr", "blockquote"})
# MJML components whose contents are read as text.
_TEXT_COMPONENTS = frozenset({"mj-text", "mj-button", "mj-table"})
_PARAGRAPH = "\n\n"
_DIVIDER = "-" * 40
_SPACES = re.compile(r"[ \t\r\n\f\v]+")
_BLANK_LINES = re.compile(r"\n{3,}")
_SPACES_IN_LINE = re.compile(r" {2,}")
_EDGE_SPACES = re.compile(r" *\n *")
_READABLE = re.compile(
    r"(?P<skipped><mj-raw\b.*?</mj-raw>|<mj-head\b.*?</mj-head>)"
    r"|(?P<read><(?P<tag>mj-text|mj-button|mj-table)\b.*?</(?P=tag)\s*>|<mj-(?:image|divider)\b[^>]*>)",
    re.DOTALL,
)


# A tag (closing, name, attributes, self-closing) or a run of text. The MJML comes from
# Retain's own checked templates, so a tokenizer this plain reads it whole; the standard
# library's HTMLParser took more time than compiling the MJML.
_TOKEN = re.compile(
    r"<(/?)([A-Za-z][\w:-]*)((?:[^>\"']|\"[^\"]*\"|'[^']*')*?)(/?)>|<!--.*?-->|([^<]+|<)", re.DOTALL
)
_ATTRIBUTE = re.compile(r"""([\w:-]+)\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s"'>]+))""")


def _attributes(text: str) -> list[tuple[str, str | None]]:
    return [(m[1].lower(), unescape(m[2] or m[3] or m[4] or "")) for m in _ATTRIBUTE.finditer(text)]


class _MjmlText:
    def __init__(self) -> None:
        self.out: list[str] = []
        self.skipping = 0
        self.reading = 0
        # Each open <a> or <mj-button>: its href and where its label starts in ``out``.
        self.links: list[tuple[str, str | None, int]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _SKIPPED:
            self.skipping += 1
            return
        if self.skipping:
            return
        if tag in _TEXT_COMPONENTS:
            self.reading += 1
            self.out.append(_PARAGRAPH)
            if tag == "mj-button":
                self.links.append((tag, dict(attrs).get("href"), len(self.out)))
        elif tag == "a" and self.reading:
            self.links.append((tag, dict(attrs).get("href"), len(self.out)))
        elif tag == "br":
            self.out.append("\n")
        elif tag == "li":
            self.out.append("\n- ")
        elif tag in _BLOCKS:
            self.out.append(_PARAGRAPH)
        elif tag == "mj-divider":
            self.out.extend((_PARAGRAPH, _DIVIDER, _PARAGRAPH))
        elif tag == "mj-image":
            found = dict(attrs)
            if found.get("href") and found.get("alt"):
                self.out.extend((_PARAGRAPH, f"[{found['alt']}]", _PARAGRAPH))

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.handle_starttag(tag, attrs)
        if tag in _SKIPPED:
            self.skipping -= 1

    def handle_endtag(self, tag: str) -> None:
        if tag in _SKIPPED:
            self.skipping = max(0, self.skipping - 1)
            return
        if self.skipping:
            return
        if tag in ("a", "mj-button") and self.links and self.links[-1][0] == tag:
            _, href, start = self.links.pop()
            label = " ".join("".join(self.out[start:]).split())
            del self.out[start:]
            if tag == "mj-button":
                self.out.append(f"{label}: {href}" if href else label)
            elif not href or label == href:
                self.out.append(label or href or "")
            else:
                self.out.append(f"{label} ({href})" if label else href)
        if tag in _TEXT_COMPONENTS:
            self.reading = max(0, self.reading - 1)
            self.out.append(_PARAGRAPH)
        elif tag in _BLOCKS or tag == "li":
            self.out.append(_PARAGRAPH if tag != "li" else "")

    def handle_data(self, data: str) -> None:
        if self.reading and not self.skipping:
            self.out.append(_SPACES.sub(" ", unescape(data)))

    def feed(self, document: str) -> None:
        for match in _TOKEN.finditer(document):
            closing, tag, attributes, self_closing, data = match.groups()
            if data is not None:
                self.handle_data(data)
            elif tag is None:  # a comment
                continue
            elif closing:
                self.handle_endtag(tag.lower())
            elif self_closing:
                self.handle_startendtag(tag.lower(), _attributes(attributes))
            else:
                self.handle_starttag(tag.lower(), _attributes(attributes) if attributes.strip() else [])


def mjml_to_text(mjml: str) -> str:
    """The words and links of an MJML document as plain text, one paragraph a block."""
    parser = _MjmlText()
    # Only the components that carry words or links; sections, columns and the head
    # would be parsed for nothing.
    parser.feed("".join(m.group() for m in _READABLE.finditer(mjml) if m.lastgroup != "skipped"))
    text = _SPACES_IN_LINE.sub(" ", "".join(parser.out))
    text = _EDGE_SPACES.sub("\n", text)
    return _BLANK_LINES.sub("\n\n", text).strip() + "\n"
