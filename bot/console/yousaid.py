""""You said, we did" (issue 22): young people's feedback by theme, "we did" replies written, approved by a second
person and sent, and the board the partnership publishes.

The same use cases as `surveybot yousaid` and the chat's `/yousaid` (bot.services.yousaid.YouSaid), with the
signed-in person as the one acting, so roles are checked and changes and refusals audited exactly as there:
theming, writing and sending need the admin role (WRITE_YOUTH_REPLIES); approving needs the youth participation
lead (APPROVE_YOUTH_REPLIES), who has a page of their own, and the service refuses anyone approving their own reply.
Counts (things said, people a reply went to, reactions) are shown suppressed as the published board shows them.
Writing the board to download is audited (`yousaid.board`, as the command line does), so it is a POST form.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from bot.console.results import attachment
from bot.console.site import FORM, PREFIX, Console, Refusal
from bot.engine import messages as msg
from bot.engine.survey import Audience
from bot.reporting import board as pages
from bot.services.console_access import Person
from bot.services.core import Core
from bot.services.roles import Action, Forbidden
from bot.services.yousaid import (
    MAX_REPLY,
    MAX_THEME,
    STATUSES,
    Board,
    Item,
    YouSaid,
    YouSaidError,
    parse_ids,
    reactions_shown,
    shown,
)
from bot.services.yousaid_chat import BLANKED, make

HOME = f"{PREFIX}/yousaid"
APPROVE = f"{HOME}/approve"
BOARD = f"{HOME}/board"
DIGITS = 9
STATUS_LABEL = pages.STATUS_LABEL
# After a change, the page it lands on says what happened: a fixed set of keys, never words from the URL.
DONE = {
    "themed": "The feedback is under its theme now.",
    "replied": "Your reply is written. The youth participation lead approves it before it can be sent.",
    "approved": "Reply approved. Whoever wrote it can send it now.",
    "sent": "The reply is on its way: the running bot sends it to everyone who completed the round, outside quiet "
            "hours.",
}
# The use cases name the command line's arguments; the page names its own fields.
FIELDS = {"ITEMS": ("Feedback", "items"), "NAME": ("Theme name", "theme-name"), "TEXT": ("What we did", "text"),
          "STATUS": ("Where it is now", "status"), "THEME": ("Theme", "themes"), "REPLY": ("Reply", "replies")}
COMMAND_HINT = re.compile(r"\s*\([^()]*`[^()]*\)")  # "(see `surveybot yousaid list`)": the terminal's, not ours


@dataclass(frozen=True)
class Problem:
    label: str
    anchor: str
    text: str


@dataclass
class Kept:
    """What a person typed into a form that was refused, to show it again beside the problem."""

    form: str = ""
    name: str = ""
    items: set[int] = field(default_factory=set)
    theme: int | None = None
    status: str = ""
    text: str = ""


# --- reading what people send -----------------------------------------------------------------------------------

def number(text: object, what: str) -> int:
    """An item, theme or reply number from a form; refused (400, naming the field) unless it is one."""
    digits = text.strip() if isinstance(text, str) else ""
    if not (digits.isascii() and digits.isdigit()) or len(digits) > DIGITS or int(digits) < 1:
        raise Refusal(400, f"{what}: this form is out of date. Please reload the page and try again.")
    return int(digits)


def item_ids(values: list[str]) -> list[int]:
    """The ticked feedback items (each a checkbox's value), checked as the command line checks typed ones."""
    if not values:
        raise YouSaidError("ITEMS: tick at least one piece of feedback to put under the theme")
    return parse_ids(",".join(values))


def round_filter(core: Core, survey: str | None, wave: str | None) -> tuple[str | None, int | None]:
    """The optional survey and wave a page is narrowed to."""
    survey_id = survey.strip() if survey and survey.strip() else None
    if survey_id is not None and not core.catalogue.has(survey_id):
        raise Refusal(404, "Survey: there is no such survey. Please choose one from the list.")
    if wave is None or not wave.strip():
        return survey_id, None
    digits = wave.strip()
    if not (digits.isascii() and digits.isdigit()) or len(digits) > DIGITS or int(digits) < 1:
        raise Refusal(400, "Wave: type a wave number, like 1, or leave it empty for every wave.")
    return survey_id, int(digits)


def problem(error: YouSaidError | Forbidden, kept: Kept | None = None) -> Problem:
    """A use case's one line, with the field it names as the page labels it (and links to)."""
    text = COMMAND_HINT.sub("", str(error))
    head, _, rest = text.partition(": ")
    if isinstance(error, YouSaidError) and head in FIELDS and rest:
        label, anchor = FIELDS[head]
        if kept is not None and kept.form == "reply" and anchor in ("text", "status"):
            anchor = f"{anchor}-{kept.theme}"  # each theme has its own reply form
        return Problem(label, anchor, rest[:1].upper() + rest[1:] + ("" if rest.endswith(".") else "."))
    return Problem("", "", text[:1].upper() + text[1:] + ("" if text.endswith(".") else "."))


# --- what the pages show ----------------------------------------------------------------------------------------

def young_surveys(core: Core) -> list[tuple[str, str]]:
    return [(s, core.catalogue.latest(s).title) for s in core.catalogue.ids()
            if core.catalogue.latest(s).audience is Audience.YOUNG_PEOPLE]


def reply_state(reply: Any, k: int) -> str:
    if reply.sent:
        return f"Sent to {shown(reply.sent, k)} young people"
    if reply.sending:
        return "On its way (the running bot sends it outside quiet hours)"
    return "Approved: ready to send" if reply.approved else "Waiting for approval by the youth participation lead"


def themes_view(board: Board) -> list[dict[str, Any]]:
    """Each theme with its counts suppressed as the published board suppresses them, and every reply's state."""
    k = board.thresholds.group
    return [{"id": t.id, "name": t.name, "survey_id": t.survey_id, "wave": t.wave, "said": shown(t.items, k),
             "quotes": t.quotes,
             "replies": [{"id": r.id, "status": STATUS_LABEL.get(r.status, r.status), "text": r.text,
                          "state": reply_state(r, k), "approved": r.approved, "can_send": r.approved and not r.sending,
                          "written_on": r.written_on, "reactions": [
                              (label, reactions_shown(r.reactions, k)[kind])
                              for kind, label in msg.YOUSAID_REACTIONS.items()]}
                         for r in t.replies]}
            for t in board.themes]


def review(core: Core, survey_id: str | None, wave: int | None, everything: bool) -> dict[str, Any]:
    yousaid = make(core)
    items: list[Item] = yousaid.items(survey_id, wave, everything)
    board = yousaid.board(survey_id, wave)
    return {"items": items, "themes": themes_view(board), "k": board.thresholds,
            "names": sorted({t.name for t in board.themes}), "surveys": young_surveys(core)}


def waiting(core: Core) -> list[dict[str, Any]]:
    """The replies nobody has approved yet, with their theme."""
    views = themes_view(make(core).board())
    return [{"theme": theme, "reply": reply} for theme in views for reply in theme["replies"]
            if not reply["approved"]]


# --- the pages --------------------------------------------------------------------------------------------------

def register(console: Console) -> None:
    core = console.core

    async def draw_review(request: web.Request, person: Person, *, problems: tuple[Problem, ...] = (),
                          kept: Kept | None = None, status: int = 200) -> web.Response:
        survey_id, wave = round_filter(core, request.query.get("survey"), request.query.get("wave"))
        everything = request.query.get("all") == "1"
        view = await console.work(review, core, survey_id, wave, everything)
        return console.render(person, "yousaid/review.html", status=status, current=HOME, survey=survey_id,
                              wave=wave, everything=everything, problems=problems, kept=kept or Kept(),
                              done=DONE.get(request.query.get("done", "")), statuses=STATUSES,
                              status_label=STATUS_LABEL, max_reply=MAX_REPLY, max_theme=MAX_THEME,
                              may_approve=person.may(Action.APPROVE_YOUTH_REPLIES), blanked=BLANKED, **view)

    async def act(request: web.Request, person: Person, call: Any, *args: Any, kept: Kept,
                  done: str) -> web.StreamResponse:
        try:
            await console.work(call, person.address, *args)
        except YouSaidError as error:
            return await draw_review(request, person, problems=(problem(error, kept),), kept=kept, status=400)
        except Forbidden as refusal:  # the role went since the page was checked; the service audited it
            return await draw_review(request, person, problems=(problem(refusal),), kept=kept, status=403)
        return console.see_other(f"{HOME}?done={done}")

    @console.page(HOME, Action.WRITE_YOUTH_REPLIES)
    async def page(request: web.Request, person: Person) -> web.StreamResponse:
        return await draw_review(request, person)

    @console.form(HOME + "/theme", Action.WRITE_YOUTH_REPLIES)
    async def theme(request: web.Request, person: Person) -> web.StreamResponse:
        fields = request[FORM]
        ticked = [str(v) for v in (await request.post()).getall("item", [])]
        name = str(fields.get("name", ""))
        kept = Kept("theme", name=name, items={int(v) for v in ticked if v.isascii() and v.isdigit()
                                               and len(v) <= DIGITS})
        yousaid = make(core)
        try:
            ids = item_ids(ticked)
        except YouSaidError as error:
            return await draw_review(request, person, problems=(problem(error),), kept=kept, status=400)
        return await act(request, person, yousaid.theme, name, ids, kept=kept, done="themed")

    @console.form(HOME + "/reply", Action.WRITE_YOUTH_REPLIES)
    async def reply(request: web.Request, person: Person) -> web.StreamResponse:
        fields = request[FORM]
        theme_id = number(fields.get("theme"), "Theme")
        status, text = str(fields.get("status", "")), str(fields.get("text", ""))
        kept = Kept("reply", theme=theme_id, status=status, text=text)
        return await act(request, person, make(core).reply, theme_id, status, text, kept=kept, done="replied")

    @console.form(HOME + "/send", Action.WRITE_YOUTH_REPLIES)
    async def send(request: web.Request, person: Person) -> web.StreamResponse:
        reply_id = number(request[FORM].get("reply"), "Reply")
        return await act(request, person, make(core).send, reply_id, kept=Kept(), done="sent")

    async def draw_approvals(request: web.Request, person: Person, *, problems: tuple[Problem, ...] = (),
                             status: int = 200) -> web.Response:
        replies = await console.work(waiting, core)
        return console.render(person, "yousaid/approve.html", status=status, current=APPROVE, replies=replies,
                              problems=problems, done=DONE.get(request.query.get("done", "")))

    @console.page(APPROVE, Action.APPROVE_YOUTH_REPLIES)
    async def approvals(request: web.Request, person: Person) -> web.StreamResponse:
        return await draw_approvals(request, person)

    @console.form(APPROVE, Action.APPROVE_YOUTH_REPLIES)
    async def approve(request: web.Request, person: Person) -> web.StreamResponse:
        reply_id = number(request[FORM].get("reply"), "Reply")
        try:
            await console.work(make(core).approve, person.address, reply_id)
        except Forbidden as refusal:  # their own reply (or the role went): the service's own words, audited there
            return await draw_approvals(request, person, problems=(problem(refusal),), status=403)
        except YouSaidError as error:
            return await draw_approvals(request, person, problems=(problem(error),), status=404)
        return console.see_other(f"{APPROVE}?done=approved")

    @console.page(BOARD, Action.WRITE_YOUTH_REPLIES)
    async def board(request: web.Request, person: Person) -> web.StreamResponse:
        survey_id, wave = round_filter(core, request.query.get("survey"), request.query.get("wave"))
        made = await console.work(make(core).board, survey_id, wave)
        return console.render(person, "yousaid/board.html", current=HOME, survey=survey_id, wave=wave,
                              surveys=await console.work(young_surveys, core), **pages.view(made))

    @console.form(BOARD, Action.WRITE_YOUTH_REPLIES)
    async def board_file(request: web.Request, person: Person) -> web.StreamResponse:
        fields = request[FORM]
        fmt = str(fields.get("format", ""))
        if fmt not in ("html", "md"):
            raise Refusal(400, "Format: choose a web page (HTML) or Markdown.")
        survey = fields.get("survey")
        survey_id, wave = round_filter(core, survey if isinstance(survey, str) else None,
                                       str(fields.get("wave", "")))
        text = await console.work(written_board, core, make(core), survey_id, wave, fmt)
        name = "you-said-we-did" + (f"-{survey_id}" if survey_id else "") + (f"-wave{wave}" if wave else "")
        return attachment(f"{name}.{fmt}", text.encode(), "text/html" if fmt == "html" else "text/markdown")


def written_board(core: Core, yousaid: YouSaid, survey_id: str | None, wave: int | None, fmt: str) -> str:
    """The board as `surveybot yousaid board` writes it, audited the same way (`yousaid.board`)."""
    text, chosen = pages.page(core, yousaid, survey_id, wave, f"board.{fmt}", fmt)
    pages.record(core, survey_id, wave, chosen, text)
    return text
