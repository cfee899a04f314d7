""""You said, we did" end to end: a young people's campaign on the fake Telegram Bot API, feedback through the survey
and as free messages, the business unit theming and replying in chat, approval by a second person with the youth
participation lead role, the reply sent only to those who completed the round, reactions counted once, and the
report and board showing the counts. On SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import text

from bot.app import App, build, make_channels, serve
from bot.channels.pacing import Pacer
from bot.channels.port import Address
from bot.config import Settings
from bot.engine import conversation as engine
from bot.engine import messages as msg
from bot.reporting import board as pages
from bot.reporting import html
from bot.reporting.report import make_report
from bot.services.audit import verify
from bot.services.broadcast import Broadcaster
from bot.services.policy import Policy
from bot.services.retention import purge
from bot.services.roles import Role, Roles
from bot.services.service import SurveyService
from bot.services.yousaid import YouSaid, read_board
from storage import campaigns as store_campaigns
from storage import rounds
from storage import yousaid as store_yousaid
from storage.models import Campaign
from storage.unit_of_work import Store

from .conftest import Clock
from .fakes.telegram_api import FakeTelegram
from .test_telegram import PEPPER, free_port, next_question

BOT = "123456789"
YOUNG = [101, 102, 103, 104]  # complete the survey
LATE = 105  # invited, never completes
OUTSIDER = 300  # in no young people's round
WRITER, ADMIN_ONLY, LEAD = 900, 901, 902
SAID = {
    101: "Cheaper buses to get to college. Ring me on 07700 900123",
    102: "Bus passes cost too much",
    103: "The buses stop too early at night",
    104: "More places to meet friends",
}


def person(user: int) -> Address:
    return Address("telegram", BOT, str(user))


@asynccontextmanager
async def bot(fake: FakeTelegram, database_url: str, data: Path, clock: Clock) -> AsyncIterator[App]:
    env = {"SURVEYBOT_DATA_DIR": str(data), "SURVEYBOT_PEPPER": PEPPER, "SURVEYBOT_PORT": str(free_port()),
           "TELEGRAM_BOT_TOKEN": fake.token, "TELEGRAM_API_URL": fake.base_url, "DATABASE_URL": database_url,
           "SURVEYBOT_MIN_GROUP_YOUNG": "3", "SURVEYBOT_MIN_GROUP_TEXT": "3"}
    app = await asyncio.to_thread(build, Settings.from_env(env), clock)
    channels = make_channels(app)
    for channel in channels:
        channel.pacer = Pacer(overall=10_000, per_chat=10_000)  # type: ignore[attr-defined]
    stop = asyncio.Event()
    since = len(fake.calls)
    task = asyncio.create_task(serve(app, channels, stop))
    await fake.wait_for(lambda c: c.method == "getUpdates", since=since)
    try:
        yield app
    finally:
        stop.set()
        await asyncio.wait_for(task, 10)
        app.engine.dispose()


async def said_to(fake: FakeTelegram, user: int, words: str) -> str:
    """Type something to the bot and return its next message's text."""
    before = len(fake.messages_to(user))
    fake.user_sends_text(user, words)
    await fake.wait_until(lambda: len(fake.messages_to(user)) > before, timeout=10)
    return str(fake.messages_to(user)[before].get("text", ""))


async def take_survey(fake: FakeTelegram, app: App, user: int) -> None:
    """Press Start on the invitation, agree, and answer: the change question with this person's words."""
    invitation = next(m for m in fake.messages_to(user) if "Start" in json.dumps(m.get("reply_markup", {})))
    fake.user_clicks(user, invitation, msg.START)
    while (message := await fake.next_message(user, timeout=10)).get("text") != msg.CONSENT_QUESTION:
        pass
    fake.user_clicks(user, message, msg.CONSENT_YES)
    survey = app.catalogue.latest("you-said")
    while (question := await next_question(fake, user, survey.thanks)) is not None:
        if "change one thing" in question["text"]:
            fake.user_sends_text(user, SAID[user])
        elif "What matters most" in question["text"]:
            fake.user_sends_text(user, "1")
        else:
            rows = question["reply_markup"]["inline_keyboard"]
            fake.user_presses(user, question, rows[0][0]["callback_data"])


def count(app: App, sql: str) -> int:
    with app.engine.connect() as connection:
        return int(connection.execute(text(sql)).scalar_one())


def reaction_message(fake: FakeTelegram, user: int) -> dict[str, Any] | None:
    return next((m for m in fake.messages_to(user) if "We did:" in m.get("text", "")), None)


async def test_the_whole_loop_from_feedback_to_board(database_url: str, tmp_path: Path, clock: Clock) -> None:
    async with FakeTelegram() as fake, bot(fake, database_url, tmp_path / "data", clock) as app:
        keys = app.keys
        with app.store.unit() as uow:
            for user in [*YOUNG, LATE]:
                store_campaigns.upsert_contact(uow, keys.contact_lookup(person(user)), "telegram",
                                               keys.seal(person(user)), ["youth"], clock.now.date())
            latest = app.catalogue.latest("you-said").version
            uow.session.add(Campaign(code="ambassadors", survey_id="you-said", version=latest, tags='["youth"]',
                                     opens_at=(clock.now - timedelta(minutes=1)).astimezone(UTC),
                                     closes_at=(clock.now + timedelta(days=7)).astimezone(UTC),
                                     created_on=clock.now.date()))
        roles = Roles(app.store, keys, clock)
        roles.grant(Role.ADMIN, person(WRITER))
        roles.grant(Role.YOUTH_LEAD, person(WRITER))  # holds both roles, still may not approve their own reply
        roles.grant(Role.ADMIN, person(ADMIN_ONLY))
        roles.grant(Role.YOUTH_LEAD, person(LEAD))
        broadcaster = Broadcaster(app.store, keys, app.catalogue, clock)
        channel = next(c for c in make_channels(app) if c.name == "telegram")
        channel.pacer = Pacer(overall=10_000, per_chat=10_000)  # type: ignore[attr-defined]
        try:
            broadcaster.run_due()
            await broadcaster.drain(channel, app.service.call)  # type: ignore[arg-type]
            await fake.wait_until(lambda: all(fake.messages_to(u) for u in [*YOUNG, LATE]))

            # you said: four complete the survey, one of them and the late one also send a free message
            for user in YOUNG:
                await take_survey(fake, app, user)
            assert await said_to(fake, 101, "The park needs lights") == msg.YOUSAID_THANKS
            assert await said_to(fake, LATE, "Buses are always late") == msg.YOUSAID_THANKS
            assert await said_to(fake, OUTSIDER, "hello") == msg.NO_SURVEY_OPEN  # in no youth round: not stored
            assert count(app, "SELECT count(*) FROM feedback_item") == 6
            with app.engine.connect() as connection:
                stored = [r[0] for r in connection.execute(text("SELECT text FROM feedback_item"))]
                columns = list(connection.execute(text("SELECT * FROM feedback_item")).keys())
            assert any("[phone]" in s for s in stored) and not any("07700" in s for s in stored)
            assert set(columns) == {"id", "survey_id", "wave", "source", "text", "received_on", "response_id",
                                    "theme_id"}

            # review in chat: list, theme, reply
            assert (await said_to(fake, OUTSIDER, "/yousaid list")).startswith("Sorry")
            listing = await said_to(fake, WRITER, "/yousaid list")
            ids = {line.split()[0]: line for line in listing.splitlines()}
            buses = ",".join(i for i, line in ids.items() if "bus" in line.lower())
            others = ",".join(i for i, line in ids.items() if "bus" not in line.lower())
            assert len(buses.split(",")) == 4 and len(others.split(",")) == 2
            assert "now has 4 item(s)" in await said_to(fake, WRITER, f"/yousaid theme {buses} Getting around")
            assert "now has 2 item(s)" in await said_to(fake, WRITER, f"/yousaid theme {others} Places to go")
            themes = re.findall(r"Theme (\d+)", "\n".join(m.get("text", "") for m in fake.messages_to(WRITER)))
            written = await said_to(fake, WRITER, f"/yousaid reply {themes[0]} done We started a bus pass for "
                                    "everyone under 18.")
            reply = re.search(r"Reply (\d+) written", written)
            assert reply is not None, written
            number = reply[1]

            # approval: not by the writer, not without the role; the lead approves; then it can be sent
            assert "not approved yet" in await said_to(fake, WRITER, f"/yousaid send {number}")
            assert "someone other than" in await said_to(fake, WRITER, f"/yousaid approve {number}")
            assert "youth-participation-lead role" in await said_to(fake, ADMIN_ONLY, f"/yousaid approve {number}")
            assert "approved" in await said_to(fake, LEAD, f"/yousaid approve {number}")
            assert "will go out" in await said_to(fake, WRITER, f"/yousaid send {number}")
            assert count(app, "SELECT count(*) FROM audit_record WHERE action = 'yousaid.refused'") >= 3

            # we did: only the four who completed get it, through the outbox
            broadcaster.run_due()  # (the running bot's own sweep may have planned it already: once either way)
            assert broadcaster.run_due() == []
            assert count(app, f"SELECT count(*) FROM outbox WHERE step = 'wedid-{number}'") == 4
            assert count(app, f"SELECT count(*) FROM campaign_step WHERE step = 'wedid-{number}'") == 1
            await broadcaster.drain(channel, app.service.call)  # type: ignore[arg-type]
            await fake.wait_until(lambda: all(reaction_message(fake, u) for u in YOUNG))
            assert reaction_message(fake, LATE) is None and reaction_message(fake, OUTSIDER) is None
            got = reaction_message(fake, 101)
            assert got is not None and "Getting around" in got["text"] and msg.YOUSAID_STATUS["done"] in got["text"]

            # reactions: a double tap counts once, a change of mind replaces, "tell me more" gets a kind reply
            def press(user: int, label: str) -> dict[str, Any]:
                found = reaction_message(fake, user)
                assert found is not None
                return fake.user_clicks(user, found, next(b for b in labels(user) if b.removeprefix("✓ ") == label))

            def labels(user: int) -> list[str]:
                found = reaction_message(fake, user)
                assert found is not None
                return [b["text"] for row in found["reply_markup"]["inline_keyboard"] for b in row]

            answered = len(fake.callback_answers)
            press(101, "This helps")
            press(101, "This helps")
            press(102, "Not really")
            update = press(104, "This helps")
            await fake.wait_until(lambda: len(fake.callback_answers) >= answered + 4)
            press(102, "This helps")
            fake.redeliver(update)
            press(103, "Tell me more")
            await fake.wait_until(lambda: any(m.get("text") == msg.YOUSAID_TELL_ME_MORE
                                              for m in fake.messages_to(103)))
            await fake.wait_until(lambda: not fake._open_queries)
            # each person sees their own choice ticked
            await fake.wait_until(lambda: labels(103) == ["This helps", "Not really", "✓ Tell me more"])
            since = len(fake.calls)
            press(103, "Tell me more")  # pressed twice: the kind reply comes once
            await fake.wait_for(lambda c: c.method == "editMessageReplyMarkup", since=since)  # (after any reply)
            assert labels(101) == ["✓ This helps", "Not really", "Tell me more"]
            assert labels(102) == ["✓ This helps", "Not really", "Tell me more"]  # changed their mind
            assert [m.get("text") for m in fake.messages_to(103)].count(msg.YOUSAID_TELL_ME_MORE) == 1
            yousaid = YouSaid(app.store, keys, app.catalogue, clock, app.settings.privacy)
            assert yousaid.react(person(LATE), int(number), "helps") == msg.YOUSAID_NOT_FOR_YOU
            with app.engine.connect() as connection:
                rows = dict(connection.execute(text("SELECT kind, count(*) FROM we_did_reaction GROUP BY kind")).all())
            assert rows == {"helps": 3, "more": 1}
        finally:
            await channel.bot.session.close()

        # the report and the board show the counts (k = 3 here: 1 is "fewer than 3")
        made = make_report(app.store, app.settings.privacy, app.published_versions("you-said"), "you-said", None,
                           None, b"k", clock.now.date())
        page = html.render(made)
        section = page[page.index('id="we-did"'):]
        assert "Getting around" in section and "<td>3</td>" in section and "fewer than 3" in section
        board = yousaid.board("you-said", 1)
        published = pages.html(board)
        assert "We started a bus pass for everyone under 18." in published
        assert "Bus passes cost too much" in published  # 4 items >= k: quotes shown, scrubbed
        assert "[phone]" in published and "07700" not in published
        assert "The park needs lights" not in published  # 2 items < k: no quotes
        assert "<script" not in published and "http" not in published.replace('lang="en-GB"', "")
        md = pages.markdown(board)
        assert "| This helps | 3 |" in md and "| Tell me more | fewer than 3 |" in md
        verdict = verify(app.store, keys)  # the chain holds every step, with no words or ids in it
        assert verdict.ok, verdict.problems
        with app.engine.connect() as connection:
            subjects = " ".join(r[0] for r in connection.execute(text("SELECT subject FROM audit_record")))
        assert "bus" not in subjects.lower() and not re.search(rf"\b({WRITER}|{LEAD}|{YOUNG[0]})\b", subjects)


async def test_erasing_survey_answers_removes_their_feedback_too(database_url: str, tmp_path: Path,
                                                                  clock: Clock) -> None:
    async with FakeTelegram() as fake, bot(fake, database_url, tmp_path / "data", clock) as app:
        service = app.service
        who = person(101)
        outcome = service.begin(who, "you-said")
        for answer in ("yes", "3", "3", "1", "1", "Buses please", "yes"):
            outcome = service.handle(who, engine.Reply(answer))
        assert any(isinstance(e, engine.Finish) and e.completed for e in outcome.effects)
        assert count(app, "SELECT count(*) FROM feedback_item WHERE source = 'survey'") == 1
        service.erase(who)
        assert count(app, "SELECT count(*) FROM feedback_item") == 0


async def test_on_slack_a_dm_is_feedback_and_the_reply_carries_reaction_buttons(tmp_path: Path,
                                                                                   clock: Clock) -> None:
    from tests.fakes.slack_api import FakeSlack
    from tests.fakes.slack_respondent import elements, section_text
    from tests.test_slack_channel import running_bot

    async with FakeSlack() as fake, running_bot(fake, tmp_path, "http", clock=clock) as slack:
        app = slack.app
        young = slack.person("U0YOUNG1", seed=3)
        await young.complete("you-said", app.catalogue.latest("you-said").thanks)
        with app.store.unit() as uow:
            latest = app.catalogue.latest("you-said").version
            uow.session.add(Campaign(code="ambassadors", survey_id="you-said", version=latest, tags="[]",
                                     opens_at=(clock.now - timedelta(days=1)).astimezone(UTC),
                                     closes_at=(clock.now + timedelta(days=7)).astimezone(UTC),
                                     created_on=clock.now.date()))
        await young.say("More youth clubs please")
        while msg.YOUSAID_THANKS not in section_text(await young.next_message()):
            pass
        roles = Roles(app.store, app.keys, clock)
        writer, lead = Address("console", "local", "alice"), Address("console", "local", "lee")
        roles.grant(Role.ADMIN, writer)
        roles.grant(Role.YOUTH_LEAD, lead)
        yousaid = YouSaid(app.store, app.keys, app.catalogue, clock, app.settings.privacy)
        items = [i.id for i in yousaid.items()]
        assert any(i.text == "More youth clubs please" and i.source == "message" for i in yousaid.items())
        theme, _ = yousaid.theme(writer, "Things to do", items)
        reply = yousaid.reply(writer, theme, "planned", "We will open a youth club on Fridays.")
        yousaid.approve(lead, reply)
        yousaid.send(writer, reply)
        broadcaster = Broadcaster(app.store, app.keys, app.catalogue, clock)
        broadcaster.run_due()
        await broadcaster.drain(slack.channel, app.service.call)
        while "We did:" not in section_text(message := await young.next_message()):
            pass
        buttons = {e["action_id"]: (e, b) for b, e in elements(message)}
        assert set(buttons) == {f"wd:{reply}:helps", f"wd:{reply}:not-really", f"wd:{reply}:more"}
        for action in (f"wd:{reply}:helps", f"wd:{reply}:helps", f"wd:{reply}:more"):
            element, block = buttons[action]
            await young.press(message, element, block)
            await young.next_message()
        await fake.wait_for(lambda c: c.method == "chat.postMessage"
                            and msg.YOUSAID_TELL_ME_MORE in json.dumps(c.params))

        def shown() -> list[tuple[str, str | None]]:  # the reply's buttons as the young person now sees them
            now = next(m for m in fake.messages_in("U0YOUNG1") if m["ts"] == message["ts"])
            return [(e["text"]["text"], e.get("style")) for _, e in elements(now)]

        ticked = [("This helps", None), ("Not really", None), ("✓ Tell me more", "primary")]
        for _ in range(100):  # the tick is drawn just after the reply is posted
            if shown() == ticked:
                break
            await asyncio.sleep(0.05)
        assert shown() == ticked
        with app.engine.connect() as connection:
            rows = connection.execute(text("SELECT kind FROM we_did_reaction")).all()
        assert [r[0] for r in rows] == ["more"]  # one person, one reaction per reply: the latest


def test_feedback_words_are_blanked_with_the_rounds_free_text(service: SurveyService, store: Store,
                                                              clock: Clock) -> None:
    who = person(101)
    service.begin(who, "you-said")  # in the round now (started), so a free message is feedback
    service.handle(who, engine.Stop())
    assert service.feedback(who, "Buses please").effects[0].text == msg.YOUSAID_THANKS  # type: ignore[union-attr]
    assert service.feedback(person(999), "hi").effects[0].text == msg.NO_SURVEY_OPEN  # type: ignore[union-attr]
    with store.unit() as uow:
        rounds.set_closes_on(uow, "you-said", 1, clock.now.date(), clock.now.date())
    assert purge(store, service.policy, clock.now + timedelta(days=89)).feedback == 0
    report = purge(store, service.policy, clock.now + timedelta(days=90))
    assert report.feedback == 1 and "1 feedback item(s) blanked" in report.summary()
    with store.unit() as uow:
        assert [i.text for i in store_yousaid.items(uow)] == [""]


def _themed_round(store: Store, today: Any, themes: dict[str, list[str]]) -> list[int]:
    """Feedback items of you-said wave 1 put under themes directly; returns the theme ids."""
    ids = []
    with store.unit() as uow:
        for name, words in themes.items():
            items = [store_yousaid.add_item(uow, "you-said", 1, "message", w, today).id or 0 for w in words]
            theme = store_yousaid.ensure_theme(uow, "you-said", 1, name, today)
            store_yousaid.set_theme(uow, items, theme.id or 0)
            ids.append(theme.id or 0)
    return ids


def test_the_board_quotes_each_young_persons_words_once(store: Store, clock: Clock) -> None:
    said = {"Buses": [f"bus {n}" for n in range(4)], "Parks": [f"park {n}" for n in range(4)],
            "School": [f"school {n}" for n in range(3)]}
    _themed_round(store, clock.now.date(), said)
    board = read_board(store, Policy(min_group_young=3, min_group_text=3), "you-said", 1, clock.now.date())
    assert [t.quotes for t in board.themes] == [tuple(words) for words in said.values()]
    page = pages.html(board)
    assert all(page.count(f"<blockquote>{w}</blockquote>") == 1 for words in said.values() for w in words)


def test_the_board_hides_zeros_beside_a_small_count_and_names_no_survey_ids(store: Store, clock: Clock) -> None:
    """Four young people reacted, all "This helps": with k = 10 a 0 beside "fewer than 10" would tell readers what
    all four chose, so every reaction count is hidden. Without --survey the board reads plainly."""
    (theme,) = _themed_round(store, clock.now.date(), {"Buses": [f"bus {n}" for n in range(12)]})
    with store.unit() as uow:
        reply = store_yousaid.add_reply(uow, theme, "Cheaper passes", "done", "writer", clock.now.date())
        reply.approved_by = "lead"
        for n in range(4):
            store_yousaid.react(uow, reply.id or 0, f"voter {n}", "helps", clock.now.date())
    board = read_board(store, Policy(), None, None, clock.now.date())
    for page in (pages.html(board), pages.markdown(board)):
        assert "| This helps | fewer than 10 |" in page or "<td>fewer than 10</td>" in page
        assert "| Not really | 0 |" not in page and "<td>0</td>" not in page
        assert "all surveys" not in page and "every round" not in page and "you-said" not in page
        assert "12 things were said" in page
