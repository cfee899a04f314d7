"""Campaigns -> scheduler jobs (and the nightly retention purge), and nothing else.

APScheduler 3 runs inside `surveybot run`, in Europe/London time. The schedule itself lives in our own tables
(campaigns; steps claimed once): at start, one timed job is added for each upcoming step, and a sweep every 30 s
catches anything else (a campaign created by the command line while the bot runs, a step whose job was missed while
the process was down). Both only call Broadcaster.run_due, which claims each step exactly once, so a restart neither
skips nor repeats an invitation or reminder. Misfire grace is unlimited (a late step still runs) and coalescing is on
(a backlog of sweeps runs once). The retention purge runs every night at 03:15 and once at start.

Only one process schedules and sends: on PostgreSQL the one holding a session-level advisory lock on its own
connection. When that process dies, its connection closes, the lock is released and another process takes over at
its next attempt (within `LEADER_RETRY` seconds). SQLite means one process, which always leads.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Mapping
from datetime import UTC, datetime, timedelta

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.date import DateTrigger
from apscheduler.triggers.interval import IntervalTrigger
from sqlalchemy import text
from sqlalchemy.engine import Connection, Engine

from bot import retention
from bot.broadcast import Broadcaster
from bot.campaigns import next_steps, rules_of
from bot.channels.port import Inviting
from bot.service import SurveyService
from storage import campaigns as store_campaigns

log = logging.getLogger(__name__)
SWEEP_SECONDS = 30
LEADER_RETRY = 15
LEADER_LOCK = 0x5355_5257  # "SURW": held by the one process that schedules
JOB_DEFAULTS = {"misfire_grace_time": None, "coalesce": True, "max_instances": 1}


class Leadership:
    """Who schedules: the holder of a PostgreSQL advisory lock (held on a connection kept open), or, on SQLite, us."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._connection: Connection | None = None

    def acquire(self) -> bool:
        if self.engine.dialect.name != "postgresql":
            return True
        if self._connection is not None:
            return True
        connection = self.engine.connect()
        held = bool(connection.execute(text("SELECT pg_try_advisory_lock(:key)"), {"key": LEADER_LOCK}).scalar())
        connection.commit()
        if held:
            self._connection = connection
        else:
            connection.close()
        return held

    def release(self) -> None:
        if self._connection is not None:
            with contextlib.suppress(Exception):
                self._connection.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": LEADER_LOCK})
                self._connection.commit()
            self._connection.close()
            self._connection = None


class CampaignScheduler:
    def __init__(self, service: SurveyService, broadcaster: Broadcaster, channels: Mapping[str, Inviting],
                 clock: Callable[[], datetime], timezone: str, leadership: Leadership) -> None:
        self.service = service
        self.broadcaster = broadcaster
        self.channels = channels
        self.clock = clock
        self.leadership = leadership
        self.scheduler = AsyncIOScheduler(timezone=timezone, job_defaults=JOB_DEFAULTS)
        self._wake: dict[str, asyncio.Event] = {name: asyncio.Event() for name in channels}
        self._senders: list[asyncio.Task[None]] = []
        self._leading = False

    async def start(self) -> None:
        self.scheduler.start()
        self.scheduler.add_job(self._try_to_lead, IntervalTrigger(seconds=LEADER_RETRY), id="leader",
                               next_run_time=datetime.now(self.scheduler.timezone))

    async def stop(self) -> None:
        self.scheduler.shutdown(wait=False)
        for task in self._senders:
            task.cancel()
        await asyncio.gather(*self._senders, return_exceptions=True)
        await self.service.call(self.leadership.release)

    async def _try_to_lead(self) -> None:
        if self._leading or not await self.service.call(self.leadership.acquire):
            return
        self._leading = True
        log.info("this process now schedules campaigns")
        await self._rebuild()
        self.scheduler.add_job(self.sweep, IntervalTrigger(seconds=SWEEP_SECONDS), id="sweep",
                               next_run_time=datetime.now(self.scheduler.timezone), replace_existing=True)
        # retention (docs/privacy.md): keys, raw free text and idle state, every night and once now (a late start)
        self.scheduler.add_job(self.purge, CronTrigger(hour=3, minute=15), id="purge", replace_existing=True)
        self.scheduler.add_job(self.purge, DateTrigger(run_date=datetime.now(self.scheduler.timezone)),
                               id="purge-at-start", replace_existing=True)
        self._senders = [asyncio.create_task(self._send(name)) for name in self.channels]

    async def _rebuild(self) -> None:
        """One timed job per upcoming step, from the campaign table (so it survives restarts)."""
        now = self.clock()
        campaigns = await self.service.call(self._running)
        for campaign in campaigns:
            for step in next_steps(rules_of(campaign, now.tzinfo or UTC), now, horizon=timedelta(days=400)):
                self.scheduler.add_job(self.sweep, DateTrigger(run_date=step.due),
                                       id=f"{campaign.code}:{step.wave}:{step.name}", replace_existing=True)

    def _running(self) -> list[object]:
        with self.service.store.unit() as uow:
            return list(store_campaigns.all_campaigns(uow, running_only=True))

    async def sweep(self) -> None:
        """Run what is due, then wake the senders."""
        ran = await self.service.call(self.broadcaster.run_due)
        if ran:
            await self._rebuild()
        for event in self._wake.values():
            event.set()

    async def purge(self) -> None:
        """Delete what retention says is due; each purge is audited (bot.retention)."""
        report = await self.service.call(retention.purge, self.service.store, self.service.policy, self.clock())
        log.info("retention purge: %s", report.summary())

    async def _send(self, channel: str) -> None:
        """Drain the channel's outbox whenever woken; each message is leased, sent and marked one at a time."""
        wake = self._wake[channel]
        while True:
            await wake.wait()
            wake.clear()
            try:
                sent = await self.broadcaster.drain(self.channels[channel], self.service.call)
                if sent:
                    log.info("sent %d campaign message(s) on %s", sent, channel)
            except asyncio.CancelledError:
                raise
            except Exception:  # a platform or database hiccup: try again at the next sweep
                log.exception("sending campaign messages on %s failed; will retry", channel)
