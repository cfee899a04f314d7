"""Crash runs (issue 11, point 1): one real `surveybot run` under scripted load, killed with SIGKILL at seeded random
moments and restarted each time. Used by tests/test_crash.py (a few kills, in CI) and bench/crash.py (50 people,
20 kills).

- **Answers.** People answer through the fake Bot API in webhook mode. A webhook request that failed because the bot
  was dead is delivered again with the same update_id once it is back, as Telegram does. A person who hears nothing
  for a while sends `/start CODE` again, as a person would; the bot then carries on where they were.
  An answer is *acknowledged* once the bot has sent the next question or the thanks after it. Afterwards: no
  acknowledged answer was lost (the bot never asked a question again once it had moved past it), none is stored
  twice, everyone finished, every stored answer is what the person gave, and `surveybot audit verify` passes.
- **A broadcast.** A campaign to many contacts is killed mid-send, again and again. Afterwards every contact was
  invited at least once, and the duplicates (a message sent just before a kill, not yet marked) are counted: at most
  one per kill. The one message leased by a dead process waits for its lease (60 s) to run out; the short version in
  CI moves those leases on in the database instead of waiting, and says so.
"""

from __future__ import annotations

import asyncio
import json
import random
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import aiohttp
from sqlalchemy import Engine, text

from bot.app import build
from bot.channels.port import Address
from bot.cli import parser
from bot.config import Settings
from bot.engine import messages as msg
from bot.services.privacy import Keys
from bot.services.scrubbing import Scrubber

from .fakes.telegram_api import FakeTelegram
from .processes import (
    PEPPER,
    QUESTION,
    SURVEY_ID,
    THANKS,
    WEBHOOK_PATH,
    BotProcess,
    bot_env,
    free_port,
    invitations,
    surveybot,
)

QUESTION_IDS = ("agency", "aware", "comment")
LONDON = ZoneInfo("Europe/London")


class Harness:
    """The one bot process, its restarts, and Telegram's redelivery of what failed while it was down."""

    def __init__(self, folder: Path, database_url: str, fake: FakeTelegram, **settings: str) -> None:
        port = free_port()
        self.fake = fake
        settings = {"SURVEYBOT_AUTO_MIGRATE": "false", **settings}  # migrated once by `surveybot db upgrade`
        self.env = bot_env(folder, database_url, fake, f"http://127.0.0.1:{port}{WEBHOOK_PATH}", **settings)
        self.bot = BotProcess("crash", self.env, folder, port=port)
        self.up = asyncio.Event()
        self.kills = 0
        self.restart_seconds: list[float] = []
        self._retrying: asyncio.Task[None] | None = None

    @classmethod
    async def migrated(cls, folder: Path, database_url: str, fake: FakeTelegram) -> Harness:
        """A harness on a database brought to the newest schema once, as an operator would before starting."""
        harness = cls(folder, database_url, fake)
        upgraded = await asyncio.to_thread(surveybot, harness.env, "db", "upgrade")
        assert upgraded.returncode == 0, upgraded.stderr
        return harness

    async def start(self, http: aiohttp.ClientSession) -> None:
        started = time.monotonic()
        self.bot.start()
        await self.bot.wait_ready(http, timeout=120)
        self.restart_seconds.append(time.monotonic() - started)
        self.up.set()
        if self._retrying is None:
            self._retrying = asyncio.create_task(self._redeliver())

    async def kill_and_restart(self, http: aiohttp.ClientSession) -> None:
        self.up.clear()
        self.bot.kill()
        self.kills += 1
        await self.start(http)

    async def _redeliver(self) -> None:
        """Telegram retries a webhook request that failed; the fake does it when asked, here whenever the bot is up."""
        while True:
            await self.up.wait()
            await self.fake.retry_failed_deliveries()
            await asyncio.sleep(0.2)

    async def close(self) -> int | None:
        if self._retrying is not None:
            self._retrying.cancel()
            await asyncio.gather(self._retrying, return_exceptions=True)
        return await asyncio.to_thread(self.bot.stop)


async def kill_at_random(harness: Harness, http: aiohttp.ClientSession, kills: int, rng: random.Random,
                         busy: Callable[[], bool], least: float = 0.2, most: float = 1.5) -> None:
    """Kill and restart `kills` times, each at a random moment after the bot is up again, while there is work."""
    for _ in range(kills):
        await asyncio.sleep(rng.uniform(least, most))
        if not busy():
            return
        await harness.kill_and_restart(http)


@dataclass
class Person:
    """A scripted respondent who keeps going through crashes, and notes what the bot acknowledged."""

    fake: FakeTelegram
    harness: Harness
    user_id: int
    stall: float = 4.0
    given: dict[int, Any] = field(default_factory=dict)  # question number -> what they answered
    acknowledged: int = 0  # the highest question number the bot moved past
    regressions: list[str] = field(default_factory=list)  # acknowledged answers asked again: lost
    restarts_asked: int = 0
    finished: bool = False

    def comment(self) -> str:
        return f"crash test words {self.user_id % 997} kiwi"

    async def run(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        self.fake.user_sends_text(self.user_id, f"/start {SURVEY_ID}")
        waiting_since = time.monotonic()
        while not self.finished:
            if time.monotonic() > deadline:
                raise AssertionError(f"respondent {self.user_id} did not finish: {self.fake.transcript(self.user_id)}")
            try:
                message = await self.fake.next_message(self.user_id, timeout=1.0)
            except TimeoutError:
                if self.harness.up.is_set() and time.monotonic() - waiting_since > self.stall:
                    self.fake.user_sends_text(self.user_id, f"/start {SURVEY_ID}")  # "hello? are you there?"
                    self.restarts_asked += 1
                    waiting_since = time.monotonic()
                continue
            waiting_since = time.monotonic()
            self.read(message)

    def read(self, message: dict[str, Any]) -> None:
        words = (message.get("text") or "").strip()
        asked = QUESTION.match(words)
        if words == msg.CONSENT_QUESTION:
            self.press(message, lambda b: b["text"] == msg.CONSENT_YES)
        elif asked:
            number = int(asked.group(1))
            self.moved_to(number)
            self.answer(message, number)
        elif words in (THANKS, msg.ALREADY_FINISHED.strip()):
            self.moved_to(len(QUESTION_IDS) + 1)
            self.finished = True

    def moved_to(self, number: int) -> None:
        """The bot asks `number` (or thanks, past the last): every answer before it was acknowledged."""
        if number <= self.acknowledged:
            self.regressions.append(f"asked question {number} again after moving past it")
        self.acknowledged = max(self.acknowledged, number - 1)

    def answer(self, question: dict[str, Any], number: int) -> None:
        buttons = [b for row in (question.get("reply_markup") or {}).get("inline_keyboard", []) for b in row
                   if re.match(r"^a:\d+:p:", b.get("callback_data", ""))]
        if not buttons:
            self.given[number] = self.comment()
            self.fake.user_sends_text(self.user_id, self.comment())
            return
        chosen = buttons[(self.user_id + number) % len(buttons)]
        self.given[number] = chosen["text"]
        self.fake.user_presses(self.user_id, question, chosen["callback_data"], check=False)

    def press(self, message: dict[str, Any], which: Callable[[dict[str, Any]], bool]) -> None:
        rows = (message.get("reply_markup") or {}).get("inline_keyboard", [])
        button = next((b for row in rows for b in row if which(b)), None)
        if button is not None:  # an old copy without its buttons: the next message will do
            self.fake.user_presses(self.user_id, message, button["callback_data"], check=False)


@dataclass
class AnswerRun:
    respondents: int
    kills: int
    regressions: list[str]
    stored: int
    duplicates: int
    wrong: list[str]
    restarts_asked: int
    seconds: float
    restart_seconds: list[float]
    audit: str


def stored_answers(env: dict[str, str], people: list[Person], bot_id: str) -> tuple[int, int, list[str]]:
    """(answers stored, (response, question) pairs stored more than once, answers that differ from what was given)"""
    app = build(Settings.from_env(env), migrate=False)
    keys = Keys(PEPPER.encode())
    scrub = Scrubber()
    wrong: list[str] = []
    try:
        with app.engine.connect() as connection:
            salt = connection.execute(text("SELECT salt FROM survey_key WHERE survey_id = :s AND wave = 1"),
                                      {"s": SURVEY_ID}).scalar()
            total = int(connection.execute(text("SELECT count(*) FROM answer")).scalar() or 0)
            twice = int(connection.execute(text("SELECT count(*) FROM (SELECT response_id, question_id FROM answer "
                                                "GROUP BY response_id, question_id HAVING count(*) > 1) t")).scalar()
                        or 0)
            for person in people:
                pseudonym = keys.respondent(Address("telegram", bot_id, str(person.user_id)), SURVEY_ID, 1,
                                            bytes(salt))
                responses = connection.execute(text("SELECT id, completed FROM response WHERE respondent = :r"),
                                               {"r": pseudonym}).all()
                if len(responses) != 1 or not responses[0][1]:
                    wrong.append(f"{person.user_id}: responses {responses}")
                    continue
                answers = dict(connection.execute(text("SELECT question_id, value FROM answer WHERE "
                                                       "response_id = :i"), {"i": responses[0][0]}).all())
                for number, question in enumerate(QUESTION_IDS, start=1):
                    expected = person.given.get(number)
                    if question == "comment" and expected is not None:
                        expected = scrub.scrub(expected).text
                    got = json.loads(answers[question]) if question in answers else None
                    if got != expected:
                        wrong.append(f"{person.user_id} {question}: stored {got!r}, gave {expected!r}")
    finally:
        app.engine.dispose()
    return total, twice, wrong


async def answers_under_crashes(folder: Path, database_url: str, respondents: int, kills: int, seed: int,
                                timeout: float = 600, stall: float = 4.0) -> AnswerRun:
    rng = random.Random(seed)
    started = time.monotonic()
    async with FakeTelegram(parallel_webhook=True) as fake, aiohttp.ClientSession() as http:
        harness = await Harness.migrated(folder, database_url, fake)
        try:
            await harness.start(http)
            people = [Person(fake, harness, 7_400_000 + i, stall=stall) for i in range(respondents)]
            answering = asyncio.gather(*(p.run(timeout) for p in people))
            killing = asyncio.create_task(kill_at_random(harness, http, kills, rng,
                                                         lambda: not all(p.finished for p in people)))
            await answering
            await killing
        finally:
            code = await harness.close()
        assert code == 0, "the bot stops cleanly on SIGTERM after all that"
        total, twice, wrong = await asyncio.to_thread(stored_answers, harness.env, people, fake.token.split(":")[0])
        audit = await asyncio.to_thread(surveybot, harness.env, "audit", "verify")
        assert audit.returncode == 0, audit.stderr
        return AnswerRun(respondents, harness.kills, [f"{p.user_id}: {r}" for p in people for r in p.regressions],
                         total, twice, wrong, sum(p.restarts_asked for p in people), time.monotonic() - started,
                         harness.restart_seconds, audit.stdout.strip())


@dataclass
class BroadcastRun:
    contacts: int
    kills: int
    missing: int
    duplicates: int
    sent: int
    leases_moved_on: int
    seconds: float
    audit: str


async def broadcast_under_crashes(folder: Path, database_url: str, contacts: int, kills: int, seed: int,
                                  wait_for_leases: bool, timeout: float = 900) -> BroadcastRun:
    """A campaign to `contacts` people, killed `kills` times mid-send. With wait_for_leases False, a dead process's
    lease is moved on in the database (as if its 60 seconds had passed) rather than waited for."""
    rng = random.Random(seed)
    started = time.monotonic()
    async with FakeTelegram(parallel_webhook=True) as fake, aiohttp.ClientSession() as http:
        harness = await Harness.migrated(folder, database_url, fake)
        bot_id = fake.token.split(":")[0]
        users = [7_500_000 + i for i in range(contacts)]
        csv = folder / "contacts.csv"
        csv.write_text("who,tags\n" + "".join(f"telegram:{bot_id}:{u},all\n" for u in users))
        app = await asyncio.to_thread(build, Settings.from_env(harness.env), None, False)
        moved = 0
        try:
            await asyncio.to_thread(_command, app, "contacts", "import", str(csv))
            await harness.start(http)
            now = datetime.now(LONDON)
            await asyncio.to_thread(_command, app, "campaign", "create", "crash", "--survey", SURVEY_ID, "--opens",
                                    _moment(now - timedelta(minutes=1)), "--closes", _moment(now + timedelta(days=7)),
                                    "--reminders", "", "--quiet-hours", "none")

            async def busy_sending() -> bool:
                return await asyncio.to_thread(outbox_left, app.engine) != 0

            for _ in range(kills):
                await asyncio.sleep(rng.uniform(0.3, 1.5))
                if not await busy_sending():
                    break
                harness.up.clear()
                harness.bot.kill()
                harness.kills += 1
                if not wait_for_leases:
                    moved += await asyncio.to_thread(expire_leases, app.engine)
                await harness.start(http)
            deadline = time.monotonic() + timeout
            while await busy_sending():
                assert time.monotonic() < deadline, "the broadcast did not finish"
                await asyncio.sleep(0.5)
        finally:
            code = await harness.close()
            app.engine.dispose()
        assert code == 0
        counts = [invitations(fake, u, "crash") for u in users]
        audit = await asyncio.to_thread(surveybot, harness.env, "audit", "verify")
        assert audit.returncode == 0, audit.stderr
        return BroadcastRun(contacts, harness.kills, sum(1 for c in counts if c == 0),
                            sum(c - 1 for c in counts if c > 1), sum(counts), moved, time.monotonic() - started,
                            audit.stdout.strip())


def outbox_left(engine: Engine) -> int:
    """How many outbox messages are still to send; -1 while nothing is planned yet."""
    with engine.connect() as connection:
        planned = connection.execute(text("SELECT count(*) FROM outbox")).scalar()
        left = connection.execute(text("SELECT count(*) FROM outbox WHERE status = 'pending'")).scalar()
    return int(left or 0) if planned else -1


def expire_leases(engine: Engine) -> int:
    """What 60 seconds would do to the dead process's lease: it runs out (the process is dead; nobody else sends)."""
    with engine.begin() as connection:
        return int(connection.execute(text("UPDATE outbox SET claimed_until = NULL WHERE status = 'pending' AND "
                                           "claimed_until IS NOT NULL")).rowcount or 0)


def _command(app: Any, *argv: str) -> None:
    from bot.cli import campaign as campaign_commands

    assert campaign_commands.run(app, parser().parse_args(list(argv))) == 0


def _moment(at: datetime) -> str:
    return at.astimezone(LONDON).strftime("%Y-%m-%d %H:%M")

