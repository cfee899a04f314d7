"""Benchmark: answers per second and latency through the Telegram webhook path, against a minimal echo bot.

Acts as Telegram: posts updates (with the secret token) to the bot's webhook for 50 concurrent respondents, each
answering the policy-awareness survey by typing "1" (a valid answer to every question), one update at a time. The
webhook answers only after the update is processed (answers stored, replies sent to the fake Bot API), so the time
to the HTTP response is the latency of one answer. The baseline is a minimal aiogram bot on the same harness that
echoes each message with one sendMessage: the framework's ceiling. The fake Bot API server runs in its own process, as
Telegram's servers would (our bot makes two calls per answer, an edit and the next question, and should not be charged
the fake's CPU for them). Pacing to Telegram's per-chat limit is switched off in both, since this measures processing
capacity, not the platform's limits.

Each round runs in a fresh process holding one bot and this driver; after an uncounted warm-up round each, the echo
bot, surveybot on SQLite and surveybot on PostgreSQL take turns, so a burst of other work on the machine falls on all
of them alike. The CPU column is that process's time per answer: the bot and the driver together.

Run from the repository root:  .venv/bin/python bench/telegram_webhook.py [--respondents 50] [--rounds 4]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import secrets
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
from aiogram import Bot, Dispatcher, Router
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.types import Message
from aiogram.webhook.aiohttp_server import SimpleRequestHandler
from aiohttp import web

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # run as a script from anywhere

from bot.app import build, make_channels, serve
from bot.channels.pacing import Pacer
from bot.config import Settings

SECRET = "bench-secret-token"
PEPPER = "bench-pepper-" + "x" * 40  # the same in every round's process: each restarts the bot on the same database
ROOT = Path(__file__).resolve().parent.parent
ANSWERS_EACH = 11  # updates per respondent after /start: policy-awareness's consent and all but its last question
PG_ADMIN = os.environ.get("SURVEYBOT_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def update(update_id: int, user: int, text: str) -> dict[str, object]:
    return {"update_id": update_id, "message": {
        "message_id": update_id, "date": int(time.time()), "text": text,
        "chat": {"id": user, "type": "private", "first_name": "Bench"},
        "from": {"id": user, "is_bot": False, "first_name": "Bench"}}}


async def drive(url: str, respondents: int, answers_each: int, first_user: int,
                fake_reply: str) -> tuple[float, list[float], float]:
    """Each respondent sends /start, then `answers_each` answers, each after the last reply: (seconds, latencies,
    CPU seconds this process spent meanwhile: the bot, its database thread and this driver).

    Like Telegram, a method returned in the webhook's reply (aiogram's "webhook reply") is then carried out: posted to
    the fake Bot API (at `fake_reply`), so a bot that answers that way is not let off the work, only spared a request
    of its own."""
    latencies: list[float] = []
    ids = iter(range(first_user * 100, first_user * 100 + 10**6))
    headers = {"X-Telegram-Bot-Api-Secret-Token": SECRET}
    # one connection per respondent to the bot, and as many to the fake for the replies carried out: with fewer,
    # the pool would close and open connections all the time, at the bot's and this process's expense
    connector = aiohttp.TCPConnector(limit=0, limit_per_host=respondents)
    async with aiohttp.ClientSession(connector=connector) as session:

        async def respondent(user: int) -> None:
            for number in range(answers_each + 1):
                text = "/start policy-awareness" if number == 0 else "1"
                began = time.perf_counter()
                async with session.post(url, json=update(next(ids), user, text), headers=headers) as response:
                    assert response.status == 200, response.status
                    reply, kind = await response.read(), response.headers.get("Content-Type", "")
                if number:
                    latencies.append(time.perf_counter() - began)
                if kind.startswith("multipart/") or reply.startswith(b'{"method"'):  # passed on untouched, for the
                    # fake to read and carry out (aiogram writes a method as a form, surveybot as JSON)
                    async with session.post(fake_reply, data=reply, headers={"Content-Type": kind}) as done:
                        assert done.status == 200, (done.status, await done.text())

        began, cpu = time.perf_counter(), time.process_time()
        await asyncio.gather(*(respondent(first_user + i) for i in range(respondents)))
        return time.perf_counter() - began, latencies, time.process_time() - cpu


class RemoteFake:
    """The fake Bot API server in a separate process (python -m tests.fakes.telegram_api), started by the run and
    shared by every round (`base_url` given: a round's process, using the run's)."""

    token = "123456789:FAKE-telegram-token"

    def __init__(self, base_url: str | None = None) -> None:
        self.process: subprocess.Popen[str] | None = None
        if base_url is None:
            self.process = subprocess.Popen([sys.executable, "-m", "tests.fakes.telegram_api", "--port", "0"],
                                            stdout=subprocess.PIPE, text=True, cwd=ROOT)
            assert self.process.stdout is not None
            base_url = self.process.stdout.readline().strip()
        self.base_url = base_url
        self.reply_url = f"{self.base_url}/_fake/webhook_reply"

    def make_bot(self) -> Bot:
        return Bot(self.token, session=AiohttpSession(api=TelegramAPIServer.from_base(self.base_url)))

    def close(self) -> None:
        if self.process is not None:
            self.process.terminate()
            self.process.wait(10)


class Target:
    """One bot under test, and what its rounds measured. Each round runs in a process of its own (this script with
    --round), which starts the bot, drives it and exits: the bots never share an interpreter, its heap or its
    settings, and surveybot starts as `surveybot run` would, on the database its earlier rounds left."""

    def __init__(self, label: str, kind: str, first_user: int, database_url: str = "") -> None:
        self.label, self.kind, self.first_user, self.database_url = label, kind, first_user, database_url
        self.seconds, self.latencies, self.cpu = 0.0, [], 0.0
        self.rates: list[float] = []  # answers per second, round by round
        self.answered = 0  # updates sent after /start, warm-up round included

    def round(self, fake: RemoteFake, data: Path, number: int, respondents: int, counted: bool = True) -> None:
        command = [sys.executable, __file__, "--round", self.kind, "--fake-url", fake.base_url, "--data", str(data),
                   "--database-url", self.database_url, "--first-user", str(self.first_user + 1_000 * number),
                   "--respondents", str(respondents)]
        finished = subprocess.run(command, capture_output=True, text=True, cwd=ROOT, check=False)
        if finished.returncode != 0:
            raise SystemExit(f"{self.label}: round {number} failed:\n{finished.stderr[-3000:]}")
        seconds, latencies, cpu = json.loads(finished.stdout.strip().splitlines()[-1])
        self.answered += len(latencies)
        if not counted:
            return
        self.seconds, self.latencies, self.cpu = self.seconds + seconds, self.latencies + latencies, self.cpu + cpu
        self.rates.append(len(latencies) / seconds)


@contextlib.asynccontextmanager
async def surveybot(fake: RemoteFake, database_url: str, data: Path) -> AsyncIterator[str]:
    """surveybot serving its webhook, through the composition root's own start-up; yields the webhook's URL."""
    port = free_port()
    env = {"SURVEYBOT_DATA_DIR": str(data), "SURVEYBOT_PEPPER": PEPPER, "SURVEYBOT_PORT": str(port),
           "DATABASE_URL": database_url, "TELEGRAM_BOT_TOKEN": fake.token, "TELEGRAM_API_URL": fake.base_url,
           "TELEGRAM_WEBHOOK_URL": f"http://127.0.0.1:{port}/telegram/webhook", "TELEGRAM_WEBHOOK_SECRET": SECRET,
           "SURVEYBOT_LOG_LEVEL": "WARNING"}
    app = await asyncio.to_thread(build, Settings.from_env(env))
    # consent and every question but the last, so nobody finishes and every step is a stored answer
    assert len(app.catalogue.latest("policy-awareness").questions) == ANSWERS_EACH
    channels = make_channels(app)
    for channel in channels:
        channel.pacer = Pacer(overall=10**6, per_chat=10**6)  # type: ignore[attr-defined]
    stop = asyncio.Event()
    task = asyncio.create_task(serve(app, channels, stop))
    await asyncio.sleep(1.0)  # the webhook is registered and the server listening
    try:
        yield f"http://127.0.0.1:{port}/telegram/webhook"
    finally:
        stop.set()
        await task
        app.engine.dispose()


def stored_answers(database_url: str) -> int:
    from sqlalchemy import create_engine, text

    engine = create_engine(database_url)
    try:
        with engine.connect() as connection:
            return int(connection.execute(text("SELECT count(*) FROM answer")).scalar_one())
    finally:
        engine.dispose()


@contextlib.asynccontextmanager
async def echo_bot(fake: RemoteFake) -> AsyncIterator[str]:
    """The baseline: a minimal aiogram bot that echoes each message with one sendMessage."""
    bot = fake.make_bot()
    dispatcher = Dispatcher()
    router = Router()

    @router.message()
    async def echo(message: Message) -> None:
        await message.answer(message.text or "")

    dispatcher.include_router(router)
    application = web.Application()
    SimpleRequestHandler(dispatcher, bot, handle_in_background=False, secret_token=SECRET).register(
        application, path="/webhook")
    runner = web.AppRunner(application, access_log=None)
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    try:
        yield f"http://127.0.0.1:{port}/webhook"
    finally:
        await runner.cleanup()
        await bot.session.close()


def postgres_database() -> str | None:
    from sqlalchemy import create_engine, text
    from sqlalchemy.exc import OperationalError

    name = f"surveybot_bench_{secrets.token_hex(4)}"
    try:
        admin = create_engine(PG_ADMIN, isolation_level="AUTOCOMMIT", connect_args={"connect_timeout": 3})
        with admin.connect() as connection:
            connection.execute(text(f'CREATE DATABASE "{name}"'))
    except OperationalError:
        return None
    return PG_ADMIN.rsplit("/", 1)[0] + "/" + name


def drop_database(url: str) -> None:
    from sqlalchemy import create_engine, text

    admin = create_engine(PG_ADMIN, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{url.rsplit("/", 1)[1]}" WITH (FORCE)'))


def describe(target: Target, baseline: float | None) -> str:
    rate = len(target.latencies) / target.seconds
    ordered = sorted(target.latencies)
    p50 = statistics.median(ordered) * 1000
    p95 = ordered[int(0.95 * (len(ordered) - 1))] * 1000
    ratio = f"{rate / baseline:6.2f}" if baseline else "  1.00"
    return (f"{target.label:<22} {len(target.latencies):>8} {rate:>10.1f} {p50:>9.1f} {p95:>9.1f} {ratio} "
            f"{target.cpu / len(target.latencies) * 1000:>9.2f}")


async def one_round(args: argparse.Namespace) -> None:
    """A round's process: start the bot, drive it, print what was measured as one JSON line."""
    fake = RemoteFake(args.fake_url)
    start = echo_bot(fake) if args.round == "echo" else surveybot(fake, args.database_url, Path(args.data))
    async with start as url:
        measured = await drive(url, args.respondents, ANSWERS_EACH, args.first_user, fake.reply_url)
    print(json.dumps(measured))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--respondents", type=int, default=50)
    parser.add_argument("--rounds", type=int, default=4)
    parser.add_argument("--round", choices=("echo", "surveybot"), help=argparse.SUPPRESS)  # one round's process
    parser.add_argument("--fake-url", help=argparse.SUPPRESS)
    parser.add_argument("--data", help=argparse.SUPPRESS)
    parser.add_argument("--database-url", help=argparse.SUPPRESS)
    parser.add_argument("--first-user", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    import logging

    logging.basicConfig(level=logging.ERROR)
    if args.round:
        asyncio.run(one_round(args))
        return
    fake = RemoteFake()
    pg_url = postgres_database()
    try:
        with tempfile.TemporaryDirectory() as folder:
            data = Path(folder)
            targets = [Target("echo bot (baseline)", "echo", 300_000),
                       Target("surveybot, SQLite", "surveybot", 100_000, f"sqlite:///{folder}/bench.db")]
            if pg_url is not None:
                targets.append(Target("surveybot, PostgreSQL", "surveybot", 200_000, pg_url))
            for target in targets:  # a round each first, not counted: the databases are made, the caches warm
                target.round(fake, data, args.rounds, args.respondents, counted=False)
            # The bots take turns, a round each, the order turning every round, so a burst of other work on the
            # machine falls on all of them alike rather than on whichever ran then.
            for number in range(args.rounds):
                shift = number % len(targets)
                for target in targets[shift:] + targets[:shift]:
                    target.round(fake, data, number, args.respondents)
            for target in targets[1:]:  # every answer but consent was stored
                answered = target.answered // ANSWERS_EACH * (ANSWERS_EACH - 1)
                stored = stored_answers(target.database_url)
                assert stored == answered, (target.label, stored, answered)
    finally:
        fake.close()
        if pg_url is not None:
            with contextlib.suppress(Exception):
                drop_database(pg_url)
    echo = targets[0]
    baseline = len(echo.latencies) / echo.seconds
    print(f"Telegram webhook path, {args.respondents} concurrent respondents, {args.rounds} round(s) each, taking "
          f"turns, {os.cpu_count()} CPU(s)")
    print(f"{'':<22} {'answers':>8} {'answers/s':>10} {'p50 ms':>9} {'p95 ms':>9} {'ratio':>6} {'CPU ms/ans':>9}"
          "  by round: answers/s (ratio)")
    for target in targets:
        by_round = " ".join(f"{mine:.0f}" + ("" if target is echo else f" ({mine / theirs:.2f})")
                            for mine, theirs in zip(target.rates, echo.rates, strict=True))
        print(f"{describe(target, None if target is echo else baseline)}  {by_round}")
    if pg_url is None:
        print("surveybot, PostgreSQL    skipped: no server reachable at 127.0.0.1:5432")


if __name__ == "__main__":
    main()
