"""The Slack channel end to end: the project's own wiring (bot.app.build, make_channels, serve) and the REAL Bolt app,
against the fake Slack Web API on 127.0.0.1, with genuinely signed HTTP requests and real Socket Mode envelopes."""

from __future__ import annotations

import asyncio
import json
import logging
import os
import re
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import aiohttp
import pytest
import yaml
from sqlmodel import select

from bot.app import App, build, make_channels
from bot.channels.port import Address
from bot.channels.slack import (
    COMMAND,
    DM_HINT,
    EDIT_HINT,
    EVENTS_PATH,
    FILE_HINT,
    HELP,
    RATE_LIMIT_RETRIES,
    SlackChannel,
)
from bot.config import Settings, SettingsError
from bot.engine import messages as msg
from bot.server import HttpServer
from bot.services.surveyfiles import builtin_survey_dir
from storage.models import Contact
from tests.conftest import SAMPLE, Clock
from tests.fakes.slack_api import (
    TEAM_ID,
    ApiCall,
    FakeSlack,
    SlackSigner,
    app_home_opened,
    block_actions_payload,
    bot_message,
    channel_message,
    edited_message,
    file_share_message,
    im_message,
    view_submission_payload,
)
from tests.fakes.slack_respondent import (
    HttpTransport,
    Respondent,
    SocketTransport,
    Transport,
    elements,
    is_question,
    section_text,
)
from tests.live_bot import serving
from tests.stored import Stored

SECRET = "test-signing-secret"
PEPPER = "test-pepper-" + "x" * 40
TEMPLATES = ("policy-awareness", "you-said", "wood-partner-survey")
MANIFEST = Path(__file__).parent.parent / "deploy" / "slack-manifest.yaml"
# The bot scope each Web API method the bot may call needs (None: no scope).
SCOPE_OF = {"auth.test": None, "apps.connections.open": None, "chat.postMessage": "chat:write",
            "chat.update": "chat:write", "chat.postEphemeral": "chat:write", "conversations.open": "im:write",
            "views.publish": None, "views.open": None, "files.getUploadURLExternal": "files:write",
            "files.completeUploadExternal": "files:write", "upload": None,
            "conversations.members": "channels:read"}


@dataclass
class Bot(Stored):
    app: App
    fake: FakeSlack
    server: HttpServer
    channel: SlackChannel
    transport: Transport

    @property
    def url(self) -> str:
        return f"{self.server.base_url}/slack/events"

    async def post_raw(self, body: bytes, content_type: str) -> tuple[int, str]:
        """POST raw bytes to /slack/events, signed over their text as far as it goes."""
        headers = {"Content-Type": content_type,
                   **SlackSigner(SECRET).headers(body.decode("utf-8", "replace"))}
        async with aiohttp.ClientSession() as session, session.post(self.url, data=body, headers=headers) as resp:
            return resp.status, await resp.text()

    def person(self, user: str, seed: int = 0, **options: Any) -> Respondent:
        return Respondent(self.fake, self.transport, user, seed=seed, **options)


@asynccontextmanager
async def running_bot(fake: FakeSlack, tmp_path: Path, mode: str, database_url: str | None = None,
                      clock: Clock | None = None) -> AsyncIterator[Bot]:
    """`surveybot run` as the CLI wires it, with the settings pointing the Web API at the fake."""
    env = {"SURVEYBOT_DATA_DIR": str(tmp_path), "SURVEYBOT_PEPPER": PEPPER, "SLACK_BOT_TOKEN": "xoxb-test",
           "SLACK_API_URL": fake.api_url, "SLACK_SIGNING_SECRET": SECRET,
           "SURVEYBOT_SURVEYS_DIR": os.pathsep.join([str(builtin_survey_dir()), str(SAMPLE.parent)])}
    if database_url:
        env["DATABASE_URL"] = database_url
    if mode == "socket":
        env["SLACK_APP_TOKEN"] = "xapp-1-test"
    app = build(Settings.from_env(env), clock=clock or Clock())
    channels = make_channels(app)
    (channel,) = [c for c in channels if c.name == "slack"]  # beside the web chat, which is always on
    assert isinstance(channel, SlackChannel) and channel.mode == mode
    async with serving(app, channels) as server:
        if mode == "socket":
            await fake.wait_socket_connected()
            transport: Transport = SocketTransport(fake)
        else:
            transport = HttpTransport(f"{server.base_url}/slack/events", SlackSigner(SECRET))
        yield Bot(app, fake, server, channel, transport)


@pytest.fixture
async def fake() -> AsyncIterator[FakeSlack]:
    async with FakeSlack() as fake:
        yield fake


@pytest.fixture
async def http_bot(fake: FakeSlack, tmp_path: Path) -> AsyncIterator[Bot]:
    async with running_bot(fake, tmp_path, "http") as bot:
        yield bot


# --- a scripted person completes every built-in template, in both modes -------------------------------------------

@pytest.mark.parametrize("mode", ["http", "socket"])
async def test_every_template_is_completed_by_scripted_people(fake: FakeSlack, tmp_path: Path, mode: str,
                                                               caplog: pytest.LogCaptureFixture) -> None:
    for name in ("bot", "slack_bolt", "slack_sdk"):
        caplog.set_level(logging.DEBUG, logger=name)
    async with running_bot(fake, tmp_path, mode) as bot:
        people = {survey_id: bot.person(f"U0{survey_id[:4].upper()}{n}", seed=n)
                  for n, survey_id in enumerate(TEMPLATES)}
        thanks = {s: bot.app.catalogue.latest(s).thanks for s in TEMPLATES}
        transcripts = await asyncio.gather(*(people[s].complete(s, thanks[s]) for s in TEMPLATES))
        for survey_id, seen in zip(TEMPLATES, transcripts, strict=True):
            assert bot.completed(survey_id) == 1, survey_id
            intro = bot.app.catalogue.latest(survey_id).intro
            assert intro.strip().splitlines()[0] in section_text(seen[0]), "the survey's welcome comes first"
            assert "your answers" in section_text(seen[1]).lower(), "then the privacy notice"
            assert "happy to start" in section_text(seen[2]), "then the request to agree"
        for person in people.values():  # every question was redrawn with its answer and without buttons
            for left in [m for m in fake.messages_in(person.dm) if is_question(m)]:
                await marked_answered(fake, left["ts"])  # the last marks may still be on their way
            shown = fake.messages_in(person.dm)
            assert not [m for m in shown if is_question(m)], "a question was left with its buttons"
            assert sum("Your answer was: " in section_text(m) for m in shown) >= 5
        assert len(fake.calls_to("conversations.open")) <= len(TEMPLATES), "DM channels are cached"
        assert not [c for c in fake.calls if not c.ok], "no Web API call failed"
        assert {c.method for c in fake.calls} <= SCOPE_OF.keys(), "the manifest test knows every method used"
        typed = [w for p in people.values() for w in p.typed]
        assert typed, "some answers were typed"
        answers = [json.loads(v) for (v,) in bot.rows("SELECT value FROM answer")]
        assert set(typed) <= {a for a in answers if isinstance(a, str)}, "typed answers stored as the person wrote"
        if bot.channel.work.tasks:  # the thanks is out; the last question's redraw may still be on its way
            await asyncio.wait(set(bot.channel.work.tasks), timeout=10)
        kept = [p for p in people.values() if Address("slack", TEAM_ID, p.user) in bot.channel.renderer.people]
        assert not kept and len(bot.channel.work.locks) == 0, "nothing of a finished survey is kept in memory"
    logs = caplog.text
    assert "Slack channel started" in logs, "the capture really saw the channel's logs"
    for person in people.values():
        assert person.user not in logs
        assert TEAM_ID not in logs
        for words in person.typed:
            assert words not in logs


# --- security: signatures, redeliveries, double clicks ------------------------------------------------------------

@pytest.mark.parametrize("forge", ["wrong_secret", "stale"])
async def test_forged_and_stale_requests_get_401_and_do_nothing(http_bot: Bot, forge: Any,
                                                                caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="bot")
    signer, dm = SlackSigner(SECRET), http_bot.fake.dm_channel("U0MALLORY")
    before = len(http_bot.fake.calls)
    status, _ = await signer.post_event(http_bot.url, im_message("U0MALLORY", "forged words", dm), forge=forge)
    assert status == 401
    status, _ = await signer.post_slash_command(http_bot.url, "U0MALLORY", text="start sample", forge=forge)
    assert status == 401
    status, _ = await signer.post_block_action(http_bot.url, "U0MALLORY", dm, "1.0", "a:1:p:0", "a:1:p:0",
                                               forge=forge)
    assert status == 401
    await asyncio.sleep(0.1)
    assert http_bot.fake.calls[before:] == [], "nothing reached the Web API"
    assert http_bot.rows("SELECT * FROM conversation") == []
    rejected = [r for r in caplog.records if "bad or stale signature" in r.getMessage()]
    assert len(rejected) == 3
    assert "U0MALLORY" not in caplog.text and "forged words" not in caplog.text


async def test_a_press_altered_after_signing_is_refused_and_the_real_one_recorded(http_bot: Bot) -> None:
    """The payload Bolt reads is decoded apart from the body its signature covers (bot.channels.slack.forms): a body
    changed after signing (another choice pressed) is refused, and the body as signed is what gets recorded."""
    person = http_bot.person("U0ALTER")
    await start_sample(person)
    first = http_bot.fake.messages_in(person.dm)[-1]
    found = {e["action_id"]: (b, e) for b, e in elements(first)}
    police = next(key for key, (_, e) in found.items() if e.get("text", {}).get("text") == "Police")
    health = next(key for key, (_, e) in found.items() if e.get("text", {}).get("text") == "Health")

    def body_of(action: str) -> str:
        block, element = found[action]
        payload = block_actions_payload(person.user, person.dm, first["ts"], action, element.get("value"),
                                        block_id=block["block_id"], message=first)
        return urlencode({"payload": json.dumps(payload)})

    signed, altered = body_of(police), body_of(health)
    signer = SlackSigner(SECRET)
    headers = {"Content-Type": "application/x-www-form-urlencoded", **signer.headers(signed)}
    async with aiohttp.ClientSession() as session:
        async with session.post(http_bot.url, data=altered, headers=headers) as response:
            assert response.status == 401
        async with session.post(http_bot.url, data=signed, headers=headers) as response:
            assert response.status == 200
    await person.next_question()
    assert [json.loads(value) for (value,) in http_bot.rows("SELECT value FROM answer")] == ["Police"]


async def start_sample(person: Respondent) -> None:
    """/survey start sample and agree, by typing, up to the first question (Which agency?)."""
    await person.command("start sample")
    await person.next_question()  # consent
    assert await person.say("yes", event_id="EvAGREE") == 200
    first = await person.next_question()
    assert "Which agency?" in section_text(first)


@pytest.mark.parametrize("mode", ["http", "socket"])
async def test_a_redelivered_event_is_answered_200_and_records_once(fake: FakeSlack, tmp_path: Path, mode: str,
                                                                    caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="bot")
    async with running_bot(fake, tmp_path, mode) as bot:
        person = bot.person("U0RETRY")
        await start_sample(person)
        assert await person.say("2", event_id="EvHEALTH") == 200
        assert "Did you know the policy?" in section_text(await person.next_question())
        posted = len(fake.calls_to("chat.postMessage"))
        assert await person.say("2", event_id="EvHEALTH", retry=1) == 200  # Slack thought we missed it
        assert await person.say("2", event_id="EvHEALTH", retry=2) == 200
        await asyncio.sleep(0.2)
        assert len(fake.calls_to("chat.postMessage")) == posted, "a redelivery sends nothing"
        assert bot.recorded("agency") == 1
        assert bot.recorded("aware") == 0, "the redelivered '2' did not answer the next question"
    assert "answered a redelivered Slack event" in caplog.text


async def test_a_redelivery_to_another_replica_records_nothing(fake: FakeSlack, tmp_path: Path,
                                                               database_url: str) -> None:
    """Two bot processes on one database: the retry lands on the one that never saw the event. The claim on the
    event id in the database makes it a no-op."""
    async with running_bot(fake, tmp_path / "a", "http", database_url) as first, \
            running_bot(fake, tmp_path / "b", "http", database_url) as second:
        person = first.person("U0REPLICA")
        await start_sample(person)
        assert await person.say("2", event_id="EvTWICE") == 200
        await person.next_question()
        posted = len(fake.calls_to("chat.postMessage"))
        other = second.person("U0REPLICA")
        assert await other.say("2", event_id="EvTWICE", retry=1) == 200
        await asyncio.sleep(0.3)
        assert len(fake.calls_to("chat.postMessage")) == posted
        assert first.recorded("agency") == 1 and first.recorded("aware") == 0


async def test_double_clicks_and_old_buttons_record_once(fake: FakeSlack, tmp_path: Path, database_url: str) -> None:
    async with running_bot(fake, tmp_path, "http", database_url) as bot:
        person = bot.person("U0CLICKY")
        await person.command("start sample")
        consent = await person.next_question()
        await person.press(consent, *reversed(first_button(consent, "a:1:p:0")))
        agency = await person.next_question()
        block, police = first_button(agency, f"a:{turn_of(agency)}:p:0")
        payloads = [block_actions_payload(person.user, person.dm, agency["ts"], police["action_id"],
                                          police["value"], block_id=block["block_id"], message=agency)
                    for _ in range(3)]
        statuses = await asyncio.gather(*(bot.transport.interaction(p) for p in payloads))
        assert statuses == [200, 200, 200]
        await person.next_question()
        await person.press(consent, *reversed(first_button(consent, "a:1:p:0")))  # an old message
        notices = await nth_calls(fake, "chat.postEphemeral", 3)
        assert {n.params["text"] for n in notices} == {msg.ALREADY_ANSWERED}, "each late click is told, quietly"
        await asyncio.sleep(0.2)
        assert bot.recorded("agency") == 1
        assert [json.loads(v) for (v,) in bot.rows("SELECT value FROM answer")] == ["Police"]
        assert len(fake.calls_to("chat.postEphemeral")) == 3


async def marked_answered(fake: FakeSlack, ts: str) -> ApiCall:
    """The chat.update that marked the question at `ts` answered. It goes out beside the next question, never ahead
    of it (bot/channels/slack/edits.py), so a test that has the next question waits for it."""
    said = msg.PREVIOUS_ANSWER.split("{")[0]
    return await fake.wait_for(lambda c: c.method == "chat.update" and c.params["ts"] == ts
                               and said in str(c.params.get("text", "")))


async def nth_calls(fake: FakeSlack, method: str, count: int) -> list[ApiCall]:
    """The first `count` calls to `method`, waiting for them to arrive."""
    found: list[ApiCall] = []
    for _ in range(count):
        since = found[-1].index + 1 if found else 0
        found.append(await fake.wait_for(lambda c: c.method == method, since=since))
    return found


def first_button(message: dict[str, Any], action_id: str) -> tuple[dict[str, Any], dict[str, Any]]:
    for block in message["blocks"]:
        for element in block.get("elements", []):
            if element.get("action_id") == action_id:
                return block, element
    raise AssertionError(f"no {action_id} in {message['blocks']}")


def turn_of(message: dict[str, Any]) -> int:
    for block in message["blocks"]:
        for element in block.get("elements", []):
            if str(element.get("action_id", "")).startswith(("a:", "answer:", "tick:")):
                return int(element["action_id"].split(":")[1])
    raise AssertionError("not a question")


# --- the respondent's experience --------------------------------------------------------------------------------------

async def test_slash_commands_start_stop_resume_delete_and_help(http_bot: Bot) -> None:
    person = http_bot.person("U0COMMAND")
    assert await person.command("help") == (200, HELP)
    assert await person.command("") == (200, HELP)
    assert await person.command("frobnicate") == (200, HELP)
    status, body = await person.command("start")
    assert status == 200 and "policy-awareness" in body and "you-said" in body
    assert await person.command("start sample", channel_id="C0PUBLIC") == (200, DM_HINT)
    intro = await person.next_message()
    assert "A short test survey." in section_text(intro) and "/survey stop" in section_text(intro)
    consent = await person.next_question()
    await person.press(consent, *reversed(first_button(consent, "a:1:p:0")))
    agency = await person.next_question()
    await person.press(agency, *reversed(first_button(agency, f"a:{turn_of(agency)}:p:2")))
    await person.next_question()
    assert await person.command("stop") == (200, "")
    paused = await person.next_message()
    assert section_text(paused) == msg.PAUSED
    assert [e["action_id"] for _, e in elements(paused)] == ["resume"], "a pause offers a Resume button"
    await person.press(paused, elements(paused)[0][1], elements(paused)[0][0])
    assert "Did you know the policy?" in section_text(await person.next_question()), "Resume carries on"
    assert await person.command("resume") == (200, "")
    assert "Did you know the policy?" in section_text(await person.next_question())
    assert http_bot.recorded("agency") == 1
    assert await person.command("delete") == (200, "")
    assert section_text(await person.next_message()) == msg.ERASED.format(titles="“Sample of every kind”")
    assert http_bot.rows("SELECT * FROM answer") == []
    assert await person.say("Police") == 200
    assert section_text(await person.next_message()) == msg.NO_SURVEY_OPEN


async def test_typed_commands_in_the_chat_work_too(http_bot: Bot) -> None:
    person = http_bot.person("U0TYPIST")
    assert await person.say("/survey start sample") == 200
    assert "A short test survey." in section_text(await person.next_message())
    await person.next_question()
    assert await person.say("yes") == 200
    await person.next_question()
    assert await person.say("/stop") == 200
    assert section_text(await person.next_message()) == msg.PAUSED
    assert await person.say("/survey resume") == 200
    assert "Which agency?" in section_text(await person.next_question())
    assert await person.say("/help") == 200
    assert section_text(await person.next_message()) == HELP
    assert await person.say("/stop now please") == 200, "several words after a slash are an answer"
    assert section_text(await person.next_message()) == msg.CHOOSE_ONE


async def test_every_question_kind_back_skip_and_explanations(http_bot: Bot) -> None:
    """The sample survey: buttons, yes/no, checkboxes with Done, a scale, a number by form, a knowledge check with
    its explanation, Skip on an optional question; Back reopens a multiple-choice question with its ticks."""
    fake, person = http_bot.fake, http_bot.person("U0KINDS")
    await start_sample(person)
    assert await person.say("Health") == 200
    aware = await person.next_question()
    await person.press(aware, *reversed(first_button(aware, f"a:{turn_of(aware)}:p:0")))  # Yes
    sources = await person.next_question()
    assert "(3 of 7) Where did you hear?" in section_text(sources)
    (tick_block, boxes), = [(b, e) for b, e in elements(sources) if e["type"] == "checkboxes"]
    assert [o["text"]["text"] for o in boxes["options"]] == ["Briefing", "Email", "off", "Other, please say"]
    done_block, done = first_button(sources, f"a:{turn_of(sources)}:d")
    assert done["text"]["text"] == "Done ✓"
    toggle = {"action_id": f"a:{turn_of(sources)}:t:2", "value": f"a:{turn_of(sources)}:t:2"}
    await person.press(sources, toggle, done_block)  # a Toggle (Telegram's way of ticking) redraws the boxes
    redraw = await fake.wait_for(lambda c: c.method == "chat.update" and c.params["ts"] == sources["ts"])
    (redrawn_boxes,) = [e for b in redraw.params["blocks"] if b["type"] == "actions" for e in b["elements"]
                        if e["type"] == "checkboxes"]
    assert [o["value"] for o in redrawn_boxes["initial_options"]] == ["2"]
    await person.press(sources, toggle, done_block)  # and off again, so the engine's ticks are empty
    await nth_calls(fake, "chat.update", 3 + 2)  # consent, agency and aware were answered before
    await person.press(sources, done, done_block)  # nothing ticked
    assert section_text(await person.next_message()) == msg.CHOOSE_AT_LEAST_ONE
    ticked = {tick_block["block_id"]: {boxes["action_id"]: {"type": "checkboxes",
                                                            "selected_options": boxes["options"][:2]}}}
    await person.press(sources, done, done_block, state=ticked)
    confidence = await person.next_question()
    await marked_answered(fake, sources["ts"])
    (redrawn,) = [m for m in fake.messages_in(person.dm) if m["ts"] == sources["ts"]]
    assert section_text(redrawn) == "Where did you hear?\nYour answer was: Briefing and Email"
    assert not elements(redrawn), "the answered question has no buttons left"
    await person.press(confidence, *reversed(first_button(confidence, f"a:{turn_of(confidence)}:b")))  # Back
    again = await person.next_question()
    (_, boxes_again), = [(b, e) for b, e in elements(again) if e["type"] == "checkboxes"]
    assert boxes_again["initial_options"] == boxes["options"][:2], "going back shows the earlier ticks"
    assert "Your answer was: Briefing and Email" in section_text(again)
    block, done = first_button(again, f"a:{turn_of(again)}:d")
    untick = {b["block_id"]: {e["action_id"]: {"type": "checkboxes", "selected_options": []}}
              for b, e in elements(again) if e["type"] == "checkboxes"}
    await person.press(again, done, block, state=untick)  # every tick taken off
    assert section_text(await person.next_message()) == msg.CHOOSE_SOME
    again = await person.next_question()
    block, done = first_button(again, f"a:{turn_of(again)}:d")
    await person.press(again, done, block)  # pressed as drawn: the earlier ticks stand
    confidence = await person.next_question()
    await person.press(confidence, *reversed(first_button(confidence, f"a:{turn_of(confidence)}:p:4")))
    visits = await person.next_question()
    assert "whole number from 0 to 40" in section_text(visits)
    block, form = first_button(visits, f"answer:{turn_of(visits)}")
    trigger = (await person.press(visits, form, block))["trigger_id"]
    opened = (await fake.wait_for(lambda c: c.method == "views.open" and c.params["trigger_id"] == trigger)).params
    assert opened["view"]["blocks"][0]["label"]["text"] == "How many visits last week?"
    values = {"answer": {"text": {"type": "plain_text_input", "value": "400"}}}
    submit = view_submission_payload(person.user, "answer", opened["view"]["private_metadata"], values)
    assert await http_bot.transport.interaction(submit) == 200
    assert section_text(await person.next_message()) == "Please type a whole number from 0 to 40."
    await person.next_question()
    assert await http_bot.transport.interaction({**submit, "view": {**submit["view"], "id": "V0LATE"}}) == 200
    assert section_text(await person.next_message()) == "Please type a whole number from 0 to 40.", \
        "a form for the current question, sent again with a new id, is still the current question"
    await person.next_question()
    assert await person.say("12") == 200
    knowledge = await person.next_question()
    await person.press(knowledge, *reversed(first_button(knowledge, f"a:{turn_of(knowledge)}:p:0")))  # wrong
    assert section_text(await person.next_message()) == "Not quite. The answer is: Talk to your lead. " \
                                                        "Talk it through first."
    comment = await person.next_question()
    assert "Skip →" in [e["text"]["text"] for _, e in elements(comment)]
    late = view_submission_payload(person.user, "answer", opened["view"]["private_metadata"], values)
    assert await http_bot.transport.interaction(late) == 200  # the visits form, sent again now: stale
    notice = await fake.wait_for(lambda c: c.method == "chat.postEphemeral")
    assert notice.params["text"] == msg.ALREADY_ANSWERED
    await person.press(comment, *reversed(first_button(comment, f"a:{turn_of(comment)}:s")))
    assert section_text(await person.next_message()) == "Thanks, all done."
    assert http_bot.completed("sample") == 1
    stored = {q: json.loads(v) for q, v in http_bot.rows(
        "SELECT question_id, value FROM answer JOIN response ON response.id = answer.response_id")}
    assert stored == {"agency": "Health", "aware": "Yes", "sources": ["Briefing", "Email"], "confidence": 5,
                      "visits": 12, "first_step": "Call", "comment": None}


async def test_the_home_tab_lists_surveys_with_start_and_resume(http_bot: Bot) -> None:
    fake, person = http_bot.fake, http_bot.person("U0HOME")
    signer = SlackSigner(SECRET)
    assert (await signer.post_event(http_bot.url, app_home_opened(person.user, person.dm)))[0] == 200
    await fake.wait_for(lambda c: c.method == "views.publish")
    await http_bot.app.service.call(lambda: None)  # the contact is saved on the database thread
    with http_bot.app.store.unit() as uow:
        assert [c.channel for c in uow.session.exec(select(Contact))] == ["slack"], "opening the app joins campaigns"
    home = fake.home_views[person.user]
    starts = {e["value"] for b in home["blocks"] if (e := b.get("accessory"))}
    assert starts == {"policy-awareness", "you-said", "wood-partner-survey", "sample"}
    block = next(b for b in home["blocks"] if (b.get("accessory") or {}).get("value") == "you-said")
    payload = block_actions_payload(person.user, person.dm, "0", block["accessory"]["action_id"], "you-said",
                                    block_id="home")
    payload["container"] = {"type": "view", "view_id": home["id"]}
    assert await http_bot.transport.interaction(payload) == 200
    assert "We want to hear what you think" in section_text(await person.next_message())
    await nth_calls(fake, "views.publish", 2)
    resumed = fake.home_views[person.user]["blocks"][1]
    assert resumed["text"]["text"] == "In progress: You said – tell us what matters to you"
    assert resumed["accessory"]["action_id"] == "resume"
    assert len(fake.calls_to("conversations.open")) == 0, "the Home tab's event told us the DM channel"


async def test_channel_messages_bots_edits_and_files_are_ignored_or_hinted(http_bot: Bot,
                                                                           caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="bot")
    person = http_bot.person("U0NOISY")
    await start_sample(person)
    signer = SlackSigner(SECRET)
    for event in (channel_message(person.user, "2"), bot_message("B0OTHER", "2", person.dm),
                  {**bot_message("B0OTHER", "2", person.dm), "subtype": "bot_message"}):
        assert (await signer.post_event(http_bot.url, event))[0] == 200
    unfurled = edited_message(person.user, person.dm, "1.0", "see https://example.org", "see https://example.org")
    del unfurled["message"]["edited"]  # Slack adding a link preview: not the person's edit
    assert (await signer.post_event(http_bot.url, unfurled))[0] == 200
    assert (await signer.post_event(http_bot.url, edited_message(person.user, person.dm, "1.0", "2", "1")))[0] == 200
    assert section_text(await person.next_message()) == EDIT_HINT
    assert (await signer.post_event(http_bot.url, file_share_message(person.user, person.dm, "me.png")))[0] == 200
    assert section_text(await person.next_message()) == FILE_HINT
    deleted = {"type": "message", "subtype": "message_deleted", "channel": person.dm, "channel_type": "im",
               "hidden": True, "deleted_ts": "1.0", "previous_message": {"user": person.user, "text": "x"}}
    assert (await signer.post_event(http_bot.url, deleted))[0] == 200
    assert (await signer.post_event(http_bot.url, {**im_message(person.user, "  ", person.dm)}))[0] == 200
    assert await person.say("<@U0SOMEONE|sam> said 2 &amp; more") == 200
    assert section_text(await person.next_message()) == msg.CHOOSE_ONE, "only the person's own words count"
    assert http_bot.rows("SELECT * FROM answer") == []
    status, _ = await http_bot.post_raw(b"payload=\xff\xfe", "application/x-www-form-urlencoded")
    assert status == 400, "a body that is not text is refused, not a crash"
    assert "ignored a message outside a direct message" in caplog.text
    assert caplog.text.count("ignored a message from a bot") == 2
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]


async def test_the_ack_comes_first_and_rate_limits_are_waited_out(http_bot: Bot,
                                                                  caplog: pytest.LogCaptureFixture) -> None:
    """Slack asks us to slow down (429 with Retry-After) while the next question is sent: the press is acknowledged
    at once, the message goes out after the wait, and a limit that never lifts costs a message, not the channel."""
    caplog.set_level(logging.INFO, logger="bot")
    fake, person = http_bot.fake, http_bot.person("U0BUSY")
    await start_sample(person)
    await person.say("1")
    aware = await person.next_question()
    fake.fail_next("chat.postMessage", retry_after=1, times=1)
    started = time.monotonic()
    await person.press(aware, *reversed(first_button(aware, f"a:{turn_of(aware)}:p:1")))  # No
    acked = time.monotonic() - started
    await person.next_question()
    answered = time.monotonic() - started
    assert acked < 0.5 <= 1.0 <= answered, (acked, answered)
    assert [c.status for c in fake.calls_to("chat.postMessage")][-2:] == [429, 200]

    fake.fail_next("chat.postMessage", retry_after=0, times=RATE_LIMIT_RETRIES + 1)
    await person.say("3")
    await fake.wait_for(lambda c: c.method == "chat.postMessage" and c.status == 429
                        and sum(1 for d in fake.calls[:c.index + 1] if d.status == 429) == RATE_LIMIT_RETRIES + 2)
    async with asyncio.timeout(5):
        while "asking us to slow down" not in caplog.text:
            await asyncio.sleep(0.05)
    assert http_bot.recorded("confidence") == 1, "the answer was kept though its reply could not be sent"
    await person.say("/resume")
    assert "How many visits" in section_text(await person.next_question()), "the channel carries on"


async def test_a_person_who_left_is_logged_as_unreachable(http_bot: Bot, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="bot")
    person = http_bot.person("U0GONE")
    http_bot.fake.deactivate_user(person.user)
    assert await person.command("start sample", channel_id="C0PUBLIC") == (200, DM_HINT)
    async with asyncio.timeout(5):
        while "could not reach a person on Slack" not in caplog.text:
            await asyncio.sleep(0.05)
    assert "U0GONE" not in caplog.text
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]


async def test_slack_can_verify_the_request_url(http_bot: Bot) -> None:
    """Slack checks a new Request URL with a signed challenge before it sends anything else."""
    body = json.dumps({"token": "legacy", "challenge": "c4ll3ng3", "type": "url_verification"})
    status, answer = await SlackSigner(SECRET).post(http_bot.url, body, "application/json")
    assert (status, json.loads(answer)) == (200, {"challenge": "c4ll3ng3"})


def test_the_manifest_asks_for_exactly_what_the_bot_uses() -> None:
    manifest = yaml.safe_load(MANIFEST.read_text())
    calls = {scope for scope in SCOPE_OF.values() if scope}
    received = {"im:history", "commands", "groups:read"}  # message.im, /survey, and private channels' members
    assert set(manifest["oauth_config"]["scopes"]["bot"]) == calls | received
    assert set(manifest["settings"]["event_subscriptions"]["bot_events"]) == {"message.im", "app_home_opened"}
    assert manifest["settings"]["interactivity"]["is_enabled"] is True
    assert [c["command"] for c in manifest["features"]["slash_commands"]] == [COMMAND]
    home = manifest["features"]["app_home"]
    assert home["home_tab_enabled"] and home["messages_tab_enabled"] and not home["messages_tab_read_only_enabled"]
    http = yaml.safe_load(re.sub(r"# (url|request_url): ", r"\1: ", MANIFEST.read_text())
                          .replace("socket_mode_enabled: true", "socket_mode_enabled: false"))
    urls = [http["features"]["slash_commands"][0]["url"], http["settings"]["event_subscriptions"]["request_url"],
            http["settings"]["interactivity"]["request_url"]]
    assert all(url.startswith("https://") and url.endswith(EVENTS_PATH) for url in urls), "HTTP mode, un-commented"


# --- wiring and settings -------------------------------------------------------------------------------------------

async def test_socket_mode_reports_its_connection_on_healthz(fake: FakeSlack, tmp_path: Path) -> None:
    async with running_bot(fake, tmp_path, "socket") as bot, aiohttp.ClientSession() as session, \
            session.get(f"{bot.server.base_url}/healthz") as response:
        assert (await response.json())["checks"] == {"database": True, "slack": True}
        assert [c.token for c in fake.calls_to("apps.connections.open")] == ["xapp-1-test"]
    assert fake._live_socket() is None, "stop() closed the connection"


@pytest.mark.parametrize(("extra", "problem"), [
    ({}, "SLACK_APP_TOKEN (Socket Mode) or SLACK_SIGNING_SECRET"),
    ({"SLACK_SIGNING_SECRET": "s", "SLACK_BOT_TOKEN": "xoxp-user"}, "starting xoxb-"),
    ({"SLACK_APP_TOKEN": "xoxb-wrong"}, "starting xapp-"),
])
def test_incomplete_slack_settings_are_one_clear_line(tmp_path: Path, extra: dict[str, str], problem: str) -> None:
    env = {"SURVEYBOT_DATA_DIR": str(tmp_path), "SURVEYBOT_PEPPER": PEPPER, "SLACK_BOT_TOKEN": "xoxb-test", **extra}
    app = build(Settings.from_env(env))
    try:
        with pytest.raises(SettingsError, match=re.escape(problem)):
            make_channels(app)
    finally:
        app.engine.dispose()


async def test_a_refused_token_stops_the_start_with_one_clear_line(fake: FakeSlack, tmp_path: Path) -> None:
    fake.fail_next("auth.test", status=200, retry_after=None, error="invalid_auth")
    with pytest.raises(SettingsError, match=r"Slack refused SLACK_BOT_TOKEN \(invalid_auth\)"):
        async with running_bot(fake, tmp_path, "http"):
            pass


async def test_campaign_commands_need_a_role_and_people_can_join_and_opt_out(http_bot: Bot) -> None:
    from datetime import UTC, timedelta

    from bot.channels.port import Address
    from bot.services.roles import Role, Roles
    from storage.models import Campaign

    app = http_bot.app
    now = app.service.clock().astimezone(UTC)
    with app.store.unit() as uow:
        uow.session.add(Campaign(code="slack-esc", survey_id="sample", version=1, opens_at=now - timedelta(hours=1),
                                 closes_at=now + timedelta(days=7), created_on=now.date()))
    admin, visitor = http_bot.person("U0ADMIN"), http_bot.person("U0VISITOR")
    Roles(app.store, app.keys, app.service.clock).grant(Role.ADMIN, Address("slack", TEAM_ID, "U0ADMIN"))
    assert (await visitor.command("status slack-esc"))[0] == 200
    assert section_text(await visitor.next_message()).startswith("Sorry,")
    assert (await admin.command("status slack-esc"))[0] == 200
    assert section_text(await admin.next_message()).startswith("slack-esc: sample v1, open")
    assert (await visitor.command("join police"))[0] == 200
    assert section_text(await visitor.next_message()) == msg.JOIN_OFF  # no groups configured in this bot
    assert (await visitor.command("stop all"))[0] == 200
    assert section_text(await visitor.next_message()) == msg.OPTED_OUT
    actions = [a for (a,) in http_bot.rows("SELECT action FROM audit_record")]
    assert "admin.refused" in actions and "admin.command" in actions and "contact.opted_out" in actions


async def test_a_scrutineer_gets_an_export_as_a_file_and_others_are_refused(http_bot: Bot) -> None:
    from bot.channels.port import Address
    from bot.services.roles import Role, Roles

    app, fake = http_bot.app, http_bot.fake
    scrutineer, visitor = http_bot.person("U0SCRUTINY"), http_bot.person("U0NOSY")
    Roles(app.store, app.keys, app.service.clock).grant(Role.SCRUTINEER, Address("slack", TEAM_ID, "U0SCRUTINY"))
    assert (await visitor.command("export sample csv"))[0] == 200
    assert section_text(await visitor.next_message()).startswith("Sorry")
    assert not fake.uploads
    assert (await scrutineer.command("export sample csv"))[0] == 200
    await fake.wait_for(lambda c: c.method == "files.completeUploadExternal")
    (upload,) = fake.uploads.values()
    assert upload.filename.endswith(".csv") and upload.data.startswith(b"survey_id,version,wave,completed_on")
    assert upload.channel == scrutineer.dm and upload.completed
    actions = [a for (a,) in http_bot.rows("SELECT action FROM audit_record")]
    assert "export" in " ".join(actions)
