"""`surveybot yousaid list|theme|themes|reply|approve|send|board`, and the same verbs typed in chat (`/yousaid ...`
on Telegram, `/survey yousaid ...` on Slack, through bot.services.chat_admin).

Who is acting: in chat, the person typing. On the command line, `--as WHO` names them the way `surveybot roles`
does (`telegram:USER_ID`, `slack:TEAM_ID:USER_ID`, `console:NAME`), and that person must hold the role: admin to
theme, write and send, youth-participation-lead to approve, and never the writer approving their own reply. Reading
(`list`, `themes`, `board`) needs no `--as` on the server, as other read commands there do not. Every mistake is one
line naming the argument, with a non-zero exit.
"""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING

from bot.domain.address import Address
from bot.reporting import board as pages
from bot.reporting.outputs import output
from bot.services.roles import Forbidden, parse_who
from bot.services.yousaid import STATUSES, YouSaid, YouSaidError, parse_ids
from bot.services.yousaid_chat import item_lines, make, number, theme_lines

if TYPE_CHECKING:
    from bot.app import App


def add_commands(commands: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    top = commands.add_parser("yousaid", help="review young people's feedback and reply: you said, we did")
    verbs = top.add_subparsers(dest="yousaid_command", required=True, metavar="ACTION")
    listing = verbs.add_parser("list", help="feedback items not yet in a theme (--all: every item)")
    themes = verbs.add_parser("themes", help="themes with their replies, status and reactions")
    for sub in (listing, themes):
        sub.add_argument("--survey", help="one survey only")
        sub.add_argument("--wave", help="one round only")
    listing.add_argument("--all", action="store_true", help="include items already in a theme")
    theme = verbs.add_parser("theme", help="put items under a theme (made when new)")
    theme.add_argument("name", help="the theme, in words young people would use, e.g. \"Bus passes\"")
    theme.add_argument("items", help="item numbers from `yousaid list`, like 3 or 1,4,7 or 2-5")
    reply = verbs.add_parser("reply", help="write a \"we did\" reply to a theme (it then needs approval)")
    reply.add_argument("theme", help="the theme's number from `yousaid themes`")
    reply.add_argument("--status", required=True, help=f"one of: {', '.join(STATUSES)}")
    reply.add_argument("--text", required=True, help="what the partnership did, in plain words")
    approve = verbs.add_parser("approve", help="approve a reply's wording (youth participation lead)")
    approve.add_argument("reply", help="the reply's number")
    send = verbs.add_parser("send", help="send an approved reply to everyone who completed the round")
    send.add_argument("reply", help="the reply's number")
    for sub in (theme, reply, approve, send):
        sub.add_argument("--as", dest="who", required=True,
                         help="who is doing this: telegram:USER_ID, slack:TEAM_ID:USER_ID or console:NAME")
    board = verbs.add_parser("board", help="write the \"You said, we did\" page to publish (HTML or Markdown)")
    board.add_argument("--survey", help="one survey only")
    board.add_argument("--wave", help="one round only")
    board.add_argument("--out", required=True, help="the file to write: board.html or board.md (- for the screen)")
    board.add_argument("--format", choices=("html", "md"), help="default: from the file's ending, else html")


def run(app: App, args: argparse.Namespace) -> int:
    verb = args.yousaid_command
    yousaid = make(app)
    if verb == "list":
        lines = item_lines(yousaid.items(args.survey, number(args.wave, "--wave"), args.all))
        print("\n".join(lines) if lines else "No new feedback." if not args.all else "No feedback yet.")
        return 0
    if verb == "themes":
        lines = theme_lines(yousaid.themes(args.survey, number(args.wave, "--wave")))
        print("\n".join(lines) if lines else "No themes yet.")
        return 0
    if verb == "board":
        return write_board(app, yousaid, args.survey, number(args.wave, "--wave"), args.out, args.format)
    token = app.settings.telegram_token
    try:
        who = parse_who(args.who, token.split(":", 1)[0] if token else None)
    except ValueError as exc:
        raise YouSaidError(f"--as: {exc}") from None
    try:
        print(act(yousaid, who, verb, args))
    except Forbidden as refusal:
        raise YouSaidError(f"--as: {refusal}") from None
    return 0


def act(yousaid: YouSaid, who: Address, verb: str, args: argparse.Namespace) -> str:
    if verb == "theme":
        theme_id, count = yousaid.theme(who, args.name, parse_ids(args.items))
        return f"Theme {theme_id} “{' '.join(args.name.split())}” now has {count} item(s)."
    if verb == "reply":
        theme = number(args.theme, "THEME")
        assert theme is not None
        reply_id = yousaid.reply(who, theme, args.status, args.text)
        return f"Reply {reply_id} written. It needs approval by the youth participation lead before it can be sent."
    reply = number(args.reply, "REPLY")
    assert reply is not None
    if verb == "approve":
        yousaid.approve(who, reply)
        return f"Reply {reply} approved. Send it with: surveybot yousaid send {reply} --as WHO"
    start = yousaid.send(who, reply)
    return (f"Reply {reply} will go to everyone who completed its round from {start:%Y-%m-%d %H:%M} "
            "(the running bot sends it, outside quiet hours).")


def write_board(app: App, yousaid: YouSaid, survey_id: str | None, wave: int | None, out: str,
                fmt: str | None) -> int:
    text, chosen = pages.page(app, yousaid, survey_id, wave, out, fmt)
    with output(out) as handle:
        handle.write(text)
    pages.record(app, survey_id, wave, chosen, text)
    if out != "-":
        print(f"Wrote the “You said, we did” board to {out}.", file=sys.stderr)
    return 0
