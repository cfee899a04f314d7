"""The console's Contacts section (/admin/contacts): import a contacts CSV, or the members of a Microsoft Teams team
the app was added to, see who can be reached by channel, tag and opt-out, and change a contact's tags. For the
business unit (Action.CHANGE_CONTACTS: the admin role).

The work is the same use cases as `surveybot contacts import|import-teams|list|tag` (bot.services.contact_book,
bot.channels.teams.roster), so it is checked, all or nothing, and audited exactly as there. What is never on screen:
a platform id, an email address or a name. A contact is shown by its number, channel, tags and state, as `contacts
list` prints it; the uploaded file's name is shown, never its content; a team's members are counted, never listed.
A bad line's message names the file and line as the command line does, but what it quotes from the line (a WHO or a
tag, between backticks) is replaced by "the value": the person has the file open to look, and the screen is seen by
whoever stands behind them.
"""

from __future__ import annotations

import re
import tempfile
from collections import Counter
from datetime import date
from pathlib import Path
from typing import IO, Any
from urllib.parse import unquote

from aiohttp import web

from bot.config import teams_settings
from bot.console.site import FORM, PREFIX, Console, Refusal
from bot.services import contact_book
from bot.services.console_access import Person
from bot.services.contact_book import CampaignError, parse_tags
from bot.services.core import Core
from bot.services.roles import Action
from storage.files import create_owner_only

HOME = f"{PREFIX}/contacts"
PAGE_SIZE = 100  # contacts a page
_QUOTED_WHO = re.compile(r"WHO `[^`]*`")
_QUOTED = re.compile(r"`[^`]*`")
_NUMBER = re.compile(r"^[0-9]{1,9}$")
CHANNEL_NAMES = {"telegram": "Telegram", "slack": "Slack", "email": "Email", "teams": "Microsoft Teams"}


def register(console: Console) -> None:
    @console.page(HOME, Action.CHANGE_CONTACTS)
    async def listing(request: web.Request, person: Person) -> web.StreamResponse:
        return await _listing(console, request, person)

    @console.form(f"{HOME}/import", Action.CHANGE_CONTACTS)
    async def import_file(request: web.Request, person: Person) -> web.StreamResponse:
        upload = request[FORM].get("file")
        if not isinstance(upload, web.FileField) or not upload.filename:
            return await _listing(console, request, person, status=400,
                                  problem="Contacts file: choose a CSV file to import.")
        name = shown_name(upload.filename)
        try:
            rows, added = await console.work(import_upload, console.core, upload.file, name)
        except CampaignError as problem:
            return await _listing(console, request, person, status=400, problem=str(problem))
        finally:
            upload.file.close()  # aiohttp's spooled copy of the upload
        return console.see_other(f"{HOME}?done=imported&rows={rows}&new={added}")

    @console.form(f"{HOME}/import-team", Action.CHANGE_CONTACTS)
    async def import_team(request: web.Request, person: Person) -> web.StreamResponse:
        settings = console.core.settings
        if not settings.teams_app_id:
            raise Refusal(404, "Microsoft Teams is not set up for this bot, so there is no team to import.")
        fields = request[FORM]
        typed = {name: " ".join(str(fields.get(name, "")).split())[:300] for name in ("team", "tags")}
        wrong = "tags"
        try:
            tags = parse_tags(typed["tags"], "Tags")
            if not tags:
                raise CampaignError("Tags: give at least one tag, so a campaign can invite the team's members")
            wrong = "team"
            from bot.channels.teams.roster import import_team as imported  # the SDK: loaded when Teams is used

            done, left_out = await imported(console.core, typed["team"], tags, *teams_settings(settings))
        except CampaignError as problem:
            said = str(problem)
            said = "Team:" + said[len("TEAM:"):] if said.startswith("TEAM:") else plain(said)
            return await _listing(console, request, person, status=400, team_problem=said.replace("`", "\""),
                                  typed={**typed, wrong: typed[wrong] if wrong == "team" else ""}, wrong=wrong)
        return console.see_other(f"{HOME}?done=team&new={done.added}&known={done.known}&left={left_out}")

    @console.page(HOME + r"/{contact:[0-9]{1,9}}", Action.CHANGE_CONTACTS)
    async def contact(request: web.Request, person: Person) -> web.StreamResponse:
        number = int(request.match_info["contact"])
        done = request.query.get("done") == "tagged"
        return await _contact(console, person, number, done=done)

    @console.form(HOME + r"/{contact:[0-9]{1,9}}/tags", Action.CHANGE_CONTACTS)
    async def tag(request: web.Request, person: Person) -> web.StreamResponse:
        number = int(request.match_info["contact"])
        fields = request[FORM]
        typed = {name: str(fields.get(name, ""))[:200] for name in ("add", "remove")}
        wrong = "add"
        try:
            add = parse_tags(typed["add"], "Tags to add")
            wrong = "remove"
            remove = parse_tags(typed["remove"], "Tags to remove")
            if not add and not remove:
                wrong = "add"
                raise CampaignError("Tags to add: type a tag to add, or one to remove below")
            await console.work(contact_book.tag_contact, console.core, number, add, remove)
        except CampaignError as problem:
            if str(problem).startswith("no contact"):
                raise Refusal(404, f"There is no contact {number}.") from None
            # the field that was wrong is emptied rather than shown again: someone may have pasted an address in it
            return await _contact(console, person, number, problem=plain(str(problem)), status=400,
                                  typed={**typed, wrong: ""}, wrong=wrong)
        return console.see_other(f"{HOME}/{number}?done=tagged")


# --- the import ---------------------------------------------------------------------------------------------------

def shown_name(filename: str) -> str:
    """The uploaded file's own name, as the person's computer called it: no folders, nothing invisible, not long.
    Browsers send a quote or a line break in it as %22 or %0A (and some clients escape more): undone first."""
    name = re.split(r"[\\/]", unquote(filename, errors="replace"))[-1]
    name = "".join(c for c in name if c.isprintable()).strip()
    return (name if len(name) <= 80 else name[:79] + "…") or "the file"


def plain(reason: str) -> str:
    """A contact_book message without what it quotes from the file or form (a WHO, a tag), so no address is shown."""
    return _QUOTED.sub("the value", _QUOTED_WHO.sub("the who", reason))


def import_upload(core: Core, data: IO[bytes], name: str) -> tuple[int, int]:
    """`surveybot contacts import` on an uploaded file: written to an owner-only file in a private folder (the
    import reads a path, and streams it), imported, and deleted whatever happens. A bad line's message names the
    uploaded file's name and the line, never the temporary path."""
    folder = Path(tempfile.mkdtemp(prefix="surveybot-contacts-"))  # mode 0700
    path = folder / "contacts.csv"
    try:
        create_owner_only(path)
        quoted = False  # a backtick in the file: the message's quotes cannot then be told from the file's own
        with path.open("wb") as out:
            while chunk := data.read(64 * 1024):
                quoted = quoted or b"`" in chunk
                out.write(chunk)
        try:
            return contact_book.import_contacts(core, path)
        except CampaignError as problem:
            raise CampaignError(_named(str(problem), str(path), name, quoted)) from None
    finally:
        path.unlink(missing_ok=True)
        folder.rmdir()


def _named(message: str, path: str, name: str, quoted: bool) -> str:
    rest = message[len(path):] if message.startswith(path) else f": {message}"
    line = re.match(r"^:([0-9]+): ", rest)
    if quoted and line is not None and "`" in rest[line.end():]:
        rest = (f":{line[1]}: this line could not be used (it holds a ` character, so its words are not shown "
                "here; open the file at this line)")
    return name + plain(rest)


# --- drawing --------------------------------------------------------------------------------------------------------

def day(iso: str) -> str:
    """A date as people write it: 2 March 2026."""
    found = date.fromisoformat(iso)
    return f"{found.day} {found:%B %Y}"


def _number(text: str | None) -> int | None:
    return int(text) if text is not None and _NUMBER.match(text) else None


async def _listing(console: Console, request: web.Request, person: Person, *, status: int = 200,
                   problem: str | None = None, team_problem: str | None = None,
                   typed: dict[str, str] | None = None, wrong: str = "") -> web.Response:
    query = request.query
    tag = query.get("tag") or None
    if tag is not None and not contact_book.TAG.match(tag):
        raise Refusal(400, "There is no such tag. Choose one from the list of tags.")
    page = _number(query.get("page", "1"))
    if page is None or page < 1:
        raise Refusal(400, "There is no such page of contacts.")
    everyone = await console.work(contact_book.list_contacts, console.core, None)
    shown = [row for row in everyone if tag is None or tag in row["tags"]]
    pages = max(1, -(-len(shown) // PAGE_SIZE))
    if page > pages:
        raise Refusal(404, "There is no such page of contacts.")
    by_tag: Counter[str] = Counter()
    opted_by_tag: Counter[str] = Counter()
    for row in everyone:
        by_tag.update(row["tags"])
        if row["opted_out"]:
            opted_by_tag.update(row["tags"])
    done = None
    rows, added = _number(query.get("rows")), _number(query.get("new"))
    if query.get("done") == "imported" and rows is not None and added is not None and added <= rows:
        done = f"Imported {rows} contact(s): {added} new, {rows - added} updated."
    known, left = _number(query.get("known")), _number(query.get("left"))
    if query.get("done") == "team" and added is not None and known is not None and left is not None:
        done = (f"Imported {added + known} member(s) of the team: {added} new, {known} already here." + (
            f" {left} left out (bots, or guests from another organisation)." if left else ""))
    return console.render(
        person, "contacts/list.html", status=status, current=HOME, problem=problem, done=done, tag=tag,
        total=len(everyone), matching=len(shown), contacts=shown[(page - 1) * PAGE_SIZE:page * PAGE_SIZE],
        page=page, pages=pages, channel_names=CHANNEL_NAMES, day=day, teams=bool(console.core.settings.teams_app_id),
        team_problem=team_problem, typed=typed or {"team": "", "tags": ""}, wrong=wrong,
        channels=sorted(Counter(row["channel"] for row in everyone).items()),
        opted_out=sum(row["opted_out"] for row in everyone),
        unreachable=sum(row["unreachable"] and not row["opted_out"] for row in everyone),
        tags=[(name, by_tag[name], opted_by_tag[name]) for name in sorted(by_tag)])


async def _contact(console: Console, person: Person, number: int, *, done: bool = False, status: int = 200,
                   problem: str | None = None, typed: dict[str, Any] | None = None, wrong: str = "") -> web.Response:
    everyone = await console.work(contact_book.list_contacts, console.core, None)
    found = next((row for row in everyone if row["id"] == number), None)
    if found is None:
        raise Refusal(404, f"There is no contact {number}.")
    return console.render(person, "contacts/contact.html", status=status, current=HOME, contact=found,
                          channel_names=CHANNEL_NAMES, day=day, done=done, problem=problem,
                          typed=typed or {"add": "", "remove": ""}, wrong=wrong)
