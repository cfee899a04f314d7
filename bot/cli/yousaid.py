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
import hashlib
import sys

from bot.app import App
from bot.cli.reporting import output
from bot.domain.address import Address
from bot.reporting import board as pages
from bot.services.roles import Action, Forbidden, parse_who
from bot.services.yousaid import STATUSES, Item, ThemeView, YouSaid, YouSaidError, parse_ids

BLANKED = "(words removed: the round's retention period has passed)"
CHAT_USAGE = ("You said, we did: yousaid list, yousaid themes, yousaid theme ITEMS NAME (like: yousaid theme 1,3-4 "
              "Bus passes), yousaid reply THEME STATUS TEXT (status: heard, planned, in-progress or done), "
              "yousaid approve REPLY, yousaid send REPLY.")


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


def number(text: str | None, what: str) -> int | None:
    if text is None:
        return None
    digits = text.strip()
    if not (digits.isascii() and digits.isdigit()) or len(digits) > 12 or int(digits) < 1:
        raise YouSaidError(f"{what}: `{' '.join(text.split())[:20]}` should be a whole number from 1")
    return int(digits)


def make(app: App) -> YouSaid:
    return YouSaid(app.store, app.keys, app.catalogue, app.service.clock, app.settings.privacy)


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


def item_lines(items: list[Item]) -> list[str]:
    return [f"{i.id:>5}  {i.received_on.isoformat()}  {i.survey_id} wave {i.wave}  {i.source:<7}  "
            f"{('[' + i.theme + '] ') if i.theme else ''}{' '.join(i.text.split()) or BLANKED}" for i in items]


def theme_lines(themes: list[ThemeView]) -> list[str]:
    lines = []
    for t in themes:
        lines.append(f"theme {t.id}: {t.name} ({t.survey_id} wave {t.wave}), {t.items} item(s)")
        for r in t.replies:
            state = ("sent to " + str(r.sent) if r.sent else "sending" if r.sending
                     else "approved" if r.approved else "waiting for approval")
            counts = ", ".join(f"{kind} {r.reactions.get(kind, 0)}" for kind in ("helps", "not-really", "more"))
            lines.append(f"  reply {r.id} [{r.status}, {state}; {counts}]: {r.text}")
    return lines


def write_board(app: App, yousaid: YouSaid, survey_id: str | None, wave: int | None, out: str,
                fmt: str | None) -> int:
    if survey_id is not None and not app.catalogue.has(survey_id):
        raise YouSaidError(f"--survey: no survey `{survey_id}`; known surveys: {', '.join(app.catalogue.ids())}")
    chosen = fmt or ("md" if out.lower().endswith((".md", ".markdown")) else "html")
    made = yousaid.board(survey_id, wave)
    text = pages.markdown(made) if chosen == "md" else pages.html(made)
    with output(out) as handle:
        handle.write(text)
    with app.store.unit() as uow:
        uow.audit("yousaid.board", {"survey": survey_id, "wave": wave, "format": chosen,
                                    "sha256": hashlib.sha256(text.encode()).hexdigest()}, app.service.clock().date())
    if out != "-":
        print(f"Wrote the “You said, we did” board to {out}.", file=sys.stderr)
    return 0


def chat(yousaid: YouSaid, who: Address, words: list[str]) -> str:
    """`yousaid VERB ...` typed in chat by the business unit; returns the reply (to them only). Roles are checked
    by each use case (refusals audited); reading needs either role."""
    verb = words[0].lower() if words else ""
    rest = words[1:]
    try:
        if verb in ("list", "themes"):
            if not (yousaid.roles.may(Action.WRITE_YOUTH_REPLIES, who)
                    or yousaid.roles.may(Action.APPROVE_YOUTH_REPLIES, who)):
                yousaid.refused(who, verb)
                return "Sorry, this needs the admin or youth-participation-lead role."
            if verb == "list":
                lines = item_lines(yousaid.items())
                return "\n".join(lines) if lines else "No new feedback."
            lines = theme_lines(yousaid.themes())
            return "\n".join(lines) if lines else "No themes yet."
        if verb == "theme" and len(rest) >= 2:
            theme_id, count = yousaid.theme(who, " ".join(rest[1:]), parse_ids(rest[0]))
            return f"Theme {theme_id} “{' '.join(rest[1:])}” now has {count} item(s)."
        if verb == "reply" and len(rest) >= 3:
            theme = number(rest[0], "THEME")
            assert theme is not None
            reply_id = yousaid.reply(who, theme, rest[1], " ".join(rest[2:]))
            return (f"Reply {reply_id} written. The youth participation lead approves it with: "
                    f"yousaid approve {reply_id}")
        if verb in ("approve", "send") and len(rest) == 1:
            reply = number(rest[0], "REPLY")
            assert reply is not None
            if verb == "approve":
                yousaid.approve(who, reply)
                return f"Reply {reply} approved. Send it with: yousaid send {reply}"
            start = yousaid.send(who, reply)
            return f"Reply {reply} will go out from {start:%d %B %H:%M}, outside quiet hours."
    except Forbidden as refusal:
        return f"Sorry, {refusal}."
    except YouSaidError as exc:
        return str(exc)
    return CHAT_USAGE

