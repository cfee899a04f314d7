"""Reaching people in Teams first, end to end: the app added to a team (its reference kept, sealed), `surveybot
contacts import-teams` reading the team's roster page by page through the REAL Agents SDK connector client and MSAL
against the fake Bot Connector and Entra ID (tests/fakes/teams_api.py), a campaign for the tag inviting the members
through the outbox, and "you said, we did" from a young person's answer to the ticked reaction on the card and in
the report. On SQLite and PostgreSQL; no Teams id, object id, name, email or UPN stored, printed or logged."""

from __future__ import annotations

import asyncio
import html
import io
import json
import logging
import os
import re
from collections.abc import AsyncIterator
from contextlib import redirect_stderr, redirect_stdout
from datetime import UTC, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.app import web_console
from bot.cli import main
from bot.engine import messages as msg
from bot.reading import Reader
from bot.reporting.outputs import export_survey
from bot.services.broadcast import Broadcaster
from bot.services.contact_book import team_id_of
from bot.services.roles import Role, Roles
from bot.services.surveyfiles import builtin_survey_dir
from bot.services.yousaid import YouSaid, read_board
from storage.models import Campaign
from tests.conftest import SAMPLE, Clock
from tests.consolekit import RunningConsole, running_console
from tests.fakes.teams_api import TENANT_ID, FakeTeams, Message, TeamsUser, fake_teams
from tests.fakes.teams_respondent import Respondent
from tests.test_teams_channel import OK, PEPPER, Bot, running_bot

TEAM, TEAM_NAME = "19:Kq3fT0socialcare@thread.tacv2", "Anyshire Social Care"
TEAM_LINK = ("https://teams.microsoft.com/l/team/19%3AKq3fT0socialcare%40thread.tacv2/conversations?groupId="
             "0e8f1b2c-3d4e-4f50-9a1b-2c3d4e5f6a7b&tenantId=" + TENANT_ID)


@pytest.fixture
async def teams(tmp_path: Path) -> AsyncIterator[FakeTeams]:
    async with fake_teams(tmp_path / "fake") as fake:
        yield fake


BOT_LOG = re.compile(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3} [A-Z]+ [\w.]+: ")


async def surveybot(monkeypatch: pytest.MonkeyPatch, bot: Bot, *args: str, **env: str | None) -> tuple[int, str]:
    """`surveybot ARGS` as an IT officer runs it beside the running bot (same database, same settings), in a thread
    of this process so the fakes in this event loop answer it: (exit status, everything it printed)."""
    settings = {"SURVEYBOT_DATA_DIR": str(bot.app.settings.data_dir), "SURVEYBOT_PEPPER": PEPPER,
                **bot.teams.settings(), "SURVEYBOT_SURVEYS_DIR": os.pathsep.join(
                    [str(builtin_survey_dir()), str(SAMPLE.parent)])}
    if bot.app.settings.database_url:
        settings["DATABASE_URL"] = bot.app.settings.database_url
    for name, value in {**settings, **env}.items():
        if value is None:
            monkeypatch.delenv(name, raising=False)
        else:
            monkeypatch.setenv(name, value)

    def run() -> tuple[int, str]:
        out = io.StringIO()
        with redirect_stdout(out), redirect_stderr(out):
            status = main(list(args))
        # The running bot shares this process, so its own log lines (the scheduler's sweep...) can land in the same
        # redirected stream; they are not the command's output, which is what the tests read.
        return status, "".join(line for line in out.getvalue().splitlines(True) if not BOT_LOG.match(line))

    return await asyncio.to_thread(run)


async def add_to_team(bot: Bot, adder: TeamsUser, members: list[TeamsUser], name: str = TEAM_NAME) -> None:
    """`adder` adds the app to the team; Teams then lists `members` (and a bot, and a guest from another tenant)."""
    guest = bot.teams.person(name="Gil Guest").member() | {"tenantId": "5a6b7c8d-0000-4000-8000-000000000001"}
    other_bot = {"id": "28:another-bot", "name": "Another bot"}
    bot.teams.connector.rosters[TEAM] = [m.member() for m in members] + [other_bot, guest]
    assert await adder.send(adder.add_app_to(TEAM, name)) in OK


def contacts(bot: Bot) -> dict[str, list[str]]:
    """Each contact's (unsealed) Entra object id -> its tags."""
    return {bot.app.keys.unseal(address).user: json.loads(tags)
            for address, tags in bot.rows("SELECT address, tags FROM contact")}


def never_shown(people: list[TeamsUser], *places: str) -> None:
    for person in people:
        member = person.member()
        for secret in (person.user, person.aad, person.name, member["userPrincipalName"], member["email"],
                       person.user[3:], person.conversation):
            for place in places:
                assert secret not in place, "a Teams id, name, email or UPN was stored, printed or logged"


# --- contacts import-teams --------------------------------------------------------------------------------------------

async def test_import_teams_pages_through_the_roster_tags_everyone_once_and_keeps_what_the_bot_knew(
        teams: FakeTeams, tmp_path: Path, database_url: str, monkeypatch: pytest.MonkeyPatch,
        caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    async with running_bot(teams, tmp_path, database_url) as bot:
        members = [teams.person(name=f"Robin Worker{n}") for n in range(7)]
        installed = members[1]  # has the app in their personal chat already: the bot knows their chat
        assert await installed.send(installed.installed()) in OK
        await installed.next_message()
        await add_to_team(bot, members[0], members)
        assert len(bot.rows("SELECT id FROM team_ref")) == 1
        teams.connector.page_limit = 3  # 9 listed: three pages, two continuation tokens

        status, said = await surveybot(monkeypatch, bot, "contacts", "import-teams", "anyshire  SOCIAL care",
                                       "--tag", "social-care", "--tag", "north")
        assert status == 0, said
        assert said.splitlines()[-1] == ("Imported 7 member(s) of the team: 5 added, 2 already known, 7 tagged "
                                         "social-care, north. 2 left out (bots, or guests from another "
                                         "organisation).")
        pages = teams.connector.calls_to("GET", "/pagedmembers")
        assert [p.body.get("continuationToken") for p in pages] == [None, "3", "6"]
        assert [p.path for p in pages] == [f"/v3/conversations/{TEAM}/pagedmembers"] * 3
        kept = contacts(bot)
        assert set(kept) == {m.aad for m in members}, "one contact per member, found by their Entra object id"
        assert all(tags == ["north", "social-care"] for tags in kept.values())
        routes = {bot.app.keys.unseal(a).user: bot.app.keys.unseal(a).route for (a,) in bot.rows(
            "SELECT address FROM contact")}
        assert installed.conversation in routes[installed.aad], "the personal chat the bot knew is kept"
        assert all(f'"u":"{m.user}"' in routes[m.aad] for m in members), "each can be reached: their Teams id kept"

        status, again = await surveybot(monkeypatch, bot, "contacts", "import-teams", TEAM_LINK, "--tag",
                                        "social-care")
        assert status == 0, again
        assert "0 added, 7 already known, 0 tagged" in again, "a second import adds nobody twice"
        status, more = await surveybot(monkeypatch, bot, "contacts", "import-teams", TEAM, "--tag", "leads")
        assert "0 added, 7 already known, 7 tagged leads" in more
        assert len(bot.rows("SELECT id FROM contact")) == 7
        assert [(s["rows"], s["new"], s["tagged"]) for s in bot.audited("contacts.imported")] == [
            (7, 5, 7), (7, 0, 0), (7, 0, 7)]
        assert not [c for c in teams.connector.calls if c.path == "/v3/conversations"], \
            "no chat made at import: the first invitation makes it"
        status, listed = await surveybot(monkeypatch, bot, "contacts", "list", "--tag", "social-care", "--json")
        assert status == 0 and len(json.loads(listed)) == 7, listed
        stored = bot.dump()
    never_shown(members, stored, said + again + more + listed, caplog.text)
    for team_words in (TEAM, TEAM_NAME, TEAM_NAME.lower()):
        assert team_words not in stored, "the team's id and name are kept only as keyed hashes and sealed"


def console_of(bot: Bot) -> RunningConsole:
    """The running bot's web console, as the console's own tests drive it (tests/consolekit.py)."""
    return RunningConsole(bot.app, web_console(bot.app), bot.server.base_url, bot.app.service.clock)


async def test_the_console_imports_a_team_as_the_command_does_and_never_shows_a_member(
        teams: FakeTeams, tmp_path: Path, database_url: str, caplog: pytest.LogCaptureFixture) -> None:
    """The business unit has no terminal: the Contacts page imports a team by its name or link, with tags, through
    the same roster reading and one-transaction import as `contacts import-teams`; a wrong team or no tags is a
    400 naming the field, and nothing is imported."""
    caplog.set_level(logging.DEBUG)
    async with running_bot(teams, tmp_path, database_url) as bot:
        members = [teams.person(name=f"Jess Console{n}") for n in range(4)]
        await add_to_team(bot, members[0], members)
        admin = await console_of(bot).signed_in("console:ada", Role.ADMIN)
        before = bot.rows("SELECT id, tags FROM contact")  # whoever added the app may be known already
        try:
            page = await admin.get("/admin/contacts")
            assert "Import a Microsoft Teams team" in page
            await admin.post("/admin/contacts/import-team", {"team": "Anyshire Social Care (old)", "tags": "north"},
                             status=400)
            wrong_team = html.unescape(admin.last)
            assert 'Team: no team "Anyshire Social Care (old)" is known to the bot' in wrong_team, wrong_team[-3000:]
            await admin.post("/admin/contacts/import-team", {"team": TEAM_NAME, "tags": ""}, on="/admin/contacts",
                             status=400)
            assert "Tags: give at least one tag" in admin.last
            await admin.post("/admin/contacts/import-team", {"team": TEAM_NAME, "tags": "Not A Tag!"},
                             on="/admin/contacts", status=400)
            assert bot.rows("SELECT id, tags FROM contact") == before and bot.audited("contacts.imported") == []
            response = await admin.post("/admin/contacts/import-team", {"team": f"  {TEAM_NAME.upper()} ",
                                                                        "tags": "social-care; north"},
                                        on="/admin/contacts")
            done = html.unescape(await admin.get(response.headers["Location"]))
            new = 4 - len(before)
            assert (f"Imported 4 member(s) of the team: {new} new, {4 - new} already here. 2 left out (bots, or "
                    "guests from another organisation).") in done
            assert set(contacts(bot)) == {m.aad for m in members}
            assert all(tags == ["north", "social-care"] for tags in contacts(bot).values())
            response = await admin.post("/admin/contacts/import-team", {"team": TEAM_LINK, "tags": "leads"},
                                        on="/admin/contacts")
            again = await admin.get(response.headers["Location"])
            assert "Imported 4 member(s) of the team: 0 new, 4 already here." in again
            assert [(s["rows"], s["new"], s["from"]) for s in bot.audited("contacts.imported")] == [
                (4, new, "teams team"), (4, 0, "teams team")]
        finally:
            await admin.close()
    never_shown(members, page, wrong_team, done, again, caplog.text)


async def test_the_console_offers_no_team_import_without_teams(tmp_path: Path) -> None:
    async with running_console(tmp_path / "data", f"sqlite:///{tmp_path / 'console.db'}") as site:
        admin = await site.signed_in("console:ada", Role.ADMIN)
        try:
            assert "Import a Microsoft Teams team" not in await admin.get("/admin/contacts")
            await admin.post("/admin/contacts/import-team", {"team": TEAM_NAME, "tags": "x"}, status=404)
        finally:
            await admin.close()


async def test_a_team_is_imported_by_keyboard_at_phone_size_and_axe_finds_nothing(
        teams: FakeTeams, tmp_path: Path) -> None:
    from .consolekit import chromium
    from .test_web_browser import PHONE, axe, tab_to

    async with running_bot(teams, tmp_path) as bot:
        members = [teams.person(name=f"Kai Keyboard{n}") for n in range(3)]
        await add_to_team(bot, members[0], members)
        site = console_of(bot)
        site.grant(Role.ADMIN, "console:ada")
        link = site.link("console:ada")
        async with chromium() as browser:
            context = await browser.new_context(viewport=PHONE, bypass_csp=True)
            context.set_default_timeout(10_000)
            page = await context.new_page()

            async def press(wanted: Any) -> None:
                await tab_to(page, wanted, limit=80)
                async with page.expect_navigation():
                    await page.keyboard.press("Enter")

            async def check() -> None:
                assert await axe(page) == []
                width = await page.evaluate("() => document.documentElement.scrollWidth")
                assert width <= PHONE["width"]

            await page.goto(f"{bot.server.base_url}/admin/signin/{link}")
            await press(lambda now: now["text"] == "Sign in")
            await press(lambda now: now["tag"] == "a" and now["text"] == "Contacts")
            await check()
            await tab_to(page, lambda now: now["id"] == "team", limit=80)
            await page.keyboard.type("no such team")
            await tab_to(page, lambda now: now["id"] == "tags", limit=5)
            await page.keyboard.type("north")
            await press(lambda now: now["text"] == "Import the team")
            assert await page.get_by_role("alert").is_visible()
            assert await page.locator("#team").get_attribute("aria-invalid") == "true"
            await check()
            await tab_to(page, lambda now: now["id"] == "team", limit=80)
            await page.keyboard.press("Control+A")
            await page.keyboard.type(TEAM_NAME)
            await tab_to(page, lambda now: now["id"] == "tags", limit=5)
            await page.keyboard.type("north")
            await press(lambda now: now["text"] == "Import the team")
            assert await page.get_by_text("Imported 3 member(s) of the team:").is_visible()
            await check()
            await context.close()
        assert len(contacts(bot)) == 3


@pytest.mark.parametrize("refusal", [401, 403, 404])
async def test_a_connector_refusal_mid_roster_is_one_line_and_imports_nobody(
        teams: FakeTeams, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, refusal: int) -> None:
    async with running_bot(teams, tmp_path) as bot:
        members = [teams.person(name=f"Sky Member{n}") for n in range(5)]
        await add_to_team(bot, members[0], members)
        before = len(bot.rows("SELECT id FROM contact"))
        teams.connector.page_limit = 2
        teams.connector.fail_next(refusal, after=1)  # the first page comes; the second is refused
        status, said = await surveybot(monkeypatch, bot, "contacts", "import-teams", TEAM_NAME, "--tag", "x")
        assert status == 1 and len(said.strip().splitlines()) == 1, said
        assert said.startswith("surveybot: Teams ") and f"({refusal})" in said
        assert len(bot.rows("SELECT id FROM contact")) == before, "nothing half-imported"
        assert bot.audited("contacts.imported") == []
        never_shown(members, said)


async def test_teams_asking_to_slow_down_mid_roster_is_waited_out(
        teams: FakeTeams, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    async with running_bot(teams, tmp_path) as bot:
        members = [teams.person(name=f"Val Member{n}") for n in range(4)]
        await add_to_team(bot, members[0], members)
        teams.connector.page_limit = 2
        teams.connector.fail_next(429, retry_after=1, after=1)
        status, said = await surveybot(monkeypatch, bot, "contacts", "import-teams", TEAM_NAME, "--tag", "x")
        assert status == 0 and "4 member(s) of the team: 3 added, 1 already known" in said, said
        pages = teams.connector.calls_to("GET", "/pagedmembers")
        assert [p.status for p in pages] == [200, 429, 200, 200]  # six listed (a bot and a guest too): 3 pages
        assert pages[1].body == pages[2].body, "the refused page asked for again, from the same token"


async def test_an_unknown_team_or_no_teams_settings_is_one_clear_line(
        teams: FakeTeams, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    async with running_bot(teams, tmp_path) as bot:
        members = [teams.person(name="Lee Member")]
        await add_to_team(bot, members[0], members)
        for typed, problem in (("Anyshire Police", "no team `Anyshire Police` is known to the bot (1 team(s) known)"),
                               ("19:someother@thread.tacv2", "no team `19:someother@thread.tacv2` is known")):
            status, said = await surveybot(monkeypatch, bot, "contacts", "import-teams", typed, "--tag", "x")
            assert status == 1 and problem in said and len(said.strip().splitlines()) == 1, said
        status, said = await surveybot(monkeypatch, bot, "contacts", "import-teams", TEAM_NAME, "--tag", "x",
                                       SURVEYBOT_TEAMS_APP_ID=None)
        assert status == 1 and said.startswith("surveybot: SURVEYBOT_TEAMS_APP_ID is not set"), said
        status, said = await surveybot(monkeypatch, bot, "contacts", "import-teams", TEAM_NAME, "--tag", "Not A Tag")
        assert status == 1 and "--tag: `not a tag` is not a tag" in said, said
        assert not teams.connector.calls_to("GET", "/pagedmembers"), "Teams was never asked"
        assert len(bot.rows("SELECT id FROM contact")) == 1  # only the one who added the app


async def test_a_renamed_team_is_found_by_its_new_name_and_a_removed_one_is_forgotten(
        teams: FakeTeams, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    async with running_bot(teams, tmp_path) as bot:
        adder = teams.person(name="Ash Owner")
        await add_to_team(bot, adder, [adder])
        installed = adder.activity("installationUpdate", conversation=TEAM, conversation_type="channel", action="add",
                                   channelData={"team": {"id": TEAM}, "tenant": {"id": TENANT_ID}})
        assert await adder.send(installed) in OK  # said without the team's name: the name known stays
        status, said = await surveybot(monkeypatch, bot, "contacts", "import-teams", TEAM_NAME, "--tag", "owners")
        assert status == 0 and "1 already known, 1 tagged" in said, said
        renamed = adder.activity("conversationUpdate", conversation=TEAM, conversation_type="channel",
                                 channelData={"team": {"id": TEAM, "name": "Anyshire Early Help"},
                                              "eventType": "teamRenamed", "tenant": {"id": TENANT_ID}})
        assert await adder.send(renamed) in OK
        status, said = await surveybot(monkeypatch, bot, "contacts", "import-teams", "anyshire early help", "--tag",
                                       "early-help")
        assert status == 0 and "1 already known, 1 tagged" in said, said
        status, said = await surveybot(monkeypatch, bot, "contacts", "import-teams", TEAM_NAME, "--tag", "x")
        assert status == 1 and "is known to the bot" in said
        removed = adder.activity("installationUpdate", conversation=TEAM, conversation_type="channel",
                                 action="remove", channelData={"team": {"id": TEAM}, "tenant": {"id": TENANT_ID}})
        assert await adder.send(removed) in OK
        assert bot.rows("SELECT count(*) FROM team_ref")[0][0] == 0


@given(st.text(min_size=1, max_size=200).filter(lambda t: t.strip() == t and t.isprintable()))
def test_a_team_is_named_by_its_id_or_its_link_whatever_the_id_holds(team: str) -> None:
    link = f"https://teams.microsoft.com/l/team/{quote(team, safe='')}/conversations?groupId=x&tenantId={TENANT_ID}"
    assert team_id_of(link) == team
    assert team_id_of(team) == team or team.lower().startswith(("https://", "http://"))


@given(st.text(max_size=300))
def test_whatever_is_typed_as_a_team_reads_without_raising(typed: str) -> None:
    assert isinstance(team_id_of(typed), str)


# --- a campaign for the tag invites the imported members -------------------------------------------------------------

async def test_a_campaign_for_the_tag_invites_the_imported_members_in_teams(
        teams: FakeTeams, tmp_path: Path, database_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    clock = Clock()
    async with running_bot(teams, tmp_path, database_url, clock=clock) as bot:
        members = [teams.person(name=f"Jo Social{n}") for n in range(4)]
        outsider = teams.person(name="Oz Other")  # installed the app, but is not in the team: not invited
        assert await outsider.send(outsider.installed()) in OK
        await outsider.next_message()
        await add_to_team(bot, members[0], members)
        status, said = await surveybot(monkeypatch, bot, "contacts", "import-teams", TEAM_NAME, "--tag",
                                       "social-care")
        assert status == 0, said
        opens = clock.now + timedelta(hours=1)
        with bot.app.store.unit() as uow:
            uow.session.add(Campaign(code="spring", survey_id="sample", version=bot.app.catalogue.latest(
                "sample").version, tags='["social-care"]', channels='["teams"]', opens_at=opens.astimezone(UTC),
                closes_at=(opens + timedelta(days=14)).astimezone(UTC), reminders="[]", created_on=opens.date()))
        clock.now = opens
        broadcaster = Broadcaster(bot.app.store, bot.app.keys, bot.app.catalogue, clock)
        assert [(r.step, r.planned) for r in broadcaster.run_due()] == [("invite", 4)]
        assert await broadcaster.drain(bot.channel, bot.app.service.call) == 4
        made = [c for c in teams.connector.calls if c.path == "/v3/conversations"]
        assert len(made) == 4 and all(c.body["members"][0]["id"] in {m.user for m in members} for c in made)
        assert all(c.body["channelData"]["tenant"]["id"] == TENANT_ID and c.body["isGroup"] is False for c in made)
        for member in members:
            (invitation,) = [m for m in teams.connector.posted(member.conversation) if "go:spring" in m.data()]
        assert not teams.connector.posted(outsider.conversation)[1:], "the outsider got only the welcome"
        routes = [bot.app.keys.unseal(a).route for (a,) in bot.rows("SELECT address FROM contact")]
        assert all(any(m.conversation in r for r in routes) for m in members), "each chat made is kept, sealed"
        starter = members[2]
        (invitation,) = [m for m in teams.connector.posted(starter.conversation) if "go:spring" in m.data()]
        assert await starter.press(invitation, "go:spring") in OK
        while "happy to start" not in (await starter.next_message()).text:
            pass


# --- you said, we did, in Teams ---------------------------------------------------------------------------------------

async def said_to(bot: Bot, person: TeamsUser, words: str) -> str:
    """What the bot answers `person` typing `words` (the next message in their chat)."""
    assert await person.say(words) in OK
    return (await person.next_message()).text


def the_card(bot: Bot, person: TeamsUser) -> Message:
    (card,) = [m for m in bot.teams.connector.posted(person.conversation) if any(
        d.startswith("wd:") for d in m.data())]
    return card


def labels(card: Message) -> list[str]:
    return [str(a["title"]) for a in card.actions]


async def test_you_said_we_did_goes_round_in_teams_and_the_card_ticks_the_choice(
        teams: FakeTeams, tmp_path: Path, database_url: str, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO)
    clock = Clock()
    async with running_bot(teams, tmp_path, database_url, clock=clock) as bot:
        app = bot.app
        with app.store.unit() as uow:  # the youth round's campaign ("we did" replies go out under it); its tag is
            # nobody's, so its invitations (planned whenever the bot's scheduler first looks) reach no one here
            uow.session.add(Campaign(code="ambassadors", survey_id="you-said", version=app.catalogue.latest(
                "you-said").version, tags='["ambassadors"]', channels='["teams"]',
                opens_at=(clock.now - timedelta(days=1)).astimezone(UTC),
                closes_at=(clock.now + timedelta(days=7)).astimezone(UTC), reminders="[]", created_on=clock.now.date()))
        young = [teams.person(name=f"Kai Young{n}") for n in range(2)]
        for n, person in enumerate(young):
            assert await person.send(person.installed()) in OK
            await person.next_message()
            await Respondent(person, seed=n, skip_share=0).complete("you-said", app.catalogue.latest("you-said").thanks)
        assert "Thank you for telling us" in await said_to(bot, young[0], "The buses stop too early at night")

        writer, lead = teams.person(name="Wren Writer"), teams.person(name="Lou Lead")
        roles = Roles(app.store, app.keys, clock)
        for person, role in ((writer, Role.ADMIN), (lead, Role.YOUTH_LEAD)):
            assert await person.send(person.installed()) in OK
            await person.next_message()
            (kept,) = [a for a in (app.keys.unseal(s) for (s,) in bot.rows("SELECT address FROM contact"))
                       if a.user == person.aad]
            roles.grant(role, kept)
        listing = await said_to(bot, writer, "/yousaid list")
        items = ",".join(line.split()[0] for line in listing.splitlines())
        assert "buses stop too early" in listing and items
        assert "now has" in await said_to(bot, writer, f"/yousaid theme {items} Getting around")
        theme = re.search(r"Theme (\d+)", "\n".join(m.text for m in teams.connector.posted(writer.conversation)))
        assert theme is not None
        written = await said_to(bot, writer, f"/yousaid reply {theme[1]} done Buses now run until 11pm.")
        reply = re.search(r"Reply (\d+) written", written)
        assert reply is not None, written
        number = int(reply[1])
        assert "approved" in await said_to(bot, lead, f"/yousaid approve {number}")
        assert "will go out" in await said_to(bot, writer, f"/yousaid send {number}")

        broadcaster = Broadcaster(app.store, app.keys, app.catalogue, clock)
        broadcaster.run_due()
        assert await broadcaster.drain(bot.channel, app.service.call) == 2, "both who completed the round"
        assert bot.rows(f"SELECT count(*) FROM outbox WHERE step = 'wedid-{number}'")[0][0] == 2
        for person in young:
            card = the_card(bot, person)
            assert "Buses now run until 11pm." in card.text and "Getting around" in card.text
            assert labels(card) == ["This helps", "Not really", "Tell me more"]
        assert not [m for m in teams.connector.posted(writer.conversation) if any(
            d.startswith("wd:") for d in m.data())], "only those who completed the round get it"

        first, second = young
        card = the_card(bot, first)
        await first.next_message()  # (the card itself)
        assert await first.press(card, f"wd:{number}:helps") in OK
        assert (await first.next_message()).text == msg.YOUSAID_REACTED
        card = the_card(bot, first)
        assert card.updates == 1 and labels(card) == ["✓ This helps", "Not really", "Tell me more"], \
            "the card is updated in place, their choice ticked"
        assert "Buses now run until 11pm." in card.text
        assert await first.press(card, f"wd:{number}:helps") in OK
        assert (await first.next_message()).text == msg.YOUSAID_ALREADY, "a second press says so kindly"
        assert the_card(bot, first).updates == 1
        changed = first.submit(card, f"wd:{number}:more")
        assert await first.send(changed) in OK
        assert (await first.next_message()).text == msg.YOUSAID_TELL_ME_MORE
        assert labels(the_card(bot, first)) == ["This helps", "Not really", "✓ Tell me more"], "a change of mind"
        assert await first.send(changed) in OK  # Teams delivers the same press again: nothing happens
        await second.next_message()
        assert await second.press(the_card(bot, second), f"wd:{number}:more") in OK
        assert (await second.next_message()).text == msg.YOUSAID_TELL_ME_MORE
        assert await writer.press(the_card(bot, first), f"wd:{number}:helps") in OK  # a card that is not theirs
        assert (await writer.next_message()).text == msg.YOUSAID_NOT_FOR_YOU
        await asyncio.sleep(0.2)
        assert [m.text for m in teams.connector.posted(first.conversation)].count(msg.YOUSAID_TELL_ME_MORE) == 1

        assert dict(bot.rows("SELECT kind, count(*) FROM we_did_reaction GROUP BY kind")) == {"more": 2}
        themes = await said_to(bot, writer, "/yousaid themes")
        assert f"reply {number} [done, sent to 2; helps 0, not-really 0, more 2]" in themes
        board = read_board(app.store, app.settings.privacy, "you-said", None, clock.now.date())
        (shown,) = [r for t in board.themes for r in t.replies]
        assert shown.reactions == {"more": 2} and shown.sent == 2
        yousaid = YouSaid(app.store, app.keys, app.catalogue, clock, app.settings.privacy)
        assert yousaid.words(number) is not None and "11pm" in (yousaid.words(number) or "")
        out = tmp_path / "you-said.csv"
        reader = Reader(app.settings, app.engine, app.store, app.catalogue, app.service.clock)
        assert export_survey(reader, app.service.clock, "you-said", "csv", None, str(out)) == 2
        stored = bot.dump()
    never_shown([*young, writer, lead], stored, out.read_text(), caplog.text)
