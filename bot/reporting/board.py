"""The "You said, we did" board: one page a partnership can publish and put in its yearly report's section on how
children's feedback was used. HTML (self-contained: inline CSS, no scripts, fonts, images or links to fetch) or
Markdown.

Per theme: how many things young people said (below the round's threshold only "fewer than k"), their words only
when the theme holds at least the round's free-text threshold (k = 10 for young people by default; already
scrubbed), what the partnership did with its status (approved replies only: unapproved wording is never
published), and the reactions young people gave (suppressed the same way). No dates finer than a day.
"""

from __future__ import annotations

from html import escape

from bot.engine import messages as msg
from bot.notices import long_date
from bot.yousaid import Board, ReplyView, ThemeView, reactions_shown, shown

STATUS_LABEL = {"heard": "Heard", "planned": "Planned", "in-progress": "In progress", "done": "Done"}
STYLE = """
body { font-family: system-ui, -apple-system, "Segoe UI", Arial, sans-serif; color: #1b1b1b; background: #fff;
       line-height: 1.5; margin: 0; }
main { max-width: 48rem; margin: 0 auto; padding: 1.5rem; }
h1 { font-size: 1.8rem; margin-bottom: 0.25rem; }
.sub { color: #4a4a4a; }
article { border: 2px solid #d0d7de; border-radius: 8px; padding: 1rem 1.25rem; margin: 1.25rem 0; }
h2 { font-size: 1.3rem; margin: 0 0 0.5rem; }
h3 { font-size: 1rem; margin: 1rem 0 0.25rem; text-transform: uppercase; letter-spacing: 0.04em; color: #4a4a4a; }
blockquote { margin: 0.25rem 0; padding: 0.25rem 0.75rem; border-left: 4px solid #0b5cad; background: #f3f7fb; }
.status { display: inline-block; padding: 0 0.5rem; border-radius: 4px; background: #e6f0e6; color: #14532d;
          font-weight: 600; }
table { border-collapse: collapse; margin-top: 0.25rem; }
th, td { text-align: left; padding: 0.2rem 0.75rem 0.2rem 0; }
@media print { article { break-inside: avoid; } }
"""


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


def html(board: Board) -> str:
    k = board.thresholds
    title = _title(board)
    body = [f"<h1>{escape(title)}</h1>",
            f'<p class="sub">What young people told the partnership{escape(_where(board))}, what we did about it, '
            "and what they thought. Made on "
            f"{escape(long_date(board.made_on))}. Numbers below {k.group} are shown as “fewer than {k.group}”; "
            f"young people's own words are shown only where at least {k.text} said something on a theme.</p>"]
    if not board.themes:
        body.append("<p>No themes yet.</p>")
    for theme in board.themes:
        body += ["<article>", f"<h2>{escape(theme.name)}</h2>", "<h3>You said</h3>",
                 f"<p>{escape(_said(theme, k.group))}.</p>"]
        body += [f"<blockquote>{escape(quote)}</blockquote>" for quote in theme.quotes]
        body.append("<h3>We did</h3>")
        approved = _approved(theme)
        if not approved:
            body.append("<p>We are still working on our reply.</p>")
        for reply in approved:
            body += [f'<p><span class="status">{escape(STATUS_LABEL[reply.status])}</span> {escape(reply.text)}</p>',
                     "<table><caption>What young people thought</caption>",
                     *[f"<tr><th scope=\"row\">{escape(label)}</th><td>{escape(n)}</td></tr>"
                       for label, n in _reactions(reply, k.group)],
                     "</table>"]
        body.append("</article>")
    return ("<!DOCTYPE html>\n<html lang=\"en-GB\">\n<head>\n<meta charset=\"utf-8\">\n"
            "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
            f"<title>{escape(title)}</title>\n<style>{STYLE}</style>\n</head>\n<body>\n<main>\n"
            + "\n".join(body) + "\n</main>\n</body>\n</html>\n")


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
