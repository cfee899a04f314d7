"""Email invitations from a real `surveybot run` killed with SIGKILL mid-send (issue 21): used by tests/test_email.py
(a short run in CI) and bench/email_bench.py (10,000 invitations at 30 a second).

One process sends a campaign's invitations to a local SMTP server (aiosmtpd, tests/fakes/smtp_server.py), paced to
SURVEYBOT_SMTP_RATE. It is killed at seeded random moments while the outbox still has work and started again each
time. Afterwards everyone was invited, and the duplicates are counted: at most one per kill (the email sent just
before the kill, not yet marked). A dead process's lease on that email would run out after 60 seconds; the run moves
it on in the database instead of waiting, and says how many it moved.
"""

from __future__ import annotations

import asyncio
import itertools
import random
import time
from collections import Counter
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import aiohttp
from sqlalchemy import create_engine

from .crashes import expire_leases, outbox_left
from .fakes.smtp_server import FakeSmtp
from .processes import PEPPER, BotProcess, free_port, surveybot

LONDON = ZoneInfo("Europe/London")
SURVEY = "policy-awareness"


@dataclass
class EmailRun:
    contacts: int
    kills: int
    missing: int
    duplicates: int
    received: int
    leases_moved_on: int
    rate: float  # emails a second while sending, over the longest stretch without a kill
    seconds: float


def email_env(folder: Path, database_url: str, smtp: FakeSmtp, rate: float, port: int) -> dict[str, str]:
    import os

    env = {k: v for k, v in os.environ.items() if not k.startswith(("SURVEYBOT_", "TELEGRAM_", "SLACK_",
                                                                     "DATABASE_URL"))}
    env.update({
        "SURVEYBOT_PEPPER": PEPPER, "SURVEYBOT_DATA_DIR": str(folder / "data"), "DATABASE_URL": database_url,
        "SURVEYBOT_SWEEP_SECONDS": "1", "SURVEYBOT_LEADER_RETRY_SECONDS": "1", "SURVEYBOT_LOG_FORMAT": "json",
        "SURVEYBOT_LOG_LEVEL": "DEBUG", "SURVEYBOT_AUTO_MIGRATE": "false",
        "SURVEYBOT_PUBLIC_URL": "https://surveys.example.org", "SURVEYBOT_SMTP_URL": smtp.url,
        "SURVEYBOT_MAIL_FROM": "Anyshire Partnership <surveys@lscp.example.org>", "SURVEYBOT_SMTP_RATE": str(rate),
        "SURVEYBOT_SMTP_RETRY_SECONDS": "1", "SURVEYBOT_PORT": str(port),
    })
    return env


def moment(at: datetime) -> str:
    return at.astimezone(LONDON).strftime("%Y-%m-%d %H:%M")


async def invitations_under_crashes(folder: Path, database_url: str, contacts: int, rate: float, kills: int,
                                    seed: int, timeout: float = 3600) -> EmailRun:
    rng = random.Random(seed)
    started = time.monotonic()
    folder.mkdir(parents=True, exist_ok=True)
    with FakeSmtp() as smtp:
        port = free_port()
        env = email_env(folder, database_url, smtp, rate, port)
        for args in (("db", "upgrade"),):
            done = await asyncio.to_thread(surveybot, env, *args)
            assert done.returncode == 0, done.stderr
        addresses = [f"person.{n:05d}@agency{n % 7}.example.org" for n in range(contacts)]
        csv = folder / "practitioners.csv"
        csv.write_text("who,tags\n" + "".join(f"email:{a},practitioners\n" for a in addresses))
        imported = await asyncio.to_thread(surveybot, env, "contacts", "import", str(csv), timeout=600)
        assert imported.returncode == 0, imported.stderr
        now = datetime.now(LONDON)  # the running bot keeps real time, so the campaign is open around now
        made = await asyncio.to_thread(surveybot, env, "campaign", "create", "by-email", "--survey", SURVEY,
                                       "--opens", moment(now - timedelta(minutes=1)), "--closes",
                                       moment(now + timedelta(days=7)), "--reminders", "", "--quiet-hours", "none",
                                       "--channels", "email")
        assert made.returncode == 0, made.stderr
        engine = create_engine(database_url)
        bot = BotProcess("email", env, folder, port=port)
        moved = 0
        killed_at: list[float] = []


        async with aiohttp.ClientSession() as http:
            try:
                bot.start()
                await bot.wait_ready(http, timeout=120)
                for _ in range(kills):
                    await asyncio.sleep(rng.uniform(0.5, 2.0))
                    if await asyncio.to_thread(outbox_left, engine) == 0:
                        break
                    bot.kill()
                    killed_at.append(time.monotonic())
                    moved += await asyncio.to_thread(expire_leases, engine)
                    bot.start()
                    await bot.wait_ready(http, timeout=120)
                deadline = time.monotonic() + timeout
                while await asyncio.to_thread(outbox_left, engine) != 0:
                    assert time.monotonic() < deadline, "the invitations did not all go"
                    await asyncio.sleep(0.5)
            finally:
                code = await asyncio.to_thread(bot.stop)
                engine.dispose()
        assert code == 0, bot.logs()[-3000:]
        logs = bot.logs()
        for address in addresses[:50]:
            assert address not in logs and address.split("@")[0] not in logs
        counts = Counter(smtp.recorder.recipients())
        return EmailRun(contacts, len(killed_at), sum(1 for a in addresses if counts[a] == 0),
                        sum(counts[a] - 1 for a in addresses if counts[a] > 1), sum(counts.values()), moved,
                        steady_rate(list(smtp.recorder.arrived), killed_at), time.monotonic() - started)


def steady_rate(arrived: list[float], kills: list[float]) -> float:
    """Emails a second over the longest stretch between kills (a restart's seconds are not the sender's pace)."""
    bounds = [float("-inf"), *kills, float("inf")]
    best: list[float] = []
    for low, high in itertools.pairwise(bounds):
        stretch = [t for t in arrived if low < t < high]
        if len(stretch) > len(best):
            best = stretch
    if len(best) < 2:
        return 0.0
    return (len(best) - 1) / (best[-1] - best[0])
