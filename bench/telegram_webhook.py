"""Benchmark: answers per second and latency through the Telegram webhook path, against a minimal echo bot.

Acts as Telegram: posts updates (with the secret token) to the bot's webhook for 50 concurrent respondents, each
answering the policy-awareness survey by typing "1" (a valid answer to every question), one update at a time. The
webhook answers only after the update is processed (answers stored, replies sent to the fake Bot API), so the time
to the HTTP response is the latency of one answer. The baseline is a minimal aiogram bot on the same harness that
echoes each message with one sendMessage: the framework's ceiling. The fake Bot API server runs in its own process, as
Telegram's servers would (our bot makes two calls per answer, an edit and the next question, and should not be charged
the fake's CPU for them). Pacing to Telegram's per-chat limit is switched off in both, since this measures processing
capacity, not the platform's limits.

Run from the repository root:  .venv/bin/python bench/telegram_webhook.py [--respondents 50] [--rounds 2]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import secrets
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import aiohttp
from aiogram import Bot, Dispatcher, Router
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.types import Message
from aiogram.webhook.aiohttp_server import SimpleRequestHandler
from aiohttp import web

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bot.app import build, make_channels, serve
from bot.channels.pacing import Pacer
from bot.config import Settings

SECRET = "bench-secret-token"
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
    connector = aiohttp.TCPConnector(limit=respondents)
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
    """The fake Bot API server in a separate process (python -m tests.fakes.telegram_api)."""

    token = "123456789:FAKE-telegram-token"

    def __init__(self) -> None:
        self.process = subprocess.Popen([sys.executable, "-m", "tests.fakes.telegram_api", "--port", "0"],
                                        stdout=subprocess.PIPE, text=True, cwd=Path(__file__).resolve().parent.parent)
        assert self.process.stdout is not None
        self.base_url = self.process.stdout.readline().strip()
        self.reply_url = f"{self.base_url}/_fake/webhook_reply"

    def make_bot(self) -> Bot:
        return Bot(self.token, session=AiohttpSession(api=TelegramAPIServer.from_base(self.base_url)))

    def close(self) -> None:
        self.process.terminate()
        self.process.wait(10)


async def run_surveybot(fake: RemoteFake, database_url: str, data: Path, respondents: int,
                        rounds: int) -> tuple[float, list[float], float]:
    port = free_port()
    env = {"SURVEYBOT_DATA_DIR": str(data), "SURVEYBOT_PEPPER": secrets.token_urlsafe(32), "SURVEYBOT_PORT": str(port),
           "DATABASE_URL": database_url, "TELEGRAM_BOT_TOKEN": fake.token, "TELEGRAM_API_URL": fake.base_url,
           "TELEGRAM_WEBHOOK_URL": f"http://127.0.0.1:{port}/telegram/webhook", "TELEGRAM_WEBHOOK_SECRET": SECRET,
           "SURVEYBOT_LOG_LEVEL": "WARNING"}
    app = await asyncio.to_thread(build, Settings.from_env(env))
    channels = make_channels(app)
    for channel in channels:
        channel.pacer = Pacer(overall=10**6, per_chat=10**6)  # type: ignore[attr-defined]
    stop = asyncio.Event()
    task = asyncio.create_task(serve(app, channels, stop))
    await asyncio.sleep(1.0)  # the webhook is registered and the server listening
    total, latencies, cpu = 0.0, [], 0.0
    answers = len(app.catalogue.latest("policy-awareness").questions)  # consent + every question but the last
    for round_ in range(rounds):
        seconds, lat, used = await drive(f"http://127.0.0.1:{port}/telegram/webhook", respondents, answers,
                                         10_000 * (round_ + 1), fake.reply_url)
        total, latencies, cpu = total + seconds, latencies + lat, cpu + used
    with app.engine.connect() as connection:
        from sqlalchemy import text

        stored = connection.execute(text("SELECT count(*) FROM answer")).scalar_one()
    stop.set()
    await task
    app.engine.dispose()
    assert stored == len(latencies) - respondents * rounds, (stored, len(latencies))  # every answer but consent
    return total, latencies, cpu


async def run_echo(fake: RemoteFake, respondents: int, rounds: int,
                   answers_each: int) -> tuple[float, list[float], float]:
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
    total, latencies, cpu = 0.0, [], 0.0
    for round_ in range(rounds):
        seconds, lat, used = await drive(f"http://127.0.0.1:{port}/webhook", respondents, answers_each,
                                         90_000 * (round_ + 1), fake.reply_url)
        total, latencies, cpu = total + seconds, latencies + lat, cpu + used
    await runner.cleanup()
    await bot.session.close()
    return total, latencies, cpu


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


def describe(label: str, seconds: float, latencies: list[float], baseline: float | None, cpu: float) -> str:
    rate = len(latencies) / seconds
    ordered = sorted(latencies)
    p50 = statistics.median(ordered) * 1000
    p95 = ordered[int(0.95 * (len(ordered) - 1))] * 1000
    ratio = f"{rate / baseline:6.2f}" if baseline else "  1.00"
    return (f"{label:<22} {len(latencies):>8} {rate:>10.1f} {p50:>9.1f} {p95:>9.1f} {ratio} "
            f"{cpu / len(latencies) * 1000:>9.2f}")



async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--respondents", type=int, default=50)
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()
    import logging

    logging.basicConfig(level=logging.ERROR)
    fake = RemoteFake()
    try:
        answers_each = 11  # consent + 10 answers, the same number of updates per respondent as surveybot below
        echo = await run_echo(fake, args.respondents, args.rounds, answers_each)
        rows = [describe("echo bot (baseline)", *echo[:2], None, echo[2])]
        baseline = len(echo[1]) / echo[0]
        with tempfile.TemporaryDirectory() as folder:
            sqlite = await run_surveybot(fake, f"sqlite:///{folder}/bench.db", Path(folder), args.respondents,
                                         args.rounds)
            rows.append(describe("surveybot, SQLite", sqlite[0], sqlite[1], baseline, sqlite[2]))
            pg_url = postgres_database()
            if pg_url is None:
                rows.append("surveybot, PostgreSQL    skipped: no server reachable at 127.0.0.1:5432")
            else:
                try:
                    postgres = await run_surveybot(fake, pg_url, Path(folder), args.respondents, args.rounds)
                    rows.append(describe("surveybot, PostgreSQL", postgres[0], postgres[1], baseline, postgres[2]))
                finally:
                    with contextlib.suppress(Exception):
                        drop_database(pg_url)
    finally:
        fake.close()
    print(f"Telegram webhook path, {args.respondents} concurrent respondents, {args.rounds} round(s), "
          f"{os.cpu_count()} CPU(s)")
    print(f"{'':<22} {'answers':>8} {'answers/s':>10} {'p50 ms':>9} {'p95 ms':>9} {'ratio':>6} {'CPU ms/ans':>9}")
    for row in rows:
        print(row)


if __name__ == "__main__":
    asyncio.run(main())
