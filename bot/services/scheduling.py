"""Campaigns -> scheduler jobs (and the nightly retention purge), and nothing else.

APScheduler 3 runs inside `surveybot run`, in Europe/London time. The schedule itself lives in our own tables
(campaigns; steps claimed once): at start, one timed job is added for each upcoming step, and a sweep every 30 s
catches anything else (a campaign created by the command line while the bot runs, a step whose job was missed while
the process was down). Both only call Broadcaster.run_due, which claims each step exactly once, so a restart neither
skips nor repeats an invitation or reminder. Misfire grace is unlimited (a late step still runs) and coalescing is on
(a backlog of sweeps runs once). The retention purge runs every night at 03:15 and once at start.

Only one process schedules and sends: on PostgreSQL the one holding a session-level advisory lock on its own
connection. When that process dies, its connection closes, the lock is released and another process takes over at
its next attempt: within SURVEYBOT_LEADER_RETRY_SECONDS (15) of the death. When the leader's whole machine vanishes
without closing its connection, PostgreSQL notices through TCP keepalives set on that connection (KEEPALIVE: about
25 seconds) and the bound grows by that much. The leader checks its own connection at the same interval and steps
down when it lost it (the database restarted, say), so two processes never both believe they lead for longer than
one interval; and even then nothing is sent twice, because steps are claimed once and outbox rows are leased.
SQLite means one process, which always leads.
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

from bot.domain.reaching import Inviting
from bot.metrics import METRICS
from bot.services import retention
from bot.services.broadcast import Broadcaster
from bot.services.campaigns import next_steps, rules_of
from bot.services.service import SurveyService
from storage import campaigns as store_campaigns
from storage.models import Campaign

log = logging.getLogger(__name__)
SWEEP_SECONDS = 30
LEADER_RETRY = 15
LEADER_LOCK = 0x5355_5257  # "SURW": held by the one process that schedules
# Server-side TCP keepalives on the leader's connection: a peer gone silent is dropped after idle + interval * count
KEEPALIVE = {"tcp_keepalives_idle": 10, "tcp_keepalives_interval": 5, "tcp_keepalives_count": 3}
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
        try:
            held = bool(connection.execute(text("SELECT pg_try_advisory_lock(:key)"), {"key": LEADER_LOCK}).scalar())
            if held:
                for name, value in KEEPALIVE.items():  # so a vanished machine's lock is freed in bounded time
                    connection.execute(text(f"SET {name} = {int(value)}"))
            connection.commit()
        except Exception:
            connection.close()
            raise
        if held:
            self._connection = connection
        else:
            connection.close()
        return held

    def holding(self) -> bool:
        """Still leading: our connection (and so the lock on it) is alive. False, and let go, when it is not."""
        if self.engine.dialect.name != "postgresql":
            return True
        if self._connection is None:
            return False
        try:
            held = self._connection.execute(text(
                "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND pid = pg_backend_pid() "
                "AND objid::bigint = :key AND objsubid = 1 AND granted"), {"key": LEADER_LOCK}).scalar()
            self._connection.commit()
        except Exception:
            held = 0
        if not held:
            self.release()
        return bool(held)

    def release(self) -> None:
        if self._connection is not None:
            with contextlib.suppress(Exception):
                self._connection.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": LEADER_LOCK})
                self._connection.commit()
            self._connection.close()
            self._connection = None


class CampaignScheduler:
    def __init__(self, service: SurveyService, broadcaster: Broadcaster, channels: Mapping[str, Inviting],
                 clock: Callable[[], datetime], timezone: str, leadership: Leadership,
                 sweep_seconds: int = SWEEP_SECONDS, retry_seconds: int = LEADER_RETRY) -> None:
        self.service = service
        self.sweep_seconds = sweep_seconds
        self.retry_seconds = retry_seconds
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
        self.scheduler.add_job(self._try_to_lead, IntervalTrigger(seconds=self.retry_seconds), id="leader",
                               next_run_time=datetime.now(self.scheduler.timezone))

    @property
    def leading(self) -> bool:
        return self._leading

    async def stop(self) -> None:
        self.scheduler.shutdown(wait=False)
        await self._stop_senders()
        await self.service.call(self.leadership.release)
        METRICS.leader.set(0)

    async def _stop_senders(self) -> None:
        for task in self._senders:
            task.cancel()
        await asyncio.gather(*self._senders, return_exceptions=True)
        self._senders = []

    async def _try_to_lead(self) -> None:
        try:
            if self._leading:
                if not await self.service.call(self.leadership.holding):
                    await self._step_down()
                return
            if not await self.service.call(self.leadership.acquire):
                return
        except Exception:  # the database is away: stay as we are and try again at the next interval
            log.warning("could not reach the database to settle who schedules campaigns; will retry")
            return
        self._leading = True
        METRICS.leader.set(1)
        log.info("this process now schedules campaigns")
        await self._rebuild()
        self.scheduler.add_job(self.sweep, IntervalTrigger(seconds=self.sweep_seconds), id="sweep",
                               next_run_time=datetime.now(self.scheduler.timezone), replace_existing=True)
        # retention (docs/privacy.md): keys, raw free text and idle state, every night and once now (a late start)
        self.scheduler.add_job(self.purge, CronTrigger(hour=3, minute=15), id="purge", replace_existing=True)
        self.scheduler.add_job(self.purge, DateTrigger(run_date=datetime.now(self.scheduler.timezone)),
                               id="purge-at-start", replace_existing=True)
        self._senders = [asyncio.create_task(self._send(name)) for name in self.channels]

    async def _step_down(self) -> None:
        """We lost the lock (our connection broke): stop scheduling and sending; another process may lead now."""
        log.warning("this process lost its database connection and no longer schedules campaigns")
        self._leading = False
        METRICS.leader.set(0)
        for job in self.scheduler.get_jobs():
            if job.id != "leader":
                job.remove()
        await self._stop_senders()

    async def _rebuild(self) -> None:
        """One timed job per upcoming step, from the campaign table (so it survives restarts)."""
        now = self.clock()
        campaigns = await self.service.call(self._running)
        for campaign in campaigns:
            for step in next_steps(rules_of(campaign, now.tzinfo or UTC), now, horizon=timedelta(days=400)):
                self.scheduler.add_job(self.sweep, DateTrigger(run_date=step.due),
                                       id=f"{campaign.code}:{step.wave}:{step.name}", replace_existing=True)

    def _running(self) -> list[Campaign]:
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
        """Delete what retention says is due; each purge is audited (bot.services.retention)."""
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
