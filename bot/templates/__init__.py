"""The one Jinja2 environment every HTML page is drawn with: reports, the "You said, we did" board, the web chat,
and (later) the web console, which shares these templates rather than drawing its own.

Compiled templates are kept between processes (`KeptCompiled`), because compiling is most of the cost of a page
drawn once: about 0.04 s for the report against under 0.01 s to draw it, in every `surveybot report`.

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

import contextlib
import functools
import re
from typing import Any

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape
from jinja2.bccache import Bucket, BytecodeCache, FileSystemBytecodeCache
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


class KeptCompiled(BytecodeCache):
    """Jinja2's own FileSystemBytecodeCache, in the folder it chooses: `_jinja2-cache-<uid>` in the system temp
    directory, made 0700 and checked to be this user's folder and not a link before anything is read from it; each
    file is written 0600 under a temporary name and renamed in whole. A file is used only while its template's
    source is unchanged (Jinja2 keeps a checksum of it), so an edited template is compiled again.

    Why not FileSystemBytecodeCache as it is: it makes its folder when it is created, and this environment is
    created on import, which must write nothing. Here the folder is made on the first template loaded. Where it
    cannot be made or written (a read-only disk), templates are compiled in memory as before, and nothing fails.
    In the deployments /tmp is the service's own (systemd's PrivateTmp, compose's tmpfs) and lasts as long as the
    service or container, so each template is compiled once a start."""

    def __init__(self) -> None:
        self._disk: FileSystemBytecodeCache | None = None
        self._unusable = False

    def _folder(self) -> FileSystemBytecodeCache | None:
        if self._disk is None and not self._unusable:
            try:
                self._disk = FileSystemBytecodeCache(pattern="surveybot-%s.cache")
            except (OSError, RuntimeError):  # RuntimeError: Jinja2 found the folder unsafe (not ours, not 0700)
                self._unusable = True
        return self._disk

    def load_bytecode(self, bucket: Bucket) -> None:
        disk = self._folder()
        if disk is not None:
            with contextlib.suppress(OSError):
                disk.load_bytecode(bucket)

    def dump_bytecode(self, bucket: Bucket) -> None:
        disk = self._folder()
        if disk is not None:
            with contextlib.suppress(OSError):
                disk.dump_bytecode(bucket)


def _environment() -> Environment:
    env = Environment(
        loader=PackageLoader("bot", "templates"),
        bytecode_cache=KeptCompiled(),
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
