"""Real bot processes for the scale-out and crash tests: `surveybot run` subprocesses sharing one database, in Telegram
webhook mode against the fake Bot API, behind a round-robin load balancer of our own on 127.0.0.1.

- `BotProcess`: one `surveybot run`, its logs captured to a file, its /healthz and /metrics read over HTTP, stopped
  with SIGTERM or killed with SIGKILL.
- the round-robin load balancer in front of them is tests/fakes/balancer.py (the scale-out benchmark runs it too).
- `Respondent`: a scripted person in Telegram who starts a survey, agrees, and answers every question, waiting each
  time for the bot's next question (so an answer counts as acknowledged only once the bot has moved on).

The fake Telegram server runs in the test's own event loop (tests/fakes/telegram_api.py), so respondents can wait on
its events rather than sleeping.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import secrets
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp

from bot.engine import messages as msg

from .fakes.balancer import WEBHOOK_PATH as WEBHOOK_PATH  # the bots' webhook, which the balancer fronts
from .fakes.telegram_api import FakeTelegram

REPO = Path(__file__).resolve().parent.parent
SECRET_TOKEN = "webhook-secret-" + "s" * 24
PEPPER = "process-test-pepper-" + "p" * 32
SURVEY_ID = "ops-check"
QUESTIONS = 3
SURVEY = f"""\
id: {SURVEY_ID}
version: 1
title: Operations check
audience: practitioners
intro: Three quick questions to check the bot.
thanks: Thank you, that is everything.
questions:
  - id: agency
    kind: single
    text: Which agency do you work for?
    choices: [Police, Health, Education]
  - id: aware
    kind: yesno
    text: Did you know the policy?
  - id: comment
    kind: text
    text: Anything else you want to tell us?
    max_length: 200
"""
QUESTION = re.compile(r"^\((\d+) of (\d+)\) ")
THANKS = "Thank you, that is everything."


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def surveybot_command() -> list[str]:
    script = Path(sys.executable).parent / "surveybot"
    return [str(script)] if script.exists() else [sys.executable, "-m", "bot.cli"]


def bot_env(folder: Path, database_url: str, fake: FakeTelegram, webhook_url: str, **extra: str) -> dict[str, str]:
    """The settings every process of one deployment shares (each adds its own SURVEYBOT_PORT)."""
    surveys = folder / "surveys"
    surveys.mkdir(parents=True, exist_ok=True)
    (surveys / f"{SURVEY_ID}.yaml").write_text(SURVEY)
    env = {key: value for key, value in os.environ.items() if not key.startswith(("SURVEYBOT_", "TELEGRAM_",
                                                                                    "SLACK_", "DATABASE_URL"))}
    env.update({
        "SURVEYBOT_ENV": "production", "SURVEYBOT_PEPPER": PEPPER, "SURVEYBOT_DATA_DIR": str(folder / "data"),
        "DATABASE_URL": database_url, "SURVEYBOT_SURVEYS_DIR": str(surveys), "SURVEYBOT_DEFAULT_SURVEY": SURVEY_ID,
        "TELEGRAM_BOT_TOKEN": fake.token, "TELEGRAM_API_URL": fake.base_url, "TELEGRAM_WEBHOOK_URL": webhook_url,
        "TELEGRAM_WEBHOOK_SECRET": SECRET_TOKEN, "SURVEYBOT_SWEEP_SECONDS": "1",
        "SURVEYBOT_LEADER_RETRY_SECONDS": "1", "SURVEYBOT_LOG_FORMAT": "json", "SURVEYBOT_LOG_LEVEL": "DEBUG",
        "SURVEYBOT_PUBLIC_URL": "https://surveys.example.org",
    })
    env.update(extra)
    return env


def surveybot(env: dict[str, str], *args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    """A one-off `surveybot` command (db upgrade, audit verify, campaign create...) with the deployment's settings."""
    return subprocess.run([*surveybot_command(), *args], env=env, cwd=Path(env["SURVEYBOT_DATA_DIR"]).parent,
                          capture_output=True, text=True, timeout=timeout)


class BotProcess:
    """One `surveybot run`."""

    def __init__(self, name: str, env: dict[str, str], folder: Path, port: int | None = None) -> None:
        self.name = name
        self.port = port or free_port()
        self.env = {**env, "SURVEYBOT_PORT": str(self.port)}
        self.log_path = folder / f"{name}.log"
        self.out_path = folder / f"{name}.out"
        self.process: subprocess.Popen[bytes] | None = None
        self.starts = 0
        self.kills = 0
        self._terminated = 0  # the start whose process was sent SIGTERM

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        with open(self.log_path, "ab") as log, open(self.out_path, "ab") as out:
            self.process = subprocess.Popen([*surveybot_command(), "run"], env=self.env, cwd=self.log_path.parent,
                                            stdout=out, stderr=log)
        self.starts += 1

    @property
    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    async def wait_ready(self, session: aiohttp.ClientSession, timeout: float = 60) -> None:
        """Until /healthz says every check passes (the database answers, Telegram is connected)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if not self.alive:
                raise AssertionError(f"{self.name} exited with {self.process.returncode if self.process else '?'}:"
                                     f"\n{self.log_path.read_text()[-3000:]}")
            try:
                async with session.get(f"{self.url}/healthz") as response:
                    if response.status == 200:
                        return
            except aiohttp.ClientError:
                pass
            await asyncio.sleep(0.1)
        raise AssertionError(f"{self.name} did not become healthy:\n{self.log_path.read_text()[-3000:]}")

    async def health(self, session: aiohttp.ClientSession) -> dict[str, Any]:
        async with session.get(f"{self.url}/healthz") as response:
            return dict(await response.json())

    async def metrics(self, session: aiohttp.ClientSession) -> dict[str, float]:
        """The /metrics samples as {'name{labels}': value}."""
        async with session.get(f"{self.url}/metrics") as response:
            assert response.status == 200 and response.content_type == "text/plain"
            text = await response.text()
        samples = {}
        for line in text.splitlines():
            if line and not line.startswith("#"):
                name, _, value = line.rpartition(" ")
                samples[name] = float(value)
        return samples

    def kill(self) -> None:
        """SIGKILL: no clean-up of any kind, as when the machine or the OOM killer stops it."""
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(10)
        self.kills += 1

    def stop(self) -> int | None:
        """SIGTERM (unless it has exited already) and wait: its exit status, 0 after a clean stop; None when it did
        not stop in time and had to be killed."""
        if self.process is None:
            return None
        self.terminate()
        try:
            return self.process.wait(20)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(10)
            return None

    def terminate(self) -> None:
        """One SIGTERM, as systemd or compose send: a second during the clean stop would end it the hard way."""
        if self.alive and self.process is not None and self._terminated != self.starts:
            self.process.send_signal(signal.SIGTERM)
            self._terminated = self.starts

    def logs(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""


def stop_all(bots: Iterable[BotProcess]) -> list[int | None]:
    """SIGTERM to every live process at once, then wait for each: their exit statuses (None if it had to be killed)."""
    bots = list(bots)
    for bot in bots:
        bot.terminate()
    return [bot.stop() for bot in bots]


async def wait_all_ready(bots: Iterable[BotProcess], session: aiohttp.ClientSession) -> None:
    await asyncio.gather(*(bot.wait_ready(session) for bot in bots))


async def leaders(bots: Iterable[BotProcess], session: aiohttp.ClientSession) -> list[BotProcess]:
    """The live processes whose /healthz says they schedule campaigns."""
    found = []
    for bot in bots:
        if bot.alive:
            try:
                if (await bot.health(session)).get("scheduler") == "leader":
                    found.append(bot)
            except aiohttp.ClientError:
                pass
    return found


async def wait_for_one_leader(bots: list[BotProcess], session: aiohttp.ClientSession,
                              timeout: float = 30) -> tuple[BotProcess, float]:
    """The one leader once there is exactly one, and how long that took."""
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        found = await leaders(bots, session)
        if len(found) == 1:
            return found[0], time.monotonic() - started
        assert len(found) <= 1, f"two processes schedule at once: {[b.name for b in found]}"
        await asyncio.sleep(0.05)
    raise AssertionError(f"no process took over scheduling within {timeout}s")


async def metric_sum(bots: Iterable[BotProcess], session: aiohttp.ClientSession, sample: str) -> float:
    total = 0.0
    for bot in bots:
        if bot.alive:
            total += (await bot.metrics(session)).get(sample, 0.0)
    return total


@dataclass
class Respondent:
    """A scripted person. Answers are known in advance, so what is stored can be checked exactly."""

    fake: FakeTelegram
    user_id: int
    code: str = SURVEY_ID
    double_tap: bool = False
    acknowledged: list[str] = field(default_factory=list)  # question ids the bot moved on from

    def comment(self) -> str:
        return f"private words of respondent {self.user_id} zebra"

    def choice(self, question: int) -> int:
        return (self.user_id + question) % 2

    async def take_survey(self, timeout: float = 30) -> None:
        fake, user = self.fake, self.user_id
        fake.user_sends_text(user, f"/start {self.code}", first_name="Alexandra", username=f"handle{user}")
        consent = await self._wait_for(lambda m: m.get("text") == msg.CONSENT_QUESTION, timeout)
        fake.user_clicks(user, consent, msg.CONSENT_YES)
        asked = 0
        while True:
            message = await self._wait_for(lambda m: bool(QUESTION.match(m.get("text", "")))
                                           or m.get("text", "").strip() == THANKS, timeout)
            if message.get("text", "").strip() == THANKS:
                return
            asked += 1
            await self.answer(message, asked)

    async def answer(self, question: dict[str, Any], number: int) -> None:
        buttons = [b["callback_data"] for row in (question.get("reply_markup") or {}).get("inline_keyboard", [])
                   for b in row if re.match(r"^a:\d+:p:", b["callback_data"])]
        if not buttons:
            self.fake.user_sends_text(self.user_id, self.comment())
            return
        data = buttons[self.choice(number) % len(buttons)]
        self.fake.user_presses(self.user_id, question, data)
        if self.double_tap:  # a second tap on the same button before the first is answered: another process
            self.fake.user_presses(self.user_id, question, data)

    async def _wait_for(self, wanted: Any, timeout: float) -> dict[str, Any]:
        while True:
            message = await self.fake.next_message(self.user_id, timeout=timeout)
            if wanted(message):
                return message


def thanks_count(fake: FakeTelegram, user_id: int) -> int:
    return sum(1 for m in fake.messages_to(user_id) if m.get("text", "").strip() == THANKS)


def invitations(fake: FakeTelegram, user_id: int, code: str) -> int:
    """Invitations of campaign `code` the bot sent to this person (each carries a Start button with the code)."""
    return sum(1 for m in fake.messages_to(user_id)
               if any(b.get("callback_data") == f"go:{code}" for row in (m.get("reply_markup") or {}).get(
                   "inline_keyboard", []) for b in row))


def json_lines(text: str) -> list[dict[str, Any]]:
    """Every log line, each of which must be one JSON object."""
    return [json.loads(line) for line in text.splitlines() if line.strip()]


def new_secret() -> str:
    return secrets.token_urlsafe(16)
