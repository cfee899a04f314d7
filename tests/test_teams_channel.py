"""The Teams channel end to end: the project's own wiring (bot.app.build, make_channels, serve) and the REAL
Microsoft 365 Agents SDK (and MSAL), against the fake Bot Connector and token issuers on 127.0.0.1
(tests/fakes/teams_api.py), with genuinely signed tokens on every activity."""

from __future__ import annotations

import asyncio
import json
import logging
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text

from bot.app import App, build, make_channels, serve
from bot.channels.teams import TeamsChannel
from bot.config import Settings
from bot.server import HttpServer
from bot.services.surveyfiles import builtin_survey_dir
from storage import responses as store_responses
from tests.conftest import SAMPLE, Clock
from tests.fakes.teams_api import FakeTeams, fake_teams

PEPPER = "test-pepper-" + "t" * 40


@dataclass
class Bot:
    app: App
    teams: FakeTeams
    server: HttpServer
    channel: TeamsChannel

    def rows(self, sql: str, **params: Any) -> list[Any]:
        with self.app.engine.connect() as connection:
            return list(connection.execute(text(sql), params))

    def recorded(self, question: str) -> int:
        subjects = [json.loads(s) for (s,) in self.rows("SELECT subject FROM audit_record WHERE action = :a",
                                                       a="answer.recorded")]
        return sum(1 for s in subjects if s["question"] == question)

    def completed(self, survey_id: str) -> int:
        with self.app.store.unit() as uow:
            return store_responses.count(uow, survey_id, completed=True)


@asynccontextmanager
async def running_bot(teams: FakeTeams, tmp_path: Path, database_url: str | None = None,
                      clock: Clock | None = None) -> AsyncIterator[Bot]:
    env = {"SURVEYBOT_DATA_DIR": str(tmp_path), "SURVEYBOT_PEPPER": PEPPER, **teams.settings(),
           "SURVEYBOT_SURVEYS_DIR": os.pathsep.join([str(builtin_survey_dir()), str(SAMPLE.parent)])}
    if database_url:
        env["DATABASE_URL"] = database_url
    app = build(Settings.from_env(env), clock=clock or Clock())
    channels = make_channels(app)
    (channel,) = [c for c in channels if c.name == "teams"]
    assert isinstance(channel, TeamsChannel)
    server = HttpServer("127.0.0.1", 0)
    stop = asyncio.Event()
    task = asyncio.create_task(serve(app, channels, stop, server))
    try:
        async with asyncio.timeout(10):
            while server._runner is None or server.port == 0:
                if task.done():
                    task.result()
                await asyncio.sleep(0.01)
        teams.bot_url = f"{server.base_url}/api/messages"
        yield Bot(app, teams, server, channel)
    finally:
        stop.set()
        await task
        app.engine.dispose()


@pytest.fixture
async def teams(tmp_path: Path) -> AsyncIterator[FakeTeams]:
    async with fake_teams(tmp_path / "fake") as fake:
        yield fake


async def test_smoke(teams: FakeTeams, tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG, logger="bot")
    async with running_bot(teams, tmp_path) as bot:
        person = teams.person()
        assert await person.send(person.installed()) in (200, 202)
        welcome = await person.next_message()
        print(welcome.text)
        assert await person.say("/start sample") in (200, 202)
        for _ in range(3):
            m = await person.next_message()
            print(m.text, m.data())
    print(caplog.text[-3000:])
