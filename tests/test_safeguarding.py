"""Safeguarding end to end: scripted disclosures and the HELP word through the real Telegram channel (aiogram
against the fake Bot API) and the web chat's HTTP endpoints, with the alert arriving in the lead's Telegram chat.

Checked each time: the gentle check and its signposting; the alert, with the category only, or with the handle
only after a clear yes; Acknowledge recorded in the audit chain; and the words themselves nowhere: not in the
answer or conversation tables, not in an export, not in the logs."""

from __future__ import annotations

import asyncio
import io
import json
import logging
import re
from datetime import timedelta
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from sqlalchemy import text

from bot.app import App, build, make_channels, serve
from bot.config import Settings
from bot.engine import messages as msg
from bot.reporting import export
from bot.server import HttpServer
from bot.services.audit import verify

from .conftest import Clock
from .fakes.slack_api import FakeSlack, SlackSigner, im_message
from .fakes.telegram_api import FakeTelegram
from .test_telegram import QUESTION, USER, count, running

LEAD_CHAT = -1001234567890
LEAD = 777_000_001
SETTINGS = {"SURVEYBOT_SAFEGUARDING_TELEGRAM_CHAT": str(LEAD_CHAT), "SURVEYBOT_SAFEGUARDING_WHO": "Sam from the team"}
DISCLOSURE = "my step dad keeps hurtin me and i dont want 2 go home xq7"
SUICIDAL = "sometimes i want to k1ll myself zz41"


def rows(app: App, sql: str) -> list[Any]:
    with app.engine.connect() as connection:
        return list(connection.execute(text(sql)))


def audit(app: App, action: str) -> list[dict[str, Any]]:
    return [json.loads(r[0]) for r in rows(app, f"SELECT subject FROM audit_record WHERE action = '{action}' "
                                                 "ORDER BY seq")]


def everything_stored(app: App) -> str:
    """Every table's every row, as text: what must never hold a disclosure."""
    tables = [r[0] for r in rows(app, "SELECT name FROM sqlite_master WHERE type = 'table'")]
    return "\n".join(str(row) for table in tables for row in rows(app, f"SELECT * FROM {table}"))


async def to_text_question(fake: FakeTelegram, user: int, **who: str) -> dict[str, Any]:
    """Start the young people's survey and answer with the first button until the free-text question."""
    fake.user_sends_text(user, "/start you-said", **who)
    while True:
        message = await fake.next_message(user, timeout=10)
        if message.get("text") == msg.CONSENT_QUESTION:
            fake.user_clicks(user, message, msg.CONSENT_YES, **who)
        elif QUESTION.match(message.get("text", "")):
            if "change one thing" in message["text"]:
                return message
            data = [b["callback_data"] for row in message["reply_markup"]["inline_keyboard"] for b in row]
            if ":t:" in data[0]:
                fake.user_sends_text(user, "1", **who)
            else:
                fake.user_presses(user, message, data[0], **who)


async def check_in(fake: FakeTelegram, user: int) -> dict[str, Any]:
    """The gentle check: the kind word, the signposting, then "Are you OK?" with its three buttons."""
    while True:
        message = await fake.next_message(user, timeout=10)
        if message.get("text") == msg.CARE_ASK:
            labels = [b["text"] for row in message["reply_markup"]["inline_keyboard"] for b in row]
            assert labels == [msg.CARE_OK, msg.CARE_HELP, msg.CARE_ADULT]
            said = [m["text"] for m in fake.messages_to(user)]
            assert msg.CARE_SIGNPOST in said and "0800 1111" in msg.CARE_SIGNPOST and "85258" in msg.CARE_SIGNPOST
            return message


async def said(fake: FakeTelegram, user: int, wanted: str) -> dict[str, Any]:
    while True:
        message = await fake.next_message(user, timeout=10)
        if message.get("text") == wanted or (wanted.endswith("…") and message.get("text", "").startswith(wanted[:-1])):
            return message


def alerts_sent(fake: FakeTelegram) -> list[dict[str, Any]]:
    return fake.messages_to(LEAD_CHAT)


async def test_a_disclosure_without_consent_alerts_anonymously_and_keeps_nothing(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    async with FakeTelegram() as fake, running(fake, tmp_path / "data", **SETTINGS) as app:
        question = await to_text_question(fake, USER, username="young_sam")
        fake.user_sends_text(USER, DISCLOSURE, username="young_sam")
        ask = await check_in(fake, USER)
        alert = (await fake.wait_for_message(LEAD_CHAT))[0]
        assert "abuse" in alert["text"] and "have not agreed" in alert["text"]
        assert "young_sam" not in alert["text"] and str(USER) not in alert["text"] and "hurtin" not in alert["text"]
        assert [b["text"] for row in alert["reply_markup"]["inline_keyboard"] for b in row] == [msg.ALERT_ACK]
        # the free-text question shows the answer was not kept, and nothing else is asked until they choose
        assert msg.REMOVED_SHOWN in fake.messages_to(USER)[[m["message_id"] for m in fake.messages_to(USER)]
                                                          .index(question["message_id"])]["text"]
        fake.user_clicks(USER, ask, msg.CARE_OK, username="young_sam")
        await said(fake, USER, msg.CARE_CARRY_ON)
        following = await fake.next_message(USER, timeout=10)
        assert "hear what changed" in following["text"]

        stored = rows(app, "SELECT value FROM answer WHERE question_id = 'change'")
        assert [json.loads(r[0]) for r in stored] == [f"{msg.REMOVED_FOR_SAFETY} abuse"]
        assert audit(app, "safeguarding.alert") == [{"alert": audit(app, "safeguarding.alert")[0]["alert"],
                                                     "category": "abuse", "consent": False}]
        # the lead acknowledges: recorded once in the chain, and the alert says so
        fake.user_clicks(LEAD, alert, msg.ALERT_ACK)
        acked = await fake.wait_for_text(LEAD_CHAT, "Acknowledged on")
        assert not acked.get("reply_markup")
        assert audit(app, "safeguarding.acknowledged") == [{"alert": audit(app, "safeguarding.alert")[0]["alert"]}]
        assert verify(app.store, app.keys).ok

        # finish, export, and look everywhere for the words
        fake.user_clicks(USER, following, "Yes")
        await said(fake, USER, app.catalogue.latest("you-said").thanks)
        export_text = exported(app)
        stored_text = everything_stored(app)
    for trace in ("hurtin", "xq7", "step dad"):
        assert trace not in stored_text
        assert trace not in export_text
        assert trace not in caplog.text
    assert f"{msg.REMOVED_FOR_SAFETY} abuse" in stored_text  # kept for the lead's records
    assert msg.REMOVED_FOR_SAFETY not in export_text  # never in an export: it says someone disclosed


def exported(app: App) -> str:
    out = io.StringIO()
    assert export.write_json(app.store, "you-said", export.columns(app.published_versions("you-said")), out) == 1
    return out.getvalue()


@pytest.mark.parametrize("webhook", [False, True], ids=["polling", "webhook"])
async def test_a_clear_yes_passes_the_handle_to_the_lead_and_says_who_will_call(
        tmp_path: Path, caplog: pytest.LogCaptureFixture, webhook: bool) -> None:
    caplog.set_level(logging.DEBUG)
    async with FakeTelegram() as fake, running(fake, tmp_path / "data", webhook, **SETTINGS) as app:
        await to_text_question(fake, USER, username="young_sam")
        fake.user_sends_text(USER, SUICIDAL, username="young_sam")
        ask = await check_in(fake, USER)
        anonymous = (await fake.wait_for_message(LEAD_CHAT))[0]
        assert "self harm" in anonymous["text"] and "young_sam" not in anonymous["text"]
        fake.user_clicks(USER, ask, msg.CARE_ADULT, username="young_sam")
        consent = await said(fake, USER, msg.CARE_CONSENT.format(who="Sam from the team"))
        assert [b["text"] for row in consent["reply_markup"]["inline_keyboard"] for b in row] == [msg.CARE_YES,
                                                                                                  msg.CARE_NO]
        fake.user_clicks(USER, consent, msg.CARE_YES, username="young_sam")
        await said(fake, USER, msg.CARE_SHARED.format(who="Sam from the team"))
        named = (await fake.wait_for_message(LEAD_CHAT, 2))[1]
        assert "@young_sam" in named["text"] and "agreed to be contacted" in named["text"]
        assert "k1ll" not in named["text"] and "zz41" not in named["text"]
        assert [(a["category"], a["consent"]) for a in audit(app, "safeguarding.alert")] == [
            ("self-harm", False), ("self-harm", True)]
        # the survey carries on after the yes
        assert "hear what changed" in (await fake.next_message(USER, timeout=10))["text"]
        stored_text = everything_stored(app)
    for trace in ("k1ll", "zz41", "young_sam", str(USER)):
        assert trace not in stored_text
        assert trace not in caplog.text


async def test_no_thanks_after_asking_for_help_alerts_anonymously(tmp_path: Path) -> None:
    async with FakeTelegram() as fake, running(fake, tmp_path / "data", **SETTINGS) as app:
        fake.user_sends_text(USER, "HELP", username="young_sam")  # no survey open at all
        ask = await check_in(fake, USER)
        assert msg.CARE_HELP_WORD in [m["text"] for m in fake.messages_to(USER)]
        assert audit(app, "safeguarding.alert") == []  # the HELP word alone raises no alert
        fake.user_clicks(USER, ask, msg.CARE_HELP)
        consent = await said(fake, USER, msg.CARE_CONSENT.format(who="Sam from the team"))
        fake.user_clicks(USER, consent, msg.CARE_NO)
        await said(fake, USER, msg.CARE_NOT_SHARED)
        await said(fake, USER, msg.CARE_ALL_DONE.format(help="HELP"))
        alert = (await fake.wait_for_message(LEAD_CHAT))[0]
        assert "asked for help" in alert["text"] and "young_sam" not in alert["text"]
        assert [(a["category"], a["consent"]) for a in audit(app, "safeguarding.alert")] == [("asked-for-help", False)]


async def test_the_help_word_works_at_every_point_of_a_survey(tmp_path: Path) -> None:
    async with FakeTelegram() as fake, running(fake, tmp_path / "data", **SETTINGS) as app:
        # before agreeing to start: the check, then "I'm OK" asks for agreement again
        fake.user_sends_text(USER, "/start you-said")
        await said(fake, USER, msg.CONSENT_QUESTION)
        fake.user_sends_text(USER, "help")
        fake.user_clicks(USER, await check_in(fake, USER), msg.CARE_OK)
        consent = await said(fake, USER, msg.CONSENT_QUESTION)
        fake.user_clicks(USER, consent, msg.CONSENT_YES)
        # mid-question (a scale): nothing is recorded, and "I'm OK" asks the same question again
        first = await fake.next_message(USER, timeout=10)
        assert "How do you feel about your home" in first["text"]
        fake.user_sends_text(USER, "Help me")
        fake.user_clicks(USER, await check_in(fake, USER), msg.CARE_OK)
        await said(fake, USER, msg.CARE_CARRY_ON)
        again = await fake.next_message(USER, timeout=10)
        assert "How do you feel about your home" in again["text"]
        assert count(app, "SELECT count(*) FROM answer") == 0
        # after finishing: still there
        user2 = USER + 1
        fake.user_sends_text(user2, "/start you-said")
        consent = await said(fake, user2, msg.CONSENT_QUESTION)
        fake.user_clicks(user2, consent, msg.CONSENT_NO)
        await said(fake, user2, msg.DECLINED)
        fake.user_sends_text(user2, "HELP!")
        fake.user_clicks(user2, await check_in(fake, user2), msg.CARE_OK)
        await said(fake, user2, msg.CARE_ALL_DONE.format(help="HELP"))
        assert audit(app, "safeguarding.alert") == [] and fake.messages_to(LEAD_CHAT) == []


async def test_ordinary_answers_trigger_nothing(tmp_path: Path) -> None:
    async with FakeTelegram() as fake, running(fake, tmp_path / "data", **SETTINGS) as app:
        await to_text_question(fake, USER)
        fake.user_sends_text(USER, "this homework is killing me, more clubs please")
        following = await fake.next_message(USER, timeout=10)
        assert "hear what changed" in following["text"]
        assert [json.loads(r[0]) for r in rows(app, "SELECT value FROM answer WHERE question_id = 'change'")] == [
            "this homework is killing me, more clubs please"]
        assert audit(app, "safeguarding.alert") == [] and fake.messages_to(LEAD_CHAT) == []
        assert msg.CARE_ASK not in [m["text"] for m in fake.messages_to(USER)]


async def test_practitioner_surveys_are_not_checked(tmp_path: Path) -> None:
    async with FakeTelegram() as fake, running(fake, tmp_path / "data", **SETTINGS) as app:
        fake.user_sends_text(USER, "/start policy-awareness")
        consent = await said(fake, USER, msg.CONSENT_QUESTION)
        fake.user_clicks(USER, consent, msg.CONSENT_YES)
        await fake.next_message(USER, timeout=10)
        fake.user_sends_text(USER, "help")
        await fake.next_message(USER, timeout=10)  # a kind re-ask of the question, not the check
        assert msg.CARE_ASK not in [m["text"] for m in fake.messages_to(USER)]
        assert audit(app, "safeguarding.alert") == []


async def test_without_a_route_the_young_person_still_gets_help_and_is_told_the_truth(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING)
    async with FakeTelegram() as fake, running(fake, tmp_path / "data") as app:
        assert "no safeguarding alert route is set up" in caplog.text
        fake.user_sends_text(USER, "im runing away tonight", username="young_sam")
        ask = await check_in(fake, USER)
        fake.user_clicks(USER, ask, msg.CARE_ADULT, username="young_sam")
        consent = await said(fake, USER, msg.CARE_CONSENT.format(who=msg.CARE_WHO))
        fake.user_clicks(USER, consent, msg.CARE_YES, username="young_sam")
        await said(fake, USER, msg.CARE_NO_ROUTE)
        assert [(a["category"], a["consent"]) for a in audit(app, "safeguarding.alert")] == [("running-away", False)]
    assert "runing" not in caplog.text and "young_sam" not in caplog.text


# --- the web chat: no handle, so a yes asks how a trusted adult can reach them ---------------------------------------

class WebPerson:
    def __init__(self, session: aiohttp.ClientSession, url: str) -> None:
        self.session, self.url = session, url
        self.effects: list[dict[str, Any]] = []
        self.waiting: dict[str, Any] | None = None
        self.check: dict[str, Any] | None = None

    async def send(self, event: dict[str, Any], form: bool = False) -> list[dict[str, Any]]:
        async with self.session.post(f"{self.url}/api", json=event) as response:
            assert response.status == 200, await response.text()
            effects = (await response.json())["effects"]
        self.effects.extend(effects)
        for effect in effects:
            if effect["type"] == "ask":
                self.waiting = effect
            if effect["type"] == "check":
                self.check = effect
            if effect["type"] == "finish":
                self.waiting = None
        return effects

    async def press(self, label: str, text: str | None = None) -> list[dict[str, Any]]:
        assert self.check is not None
        data = next(c["data"] for c in self.check["choices"] if c["label"] == label)
        self.check = None
        return await self.send({"type": "care", "data": data, **({"text": text} if text is not None else {})})

    async def to_text_question(self) -> None:
        await self.send({"type": "open"})
        await self.send({"type": "pick", "turn": self.waiting["turn"], "index": 0})  # type: ignore[index]
        while self.waiting is not None and self.waiting["prompt"]["kind"] != "text":
            prompt = self.waiting["prompt"]
            if prompt["kind"] == "multi":
                await self.send({"type": "ticks", "turn": self.waiting["turn"], "indexes": [0]})
            else:
                await self.send({"type": "pick", "turn": self.waiting["turn"], "index": 0})

    def said(self) -> list[str]:
        return [e["text"] for e in self.effects if e["type"] in ("say", "check")]


async def test_the_web_chat_asks_for_a_contact_and_passes_it_only_in_the_alert(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    contact = "ring my aunt on 07700 900123"
    async with FakeTelegram() as fake, running(fake, tmp_path / "data", **SETTINGS) as app:
        url = f"http://127.0.0.1:{app.settings.port}/s/you-said"
        async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as session:
            person = WebPerson(session, url)
            await person.to_text_question()
            turn = person.waiting["turn"]  # type: ignore[index]
            effects = await person.send({"type": "reply", "turn": turn, "text": "he beats me up when mum is out"})
            assert [e["type"] for e in effects].count("ask") == 0  # the next question waits
            assert any(e["type"] == "answered" and e["answer"] == msg.REMOVED_SHOWN for e in effects)
            assert msg.CARE_SIGNPOST in person.said() and person.check["text"] == msg.CARE_ASK  # type: ignore[index]
            assert "abuse" in (await fake.wait_for_message(LEAD_CHAT))[0]["text"]
            await person.press(msg.CARE_HELP)
            await person.press(msg.CARE_YES)
            assert person.check["contact_box"] and person.check["text"] == msg.CARE_ASK_CONTACT  # type: ignore[index]
            assert 'name="text"' in person.effects[-1]["html"]
            effects = await person.press(msg.CARE_SEND, contact)
            assert msg.CARE_SHARED.format(who="Sam from the team") in person.said()
            assert any(e["type"] == "ask" and "hear what changed" in e["prompt"]["text"] for e in effects)
            named = (await fake.wait_for_message(LEAD_CHAT, 2))[1]
            assert contact in named["text"] and "the web chat" in named["text"]
            stored_text = everything_stored(app)
    for trace in ("beats", "aunt", "07700"):
        assert trace not in stored_text
        assert trace not in caplog.text


async def test_a_flood_of_anonymous_alerts_reaches_the_lead_as_one_message_and_a_yes_goes_at_once(
        tmp_path: Path) -> None:
    """30 fresh web sessions typing a phrase: after the first anonymous alert, any more in the window wait and go
    as one message with their count and categories. A young person's yes to contact goes at once all the same.
    Every alert is audited on its own, and the grouped message can be acknowledged."""
    async with FakeTelegram() as fake, running(fake, tmp_path / "data", **SETTINGS) as app:
        route, clock, gate, slept = app.service.alerts, Clock(), asyncio.Event(), []

        async def sleep(seconds: float) -> None:  # the window passes when the test says so
            slept.append(seconds)
            await gate.wait()
            clock.now += timedelta(seconds=seconds)

        route.clock, route.sleep = clock, sleep
        url = f"http://127.0.0.1:{app.settings.port}/s/you-said"
        async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as session:
            person = WebPerson(session, url)
            await person.to_text_question()
            await person.send({"type": "reply", "turn": person.waiting["turn"], "text": DISCLOSURE})  # type: ignore
            first = (await fake.wait_for_message(LEAD_CHAT))[0]
            assert "abuse" in first["text"] and "have not agreed" in first["text"]  # the first goes at once

            for index in range(30):
                async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as fresh:
                    stranger = WebPerson(fresh, url)
                    await stranger.send({"type": "open"})
                    await stranger.send({"type": "reply", "turn": stranger.waiting["turn"],  # type: ignore[index]
                                         "text": DISCLOSURE if index % 10 == 0 else SUICIDAL})
                    assert stranger.check is not None and stranger.check["text"] == msg.CARE_ASK
            assert len(alerts_sent(fake)) == 1 and slept == [180]

            await person.press(msg.CARE_HELP)
            await person.press(msg.CARE_YES)
            await person.press(msg.CARE_SEND, "text me on 07700 900456")
            named = (await fake.wait_for_message(LEAD_CHAT, 2))[1]  # a yes is never held back
            assert "07700 900456" in named["text"] and len(alerts_sent(fake)) == 2

        gate.set()
        grouped = (await fake.wait_for_message(LEAD_CHAT, 3))[2]
        assert "30 more" in grouped["text"] and "“self harm” (27)" in grouped["text"]
        assert "“abuse” (3)" in grouped["text"] and "the web chat" in grouped["text"]
        assert len(alerts_sent(fake)) == 3
        raised = audit(app, "safeguarding.alert")
        assert len(raised) == 32 and [r["consent"] for r in raised].count(True) == 1
        (group,) = audit(app, "safeguarding.grouped")
        assert group["alerts"] == [r["alert"] for r in raised if not r["consent"]][1:]
        fake.user_clicks(LEAD, grouped, msg.ALERT_ACK)
        await fake.wait_for_text(LEAD_CHAT, "Acknowledged on")
        assert audit(app, "safeguarding.acknowledged") == [{"alert": group["alert"]}]
        assert verify(app.store, app.keys).ok


async def test_the_web_chat_help_word_and_ordinary_words(tmp_path: Path) -> None:
    async with FakeTelegram() as fake, running(fake, tmp_path / "data", **SETTINGS) as app:
        url = f"http://127.0.0.1:{app.settings.port}/s/you-said"
        async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as session:
            person = WebPerson(session, url)
            await person.to_text_question()
            turn = person.waiting["turn"]  # type: ignore[index]
            await person.send({"type": "reply", "turn": turn, "text": "HELP"})
            assert person.check is not None and msg.CARE_HELP_WORD in person.said()
            effects = await person.press(msg.CARE_OK)
            asked = next(e for e in effects if e["type"] == "ask")
            assert "change one thing" in asked["prompt"]["text"]  # HELP was not an answer: asked again
            await person.send({"type": "reply", "turn": asked["turn"], "text": "I want to kill time at the park"})
            assert person.waiting is not None and "hear what changed" in person.waiting["prompt"]["text"]
        assert [json.loads(r[0]) for r in rows(app, "SELECT value FROM answer WHERE question_id = 'change'")] == [
            "I want to kill time at the park"]
        assert audit(app, "safeguarding.alert") == [] and fake.messages_to(LEAD_CHAT) == []


async def test_a_web_form_without_javascript_shows_the_check(tmp_path: Path) -> None:
    async with FakeTelegram() as fake, running(fake, tmp_path / "data", **SETTINGS) as app:
        url = f"http://127.0.0.1:{app.settings.port}/s/you-said"
        async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as session:
            person = WebPerson(session, url)
            await person.to_text_question()
            turn = person.waiting["turn"]  # type: ignore[index]
            async with session.post(url, data={"turn": str(turn), "text": "i get bullied every day",
                                               "do": "send"}) as response:
                page = await response.text()
            ok = re.search(r'value="(care:ok:6:[0-9a-f]{12})"', page)  # with the anonymous alert's reference
            assert "Are you OK?" in page and ok is not None
            assert "hear what changed" not in page  # not until they choose to carry on
            async with session.post(url, data={"do": ok[1]}) as response:
                page = await response.text()
            assert "hear what changed" in page
        assert audit(app, "safeguarding.alert")[0]["category"] == "bullying"


# --- Slack: the alert in the lead's private channel, and a Slack respondent's clear yes ------------------------------

LEAD_CHANNEL = "C0SAFEGUARD"


def care_buttons(message: dict[str, Any]) -> dict[str, str]:
    return {e["text"]["text"]: e["value"] for block in message.get("blocks", []) if block["type"] == "actions"
            for e in block["elements"]}


async def test_slack_alerts_the_lead_channel_and_records_the_acknowledgement(tmp_path: Path,
                                                                            caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    young = "U0YOUNG1"
    async with FakeSlack() as fake:
        env = {"SURVEYBOT_DATA_DIR": str(tmp_path), "SURVEYBOT_PEPPER": "p" * 48, "SLACK_BOT_TOKEN": "xoxb-test",
               "SLACK_API_URL": fake.api_url, "SLACK_SIGNING_SECRET": "slack-secret",
               "SURVEYBOT_SAFEGUARDING_SLACK_CHANNEL": LEAD_CHANNEL}
        app = await asyncio.to_thread(build, Settings.from_env(env))
        channels = make_channels(app)
        server, stop = HttpServer("127.0.0.1", 0), asyncio.Event()
        ready = asyncio.Event()
        task = asyncio.create_task(serve(app, channels, stop, server, ready=lambda _: ready.set()))
        try:
            await asyncio.wait_for(ready.wait(), 10)
            url, signer = f"{server.base_url}/slack/events", SlackSigner("slack-secret")
            dm = fake.dm_channel(young)
            await signer.post_event(url, im_message(young, "ppl keep threatening me online qq9", dm))
            ask = await next_text(fake, dm, msg.CARE_ASK)
            alert = await fake.next_message(LEAD_CHANNEL)
            assert "bullying" in alert["text"] and young not in alert["text"] and "qq9" not in alert["text"]
            await signer.post_block_action(url, young, dm, ask["ts"], care_buttons(ask)[msg.CARE_ADULT],
                                           care_buttons(ask)[msg.CARE_ADULT], message=ask)
            consent = await next_text(fake, dm, msg.CARE_CONSENT.format(who=msg.CARE_WHO))
            checked = next(m for m in fake.messages_in(dm) if m["ts"] == ask["ts"])
            assert checked["text"] == msg.CARE_ASK and not care_buttons(checked)  # pressed: its buttons are gone
            yes = care_buttons(consent)[msg.CARE_YES]
            await signer.post_block_action(url, young, dm, consent["ts"], yes, yes)
            named = await fake.next_message(LEAD_CHANNEL)
            assert f"<@{young}>" in named["text"] and "agreed to be contacted" in named["text"]
            # Acknowledge, pressed in the lead's channel (a press anywhere else is ignored)
            ack = care_buttons(alert)[msg.ALERT_ACK]
            await signer.post_block_action(url, young, dm, alert["ts"], ack, ack, message=alert)
            await signer.post_block_action(url, "U0LEAD", LEAD_CHANNEL, alert["ts"], ack, ack, message=alert)
            await fake.wait_for(lambda c: c.method == "chat.update" and c.params.get("channel") == LEAD_CHANNEL)
            assert "Acknowledged on" in fake.messages_in(LEAD_CHANNEL)[0]["text"]
            acked = audit(app, "safeguarding.acknowledged")
            raised = audit(app, "safeguarding.alert")
            assert len(raised) == 2 and raised[0]["alert"] == raised[1]["alert"]  # one case, one reference
            assert care_buttons(named)[msg.ALERT_ACK] == ack and "same young person" in named["text"]
            assert acked == [{"alert": raised[0]["alert"], "named": True}]  # one press acknowledged both
            stored_text = everything_stored(app)
        finally:
            stop.set()
            await asyncio.wait_for(task, 10)
            app.engine.dispose()
    assert "qq9" not in stored_text and young not in stored_text
    assert "qq9" not in caplog.text and young not in caplog.text


async def next_text(fake: FakeSlack, channel: str, wanted: str) -> dict[str, Any]:
    while True:
        message = await fake.next_message(channel, timeout=10)
        if message.get("text") == wanted:
            return message
