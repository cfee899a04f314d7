"""Campaigns end to end: a fake clock drives opening, reminders, closing and recurrence; invitations go through the
real Telegram channel to the fake Bot API; restarts and a second sender never send an invitation twice."""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

import aiohttp
import pytest
from sqlalchemy import text

from bot.app import App, build, make_channels, serve
from bot.channels.pacing import Pacer
from bot.channels.port import Address
from bot.channels.telegram import TelegramChannel
from bot.cli import campaign as campaign_commands
from bot.config import Settings
from bot.engine import conversation as engine
from bot.engine import messages as msg
from bot.services.broadcast import Broadcaster
from bot.services.privacy import Keys
from bot.services.roles import Role, Roles
from bot.services.scheduling import Leadership
from bot.services.service import SurveyService
from bot.services.surveyfiles import SurveyCatalogue
from storage import campaigns as store_campaigns
from storage import database
from storage.models import Campaign
from storage.unit_of_work import Store

from .conftest import LONDON, PEPPER, Clock
from .fakes.telegram_api import FakeTelegram
from .test_telegram import free_port, running

BOT = "123456789"  # the fake's bot id: the Telegram workspace of every address


def person(user: int) -> Address:
    return Address("telegram", BOT, str(user))


def add_contacts(store: Store, keys: Keys, users: list[int], tags: list[str], clock: Clock) -> None:
    with store.unit() as uow:
        for user in users:
            store_campaigns.upsert_contact(uow, keys.contact_lookup(person(user)), "telegram",
                                           keys.seal(person(user)), tags, clock.now.date())


def add_campaign(store: Store, code: str, opens: datetime, closes: datetime, tags: list[str], clock: Clock,
                 every_months: int | None = None, survey: str = "sample") -> None:
    with store.unit() as uow:
        uow.session.add(Campaign(code=code, survey_id=survey, version=1, tags=json.dumps(tags),
                                 opens_at=opens.astimezone(UTC), closes_at=closes.astimezone(UTC),
                                 reminders="[3, 7]", every_months=every_months, created_on=clock.now.date()))


@asynccontextmanager
async def telegram(service: SurveyService) -> AsyncIterator[tuple[FakeTelegram, TelegramChannel]]:
    async with FakeTelegram() as fake:
        channel = TelegramChannel(service, fake.token, fake.base_url, "sample")
        channel.pacer = Pacer(overall=10_000, per_chat=10_000)
        try:
            yield fake, channel
        finally:
            await channel.bot.session.close()


def invitations(fake: FakeTelegram, user: int) -> list[str]:
    return [m["text"] for m in fake.messages_to(user) if "sample of every kind" in m["text"].lower()]


def complete(service: SurveyService, who: Address, code: str) -> None:
    """Answer the sample survey through the campaign's code."""
    outcome = service.begin(who, code)
    for answer in ("yes", "1", "2", "3", "4", "1", ""):
        outcome = service.handle(who, engine.Reply(answer) if answer else engine.Skip())
    assert any(isinstance(e, engine.Finish) and e.completed for e in outcome.effects)


async def test_a_campaign_invites_reminds_non_completers_respects_opt_out_closes_and_recurs(
        service: SurveyService, store: Store, clock: Clock) -> None:
    keys = service.keys
    opens = clock.now + timedelta(hours=1)
    add_contacts(store, keys, [1, 2, 3, 4], ["police"], clock)
    add_contacts(store, keys, [5], ["health"], clock)
    add_campaign(store, "esc", opens, opens + timedelta(days=21), ["police"], clock, every_months=12)
    broadcaster = Broadcaster(store, keys, service.catalogue, clock)
    async with telegram(service) as (fake, channel):
        assert broadcaster.run_due() == []  # not open yet
        assert "opens on" in service.begin(person(1), "esc").effects[0].text  # type: ignore[union-attr]
        clock.now = opens
        assert [(r.step, r.planned) for r in broadcaster.run_due()] == [("invite", 4)]
        assert broadcaster.run_due() == [] and Broadcaster(store, keys, service.catalogue, clock).run_due() == []
        assert await broadcaster.drain(channel, service.call) == 4
        assert [len(invitations(fake, u)) for u in (1, 2, 3, 4, 5)] == [1, 1, 1, 1, 0]
        complete(service, person(1), "esc")  # finishes: gets no reminders
        service.opt_out(person(2))  # stops everything from now on
        clock.now = opens + timedelta(days=3)
        assert [(r.step, r.planned) for r in broadcaster.run_due()] == [("remind-1", 2)]
        assert await broadcaster.drain(channel, service.call) == 2
        clock.now = opens + timedelta(days=21, minutes=1)
        assert [(r.step, r.planned) for r in broadcaster.run_due()] == [("remind-2", 2), ("close", 0)]
        assert await broadcaster.drain(channel, service.call) == 0  # closed: the late reminders are skipped
        assert [len(invitations(fake, u)) for u in (1, 2, 3, 4)] == [1, 1, 2, 2]
        clock.now = opens + timedelta(days=22)  # answers are taken through the closing day (dates, not times)
        assert msg.SURVEY_CLOSED in service.begin(person(3), "esc").effects[0].text  # type: ignore[union-attr]
        clock.now = opens + timedelta(days=365)  # wave 2: everyone still opted in, including the completer
        assert [(r.wave, r.step, r.planned) for r in broadcaster.run_due()] == [(2, "invite", 3)]
        assert await broadcaster.drain(channel, service.call) == 3
        assert service.begin(person(1), "esc").open  # wave 2 is a new round: they may answer again
    with store.unit() as uow:
        actions = [a for (a,) in uow.session.execute(text("SELECT action FROM audit_record"))]
    assert actions.count("campaign.step") == 5 and "contact.opted_out" in actions  # invite, 2 reminders, close, wave 2


async def test_a_crash_mid_broadcast_resumes_and_sends_at_most_one_twice(service: SurveyService, store: Store,
                                                                         clock: Clock) -> None:
    users = list(range(100, 130))
    add_contacts(store, service.keys, users, ["all"], clock)
    add_campaign(store, "big", clock.now - timedelta(minutes=1), clock.now + timedelta(days=7), [], clock)
    first = Broadcaster(store, service.keys, service.catalogue, clock)
    async with telegram(service) as (fake, channel):
        first.run_due()
        task = asyncio.create_task(first.drain(channel, service.call))
        await fake.wait_until(lambda: len(fake.calls_to("sendMessage")) >= 10)
        task.cancel()  # the process dies here
        await asyncio.gather(task, return_exceptions=True)
        # a real death runs nothing more: let every database thread finish its unit first (on PostgreSQL there are
        # several, so one more call would not wait for the lease being taken when the task was cancelled)
        await asyncio.to_thread(service.close)
        clock.now += timedelta(minutes=3)  # the dead process's lease on its one message runs out
        restarted = Broadcaster(store, service.keys, service.catalogue, clock)
        assert restarted.run_due() == []  # the step was claimed before the crash: not planned again
        await restarted.drain(channel, service.call)
        counts = [len(invitations(fake, u)) for u in users]
    assert min(counts) == 1 and sum(counts) - len(users) <= 1


async def test_two_senders_sharing_postgresql_send_each_invitation_once(database_url: str, catalogue: SurveyCatalogue,
                                                                        clock: Clock) -> None:
    if database_url.startswith("sqlite"):
        pytest.skip("SQLite serves one process; sharing the outbox needs PostgreSQL")
    engines = [database.connect(database_url) for _ in range(2)]
    database.upgrade(engines[0])
    services = [SurveyService(Store(e), catalogue, Keys(PEPPER), clock) for e in engines]
    users = list(range(200, 240))
    add_contacts(services[0].store, services[0].keys, users, [], clock)
    add_campaign(services[0].store, "shared", clock.now - timedelta(minutes=1), clock.now + timedelta(days=7), [],
                 clock)
    async with telegram(services[0]) as (fake, one), telegram(services[1]) as (_, two):
        two.bot = one.bot  # both processes talk to the same Bot API (the first fake)
        broadcasters = [Broadcaster(s.store, s.keys, catalogue, clock) for s in services]
        planned = [b.run_due() for b in broadcasters]
        assert sum(len(p) for p in planned) == 1  # the step is claimed by one of them only
        sent = await asyncio.gather(broadcasters[0].drain(one, services[0].call),
                                    broadcasters[1].drain(two, services[1].call))
        assert sum(sent) == len(users)
        assert [len(invitations(fake, u)) for u in users] == [1] * len(users)
    first, second = Leadership(engines[0]), Leadership(engines[1])
    assert first.acquire() and not second.acquire()  # only one process schedules
    first.release()
    assert second.acquire()
    second.release()
    for service in services:
        service.close()
    for e in engines:
        e.dispose()


async def test_the_running_bot_sends_a_campaign_and_start_opens_the_survey(tmp_path: Path) -> None:
    """`surveybot run`'s own wiring: APScheduler sweeps at start, the outbox drains, Start begins the survey."""
    async with FakeTelegram() as fake:
        port = free_port()
        env = {"SURVEYBOT_DATA_DIR": str(tmp_path), "SURVEYBOT_PEPPER": PEPPER.decode(),
               "SURVEYBOT_PORT": str(port), "TELEGRAM_BOT_TOKEN": fake.token, "TELEGRAM_API_URL": fake.base_url}
        app = await asyncio.to_thread(build, Settings.from_env(env))
        clock = Clock(datetime.now(LONDON))
        add_contacts(app.store, app.keys, [7, 8], ["youth"], clock)
        with app.store.unit() as uow:
            latest = app.catalogue.latest("you-said").version
            uow.session.add(Campaign(code="ambassadors", survey_id="you-said", version=latest, tags='["youth"]',
                                     opens_at=(clock.now - timedelta(hours=1)).astimezone(UTC),
                                     closes_at=(clock.now + timedelta(days=14)).astimezone(UTC),
                                     reminders="[]", quiet_from=0, quiet_until=0, created_on=clock.now.date()))
        channels = make_channels(app)
        stop = asyncio.Event()
        task = asyncio.create_task(serve(app, channels, stop))
        try:
            invite = await fake.next_message(7, timeout=15)
            assert "You said" in invite["text"] and "open until" in invite["text"]
            fake.user_clicks(7, invite, msg.START)
            while (await fake.next_message(7, timeout=10))["text"] != msg.CONSENT_QUESTION:
                pass
            await fake.next_message(8, timeout=10)
            async with aiohttp.ClientSession() as web, web.get(f"http://127.0.0.1:{port}/s/ambassadors") as page:
                assert page.status == 200 and "You said" in await page.text()  # the web link takes the code too
            async with aiohttp.ClientSession() as web, web.get(f"http://127.0.0.1:{port}/s/nobody") as page:
                assert page.status == 404
        finally:
            stop.set()
            await asyncio.wait_for(task, 10)
            app.engine.dispose()


async def test_admins_check_and_close_campaigns_in_chat_and_others_are_refused(tmp_path: Path) -> None:
    async with FakeTelegram() as fake, running(fake, tmp_path / "data") as app:
        clock = Clock(datetime.now(LONDON))
        Roles(app.store, app.keys, app.service.clock).grant(Role.ADMIN, person(41))
        add_campaign(app.store, "esc-live", clock.now - timedelta(hours=1), clock.now + timedelta(days=7), [], clock,
                     survey="policy-awareness")
        fake.user_sends_text(42, "/status esc-live")  # not an admin
        refused = await fake.next_message(42)
        assert refused["text"].startswith("Sorry,") and "admin" in refused["text"] and "esc-live" not in refused["text"]
        fake.user_sends_text(41, "/status esc-live")
        status = await fake.next_message(41)
        assert status["text"].startswith("esc-live: policy-awareness v1, open") and "invited" in status["text"]
        fake.user_sends_text(41, "/close esc-live")
        assert "is closed" in (await fake.next_message(41))["text"]
        with app.store.unit() as uow:
            actions = [a for (a,) in uow.session.execute(text("SELECT action FROM audit_record"))]
        assert "admin.refused" in actions and "campaign.closed" in actions


async def test_strangers_refused_in_chat_are_audited_once_per_kind_a_day(tmp_path: Path) -> None:
    """Anyone can message the bot: 60 strangers typing /campaigns must not write 60 audit records. Someone who holds
    a role, refused one they lack, is audited every time."""
    async with FakeTelegram() as fake, running(fake, tmp_path / "data") as app:
        Roles(app.store, app.keys, app.service.clock).grant(Role.SCRUTINEER, person(41))
        strangers = range(1000, 1060)
        for user in strangers:
            fake.user_sends_text(user, "/campaigns")
        for user in strangers:
            assert (await fake.next_message(user))["text"].startswith("Sorry,")
        fake.user_sends_text(1000, "/close any-campaign")  # another kind: audited once too
        assert (await fake.next_message(1000))["text"].startswith("Sorry,")
        for _ in range(2):
            fake.user_sends_text(41, "/close any-campaign")
            assert (await fake.next_message(41))["text"].startswith("Sorry,")
        for user in (1001, 1002):  # exports and "you said" commands follow the same rule
            for words in ("/export policy-awareness csv", "/yousaid list"):
                fake.user_sends_text(user, words)
                assert (await fake.next_message(user))["text"].startswith("Sorry")

        def audited(action: str) -> list[dict[str, object]]:
            with app.store.unit() as uow:
                return [json.loads(s) for (s,) in uow.session.execute(
                    text("SELECT subject FROM audit_record WHERE action = :a ORDER BY seq"), {"a": action})]

        assert [(r["kind"], r["first_of_the_day"]) for r in audited("export.refused")] == [("csv", True)]
        assert audited("yousaid.refused") == [{"command": "list", "channel": "telegram", "first_of_the_day": True}]
        refused = audited("admin.refused")
        assert refused == [{"command": "campaigns", "channel": "telegram", "first_of_the_day": True},
                           {"command": "close", "channel": "telegram", "first_of_the_day": True},
                           {"command": "close", "channel": "telegram"},
                           {"command": "close", "channel": "telegram"}]


async def test_the_leading_process_runs_the_retention_purge(tmp_path: Path) -> None:
    """The purge is scheduled, not only a command: the leader runs it at start (and nightly) and audits it."""
    async with FakeTelegram() as fake, running(fake, tmp_path / "data") as app:
        for _ in range(100):
            with app.store.unit() as uow:
                purges = uow.session.execute(text("SELECT count(*) FROM audit_record WHERE action = 'purge'")).scalar()
            if purges:
                break
            await asyncio.sleep(0.05)
        assert purges == 1


async def test_people_choose_their_own_groups_from_the_partnerships_list(tmp_path: Path) -> None:
    async with FakeTelegram() as fake, running(fake, tmp_path / "data", SURVEYBOT_JOIN_TAGS="police,health") as app:
        assert app.settings.join_tags == ("police", "health")
        fake.user_sends_text(51, "/join")
        assert "police, health" in (await fake.next_message(51))["text"]
        fake.user_sends_text(51, "/join fire-brigade")
        assert "no group called “fire-brigade”" in (await fake.next_message(51))["text"]
        fake.user_sends_text(51, "/join police health")
        assert (await fake.next_message(51))["text"] == msg.JOINED.format(tags="health, police")
        with app.store.unit() as uow:
            joined = [store_campaigns.tags_of(c) for c in store_campaigns.contacts(uow, "police")]
        assert joined == [["health", "police"]]
        assert app.service.join(person(52), ["police"], (), "/join").effects[0].text == msg.JOIN_OFF  # type: ignore


def test_campaign_show_hides_every_count_the_status_hides(service: SurveyService, store: Store,
                                                          clock: Clock) -> None:
    """Ten finish, three stop half way, one only opens the link: `started` is 13 and cannot be shown (3 is below
    k = 5, so started would give it away), and the bare /start is counted nowhere."""
    add_contacts(store, service.keys, list(range(1, 15)), [], clock)
    add_campaign(store, "esc", clock.now - timedelta(hours=1), clock.now + timedelta(days=7), [], clock)
    for user in range(1, 11):
        complete(service, person(user), "esc")
    for user in range(11, 14):
        service.begin(person(user), "esc")
        service.handle(person(user), engine.Reply("yes"))
        service.handle(person(user), engine.Reply("1"))
    service.begin(person(14), "esc")
    app = App(Settings.from_env({}), store.engine, store, service.catalogue, service, service.keys)
    shown = campaign_commands.describe(app, "esc")
    assert (shown["invited"], shown["started"], shown["completed"]) == (0, "hidden", 10)
    printed = "\n".join(campaign_commands.render(shown))
    assert "started hidden" in printed and "completed 10" in printed, printed
    assert not re.search(r"\b1[34]\b", printed) and "fewer than 5" in printed, printed
    add_contacts(store, service.keys, [21, 22, 23], ["tiny"], clock)  # three invitations: a count of people too
    add_campaign(store, "tiny", clock.now - timedelta(hours=1), clock.now + timedelta(days=7), ["tiny"], clock)
    Broadcaster(store, service.keys, service.catalogue, clock).run_due()
    tiny = campaign_commands.describe(app, "tiny")
    assert tiny["messages"] == {"invite pending": "fewer than 5"} and tiny["pending"] == "fewer than 5"
    assert "fewer than 5 message(s) waiting" in "\n".join(campaign_commands.render(tiny))


def test_a_reminder_asked_for_twice_in_a_minute_says_why_nothing_more_was_sent(service: SurveyService, store: Store,
                                                                               clock: Clock) -> None:
    add_campaign(store, "esc", clock.now - timedelta(hours=1), clock.now + timedelta(days=7), [], clock)
    broadcaster = Broadcaster(store, service.keys, service.catalogue, clock)
    assert broadcaster.remind("esc") == (0, "nobody is due one (everyone has finished or had every reminder)")
    planned, why = broadcaster.remind("esc")  # the same minute
    assert planned == 0 and "already asked for this minute" in why and "quiet" not in why
    clock.now = clock.now.replace(hour=21)
    assert broadcaster.remind("esc") == (0, "it is quiet hours until 08:00")
    clock.now += timedelta(days=8)
    assert broadcaster.remind("esc") == (0, "the campaign has closed")
