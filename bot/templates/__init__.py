"""The one Jinja2 environment every HTML page is drawn with: reports, the "You said, we did" board, the web chat,
and (later) the web console, which shares these templates rather than drawing its own.

Why one place: the safety settings live here once. Autoescaping is on for every template and every string
template, so text that came from a person (survey wording, answers, comments, theme names) is escaped by default
and a template has to say `|safe` to skip it; that is kept for markup we built and escaped ourselves (the SVG
charts, fragments of the chat page), each use commented in the template. `StrictUndefined` makes a misspelt or
missing value fail loudly (in the tests) instead of printing nothing.

The templates are package data in this folder: `report.html` and `board.html` (standalone documents, sharing
`_document.html`), `web/` for the chat page (sharing `web/_base.html`), and `console/` for the web console (sharing
`console/_layout.html` and `console/_records.html`). The chat page and the console open their heads alike
(`_private_head.html`: no referrer, no search engines).
"""

from __future__ import annotations

import functools
import re
from typing import Any

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape
from markupsafe import Markup, escape

# The helplines our messages and the shipped surveys name, as links a phone can call or text with one tap. Matched in
# escaped text, so the patterns never meet markup; the words themselves stay as they were written.
HELPLINES = (
    (re.compile(r"\btext SHOUT to 85258\b"), "sms:85258?&amp;body=SHOUT"),
    (re.compile(r"\b0800 ?1111\b"), "tel:08001111"),
    (re.compile(r"(?<!\d)(?<!\d )\b999\b(?! ?\d)"), "tel:999"),
)


def _link(href: str, found: re.Match[str]) -> str:
    """The helpline number found, as a link that calls or texts it."""
    return f'<a href="{href}">{found[0]}</a>'


def helplines(text: str) -> Markup:
    """Text escaped for HTML, with Childline, 999 and Shout as links that call or text them. The text is escaped
    first, so whatever a survey author or a person wrote stays text; only the links are markup."""
    html = str(escape(text))
    for pattern, href in HELPLINES:
        html = pattern.sub(functools.partial(_link, href), html)
    return Markup(html)  # escaped above; the only markup added is our own links


def _environment() -> Environment:
    env = Environment(
        loader=PackageLoader("bot", "templates"),
        autoescape=select_autoescape(enabled_extensions=("html",), default_for_string=True, default=True),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters["helplines"] = helplines
    return env


ENVIRONMENT = _environment()


def render(name: str, **values: Any) -> str:
    """One template drawn with `values`, as a plain string (what the callers write to a file or send)."""
    return ENVIRONMENT.get_template(name).render(**values)


def names() -> list[str]:
    """Every template a renderer draws, for the test that draws each one under StrictUndefined. Layouts (`_name.html`)
    are left out: they are only ever drawn through the pages that extend them."""
    return sorted(name for name in ENVIRONMENT.list_templates(extensions=["html"])
                  if not name.rsplit("/", 1)[-1].startswith("_"))
