"""Campaign broadcasts: run the steps that are due (claim each once, plan its outbox) and send the outbox.

Planning and sending are separate on purpose. A step is claimed and all its messages are written to the outbox in one
transaction, before anything is sent; a sender then leases one message at a time, sends it and marks it. A restart
anywhere therefore resumes where it stopped: nothing planned is lost, nothing marked is sent again, and the one message
that may have been sent but not yet marked when the process died is sent again at most once.

"We did" replies (bot.services.yousaid) use the same outbox: an approved reply is planned as a step of its round's
campaign,
to those who completed the round, and sent with reaction buttons rather than a Start button.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from bot.domain.errors import RateLimited, Unreachable
from bot.domain.reaching import INVITATION, REMINDER, Announcing, Inviting, Named
from bot.engine import messages as msg
from bot.metrics import METRICS
from bot.retrying import jittered, retry
from bot.services import yousaid
from bot.services.campaigns import CLOSE, INVITE, current_wave, due_steps, out_of_quiet_hours, rules_of, window
from bot.services.privacy import Keys
from bot.services.surveyfiles import SurveyCatalogue
from storage import campaigns as store_campaigns
from storage import rounds
from storage.models import Campaign
from storage.sql import Conflict
from storage.unit_of_work import Store

log = logging.getLogger(__name__)
LEASE = timedelta(seconds=60)  # longer than one send can take, retries included
CONFLICT_ATTEMPTS = 5  # a lease that keeps colliding with another writer is left for the next drain


def last_day(closes_at: datetime) -> datetime:
    """A round takes answers through the day it closes on (dates, not times, are what answers carry)."""
    return closes_at - timedelta(microseconds=1)


@dataclass(frozen=True)
class Taken:
    """A leased message, and whether it should still go (not to someone who opted out, became unreachable, or
    after the campaign stopped or the wave closed: those are marked skipped)."""

    lease: store_campaigns.Lease
    campaign: Campaign
    send: bool
    reply: tuple[int, str] | None = None  # a "we did" reply: its id and words (bot.services.yousaid)


@dataclass(frozen=True)
class Ran:
    code: str
    wave: int
    step: str
    planned: int


class Broadcaster:
    def __init__(self, store: Store, keys: Keys, catalogue: SurveyCatalogue, clock: Callable[[], datetime]) -> None:
        self.store = store
        self.keys = keys
        self.catalogue = catalogue
        self.clock = clock
        self.zone = clock().tzinfo or UTC

    def run_due(self) -> list[Ran]:
        """Claim and plan every step that is due. Safe to call any number of times, from any number of processes."""
        now = self.clock()
        with self.store.unit() as uow:
            running = store_campaigns.all_campaigns(uow, running_only=True)
        ran: list[Ran] = []
        for campaign in running:
            for step in due_steps(rules_of(campaign, self.zone), now):
                with self.store.unit() as uow:
                    if not store_campaigns.claim_step(uow, campaign.id or 0, step.wave, step.name, now.date()):
                        continue
                    planned = 0
                    if step.name == INVITE:
                        closes = window(rules_of(campaign, self.zone), step.wave)[1]
                        closes_on = last_day(closes).date()
                        rounds.set_closes_on(uow, campaign.survey_id, step.wave, closes_on, now.date())
                        uow.audit("round.closes", {"survey": campaign.survey_id, "wave": step.wave,
                                                   "closes_on": closes_on.isoformat()}, now.date())
                    if step.name != CLOSE:
                        people = store_campaigns.audience(uow, campaign, step.wave, reminder=step.name != INVITE)
                        planned = store_campaigns.plan(uow, campaign, step.wave, step.name, people)
                    uow.audit("campaign.step", {"campaign": campaign.code, "wave": step.wave, "step": step.name,
                                                "planned": planned}, now.date())
                log.info("campaign step run: %s wave %d %s (%d planned)", campaign.code, step.wave, step.name,
                         planned)
                ran.append(Ran(campaign.code, step.wave, step.name, planned))
        with self.store.unit() as uow:
            ran.extend(Ran(*planned) for planned in yousaid.plan_due(uow, now))
        return ran

    def remind_now(self, code: str) -> int:
        """A reminder the business unit asked for by hand: to those invited who have not finished (within the
        reminder limit), never in quiet hours or after closing."""
        return self.remind(code)[0]

    def remind(self, code: str) -> tuple[int, str]:
        """remind_now, with the reason when nobody was reminded (so a second ask in the same minute does not
        blame quiet hours)."""
        now = self.clock()
        with self.store.unit() as uow:
            campaign = store_campaigns.by_code(uow, code)
            if campaign is None:
                raise KeyError(code)
            rules = rules_of(campaign, self.zone)
            wave = current_wave(rules, now)
            if campaign.stopped or (wave is not None and now >= window(rules, wave)[1]):
                return 0, "the campaign has closed"
            if wave is None:
                return 0, "the campaign is not open yet"
            if (start := out_of_quiet_hours(now, rules)) != now:
                return 0, f"it is quiet hours until {start:%H:%M}"
            name = f"remind-{now:%y%m%d%H%M}"  # a step name holds 20 characters at most (PostgreSQL enforces it)
            if not store_campaigns.claim_step(uow, campaign.id or 0, wave, name, now.date()):
                return 0, "a reminder was already asked for this minute, and is on its way"
            people = store_campaigns.audience(uow, campaign, wave, reminder=True)
            planned = store_campaigns.plan(uow, campaign, wave, name, people)
            uow.audit("campaign.remind", {"campaign": code, "wave": wave, "planned": planned}, now.date())
            return planned, "" if planned else "nobody is due one (everyone has finished or had every reminder)"

    # --- sending ------------------------------------------------------------------------------------------------
    def _lease(self, channel: str, done: tuple[store_campaigns.Lease, str, str] | None = None) -> Taken | None:
        """Mark the message just handled (`done`: lease, status, survey) and lease the next, in one transaction:
        still only one message in flight, at one commit per message. A unit that collides with another writer
        (Conflict) is tried again, so a message already sent is not left leased, and sent again, a minute later."""
        return retry(lambda: self._lease_once(channel, done), CONFLICT_ATTEMPTS, jittered(), on=Conflict)

    def _lease_once(self, channel: str, done: tuple[store_campaigns.Lease, str, str] | None) -> Taken | None:
        with self.store.unit() as uow:
            if done is not None:
                store_campaigns.finish(uow, *done)
            lease = store_campaigns.lease_next(uow, channel, self.clock(), LEASE)
            if lease is None:
                return None
            campaign = uow.session.get(Campaign, lease.campaign_id)
            assert campaign is not None
            if lease.step.startswith(store_campaigns.REPLY_STEP):  # goes after the round closed, by design
                reply = yousaid.outgoing(uow, lease.step)
                send = store_campaigns.contact_is_current(uow, lease.contact_id) and reply is not None
            else:
                reply = None
                send = store_campaigns.contact_is_current(uow, lease.contact_id) and not campaign.stopped and (
                    self.clock() < window(rules_of(campaign, self.zone), lease.wave)[1])
            if not send:
                store_campaigns.finish(uow, lease, "skipped", campaign.survey_id)
                METRICS.broadcasts.labels(channel, "skipped").inc()
            return Taken(lease, campaign, send, reply)

    def _release(self, lease: store_campaigns.Lease) -> None:
        with self.store.unit() as uow:
            store_campaigns.release(uow, lease)

    def message(self, campaign: Campaign, lease: store_campaigns.Lease) -> str:
        survey = self.catalogue.get(campaign.survey_id, campaign.version)
        closes = last_day(window(rules_of(campaign, self.zone), lease.wave)[1])
        template = msg.INVITATION if lease.step == INVITE else msg.REMINDER
        return template.format(title=survey.title, closes=f"{closes:%A} {closes.day} {closes:%B}")

    async def drain(self, channel: Inviting, run: Callable[..., object]) -> int:
        """Send every pending message for `channel`, one at a time; returns how many were sent.

        `run` runs a function on the database thread (SurveyService.call)."""
        sent = 0
        done: tuple[store_campaigns.Lease, str, str] | None = None
        while True:
            taken = await run(self._lease, channel.name, done)  # type: ignore[misc]
            done = None
            if taken is None:
                return sent
            if not taken.send:
                continue
            lease, campaign = taken.lease, taken.campaign
            address = self.keys.unseal(lease.sealed_address)
            if taken.reply is not None and not isinstance(channel, Announcing):
                done = (lease, "skipped", campaign.survey_id)
                continue
            try:
                if taken.reply is not None:
                    assert isinstance(channel, Announcing)
                    await channel.announce(address, taken.reply[1], taken.reply[0])
                else:
                    await channel.invite(address, self.message(campaign, lease), campaign.code,
                                         kind=INVITATION if lease.step == INVITE else REMINDER)
            except Unreachable:
                done = (lease, "unreachable", campaign.survey_id)
                METRICS.broadcasts.labels(channel.name, "unreachable").inc()
                continue
            except RateLimited as exc:
                METRICS.throttled.labels(channel.name).inc()
                await run(self._release, lease)  # type: ignore[misc]
                await asyncio.sleep(exc.retry_after)
                continue
            except asyncio.CancelledError:
                raise
            done = (lease, "sent", campaign.survey_id)
            METRICS.broadcasts.labels(channel.name, "sent").inc()
            sent += 1


def inviting(channels: Iterable[Named]) -> Mapping[str, Inviting]:
    """The channels campaigns can send through, by name."""
    return {channel.name: channel for channel in channels if isinstance(channel, Inviting)}
