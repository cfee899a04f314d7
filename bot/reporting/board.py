"""The "You said, we did" board: one page a partnership can publish and put in its yearly report's section on how
children's feedback was used. HTML (self-contained: inline CSS, no scripts, fonts, images or links to fetch) or
Markdown. The HTML page is bot/templates/board.html.

Per theme: how many things young people said (below the round's threshold only "fewer than k"), their words only
when the theme holds at least the round's free-text threshold (k = 10 for young people by default; already
scrubbed), what the partnership did with its status (approved replies only: unapproved wording is never
published), and the reactions young people gave (suppressed the same way). No dates finer than a day.
"""

from __future__ import annotations

import hashlib
from typing import Any

from bot import templates
from bot.engine import messages as msg
from bot.services.core import Core
from bot.services.notices import long_date
from bot.services.yousaid import Board, ReplyView, ThemeView, YouSaid, YouSaidError, reactions_shown, shown

STATUS_LABEL = {"heard": "Heard", "planned": "Planned", "in-progress": "In progress", "done": "Done"}
def _approved(theme: ThemeView) -> list[ReplyView]:
    return [r for r in theme.replies if r.approved]


def _reactions(reply: ReplyView, k: int) -> list[tuple[str, str]]:
    counts = reactions_shown(reply.reactions, k)
    return [(label, counts[kind]) for kind, label in msg.YOUSAID_REACTIONS.items()]


def _said(theme: ThemeView, k: int) -> str:
    count = shown(theme.items, k)
    return "1 thing was said" if count == "1" else f"{count} things were said"


def _title(board: Board) -> str:
    return f"You said, we did: {board.title}" if board.survey_id else "You said, we did"


def _where(board: Board) -> str:
    """Which rounds the page covers, in plain words (nothing at all for the whole board)."""
    if not board.survey_id:
        return ""
    return f" in wave {board.wave}" if board.wave is not None else " in every wave so far"


def view(board: Board) -> dict[str, Any]:
    """What the published page shows, as values for a template: the title, which rounds, the date, the thresholds,
    and per theme what was said (suppressed), the quotes allowed and the approved replies with their reactions
    (suppressed). The page below and the web console's preview (bot.console.yousaid) both draw this."""
    k = board.thresholds
    themes = [{"name": theme.name, "said": _said(theme, k.group), "quotes": theme.quotes,
               "replies": [{"status": STATUS_LABEL[reply.status], "text": reply.text,
                            "reactions": _reactions(reply, k.group)} for reply in _approved(theme)]}
              for theme in board.themes]
    return {"title": _title(board), "where": _where(board), "made_on": long_date(board.made_on), "k": k,
            "themes": themes}


def html(board: Board) -> str:
    """The board as a page, drawn from templates/board.html (autoescaped: themes, quotes and replies are text)."""
    return templates.render("board.html", **view(board))


def _md(text: str) -> str:
    """Plain text that Markdown shows as written (no accidental links, emphasis or HTML)."""
    out = []
    for char in text.replace("\n", " "):
        out.append("\\" + char if char in "\\`*_{}[]()<>#+!|~" else char)
    return "".join(out)


def markdown(board: Board) -> str:
    k = board.thresholds
    lines = [f"# {_md(_title(board))}", "",
             f"What young people told the partnership{_where(board)}, what we did about it, and what they thought. "
             f"Made on {long_date(board.made_on)}. Numbers below {k.group} are "
             f"shown as “fewer than {k.group}”; young people's own words are shown only where at least {k.text} said "
             "something on a theme.", ""]
    if not board.themes:
        lines += ["No themes yet.", ""]
    for theme in board.themes:
        lines += [f"## {_md(theme.name)}", "", "**You said:** " + _said(theme, k.group) + ".", ""]
        lines += [f"> {_md(quote)}\n" for quote in theme.quotes]
        approved = _approved(theme)
        if not approved:
            lines += ["**We did:** we are still working on our reply.", ""]
        for reply in approved:
            lines += [f"**We did ({STATUS_LABEL[reply.status].lower()}):** {_md(reply.text)}", "",
                      "| What young people thought | How many |", "|---|---|",
                      *[f"| {label} | {n} |" for label, n in _reactions(reply, k.group)], ""]
    return "\n".join(lines).rstrip() + "\n"


def page(core: Core, yousaid: YouSaid, survey_id: str | None, wave: int | None, out: str,
         fmt: str | None) -> tuple[str, str]:
    """`surveybot yousaid board`: the page's text and its format (`fmt`, else from the file's ending, else html)."""
    if survey_id is not None and not core.catalogue.has(survey_id):
        raise YouSaidError(f"--survey: no survey `{survey_id}`; known surveys: {', '.join(core.catalogue.ids())}")
    chosen = fmt or ("md" if out.lower().endswith((".md", ".markdown")) else "html")
    made = yousaid.board(survey_id, wave)
    return (markdown(made) if chosen == "md" else html(made)), chosen


def record(core: Core, survey_id: str | None, wave: int | None, fmt: str, text: str) -> None:
    """Audit a board once it is written: what it covered, and a fingerprint of exactly what was published."""
    with core.store.unit() as uow:
        uow.audit("yousaid.board", {"survey": survey_id, "wave": wave, "format": fmt,
                                    "sha256": hashlib.sha256(text.encode()).hexdigest()}, core.service.clock().date())
