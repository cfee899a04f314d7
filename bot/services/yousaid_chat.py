""""You said, we did" typed in chat (`/yousaid ...` on Telegram, `/survey yousaid ...` on Slack, through
bot.services.chat_admin), and the lines listing items and themes that chat and `surveybot yousaid` both show.

Who is acting is the person typing; each use case in bot.services.yousaid checks their role and audits a refusal.
Every mistake is one line naming the argument, said back to them only.
"""

from __future__ import annotations

from bot.domain.address import Address
from bot.services.core import Core
from bot.services.roles import Action, Forbidden
from bot.services.yousaid import Item, ThemeView, YouSaid, YouSaidError, parse_ids

BLANKED = "(words removed: the round's retention period has passed)"
CHAT_USAGE = ("You said, we did: yousaid list, yousaid themes, yousaid theme ITEMS NAME (like: yousaid theme 1,3-4 "
              "Bus passes), yousaid reply THEME STATUS TEXT (status: heard, planned, in-progress or done), "
              "yousaid approve REPLY, yousaid send REPLY.")


def number(text: str | None, what: str) -> int | None:
    """An item, theme or reply number as typed; `what` names the argument in the one-line error."""
    if text is None:
        return None
    digits = text.strip()
    if not (digits.isascii() and digits.isdigit()) or len(digits) > 12 or int(digits) < 1:
        raise YouSaidError(f"{what}: `{' '.join(text.split())[:20]}` should be a whole number from 1")
    return int(digits)


def make(core: Core) -> YouSaid:
    """The "you said, we did" use cases, on the core parts."""
    return YouSaid(core.store, core.keys, core.catalogue, core.service.clock, core.policy)


def item_lines(items: list[Item]) -> list[str]:
    """One line per feedback item, as `yousaid list` shows them (on the command line and in chat)."""
    return [f"{i.id:>5}  {i.received_on.isoformat()}  {i.survey_id} wave {i.wave}  {i.source:<7}  "
            f"{('[' + i.theme + '] ') if i.theme else ''}{' '.join(i.text.split()) or BLANKED}" for i in items]


def theme_lines(themes: list[ThemeView]) -> list[str]:
    """Each theme and its replies with their state and reactions, as `yousaid themes` shows them."""
    lines = []
    for t in themes:
        lines.append(f"theme {t.id}: {t.name} ({t.survey_id} wave {t.wave}), {t.items} item(s)")
        for r in t.replies:
            state = ("sent to " + str(r.sent) if r.sent else "sending" if r.sending
                     else "approved" if r.approved else "waiting for approval")
            counts = ", ".join(f"{kind} {r.reactions.get(kind, 0)}" for kind in ("helps", "not-really", "more"))
            lines.append(f"  reply {r.id} [{r.status}, {state}; {counts}]: {r.text}")
    return lines


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
