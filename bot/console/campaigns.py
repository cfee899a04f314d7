"""Campaigns in the web console (issue 22): every campaign's live status with a chart of response rates, one
campaign's schedule and status with Open now, Send a reminder now and Close now, and a form to create one.

The figures are `surveybot campaign show`'s (bot.services.campaign_admin.describe), so every count keeps to the
round's threshold exactly as there and in the report: nothing on these pages can undo a number hidden elsewhere. The
changes are the use cases the command line calls (campaign_admin.create, open_now, remind, close_campaign), so they
are checked and audited the same way. Reading needs Action.READ_RESULTS (the scrutineer too); every change needs
Action.CHANGE_SURVEYS, checked by the frame on every request (bot.console.site).

Nothing here refreshes by itself (an automatic refresh moves a screen reader's place and cannot be paused): the pages
say when their figures were read and offer a Refresh link.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from aiohttp import web

from bot.console.site import FORM, PREFIX, Console, Refusal
from bot.services import campaign_admin
from bot.services.campaign_admin import CODE
from bot.services.console_access import Person
from bot.services.contact_book import CHANNELS, CampaignError
from bot.services.core import Core
from bot.services.roles import Action

LIST = f"{PREFIX}/campaigns"
NEW = f"{LIST}/new"
FIELD_LIMIT = 500  # longer than anything the form needs; what is typed beyond it is not read

# The create form's fields: name -> (label, the command-line option its mistakes name)
FIELDS: dict[str, tuple[str, str]] = {
    "code": ("Code", "code"),
    "survey": ("Survey", "--survey"),
    "opens": ("Opens", "--opens"),
    "closes": ("Closes", "--closes"),
    "tags": ("Tags", "--tags"),
    "channels": ("Channels", "--channels"),
    "reminders": ("Reminders", "--reminders"),
    "max_reminders": ("Most reminders", "--max-reminders"),
    "every_months": ("Repeat every", "--every-months"),
    "quiet_hours": ("Quiet hours", "--quiet-hours"),
}
CHANNEL_LABELS = {"telegram": "Telegram", "slack": "Slack", "email": "Email", "teams": "Microsoft Teams"}
OPTION = re.compile(r"--[a-z]+(?:-[a-z]+)*")
HOUR = re.compile(r"^\d{2}:\d{2}$")

# After a change, the page it lands on says what happened: one of these keys in `?done=`, never text from the URL.
DONE = {
    "created": "The campaign is created. The running bot sends the invitations when it opens.",
    "opened": "The campaign is open now. The running bot sends the invitations at its next check, within a minute.",
    "already-open": "This campaign was already open, so nothing changed.",
    "reminded": "A reminder is on its way to {people} people.",
    "remind-closed": "No reminder was sent: the campaign has closed.",
    "remind-not-open": "No reminder was sent: the campaign is not open yet.",
    "remind-quiet": "No reminder was sent: it is quiet hours, when nothing is sent, until {until}. Please try "
                    "again then.",
    "remind-already": "A reminder was already asked for this minute, and is on its way.",
    "remind-nobody": "No reminder was sent: nobody is due one (everyone has finished or has had every reminder).",
    "remind-none": "No reminder was sent.",
    "closed": "The campaign is closed: nothing more will be sent and no more answers are taken.",
}
# Why `remind` planned nobody (bot.services.broadcast.Broadcaster.remind), as the key of the sentence to show.
WHY_NOT = (("the campaign has closed", "remind-closed"), ("the campaign is not open yet", "remind-not-open"),
           ("it is quiet hours", "remind-quiet"), ("a reminder was already asked", "remind-already"),
           ("nobody is due", "remind-nobody"))
STATES = {"scheduled": "Scheduled", "open": "Open", "between waves": "Between waves", "closed": "Closed"}


class Mistake(Exception):
    """A form field the command line's parser would have refused before `create` ran (a number that is not one)."""

    def __init__(self, problem: Problem) -> None:
        super().__init__(problem.text)
        self.problem = problem


@dataclass(frozen=True)
class Problem:
    """What is wrong with the create form, as the form shows it: the field (a key of FIELDS, or None for the form as
    a whole) and one sentence naming it."""

    field: str | None
    text: str


def anchor(problem: Problem | None) -> str:
    """The id of the first control of the field a problem is about, for the link in the box at the top."""
    if problem is None or problem.field is None:
        return "main"
    return {"opens": "opens_date", "closes": "closes_date", "channels": f"channel_{CHANNELS[0]}"}.get(
        problem.field, problem.field)


def problem_of(message: str) -> Problem:
    """A CampaignError of `campaign_admin.create` (worded for the command line, naming the option: "--closes: ...")
    as the form shows it: the field it is about, and the sentence with each option's name put as its label."""
    found = None
    if message.startswith(("code ", "a campaign ")):
        found = "code"
    elif start := OPTION.match(message):
        found = next((name for name, (_, option) in FIELDS.items() if option == start[0]), None)
    labels = {option: label for label, option in FIELDS.values()}
    parts = re.split(r"(`[^`]*`)", message)  # what the person typed is quoted, and kept exactly as typed
    text = "".join(f"“{part[1:-1]}”" if index % 2 else OPTION.sub(lambda m: labels.get(m[0], m[0]), part)
                   for index, part in enumerate(parts))
    return Problem(found, text[:1].upper() + text[1:])


@dataclass(frozen=True)
class Typed:
    """What the person typed into the create form, kept as typed so a mistake never loses it."""

    code: str = ""
    survey: str = ""
    opens_date: str = ""
    opens_time: str = "09:00"
    closes_date: str = ""
    closes_time: str = "17:00"
    tags: str = ""
    channels: tuple[str, ...] = CHANNELS
    reminders: str = "3,7"
    max_reminders: str = "2"
    every_months: str = ""
    quiet_hours: str = "20-8"

    @classmethod
    def suggested(cls, today: date) -> Typed:
        """An empty form: opening tomorrow morning, closing three weeks later, with the command line's defaults."""
        opens = today + timedelta(days=1)
        return cls(opens_date=opens.isoformat(), closes_date=(opens + timedelta(days=21)).isoformat())

    @classmethod
    def of(cls, fields: Mapping[str, Any]) -> Typed:
        def text(name: str) -> str:
            value = fields.get(name, "")
            return value.strip()[:FIELD_LIMIT] if isinstance(value, str) else ""

        return cls(code=text("code"), survey=text("survey"), opens_date=text("opens_date"),
                   opens_time=text("opens_time"), closes_date=text("closes_date"), closes_time=text("closes_time"),
                   tags=text("tags"), channels=tuple(c for c in CHANNELS if text(f"channel_{c}")),
                   reminders=text("reminders"), max_reminders=text("max_reminders"),
                   every_months=text("every_months"), quiet_hours=text("quiet_hours"))

    def arguments(self) -> tuple[str, str, str, str, str, str, str, int, int | None, str]:
        """`campaign_admin.create`'s arguments after `core`, as `surveybot campaign create` passes them for the same
        choices. Raises Mistake for what the command line's own parsing would refuse first."""
        if not self.survey:
            raise Mistake(Problem("survey", "Survey: please choose which survey to send."))
        opens = self._moment("opens", self.opens_date, self.opens_time)
        closes = self._moment("closes", self.closes_date, self.closes_time)
        if not self.channels:
            raise Mistake(Problem("channels", "Channels: please tick at least one way to reach people."))
        channels = "" if set(self.channels) == set(CHANNELS) else ",".join(self.channels)  # all: the default
        most = self._whole("max_reminders", self.max_reminders)
        if most is None:
            raise Mistake(Problem("max_reminders", "Most reminders: please give a whole number, 0 or more."))
        every = self._whole("every_months", self.every_months)
        return (self.code, self.survey, opens, closes, self.tags, channels, self.reminders, most, every,
                self.quiet_hours)

    @staticmethod
    def _moment(name: str, day: str, hour: str) -> str:
        if not day or not hour:
            raise Mistake(Problem(name, f"{FIELDS[name][0]}: please give both a date and a time."))
        if re.fullmatch(r"\d{2}:\d{2}:00(?:\.0+)?", hour):  # a browser may add seconds
            hour = hour[:5]
        return f"{day} {hour}"

    @staticmethod
    def _whole(name: str, typed: str) -> int | None:
        if not typed:
            return None
        if not re.fullmatch(r"-?\d{1,6}", typed):
            raise Mistake(Problem(name, f"{FIELDS[name][0]}: “{typed}” should be a whole number."))
        return int(typed)


@dataclass(frozen=True)
class Row:
    """One campaign as the pages draw it: `describe`'s figures, with times and labels for people to read."""

    code: str
    item: dict[str, Any] = field(default_factory=dict)  # campaign_admin.describe; empty when it could not be read
    problem: str = ""  # why not, when it could not

    @property
    def state(self) -> str:
        if self.problem:
            return "Cannot be shown"
        label = STATES.get(self.item["state"], self.item["state"])
        return f"{label}, wave {self.item['wave']}" if self.item["wave"] and self.item["state"] != "closed" else label

    @property
    def rate(self) -> float | None:
        return None if self.problem else self.item["response_rate"]

    @property
    def rate_text(self) -> str:
        rate = self.rate
        return "not shown (too few)" if rate is None else f"{rate:g}%"

    def when(self, key: str) -> str:
        return moment(self.item[key])


def moment(text: str) -> str:
    """A time or a date from `describe` (ISO, in the partnership's zone) as people read it: Mon 2 Mar 2026, 09:30."""
    if len(text) == 10:
        day = date.fromisoformat(text)
        return f"{day:%a} {day.day} {day:%b %Y}"
    at = datetime.fromisoformat(text)
    return f"{at:%a} {at.day} {at:%b %Y}, {at:%H:%M}"


def step_name(step: str) -> str:
    """A schedule step or outbox step as people say it."""
    if step == "invite":
        return "Invitations"
    if step == "close":
        return "Closes"
    if found := re.fullmatch(r"remind-(\d{1,2})", step):
        return f"Reminder {found[1]}"
    if found := re.fullmatch(r"remind-(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})", step):  # asked for by hand
        year, month, day, hour, minute = (int(part) for part in found.groups())
        try:
            return f"Reminder asked for on {moment(datetime(2000 + year, month, day, hour, minute).isoformat())}"
        except ValueError:
            return "Reminder asked for by hand"
    return step


def rows(core: Core) -> list[Row]:
    """Every campaign, oldest first, as `surveybot campaign list --json` reads it (one per `describe`)."""
    found = []
    for code in campaign_admin.campaign_codes(core):
        try:
            found.append(Row(code, campaign_admin.describe(core, code)))
        except CampaignError as error:  # its survey version is not loaded: say so, and show the others
            found.append(Row(code, problem=problem_of(str(error)).text))
    return found


def one(core: Core, code: str) -> Row:
    try:
        return Row(code, campaign_admin.describe(core, code))
    except CampaignError as error:
        if code not in campaign_admin.campaign_codes(core):
            raise Refusal(404, f"There is no campaign “{code}”. The list of campaigns has every one.") from None
        return Row(code, problem=problem_of(str(error)).text)


def done_message(query: Mapping[str, str]) -> str | None:
    """The sentence for `?done=KEY` after a change (with its one number or time, checked), or None."""
    key = query.get("done", "")
    if key not in DONE:
        return None
    people = query.get("people", "")
    until = query.get("until", "")
    return DONE[key].format(people=people if re.fullmatch(r"\d{1,7}", people) else "some",
                            until=until if HOUR.match(until) else "the morning")


def reminded(planned: int, why: str) -> str:
    """Where to go after `remind`: the campaign's page saying what happened."""
    if planned:
        return f"done=reminded&people={planned}"
    key = next((key for start, key in WHY_NOT if why.startswith(start)), "remind-none")
    if key == "remind-quiet" and (until := re.search(r"\d{2}:\d{2}", why)):
        return f"done={key}&until={until[0]}"
    return f"done={key}"


class Pages:
    def __init__(self, console: Console) -> None:
        self.console = console
        self.core = console.core

    def _code(self, request: web.Request) -> str:
        code = request.match_info["code"]
        if not CODE.match(code):
            raise Refusal(404, "There is no such campaign. The list of campaigns has every one.")
        return code

    def _read_at(self) -> str:
        return moment(self.core.service.clock().isoformat(timespec="minutes"))

    # --- reading ------------------------------------------------------------------------------------------------
    async def listing(self, request: web.Request, person: Person) -> web.StreamResponse:
        found = await self.console.work(rows, self.core)
        return self.console.render(person, "campaigns/list.html", current=LIST, rows=found, read_at=self._read_at(),
                                   may_change=person.may(Action.CHANGE_SURVEYS), chart=chart(found))

    async def show(self, request: web.Request, person: Person) -> web.StreamResponse:
        code = self._code(request)
        row = await self.console.work(one, self.core, code)
        return self.console.render(person, "campaigns/show.html", current=LIST, row=row, read_at=self._read_at(),
                                   may_change=person.may(Action.CHANGE_SURVEYS), done=done_message(request.query),
                                   step_name=step_name, moment=moment)

    # --- creating -----------------------------------------------------------------------------------------------
    def _form(self, person: Person, typed: Typed, problem: Problem | None = None, status: int = 200) -> web.Response:
        surveys = [(survey.id, survey.title) for survey in (self.core.catalogue.latest(i)
                                                            for i in self.core.catalogue.ids())]
        return self.console.render(person, "campaigns/new.html", status=status, current=LIST, typed=typed,
                                   problem=problem, anchor=anchor(problem), surveys=surveys,
                                   channels=CHANNEL_LABELS, zone=self.core.zone.key)

    async def new(self, request: web.Request, person: Person) -> web.StreamResponse:
        return self._form(person, Typed.suggested(self.core.service.clock().date()))

    async def create(self, request: web.Request, person: Person) -> web.StreamResponse:
        fields = request[FORM]
        typed = Typed.of(fields)
        try:
            await self.console.work(campaign_admin.create, self.core, *typed.arguments())
        except Mistake as mistake:
            return self._form(person, typed, mistake.problem, status=400)
        except CampaignError as error:
            return self._form(person, typed, problem_of(str(error)), status=400)
        return self.console.see_other(f"{LIST}/{typed.code}?done=created")

    # --- changing -----------------------------------------------------------------------------------------------
    async def _existing(self, request: web.Request) -> str:
        code = self._code(request)
        if code not in await self.console.work(campaign_admin.campaign_codes, self.core):
            raise Refusal(404, f"There is no campaign “{code}”. The list of campaigns has every one.")
        return code

    async def open(self, request: web.Request, person: Person) -> web.StreamResponse:
        code = await self._existing(request)
        said = await self.console.work(campaign_admin.open_now, self.core, code)
        return self.console.see_other(f"{LIST}/{code}?done={'already-open' if 'already open' in said else 'opened'}")

    async def remind(self, request: web.Request, person: Person) -> web.StreamResponse:
        code = await self._existing(request)
        planned, why = await self.console.work(campaign_admin.remind, self.core, code)
        return self.console.see_other(f"{LIST}/{code}?{reminded(planned, why)}")

    async def confirm_close(self, request: web.Request, person: Person) -> web.StreamResponse:
        code = await self._existing(request)
        return self.console.render(person, "campaigns/close.html", current=LIST, code=code)

    async def close(self, request: web.Request, person: Person) -> web.StreamResponse:
        code = await self._existing(request)
        if request[FORM].get("confirm") != "yes":  # only the confirmation page's button closes
            return self.console.see_other(f"{LIST}/{code}/close")
        await self.console.work(campaign_admin.close_campaign, self.core, code)
        return self.console.see_other(f"{LIST}/{code}?done=closed")


@dataclass(frozen=True)
class Bar:
    """One row of the response-rate chart, in the SVG's own units."""

    label: str
    text: str
    y: int
    width: float | None  # None: no bar (the rate is not shown)


CHART_WIDTH, CHART_ROW = 340, 54  # about the width of a phone's screen, so its words read at full size
CHART_LABEL = 18  # characters of a campaign's code beside its figure (the table has it whole)


def chart(found: list[Row]) -> dict[str, Any]:
    """The response-rate chart's geometry: a label and figure above each bar, so it reads at phone width."""
    bars = [Bar(row.code if len(row.code) <= CHART_LABEL else row.code[:CHART_LABEL - 1] + "…", row.rate_text,
                index * CHART_ROW,
                None if row.rate is None else round((CHART_WIDTH - 2) * min(row.rate, 100.0) / 100, 1))
            for index, row in enumerate(found)]
    return {"width": CHART_WIDTH, "height": max(CHART_ROW * len(bars), 1), "bars": bars}


def register(console: Console) -> None:
    pages = Pages(console)
    console.page(LIST, Action.READ_RESULTS)(pages.listing)
    console.page(NEW, Action.CHANGE_SURVEYS)(pages.new)  # before /{code}, which "new" would otherwise match
    console.form(NEW, Action.CHANGE_SURVEYS)(pages.create)
    console.page(LIST + "/{code}", Action.READ_RESULTS)(pages.show)
    console.form(LIST + "/{code}/open", Action.CHANGE_SURVEYS)(pages.open)
    console.form(LIST + "/{code}/remind", Action.CHANGE_SURVEYS)(pages.remind)
    console.page(LIST + "/{code}/close", Action.CHANGE_SURVEYS)(pages.confirm_close)
    console.form(LIST + "/{code}/close", Action.CHANGE_SURVEYS)(pages.close)
