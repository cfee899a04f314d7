"""A survey version published by one process is served by every other process on the same database, without a
restart (issue 22): the catalogue finds a version it does not hold in survey_version when a campaign, a
conversation or a report asks for it (bot.services.surveyfiles.SurveyCatalogue).

Two App builds over one database, each with its own survey folder (as two hosts have), on SQLite (one file) and on
PostgreSQL; and once with a real second `surveybot run` process on PostgreSQL, which a web chat visitor moves to
half way through a survey published in the first process's console.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import aiohttp
import pytest
from sqlalchemy import text

from bot.app import App, build
from bot.cli import campaign as campaign_commands
from bot.cli import parser
from bot.config import Settings
from bot.console import results as console_results
from bot.domain.address import Address
from bot.engine import conversation as engine
from bot.services import campaign_admin
from bot.services.service import Outcome
from bot.services.surveyfiles import SurveyCatalogue, parse_survey, write_survey

from .conftest import Clock
from .consolekit import PEPPER as CONSOLE_PEPPER
from .consolekit import running_console
from .processes import REPO, SURVEY, SURVEY_ID, THANKS, BotProcess, free_port

PEPPER = "published-elsewhere-pepper-0123456789abcdef"
V1 = SURVEY  # a practitioners' survey of three questions: agency, aware (yes/no), comment (typed)
V2 = V1.replace("version: 1", "version: 2").replace("title: Operations check", "title: Operations check, again") \
    .replace("Did you know the policy?", "Have you read the policy this year?")
TITLE_2 = "Operations check, again"
ASKED_2 = "Have you read the policy this year?"


def settings_for(tmp_path: Path, name: str, database_url: str) -> Settings:
    """One process's settings: its own data and survey folders (holding version 1), the shared database."""
    folder = tmp_path / name / "surveys"
    folder.mkdir(parents=True)
    (folder / f"{SURVEY_ID}.yaml").write_text(V1, encoding="utf-8")
    return Settings.from_env({"SURVEYBOT_DATA_DIR": str(tmp_path / name / "data"), "SURVEYBOT_PEPPER": PEPPER,
                              "DATABASE_URL": database_url, "SURVEYBOT_SURVEYS_DIR": str(folder)})


@pytest.fixture
def two(tmp_path: Path, database_url: str, clock: Clock) -> Iterator[tuple[App, App]]:
    first = build(settings_for(tmp_path, "first", database_url), clock)
    second = build(settings_for(tmp_path, "second", database_url), clock)
    try:
        yield first, second
    finally:
        for app in (first, second):
            app.service.close()
            app.engine.dispose()


def publish(app: App, source: str) -> None:
    """What the console's Publish does (bot.console.surveys._publish): the file written, the version recorded."""
    assert app.settings.surveys_dirs
    read = parse_survey(source, "as typed")
    target = app.settings.surveys_dirs[0] / f"{read.id}-v{read.version}.yaml"
    app.service.publish(parse_survey(source, str(target)), lambda: write_survey(target, source))


def asked(outcome: Outcome) -> engine.Prompt:
    return next(e.prompt for e in outcome.effects if isinstance(e, engine.Ask))


def moment(clock: Clock, minutes: int) -> str:
    return (clock.now + timedelta(minutes=minutes)).strftime("%Y-%m-%d %H:%M")


def test_a_version_published_in_one_process_is_served_by_the_other_at_once(two: tuple[App, App],
                                                                          clock: Clock) -> None:
    first, second = two
    assert not second.catalogue.has(SURVEY_ID, 2)  # not published yet: nothing is kept for the miss
    publish(first, V2)
    assert second.catalogue.has(SURVEY_ID, 2)
    found = second.catalogue.get(SURVEY_ID, 2)
    assert found.source == V2 and found.title == TITLE_2
    # a new conversation started by the survey's id still gets the newest version this process loaded
    assert second.catalogue.latest(SURVEY_ID).version == 1 and second.catalogue.versions(SURVEY_ID) == [1]

    # a campaign made in the first process, on version 2 ...
    args = ["campaign", "create", "spring", "--survey", SURVEY_ID, "--opens", moment(clock, -1), "--closes",
            moment(clock, 60 * 24 * 7), "--reminders", "", "--quiet-hours", "none"]
    assert campaign_commands.run(first, parser().parse_args(args)) == 0
    # ... is served by the second: someone starting it there gets version 2's questions
    who = Address("web", "link", "person-one")
    outcome = second.service.begin(who, "spring")
    assert any(isinstance(e, engine.Say) and "Three quick questions" in e.text for e in outcome.effects)
    outcome = second.service.handle(who, engine.Pick(asked(outcome).turn, 0))  # yes, I'll take part
    outcome = second.service.handle(who, engine.Pick(asked(outcome).turn, 1))
    assert asked(outcome).text == ASKED_2

    # a conversation begun in the first process carries on in the second, through its database thread (the
    # version is read inside the group commit's transaction there)
    other = Address("web", "link", "person-two")
    outcome = first.service.begin(other, "spring")
    outcome = first.service.handle(other, engine.Pick(asked(outcome).turn, 0))

    async def carry_on(outcome: Outcome) -> Outcome:
        service = second.service
        outcome = await service.call(service.handle, other, engine.Pick(asked(outcome).turn, 2))
        outcome = await service.call(service.handle, other, engine.Pick(asked(outcome).turn, 0))
        return await service.call(service.reply, other, "All clear.", None, asked(outcome).turn)

    outcome = asyncio.run(carry_on(outcome))
    assert any(isinstance(e, engine.Finish) and e.completed for e in outcome.effects)

    # and the campaign's report reads there too
    assert campaign_admin.describe(second, "spring")["survey"] == f"{SURVEY_ID} v2"
    # and the console's Results list there names a survey first published in the other process
    publish(first, V1.replace(f"id: {SURVEY_ID}", "id: ops-late").replace("title: Operations check", "title: Late"))
    listed = {row.survey_id: row.title for row in console_results.surveys(second)}
    assert listed[SURVEY_ID] == TITLE_2 and listed["ops-late"] == "Late"
    with second.engine.connect() as connection:
        stored = connection.execute(text("SELECT version, completed FROM response ORDER BY id")).all()
    assert [tuple(row) for row in stored] == [(2, False), (2, True)]

    # the sweep takes in what is newer: from then on a survey's id starts its newest version here too
    assert second.catalogue.catch_up() == [(SURVEY_ID, 2), ("ops-late", 1)]
    assert second.catalogue.latest(SURVEY_ID).title == TITLE_2 and "ops-late" in second.catalogue.ids()
    assert second.catalogue.catch_up() == []  # nothing twice


def test_found_versions_are_kept_within_a_bound_and_an_unreadable_one_is_not_served(
        two: tuple[App, App]) -> None:
    first, second = two
    sources = [V1.replace("version: 1", f"version: {n}") for n in (2, 3, 4)]
    for source in sources:
        publish(first, source)
    held = SurveyCatalogue([], keep=2)
    held.find_published_in(second.store)
    for _ in range(2):  # read again after being forgotten, the same each time
        assert [held.get(SURVEY_ID, n).source for n in (2, 3, 4)] == sources
    assert len(held._found) == 2
    with pytest.raises(KeyError):
        held.get(SURVEY_ID, 5)

    # a stored text this reader cannot run (written by another release, or damaged) is never served
    with first.engine.begin() as connection:
        connection.execute(text("UPDATE survey_version SET source = 'id: [' WHERE version = 4"))
    fresh = SurveyCatalogue([])
    fresh.find_published_in(second.store)
    assert not fresh.has(SURVEY_ID, 4) and fresh.has(SURVEY_ID, 3)


# --- a real second process ------------------------------------------------------------------------------------------

async def test_a_second_surveybot_run_serves_what_the_first_ones_console_published(tmp_path: Path,
                                                                                   database_url: str) -> None:
    from bot.services.roles import Role

    if not database_url.startswith("postgresql"):
        pytest.skip("SQLite serves one process; several processes share a PostgreSQL database")
    pg_url = database_url

    # the first process: the console, with its own survey folder; it publishes version 2 in the browser's way
    first_folder = tmp_path / "first-surveys"
    first_folder.mkdir()
    (first_folder / f"{SURVEY_ID}.yaml").write_text(V1, encoding="utf-8")
    async with running_console(tmp_path / "first", pg_url, None, SURVEYBOT_SURVEYS_DIR=str(first_folder),
                               DATABASE_URL=pg_url) as site:  # (the harness's own URL setting is not read)
        # the second: a real `surveybot run` on the same database, another folder holding version 1 only
        second_folder = tmp_path / "second-surveys"
        second_folder.mkdir()
        (second_folder / f"{SURVEY_ID}.yaml").write_text(V1, encoding="utf-8")
        env = {key: value for key, value in os.environ.items() if not key.startswith(("SURVEYBOT_", "TELEGRAM_",
                                                                                        "SLACK_", "DATABASE_URL"))}
        env.update({"SURVEYBOT_DATA_DIR": str(tmp_path / "second"), "SURVEYBOT_PEPPER": CONSOLE_PEPPER,
                    "DATABASE_URL": pg_url, "SURVEYBOT_SURVEYS_DIR": str(second_folder),
                    "SURVEYBOT_AUTO_MIGRATE": "false", "SURVEYBOT_DEFAULT_SURVEY": SURVEY_ID,
                    "SURVEYBOT_SWEEP_SECONDS": "1",  # how often it looks for versions published elsewhere
                    # this checkout's code, whichever folder the process starts in
                    "PYTHONPATH": os.pathsep.join([str(REPO), *filter(None, [os.environ.get("PYTHONPATH")])])})
        second = BotProcess("second", env, tmp_path, free_port())
        second.start()
        try:
            async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True),
                                             timeout=aiohttp.ClientTimeout(total=30)) as visitor:
                await second.wait_ready(visitor)
                admin = await site.signed_in("console:bea", Role.ADMIN)
                try:
                    await admin.get(f"/admin/surveys/edit?survey={SURVEY_ID}")
                    form = aiohttp.FormData()
                    form.add_field("name", f"{SURVEY_ID}.yaml")
                    form.add_field("file", b"", filename="", content_type="application/octet-stream")
                    form.add_field("source", V2)
                    await admin.post("/admin/surveys/publish", form)
                finally:
                    await admin.close()

                # a visitor starts it in the first process (which serves version 2 at once) and answers one question
                chat = f"{site.base}/s/{SURVEY_ID}"
                async with visitor.post(chat, data={"do": "open"}) as opened:
                    assert TITLE_2 in await opened.text()
                async with visitor.post(chat, data={"do": "pick:0", "turn": "1"}) as agreed:
                    assert "Which agency do you work for?" in await agreed.text()
                # then their next answer reaches the second process, which never read version 2's file
                async with visitor.post(f"{second.url}/s/{SURVEY_ID}", data={"do": "pick:1", "turn": "2"}) as moved:
                    page = await moved.text()
                assert moved.status == 200 and ASKED_2 in page, page[-1500:]
                async with visitor.post(f"{second.url}/s/{SURVEY_ID}", data={"do": "pick:0", "turn": "3"}):
                    pass
                async with visitor.post(f"{second.url}/s/{SURVEY_ID}",
                                        data={"do": "send", "turn": "4", "text": "All clear."}) as done:
                    assert THANKS in await done.text()
                # and within a sweep, someone new opening the survey's link there starts version 2
                async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as newcomer:
                    for _ in range(100):
                        async with newcomer.post(f"{second.url}/s/{SURVEY_ID}", data={"do": "open"}) as opened:
                            if TITLE_2 in await opened.text():
                                break
                        await asyncio.sleep(0.1)
                    else:
                        raise AssertionError("the second process never took in version 2: " + second.logs()[-2000:])
        finally:
            code = await asyncio.to_thread(second.stop)
        assert code == 0, second.logs()[-2000:]
        with site.app.engine.connect() as connection:
            stored = connection.execute(text("SELECT version, completed FROM response")).all()
        assert [tuple(row) for row in stored] == [(2, True)]
