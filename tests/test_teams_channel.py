"""The Teams channel end to end: the project's own wiring (bot.app.build, make_channels, serve) and the REAL
Microsoft 365 Agents SDK (and MSAL), against the fake Bot Connector and token issuers on 127.0.0.1
(tests/fakes/teams_api.py), with genuinely signed tokens on every activity."""

from __future__ import annotations

import asyncio
import json
import logging
import os
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot.app import App, build, make_channels
from bot.channels.teams.channel import TeamsChannel
from bot.channels.teams.connector import KEEP_SECONDS
from bot.channels.teams.words import EDIT_HINT, FILE_HINT, HELP, PERSONAL_HINT, STALE_BUTTON, WELCOME
from bot.config import Settings, SettingsError, secrets_of
from bot.engine import messages as msg
from bot.reading import Reader
from bot.reporting.outputs import export_survey
from bot.server import HttpServer
from bot.services.broadcast import Broadcaster
from bot.services.surveyfiles import builtin_survey_dir
from storage.models import Campaign
from tests.conftest import SAMPLE, Clock
from tests.fakes.teams_api import APP_ID, TENANT_ID, FakeTeams, Message, TeamsUser, fake_teams, signing_key
from tests.fakes.teams_respondent import Respondent, is_question, turn_of
from tests.live_bot import serving
from tests.stored import Stored

PEPPER = "test-pepper-" + "t" * 40
TEMPLATES = ("policy-awareness", "you-said", "wood-partner-survey")
OK = (200, 202)


@dataclass
class Bot(Stored):
    app: App
    teams: FakeTeams
    server: HttpServer
    channel: TeamsChannel


@asynccontextmanager
async def running_bot(teams: FakeTeams, tmp_path: Path, database_url: str | None = None,
                      clock: Clock | None = None, **settings: str) -> AsyncIterator[Bot]:
    env = {"SURVEYBOT_DATA_DIR": str(tmp_path), "SURVEYBOT_PEPPER": PEPPER, **teams.settings(),
           "SURVEYBOT_SWEEP_SECONDS": "3600",  # campaigns are sent by the tests themselves (Broadcaster.drain)
           "SURVEYBOT_SURVEYS_DIR": os.pathsep.join([str(builtin_survey_dir()), str(SAMPLE.parent)])}
    if database_url:
        env["DATABASE_URL"] = database_url
    env.update(settings)
    app = build(Settings.from_env(env), clock=clock or Clock())
    channels = make_channels(app)
    (channel,) = [c for c in channels if c.name == "teams"]
    assert isinstance(channel, TeamsChannel)
    async with serving(app, channels) as server:
        teams.bot_url = f"{server.base_url}/api/messages"
        yield Bot(app, teams, server, channel)


@pytest.fixture
async def teams(tmp_path: Path) -> AsyncIterator[FakeTeams]:
    async with fake_teams(tmp_path / "fake") as fake:
        yield fake


@pytest.fixture
async def bot(teams: FakeTeams, tmp_path: Path) -> AsyncIterator[Bot]:
    async with running_bot(teams, tmp_path) as running:
        yield running


@pytest.fixture
async def db_bot(teams: FakeTeams, tmp_path: Path, database_url: str) -> AsyncIterator[Bot]:
    """The bot on SQLite, then on PostgreSQL (skipped, saying why, when no server is reachable): for the tests where
    what is stored, and how the database takes two of the same at once, is the point."""
    async with running_bot(teams, tmp_path, database_url) as running:
        yield running


async def start_sample(person: TeamsUser) -> Message:
    """/start sample and agree, up to the first question (Which agency?)."""
    assert await person.say("/start sample") in OK
    while "happy to start" not in (consent := await person.next_message()).text:
        pass
    assert await person.press(consent, "a:1:p:0") in OK
    while not is_question(first := await person.next_message()):
        pass
    assert "Which agency?" in first.text
    return first


# --- the Bot Connector client kept from turn to turn (bot.channels.teams.connector) -----------------------------------

async def test_turns_share_a_kept_connector_client_until_it_is_due_to_be_made_again(teams: FakeTeams,
                                                                                    tmp_path: Path) -> None:
    """The SDK makes (and closes) a connector client every turn: a token from MSAL, a session, a new connection.
    The channel keeps one for a few minutes instead: several turns' calls come over one or two connections, and
    once the kept client is due to be made again (the clock moved on) the next turn's calls come over a new one.
    When the bot stops, every client it kept is closed, the one replaced too."""
    later = [0.0]  # how far the channel's clock is moved on
    async with running_bot(teams, tmp_path) as bot:
        clients = bot.channel.clients
        assert clients is not None
        clients.clock = lambda: time.time() + later[0]
        person = bot.teams.person()
        first = await start_sample(person)
        assert await person.press(first, f"a:{turn_of(first)}:p:0") in OK  # Police
        aware = await person.next_question()
        calls = [call for call in bot.teams.connector.calls if call.conversation == person.conversation]
        assert len(calls) >= 5 and len({call.peer for call in calls}) <= 2, [c.peer for c in calls]  # three turns
        before = {call.peer for call in bot.teams.connector.calls}
        sessions = [kept.client.client for kept in clients._kept.values()]  # what the factory holds (private)
        later[0] = KEEP_SECONDS + 1
        assert await person.press(aware, f"a:{turn_of(aware)}:p:0") in OK
        await person.next_question()
        after = [call for call in bot.teams.connector.calls[len(calls):] if call.conversation == person.conversation]
        assert after and {call.peer for call in after}.isdisjoint(before), "a client past its time was used"
        sessions += [kept.client.client for kept in clients._kept.values()]
        assert len(sessions) == 2 and not any(session.closed for session in sessions), "closed while in use"
    assert all(session.closed for session in sessions), "a kept or replaced client was left open at stop"


# --- every built-in survey, on SQLite and PostgreSQL ------------------------------------------------------------------

async def test_every_built_in_survey_is_completed_in_a_personal_chat(teams: FakeTeams, tmp_path: Path,
                                                                     database_url: str,
                                                                     caplog: pytest.LogCaptureFixture) -> None:
    for name in ("bot", "microsoft_agents", "msal"):
        caplog.set_level(logging.DEBUG, logger=name)
    async with running_bot(teams, tmp_path, database_url) as bot:
        people = {survey_id: teams.person(name=f"Jo Practitioner{n}") for n, survey_id in enumerate(TEMPLATES)}
        for person in people.values():
            assert await person.send(person.installed()) in OK
            assert (await person.next_message()).text == WELCOME
        scripted = {s: Respondent(people[s], seed=n) for n, s in enumerate(TEMPLATES)}
        thanks = {s: bot.app.catalogue.latest(s).thanks for s in TEMPLATES}
        transcripts = await asyncio.gather(*(scripted[s].complete(s, thanks[s]) for s in TEMPLATES))
        for survey_id, seen in zip(TEMPLATES, transcripts, strict=True):
            assert bot.completed(survey_id) == 1, survey_id
            intro = bot.app.catalogue.latest(survey_id).intro
            assert intro.strip().splitlines()[0] in seen[0].text, "the survey's welcome comes first"
            assert "/stop" in seen[0].text, "with the commands under it"
        for person in people.values():  # every question card was updated with its answer, and lost its buttons
            shown = teams.connector.posted(person.conversation)
            assert not [m for m in shown if is_question(m)], "a question was left with its buttons"
            assert sum("Your answer was: " in m.text for m in shown) >= 5
        assert not [c for c in teams.connector.calls if c.status >= 400], "no Bot Connector call failed"
        typed = [w for r in scripted.values() for w in r.typed]
        assert typed, "some answers were typed"
        answers = [json.loads(v) for (v,) in bot.rows("SELECT value FROM answer")]
        assert set(typed) <= {a for a in answers if isinstance(a, str)}, "typed answers stored as the person wrote"
        out = tmp_path / "answers.csv"
        reader = Reader(bot.app.settings, bot.app.engine, bot.app.store, bot.app.catalogue, bot.app.service.clock)
        assert export_survey(reader, bot.app.service.clock, "you-said", "csv", None, str(out)) == 1
        stored = bot.dump() + out.read_text()
        contacts = bot.rows("SELECT channel FROM contact")
        assert sorted(c for (c,) in contacts) == ["teams"] * 3, "each person kept as a contact, to invite later"
    logs = caplog.text
    assert "Teams channel started" in logs, "the capture really saw the channel's logs"
    for person in people.values():
        for secret in (person.user, person.aad, person.name, person.conversation, person.user[3:]):
            assert secret not in stored, "no Teams id or name is stored"
            assert secret not in logs, "no Teams id or name is logged"
        for words in (w for r in scripted.values() for w in r.typed):
            assert words not in logs
    assert TENANT_ID not in stored and TENANT_ID not in logs


# --- security: tokens -------------------------------------------------------------------------------------------------

def forged(teams: FakeTeams, kind: str) -> str:
    identity, service = teams.identity, teams.connector.url
    if kind == "signature":  # a stranger's key, claiming the issuer's key id
        return identity.mint(service_url=service, key=signing_key("forger"))
    if kind == "unknown-key":
        return identity.mint(service_url=service, key=signing_key("forger"), kid="not-a-published-key")
    if kind == "expired":
        return identity.mint(service_url=service, lifetime=-3600)
    if kind == "audience":
        return identity.mint(service_url=service, audience="3f1c2b4a-0000-4000-8000-00000000beef")
    if kind == "issuer":
        return identity.mint(service_url=service, issuer="https://issuer.example.org")
    if kind == "service-url":
        return identity.mint(service_url="https://smba.example.net/emea/")
    if kind == "garbage":
        return "not.a.token"
    return ""


@pytest.mark.parametrize("kind", ["signature", "unknown-key", "expired", "audience", "issuer", "service-url",
                                  "garbage", "missing"])
async def test_forged_expired_and_wrong_audience_tokens_get_401_and_store_nothing(
        bot: Bot, teams: FakeTeams, kind: str, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO)
    mallory = teams.person(name="Mallory Stranger")
    before = len(teams.connector.calls)
    for activity in (mallory.installed(), mallory.message("/start sample"), mallory.message("forged words")):
        status, _ = await teams.post(activity, token=forged(teams, kind))
        assert status == 401
    await asyncio.sleep(0.1)
    assert teams.connector.calls[before:] == [], "nothing was sent"
    assert bot.rows("SELECT * FROM conversation") == [] and bot.rows("SELECT * FROM contact") == []
    refused = bot.audited("request.refused")
    assert len(refused) == 1 and refused[0]["kind"].startswith("teams-token-"), "the first of its kind a day"
    assert mallory.user not in caplog.text and "forged words" not in caplog.text
    assert len([r for r in caplog.records if "refused a Teams request" in r.getMessage()]) == 3


async def test_each_kind_of_refusal_is_audited_once_a_day(bot: Bot, teams: FakeTeams) -> None:
    mallory = teams.person()
    for kind in ("expired", "audience", "expired", "signature", "audience"):
        status, _ = await teams.post(mallory.message("hello"), token=forged(teams, kind))
        assert status == 401
    assert sorted(r["kind"] for r in bot.audited("request.refused")) == [
        "teams-token-audience", "teams-token-expired", "teams-token-signature"]
    bot.app.service.clock.now += timedelta(days=1)  # type: ignore[attr-defined]
    assert (await teams.post(mallory.message("hello"), token=forged(teams, "expired")))[0] == 401
    assert len(bot.audited("request.refused")) == 4


async def test_a_good_token_from_another_tenant_is_ignored(bot: Bot, teams: FakeTeams) -> None:
    outsider = teams.person()
    activity = outsider.message("/start sample")
    activity["conversation"]["tenantId"] = "99999999-8888-4777-8666-555555555555"
    activity["channelData"] = {"tenant": {"id": "99999999-8888-4777-8666-555555555555"}}
    assert await outsider.send(activity) in OK
    await asyncio.sleep(0.1)
    assert teams.connector.posted(outsider.conversation) == []
    assert bot.rows("SELECT * FROM contact") == []


# --- redeliveries, double presses, stale buttons ----------------------------------------------------------------------

async def test_a_redelivered_activity_is_stored_once(db_bot: Bot, teams: FakeTeams) -> None:
    person = teams.person()
    first = await start_sample(person)
    press = person.submit(first, "a:2:p:1")
    assert await person.send(press) in OK
    assert "Did you know the policy?" in (await person.next_question()).text
    posted = len(teams.connector.calls)
    assert await person.send(press) in OK  # Teams thought we missed it: the same activity, the same id
    assert await person.send(press) in OK
    await asyncio.sleep(0.2)
    assert len(teams.connector.calls) == posted, "a redelivery sends nothing"
    assert db_bot.recorded("agency") == 1 and db_bot.recorded("aware") == 0


async def test_a_double_press_records_once_and_an_old_card_says_so_kindly(db_bot: Bot, teams: FakeTeams) -> None:
    person = teams.person()
    first = await start_sample(person)
    turn = turn_of(first)
    statuses = await asyncio.gather(*(person.press(first, f"a:{turn}:p:0") for _ in range(3)))
    assert all(s in OK for s in statuses)
    next_question = await person.next_question()
    assert "Did you know the policy?" in next_question.text
    await teams.connector.wait_for(lambda: sum(m.text == msg.ALREADY_ANSWERED for m in
                                               teams.connector.posted(person.conversation)) == 2)
    assert db_bot.recorded("agency") == 1
    assert [json.loads(v) for (v,) in db_bot.rows("SELECT value FROM answer")] == ["Police"]
    answered = teams.connector.by_id[first.id]
    assert answered.updates >= 1 and answered.actions == [], "the answered card lost its buttons"
    assert "Your answer was: Police" in answered.text
    assert await person.press(first, f"a:{turn}:p:1") in OK  # an old card, pressed again later
    await teams.connector.wait_for(lambda: sum(m.text == msg.ALREADY_ANSWERED for m in
                                               teams.connector.posted(person.conversation)) == 3)
    assert db_bot.recorded("agency") == 1
    assert await person.press(first, "x:not-ours") in OK
    await teams.connector.wait_for(lambda: any(m.text == STALE_BUTTON for m in
                                               teams.connector.posted(person.conversation)))


# --- the respondent's experience --------------------------------------------------------------------------------------

async def test_commands_back_skip_stop_resume_delete_and_help(bot: Bot, teams: FakeTeams) -> None:
    person = teams.person()
    assert await person.say("/help") in OK
    assert (await person.next_message()).text == HELP
    first = await start_sample(person)
    assert await person.press(first, f"a:{turn_of(first)}:p:2") in OK
    aware = await person.next_question()
    assert await person.press(aware, f"a:{turn_of(aware)}:b") in OK  # Back
    again = await person.next_question()
    assert "Which agency?" in again.text and "Your answer was" in again.text
    assert await person.say("/stop") in OK
    paused = await person.next_message()
    assert msg.PAUSED in paused.text and "resume" in paused.data(), "a pause has a Resume button"
    assert await person.press(paused, "resume") in OK
    resumed = await person.next_question()
    assert "Which agency?" in resumed.text
    assert await person.say("1") in OK  # a typed answer
    scripted = Respondent(person, skip_share=1.0)  # the rest, skipping what may be skipped
    seen = []
    while "Thanks, all done." not in (message := await person.next_message()).text:
        seen.append(message.text)
        if message.question:
            await scripted.answer(message)
    assert any("Talk it through first." in text for text in seen), "a knowledge check's explanation"
    assert bot.completed("sample") == 1
    assert await person.say("/delete") in OK
    assert (await person.next_message()).text.startswith(msg.ERASED.split("{")[0])
    assert bot.completed("sample") == 0


async def test_commands_from_teams_menu_come_without_the_slash_but_help_alone_is_the_check(bot: Bot,
                                                                                            teams: FakeTeams) -> None:
    person = teams.person()
    assert await person.say("start sample") in OK  # as the app package's command list sends it
    assert "A short test survey." in (await person.next_message()).text
    consent = await person.next_question()
    assert await person.press(consent, "a:1:p:0") in OK
    first = await person.next_question()
    assert await person.say("stop") in OK
    assert msg.PAUSED in (await person.next_message()).text
    assert await person.say("resume") in OK
    assert "Which agency?" in (await person.next_question()).text
    assert await person.say(bot.app.settings.help_word.lower()) in OK  # the service's to read, never the manual
    assert (await person.next_message()).text != HELP
    assert await person.say("/help") in OK
    while (await person.next_message()).text != HELP:
        pass
    assert bot.recorded("agency") == 0 and first.question, "no command was taken for an answer"


async def test_multiple_choice_is_a_choice_set_and_done(bot: Bot, teams: FakeTeams) -> None:
    person = teams.person()
    assert await person.say("/start wood-partner-survey") in OK
    scripted = Respondent(person, skip_share=0.0)
    while True:
        message = await person.next_message()
        if message.inputs("Input.ChoiceSet"):
            break
        if is_question(message):
            await scripted.answer(message)
    turn = turn_of(message)
    assert await person.press(message, f"a:{turn}:d") in OK  # Done with nothing ticked: asked for one
    reasked = await person.next_message()
    assert reasked.text == msg.CHOOSE_AT_LEAST_ONE or msg.CHOOSE_AT_LEAST_ONE in reasked.text
    assert await person.press(message, f"a:{turn}:d", ticks="0,2") in OK
    await person.next_question()
    done = teams.connector.by_id[message.id]
    assert done.actions == [] and done.inputs("Input.ChoiceSet") == []


async def test_files_edits_and_channel_messages_get_hints(bot: Bot, teams: FakeTeams) -> None:
    person = teams.person()
    picture = person.activity("message", attachments=[{"contentType": "image/png", "contentUrl": "https://x/y.png"}])
    assert await person.send(picture) in OK
    assert (await person.next_message()).text == FILE_HINT
    edit = person.activity("messageUpdate", text="changed", channelData={"eventType": "editMessage",
                                                                         "tenant": {"id": TENANT_ID}})
    assert await person.send(edit) in OK
    assert (await person.next_message()).text == EDIT_HINT
    team_channel = "19:general@thread.tacv2"
    mention = person.activity("message", text="<at>Surveys</at> /start sample", conversation=team_channel,
                              conversation_type="channel")
    assert await person.send(mention) in OK
    await teams.connector.wait_for(lambda: bool(teams.connector.posted(team_channel)))
    assert teams.connector.posted(team_channel)[0].text == PERSONAL_HINT
    assert bot.rows("SELECT * FROM conversation") == []


async def test_the_safeguarding_check_is_a_card_whose_press_is_heard(bot: Bot, teams: FakeTeams,
                                                                     caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG, logger="bot")
    person = teams.person()
    assert await person.say(bot.app.settings.help_word) in OK  # the word that asks for the check, anywhere
    while not (check := await person.next_message()).data():
        pass
    assert msg.CARE_ASK in check.text and all(d.startswith("care:") for d in check.data())
    assert len(check.data()) >= 2
    ok = next(d for d in check.data() if d.startswith("care:ok"))
    assert await person.press(check, ok) in OK
    heard = msg.CARE_ALL_DONE.format(help=bot.app.settings.help_word)
    assert (await person.next_message()).text == heard
    pressed = teams.connector.by_id[check.id]
    assert pressed.actions == [] and msg.CARE_ASK in pressed.text, "one choice only: the check's buttons went"
    assert person.user not in caplog.text


async def test_typed_words_have_mentions_taken_out(bot: Bot, teams: FakeTeams) -> None:
    person = teams.person()
    await start_sample(person)
    assert await person.say("<at>Surveys</at> 2") in OK
    assert "Did you know the policy?" in (await person.next_question()).text
    assert bot.recorded("agency") == 1


async def test_campaign_commands_need_a_role_granted_by_entra_object_id(db_bot: Bot, teams: FakeTeams) -> None:
    from bot.services.roles import Role, Roles, parse_who

    app = db_bot.app
    now = app.service.clock().astimezone(UTC)
    with app.store.unit() as uow:  # for a group nobody here is in: the scheduler, which may sweep at any moment
        # after the start (on PostgreSQL once it leads), invites nobody, so every reply read is the command's
        uow.session.add(Campaign(code="teams-esc", survey_id="sample", version=1, opens_at=now - timedelta(hours=1),
                                 closes_at=now + timedelta(days=7), created_on=now.date(), tags='["board"]'))
    admin, visitor = teams.person(), teams.person()
    granted = parse_who(f"teams:{TENANT_ID.upper()}:{admin.aad}")  # as an IT officer types it for `roles grant`
    Roles(app.store, app.keys, app.service.clock).grant(Role.ADMIN, granted)
    assert await visitor.say("/status teams-esc") in OK
    assert (await visitor.next_message()).text.startswith("Sorry,")
    assert await admin.say("/status teams-esc") in OK
    assert (await admin.next_message()).text.startswith("teams-esc: sample v1, open")
    assert await admin.say("/campaigns") in OK
    assert "teams-esc" in (await admin.next_message()).text
    actions = [a for (a,) in db_bot.rows("SELECT action FROM audit_record")]
    assert "admin.refused" in actions and "admin.command" in actions


# --- reaching people first: invitations through the outbox ------------------------------------------------------------

def add_campaign(bot: Bot, opens: datetime, channels: str = '["teams"]') -> None:
    with bot.app.store.unit() as uow:
        uow.session.add(Campaign(code="teams-2026", survey_id="policy-awareness",
                                 version=bot.app.catalogue.latest("policy-awareness").version, tags="[]",
                                 channels=channels, opens_at=opens.astimezone(UTC),
                                 closes_at=(opens + timedelta(days=21)).astimezone(UTC), reminders="[3]",
                                 created_on=opens.date()))


def conversations_made(teams: FakeTeams) -> int:
    return sum(1 for c in teams.connector.calls if c.path == "/v3/conversations" and c.status < 300)


def statuses(bot: Bot) -> dict[tuple[str, str], int]:
    return {(step, status): int(n) for step, status, n in bot.rows(
        "SELECT step, status, count(*) FROM outbox GROUP BY step, status")}


async def test_invitations_and_reminders_reach_installed_people_through_the_outbox(
        teams: FakeTeams, tmp_path: Path, database_url: str, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    clock = Clock()
    async with running_bot(teams, tmp_path, database_url, clock=clock) as bot:
        people = [teams.person() for _ in range(6)]
        for person in people[:3]:  # installed in their personal chat
            assert await person.send(person.installed()) in OK
            await person.next_message()
        team = "19:team@thread.tacv2"  # the others joined a team the app is in: no personal chat yet
        for person in people[3:]:
            joined = person.activity("conversationUpdate", conversation=team, conversation_type="channel",
                                     membersAdded=[{"id": person.user, "aadObjectId": person.aad}])
            assert await person.send(joined) in OK
        opens = clock.now + timedelta(hours=1)
        add_campaign(bot, opens)
        clock.now = opens
        broadcaster = Broadcaster(bot.app.store, bot.app.keys, bot.app.catalogue, clock)
        assert [(r.step, r.planned) for r in broadcaster.run_due()] == [("invite", 6)]
        teams.connector.fail_next(429, retry_after=1)  # Teams asks us to slow down once: waited out
        assert await broadcaster.drain(bot.channel, bot.app.service.call) == 6
        assert statuses(bot) == {("invite", "sent"): 6}
        for person in people:
            invitation = [m for m in teams.connector.posted(person.conversation) if "go:teams-2026" in m.data()]
            assert len(invitation) == 1, "each person invited once"
        assert conversations_made(teams) == 3, "a personal chat made for each of those seen only in a team"
        assert [c.status for c in teams.connector.calls].count(429) == 1
        starter = people[4]  # invited in a chat the bot made: Start works there
        (invitation,) = [m for m in teams.connector.posted(starter.conversation) if m.actions]
        assert await starter.press(invitation, "go:teams-2026") in OK
        await starter.next_message()
        clock.now = opens + timedelta(days=3)
        assert [(r.step, r.planned) for r in broadcaster.run_due()] == [("remind-1", 6)]
        teams.connector.gone.add(people[0].conversation)  # removed the app: 403
        assert await broadcaster.drain(bot.channel, bot.app.service.call) == 5
        assert statuses(bot)[("remind-1", "unreachable")] == 1
        assert bot.rows("SELECT count(*) FROM contact WHERE unreachable")[0][0] == 1
    for person in people:
        assert person.user not in caplog.text and person.conversation not in caplog.text


async def test_a_route_learnt_later_replaces_the_one_kept(bot: Bot, teams: FakeTeams) -> None:
    """Seen first as a new member of a team (no personal chat yet), then installing the app for themselves: the
    contact's sealed address now carries the personal chat, so the invitation goes there without making one."""
    person = teams.person()
    joined = person.activity("conversationUpdate", conversation="19:team@thread.tacv2", conversation_type="channel",
                             membersAdded=[{"id": person.user, "aadObjectId": person.aad}])
    assert await person.send(joined) in OK
    (sealed,) = [a for (a,) in bot.rows("SELECT address FROM contact")]
    assert '"c":""' in bot.app.keys.unseal(sealed).route
    assert await person.send(person.installed()) in OK
    await person.next_message()
    (sealed,) = [a for (a,) in bot.rows("SELECT address FROM contact")]
    kept = bot.app.keys.unseal(sealed)
    assert person.conversation in kept.route and kept.user == person.aad
    made = conversations_made(teams)
    await bot.channel.invite(kept, "Please take part", "spring")
    assert conversations_made(teams) == made
    assert teams.connector.posted(person.conversation)[-1].data() == ["go:spring"]


async def test_a_we_did_reply_has_reaction_buttons_that_reach_the_service(bot: Bot, teams: FakeTeams) -> None:
    person = teams.person()
    assert await person.send(person.installed()) in OK
    await person.next_message()
    (sealed,) = [a for (a,) in bot.rows("SELECT address FROM contact")]
    await bot.channel.announce(bot.app.keys.unseal(sealed), "You said the forms were long; we cut them.", 41)
    reply = await person.next_message()
    assert reply.data() == ["wd:41:helps", "wd:41:not-really", "wd:41:more"] and "we cut them" in reply.text
    assert await person.press(reply, "wd:41:helps") in OK  # a reply this person was never sent, as it happens
    assert (await person.next_message()).text == msg.YOUSAID_NOT_FOR_YOU


async def test_opting_out_stops_invitations(db_bot: Bot, teams: FakeTeams) -> None:
    person, other = teams.person(), teams.person()
    for someone in (person, other):
        assert await someone.send(someone.installed()) in OK
        await someone.next_message()
    assert await person.say("/stop all") in OK
    assert (await person.next_message()).text == msg.OPTED_OUT
    clock = db_bot.app.service.clock
    opens = clock() + timedelta(hours=1)
    add_campaign(db_bot, opens)
    clock.now = opens  # type: ignore[attr-defined]
    broadcaster = Broadcaster(db_bot.app.store, db_bot.app.keys, db_bot.app.catalogue, clock)
    planned = sum(r.planned for r in broadcaster.run_due())
    assert planned == 1
    assert await broadcaster.drain(db_bot.channel, db_bot.app.service.call) == 1
    assert not [m for m in teams.connector.posted(person.conversation) if m.actions]


async def test_a_stubborn_429_is_rate_limited_and_the_rest_goes_later(bot: Bot, teams: FakeTeams) -> None:
    person = teams.person()
    assert await person.send(person.installed()) in OK
    await person.next_message()
    teams.connector.fail_next(429, retry_after=0, times=4)
    from bot.channels.port import RateLimited

    with pytest.raises(RateLimited):
        await bot.channel.invite(bot.app.keys.unseal(bot.rows("SELECT address FROM contact")[0][0]), "Hi", "c")
    await bot.channel.invite(bot.app.keys.unseal(bot.rows("SELECT address FROM contact")[0][0]), "Hi", "c")
    assert [m.text for m in teams.connector.posted(person.conversation)][-1].startswith("Hi")


# --- persist, then send -----------------------------------------------------------------------------------------------

async def test_what_a_stopped_process_owed_is_sent_after_a_restart(teams: FakeTeams, tmp_path: Path,
                                                                   database_url: str) -> None:
    person = teams.person()
    async with running_bot(teams, tmp_path, database_url) as bot:
        first = await start_sample(person)
        teams.connector.fail_next(500)  # the next question cannot be sent: it stays owed
        assert await person.press(first, f"a:{turn_of(first)}:p:1") in OK
        await asyncio.sleep(0.2)
        assert bot.rows("SELECT count(*) FROM pending_reply")[0][0] == 1
    async with running_bot(teams, tmp_path, database_url) as bot:
        question = await person.next_question(timeout=30)
        assert "Did you know the policy?" in question.text
        for _ in range(50):
            if bot.rows("SELECT count(*) FROM pending_reply")[0][0] == 0:
                break
            await asyncio.sleep(0.1)
        assert bot.rows("SELECT count(*) FROM pending_reply")[0][0] == 0
        assert await person.press(question, f"a:{turn_of(question)}:p:0") in OK
        await person.next_question()
        assert bot.recorded("agency") == 1 and bot.recorded("aware") == 1


# --- settings ---------------------------------------------------------------------------------------------------------

@pytest.mark.parametrize(("extra", "problem"), [
    ({"SURVEYBOT_TEAMS_APP_ID": "not-a-guid", "SURVEYBOT_TEAMS_APP_PASSWORD": "pw"}, "SURVEYBOT_TEAMS_APP_ID should"),
    ({"SURVEYBOT_TEAMS_APP_ID": APP_ID}, "SURVEYBOT_TEAMS_APP_PASSWORD is needed"),
    ({"SURVEYBOT_TEAMS_APP_ID": APP_ID, "SURVEYBOT_TEAMS_APP_PASSWORD": "pw"}, "SURVEYBOT_TEAMS_TENANT_ID should"),
    ({"SURVEYBOT_TEAMS_APP_ID": APP_ID, "SURVEYBOT_TEAMS_APP_PASSWORD": "pw", "SURVEYBOT_TEAMS_TENANT_ID": "acme"},
     "SURVEYBOT_TEAMS_TENANT_ID should"),
])
def test_teams_settings_mistakes_are_one_line_naming_the_setting(tmp_path: Path, extra: dict[str, str],
                                                                  problem: str) -> None:
    app = build(Settings.from_env({"SURVEYBOT_DATA_DIR": str(tmp_path), "SURVEYBOT_PEPPER": PEPPER, **extra}))
    try:
        with pytest.raises(SettingsError) as caught:
            make_channels(app)  # the channel is built only when the three settings are right
    finally:
        app.engine.dispose()
    assert str(caught.value).startswith(problem) and "\n" not in str(caught.value)
    assert "pw" not in str(caught.value).split()


async def test_a_wrong_secret_stops_the_start_with_one_clear_line(teams: FakeTeams, tmp_path: Path) -> None:
    teams.identity.password = "the-secret-entra-id-expects"
    with pytest.raises(SettingsError, match="SURVEYBOT_TEAMS_APP_PASSWORD") as caught:
        async with running_bot(teams, tmp_path, SURVEYBOT_TEAMS_APP_PASSWORD="a-wrong-secret"):
            pass
    assert "\n" not in str(caught.value)
    assert "the-secret" not in str(caught.value) and "a-wrong-secret" not in str(caught.value)


def test_the_password_is_a_secret_never_shown() -> None:
    settings = Settings.from_env({"SURVEYBOT_TEAMS_APP_ID": APP_ID, "SURVEYBOT_TEAMS_APP_PASSWORD": "s3cret-value",
                                  "SURVEYBOT_TEAMS_TENANT_ID": TENANT_ID})
    assert "s3cret-value" in secrets_of(settings) and "s3cret-value" not in repr(settings)
