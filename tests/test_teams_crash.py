"""A Teams campaign from a real `surveybot run` killed with SIGKILL mid-send: every installed person is invited at
least once, and the duplicates (an invitation sent just before a kill, not yet marked) are at most one a kill.

The fake Teams runs in the test (tests/fakes/teams_api.py); the bot is a child process given the same settings a
deployment has, and the environment that points the SDK's and MSAL's identity hosts at the fake. A dead process's
lease on its one message in flight would run out after 60 seconds; the test moves it on in the database instead of
waiting, as tests/email_crashes.py does.
"""

from __future__ import annotations

import asyncio
import os
import random
from collections import Counter
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import aiohttp
from sqlalchemy import create_engine

from tests.crashes import expire_leases, outbox_left
from tests.fakes.teams_api import fake_teams
from tests.processes import PEPPER, BotProcess, free_port, surveybot

LONDON = ZoneInfo("Europe/London")
PEOPLE, KILLS = 24, 3


def moment(at: datetime) -> str:
    return at.astimezone(LONDON).strftime("%Y-%m-%d %H:%M")


async def test_a_teams_campaign_killed_mid_send_reaches_everyone_at_most_one_duplicate_a_kill(
        tmp_path: Path, database_url: str) -> None:
    rng = random.Random(23)
    async with fake_teams(tmp_path / "fake") as teams:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("SURVEYBOT_", "TELEGRAM_", "SLACK_",
                                                                         "DATABASE_URL"))}
        port = free_port()
        env.update({"SURVEYBOT_PEPPER": PEPPER, "SURVEYBOT_DATA_DIR": str(tmp_path / "data"),
                    "DATABASE_URL": database_url, "SURVEYBOT_SWEEP_SECONDS": "1",
                    "SURVEYBOT_LEADER_RETRY_SECONDS": "1", "SURVEYBOT_LOG_FORMAT": "json",
                    "SURVEYBOT_LOG_LEVEL": "DEBUG", "SURVEYBOT_AUTO_MIGRATE": "false", **teams.settings(),
                    **teams.environment()})
        done = await asyncio.to_thread(surveybot, env, "db", "upgrade")
        assert done.returncode == 0, done.stderr
        bot = BotProcess("teams", env, tmp_path, port=port)
        teams.bot_url = f"{bot.url}/api/messages"
        engine = create_engine(database_url)
        people = [teams.person() for _ in range(PEOPLE)]


        kills = 0
        async with aiohttp.ClientSession() as http:
            try:
                bot.start()
                await bot.wait_ready(http, timeout=120)
                for person in people:  # each installs the app: the bot keeps their conversation reference
                    assert await person.send(person.installed()) in (200, 202)
                    await person.next_message()
                teams.connector.delay = 0.15  # each invitation takes a while, so kills land mid-send
                now = datetime.now(LONDON)  # the running bot keeps real time, so the campaign is open around now
                made = await asyncio.to_thread(
                    surveybot, env, "campaign", "create", "teams-crash", "--survey", "policy-awareness", "--opens",
                    moment(now - timedelta(minutes=1)), "--closes", moment(now + timedelta(days=7)), "--reminders", "",
                    "--quiet-hours", "none", "--channels", "teams")
                assert made.returncode == 0, made.stderr
                for _ in range(KILLS):
                    while await asyncio.to_thread(outbox_left, engine) < 0:  # planned by the bot's next sweep
                        await asyncio.sleep(0.1)
                    await asyncio.sleep(rng.uniform(0.3, 1.2))
                    if await asyncio.to_thread(outbox_left, engine) == 0:
                        break
                    bot.kill()
                    kills += 1
                    await asyncio.to_thread(expire_leases, engine)
                    bot.start()
                    await bot.wait_ready(http, timeout=120)
                for _ in range(1200):
                    if await asyncio.to_thread(outbox_left, engine) == 0:
                        break
                    await asyncio.sleep(0.1)
                assert await asyncio.to_thread(outbox_left, engine) == 0, "the invitations did not all go"
            finally:
                code = await asyncio.to_thread(bot.stop)
                engine.dispose()
        assert code == 0, bot.logs()[-3000:]
        counts = Counter(m.conversation for c in [teams.connector] for conv in c.messages.values() for m in conv
                         if "go:teams-crash" in m.data())
        assert kills >= 1, "a kill landed while the campaign was being sent"
        assert all(counts[p.conversation] >= 1 for p in people), "everyone was invited at least once"
        assert sum(counts[p.conversation] - 1 for p in people) <= kills, "at most one duplicate a kill"
        logs = bot.logs()
        for person in people:
            assert person.user not in logs and person.conversation not in logs
