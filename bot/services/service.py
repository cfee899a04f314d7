"""The use cases: start a survey, handle what a respondent did, erase their answers.

Each call is one unit of work: claim the platform event (so a redelivery does nothing), load the conversation, run the
pure engine, store its Record/Discard/Finish effects under the survey round's pseudonym with the date only, save or end
the conversation, append the audit records, commit. The effects are returned for the channel to send only after that
commit. Two updates from one person at once cannot both win: the conversation row is saved with optimistic locking
and the loser retries from fresh state.

Privacy (docs/privacy.md): free text is scrubbed (bot.services.scrubbing) before any of that stores it, in the answer
and in
the conversation state alike; the round's thresholds are locked by its first stored answer; a new conversation opens
with the standard privacy notice for its round (bot.services.notices).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import secrets
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime
from functools import partial
from typing import Any, TypeVar

from bot.domain.address import Address
from bot.engine import conversation as engine
from bot.engine import messages as msg
from bot.engine.conversation import Effect, Event, Finish, Record, Say, State
from bot.engine.survey import Audience, Survey
from bot.metrics import METRICS
from bot.retrying import jittered, retry
from bot.services import pending
from bot.services.campaigns import current_wave, rules_of
from bot.services.notices import notice
from bot.services.policy import Policy, round_thresholds
from bot.services.privacy import Keys
from bot.services.safeguarding import checkin
from bot.services.safeguarding.alerts import AlertRoute
from bot.services.safeguarding.checkin import Alert, CheckIn, Press
from bot.services.safeguarding.matching import DEFAULT_HELP_WORD, Matcher
from bot.services.safeguarding.phrases import load_phrases
from bot.services.scrubbing import Scrubber
from bot.services.surveyfiles import Problem, SurveyCatalogue, SurveyFileError
from storage import campaigns as store_campaigns
from storage import evidence, rounds
from storage import yousaid as store_yousaid
from storage.database import DatabaseError
from storage.replies import Owed
from storage.unit_of_work import (
    BATCH_LIMIT,
    BatchSpoilt,
    Conflict,
    ConversationRow,
    ResponseRef,
    Store,
    UnitOfWork,
)

log = logging.getLogger(__name__)
RETRIES = 8
_JITTER = jittered()
POSTGRES_THREADS = 4
T = TypeVar("T")
U = TypeVar("U", bound=Callable[..., Any])


Shown = Effect | CheckIn | Alert  # the engine's effects, plus the safeguarding check's


@dataclass(frozen=True)
class Outcome:
    effects: tuple[Shown, ...]
    open: bool = False  # a conversation is still open afterwards
    duplicate: bool = False
    survey: Survey | None = None
    idle: bool = False  # a typed message found no survey open: the channel may offer it as feedback instead
    owed: tuple[str, str] | None = None  # its pending reply (session, token): bot.services.pending; see `delivered`


Settled = tuple[asyncio.Future[Any], Any, BaseException | None]  # a step's caller, and its result or error


def joins_group_commit(use_case: U) -> U:
    """Mark a use case as a survey step: SurveyService.call runs it with the other steps waiting, in one commit
    (Store.batch). Only short steps whose caller waits for the commit belong here; everything else commits alone."""
    use_case.group_commit = True  # type: ignore[attr-defined]
    return use_case


def _after_conflict(attempt: int, error: Exception) -> float:
    """Count and log a unit that collided with another writer; the pause before its retry desynchronises them."""
    METRICS.conflicts.inc()
    log.info("rows changed concurrently; retrying (attempt %d)", attempt + 1)
    return _JITTER(attempt, error)


def _alone(job: Callable[[], Any], future: asyncio.Future[Any]) -> Settled:
    """A step run in a transaction of its own (retried on Conflict like any unit), after its batch was spoilt."""
    try:
        return future, job(), None
    except Exception as exc:
        return future, None, exc


def _settle(done: list[Settled]) -> None:
    """Hand each caller of a committed batch its result (on the event loop; a caller may have gone meanwhile)."""
    for future, result, error in done:
        if future.done():
            continue
        if error is not None:
            future.set_exception(error)
        else:
            future.set_result(result)


class SurveyService:
    def __init__(self, store: Store, catalogue: SurveyCatalogue, keys: Keys, clock: Callable[[], datetime], *,
                 policy: Policy | None = None, scrubber: Scrubber | None = None, matcher: Matcher | None = None,
                 care_who: str = msg.CARE_WHO, help_word: str = DEFAULT_HELP_WORD) -> None:
        self.store = store
        self.catalogue = catalogue
        self.keys = keys
        self.clock = clock
        self.policy = policy or Policy()
        self.scrubber = scrubber or Scrubber()
        self.matcher = matcher or Matcher(load_phrases(), help_word)
        self.care_who = care_who
        self.help_word = help_word
        self.alerts = AlertRoute(clock)  # the composition root adds the lead's Slack channel / Telegram chat
        self.alerts.record = self._record_group
        self._database: ThreadPoolExecutor | None = None
        self._batch: list[tuple[Callable[[], Any], asyncio.Future[Any]]] = []  # answers waiting for a group commit
        self._batch_lock = threading.Lock()  # guards _batch and _draining between the event loop and the thread
        self._draining = False
        self._refused_on: dict[str, date] = {}  # kinds of unauthenticated request already audited, and when
        self._flush_due = False  # a deletion of sent pending replies is scheduled (`delivered`)

    def publish_all(self) -> None:
        """Record the exact text of every loaded survey version; refuse one changed after it collected answers.

        Several processes starting together on one database publish the same versions at once: the later ones
        break the unique key (Conflict) and start again, finding each version already there."""
        retry(self._publish_all, RETRIES, jittered(), on=Conflict)

    def _publish_all(self) -> None:
        today = self.clock().date()
        frozen: list[Problem] = []
        with self.store.unit() as uow:
            for survey in self.catalogue.all():
                result = uow.publish(survey.id, survey.version, survey.title, survey.audience.value, survey.source,
                                     today)
                if result == "frozen":
                    frozen.append(Problem(survey.path, 1, f"version {survey.version} of `{survey.id}` has already "
                                          "collected answers, so its wording is frozen: give the changed survey a "
                                          "new version number"))
                elif result in ("new", "updated"):
                    uow.audit(f"survey.{result}", {"survey": survey.id, "version": survey.version}, today)
            if frozen:
                raise SurveyFileError(frozen)

    # --- use cases -----------------------------------------------------------------------------------------------
    @joins_group_commit
    def begin(self, address: Address, code: str, wave: int | None = None, event_key: str | None = None,
              first: Event | None = None, until_consent: bool = False) -> Outcome:
        """Start a survey for someone, or carry on the one they already have open. `code` is a survey id (wave 1
        unless given) or a campaign's code (its current wave). `until_consent`, `first`: see open_link."""

        def work(uow: UnitOfWork, now: datetime) -> Outcome:
            found = self._resolve(uow, code, wave, now)
            if isinstance(found, Outcome):
                return found
            survey, round_wave = found
            session = self.keys.session(address)
            open_row = uow.conversation(session)
            if open_row is not None and open_row.survey_id == survey.id:
                return self._advance(uow, address, session, open_row, first or engine.Resume(), now)
            salt = uow.salt(survey.id, round_wave, now.date())
            if salt is None:
                return Outcome((Say(msg.SURVEY_CLOSED),))
            respondent = self.keys.respondent(address, survey.id, round_wave, salt)
            if uow.has_completed(respondent, survey.id, round_wave):
                return Outcome((Say(msg.ALREADY_FINISHED),))
            if until_consent:  # an open link: nothing is stored before a yes
                shown = engine.start(survey, now)
                if first is None:
                    return Outcome(self._with_notice(uow, survey, round_wave, shown.effects), open=True,
                                   survey=survey)
                agreed = engine.advance(survey, shown.state, first, now)
                if agreed.state.status is not engine.Status.ASKING:  # not a yes (yet): nothing to keep
                    return Outcome(agreed.effects, open=not agreed.state.finished, survey=survey)
            contact = uow.ensure_contact(self.keys.contact_lookup(address), address.channel,
                                         self.keys.seal(address), now.date())
            uow.mark_participation(contact, survey.id, round_wave, completed=False)
            step = engine.start(survey, now)
            uow.save_conversation(session, survey.id, survey.version, round_wave, step.state.to_json(),
                                  open_row.revision if open_row else None, now)
            if first is not None:  # they agreed: carry their yes through the conversation just stored
                row = uow.conversation(session)
                assert row is not None
                return self._advance(uow, address, session, row, first, now)
            return Outcome(self._with_notice(uow, survey, round_wave, step.effects), open=True, survey=survey)

        return self._run(work, event_key, address)

    def open_link(self, address: Address, code: str, wave: int | None = None, first: Event | None = None
                  ) -> Outcome:
        """`begin` for an open link (the web chat), which anyone can open as often as they like: nothing is stored
        for a visitor until they agree to take part. Without `first`: the first screen (or the conversation they
        have open). With `first`: what they did on that screen; only a yes stores anything (their contact,
        participation and conversation, as `begin` does); a no or a stop leaves no trace."""
        return self.begin(address, code, wave, None, first, True)

    @joins_group_commit
    def handle(self, address: Address, event: Event, event_key: str | None = None) -> Outcome:
        """Apply what someone did to their open conversation."""

        session = self.keys.session(address)  # once a step: each keyed hash is a few µs of the press (BENCHMARKS.md)

        def work(uow: UnitOfWork, now: datetime) -> Outcome:
            row = uow.conversation(session)
            if row is None:
                return Outcome((Say(msg.NO_SURVEY_OPEN),), idle=isinstance(event, engine.Reply))
            return self._advance(uow, address, session, row, event, now)

        return self._run(work, event_key, address, reading=session)

    @joins_group_commit
    def reply(self, address: Address, text: str, event_key: str | None = None, turn: int | None = None) -> Outcome:
        """Words someone typed: the safeguarding check first, then an answer to their open survey, or else (no
        survey open) "you said" feedback. One call, so a channel hands a typed message to the database thread once
        rather than three times; each step is still its own unit, in the order the safeguarding rules need.
        `turn`: the question the words were typed for, when the channel knows it (engine.Reply)."""
        guarded = self.guard(address, text, event_key)  # before anything can store the words
        if guarded is not None:
            return guarded
        outcome = self.handle(address, engine.Reply(text, turn), event_key)
        if outcome.idle:  # no survey open: a young person's free message is "you said" feedback
            outcome = self.feedback(address, text, f"{event_key}:feedback" if event_key is not None else None)
        return outcome

    def feedback(self, address: Address, text: str, event_key: str | None = None) -> Outcome:
        """A free message from a young person, outside any survey: "you said" feedback.

        This is the ONE way a free message becomes feedback (every channel calls it when `handle` says no survey is
        open), so the safeguarding check goes in front of this method: nothing below may store the words first.
        Channels call `guard` before `handle`; this method runs it again itself, so no path can store a disclosure
        as feedback (a second run finds nothing to match and touches no table).
        The person must be in a young people's round (their newest one tags the item); the words are scrubbed and
        stored with that round and today's date only: no id, handle, contact or time. Anyone else gets the usual
        "no survey open" answer, and nothing is stored."""
        guarded = self.guard(address, text, event_key)
        if guarded is not None:
            return guarded

        def work(uow: UnitOfWork, now: datetime) -> Outcome:
            found = store_yousaid.youth_round_of(uow, self.keys.contact_lookup(address),
                                                 Audience.YOUNG_PEOPLE.value)
            words = text.strip()
            if found is None or not words:
                return Outcome((Say(msg.NO_SURVEY_OPEN),))
            survey_id, wave = found
            item = store_yousaid.add_item(uow, survey_id, wave, "message", self.scrubber.scrub(words).text,
                                          now.date())
            uow.audit("feedback.received", {"item": item.id, "survey": survey_id, "wave": wave,
                                            "source": "message"}, now.date())
            return Outcome((Say(msg.YOUSAID_THANKS),))

        return self._run(work, event_key, address)

    def erase(self, address: Address) -> Outcome:
        """Delete this person's answers: to the open survey if any, otherwise to every survey still linkable."""

        def work(uow: UnitOfWork, now: datetime) -> Outcome:
            session = self.keys.session(address)
            row = uow.conversation(session)
            salts = uow.live_salts()
            if row is not None:
                uow.end_conversation(session)
                salts = [s for s in salts if (s[0], s[1]) == (row.survey_id, row.wave)]
                if not salts:
                    return Outcome((Say(msg.ANONYMOUS_NOW),))
            erased: list[str] = []
            for survey_id, wave, salt in salts:
                respondent = self.keys.respondent(address, survey_id, wave, salt)
                for response in uow.responses_of(respondent, survey_id, wave):
                    assert response.id is not None
                    store_yousaid.drop_items_of_response(uow, response.id)
                    count = uow.erase_response(response)
                    uow.audit("response.erased", {"response": response.id, "answers": count}, now.date())
                    erased.append(self._title(survey_id))
            if not erased:
                if rounds.destroyed_rounds_of(uow, self.keys.contact_lookup(address)):
                    return Outcome((Say(msg.ANONYMOUS_NOW),))
                return Outcome((Say(msg.NOTHING_TO_ERASE),))
            return Outcome((Say(msg.ERASED.format(titles=", ".join(sorted(set(erased))))),))

        return self._run(work, None, address)

    def refused(self, kind: str) -> None:
        """Audit a request refused for failing authentication (a forged or stale Slack signature, a wrong Telegram
        secret token). Anyone on the internet can send those, and strangers must not be able to grow the evidence
        chain at will: so the first of each kind each day (in each process) is audited, and every one is logged by
        the channel. Runs on the event loop (at most a few writes a day), and never fails the refusal itself."""
        today = self.clock().date()
        if self._refused_on.get(kind) == today:
            return
        self._refused_on[kind] = today
        try:
            with self.store.unit() as uow:
                uow.audit("request.refused", {"kind": kind, "first_of_the_day": True}, today)
        except (DatabaseError, Conflict):
            log.warning("could not audit a refused request (%s)", kind)

    async def call(self, use_case: Callable[..., T], *args: Any) -> T:
        """Run a use case from the event loop on the service's database thread(s), shared by every channel.

        SQLite has one writer, so one thread (no contention, fewer GIL hand-offs). PostgreSQL runs transactions side
        by side, so a few threads overlap their round trips; only the audit append is taken in turn."""
        if self._database is None:
            threads = 1 if self.store.engine.dialect.name == "sqlite" else POSTGRES_THREADS
            self._database = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="surveybot-database")
        loop = asyncio.get_running_loop()
        if getattr(use_case, "group_commit", False):  # survey steps (joins_group_commit): committed together
            result = await self._grouped(loop, partial(use_case, *args))
        else:
            result = await loop.run_in_executor(self._database, partial(use_case, *args))
        if isinstance(result, Outcome) and any(isinstance(e, Alert) for e in result.effects):
            return await self._send_alerts(result)  # type: ignore[return-value]
        return result

    async def _grouped(self, loop: asyncio.AbstractEventLoop, job: Callable[[], T]) -> T:
        """Run a survey step with whatever other steps are waiting, committed together (Store.batch): on SQLite,
        one commit for the answers of everyone who answered meanwhile. The caller hears back only once the batch is
        committed, so nothing is acknowledged before it is stored."""
        future: asyncio.Future[T] = loop.create_future()
        with self._batch_lock:
            self._batch.append((job, future))
            start, self._draining = not self._draining, True
        if start:
            assert self._database is not None
            self._database.submit(self._drain, loop)
        return await future

    def _drain(self, loop: asyncio.AbstractEventLoop) -> None:
        """On the database thread: commit one batch of the steps waiting, then queue again behind any other work
        handed to the thread meanwhile (on SQLite there is one thread, and a steady stream of answers must not keep
        an erase or an admin command waiting)."""
        with self._batch_lock:
            jobs, self._batch = self._batch[:BATCH_LIMIT], self._batch[BATCH_LIMIT:]
        done: list[Settled] = []
        try:
            with self.store.batch():
                try:
                    done = [(future, job(), None) for job, future in jobs]
                except Exception as exc:  # whatever the step had written shares the batch's transaction
                    raise BatchSpoilt() from exc
        except BatchSpoilt:  # one step failed and took the batch with it: each step again, on its own
            done = [_alone(job, future) for job, future in jobs]
        except Exception as exc:  # the commit failed: nothing of this batch was stored
            done = [(future, None, exc) for _, future in jobs]
        finally:
            with self._batch_lock:
                again = self._draining = bool(self._batch)
            if again:
                assert self._database is not None
                try:
                    self._database.submit(self._drain, loop)
                except RuntimeError:  # the service is closing: those still waiting hear so
                    with self._batch_lock:
                        left, self._batch, self._draining = self._batch, [], False
                    done += [(future, None, DatabaseError("the service is shutting down")) for _, future in left]
        loop.call_soon_threadsafe(_settle, done)

    # --- safeguarding (docs/safeguarding.md) -----------------------------------------------------------------
    def guard(self, address: Address, text: str, event_key: str | None = None) -> Outcome | None:
        """Check a young person's words BEFORE anything stores them: the one entry point for every path that may
        store a young person's free text (typed survey answers on every channel, free messages outside a survey).

        None: nothing matched (or the open survey is not a young people's one): carry on and store as usual.
        An Outcome: the words matched the safeguarding phrase list or are the HELP word. They are held back for
        good: a matched free-text answer is stored as "[removed for safety] CATEGORY" (the HELP word records
        nothing, and the question is asked again once they carry on), nothing else of them is kept
        (not in the conversation state, not in a log), an anonymous alert is raised for a phrase match, and the
        effects show the gentle check ("Are you OK?"). Send those effects and do NOT pass the words on."""
        match = self.matcher.check(text)
        if match is None:
            return None
        survey = self.open_survey(address)
        if survey is not None and survey.audience is not Audience.YOUNG_PEOPLE:
            return None

        def work(uow: UnitOfWork, now: datetime) -> Outcome:
            session = self.keys.session(address)
            row = uow.conversation(session)
            effects: list[Shown] = []
            still_open, current = row is not None, None
            if row is not None and not match.help_word:  # HELP is not an answer: the question is asked again
                held = self._advance(uow, address, session, row, engine.Withhold(match.category), now)
                # the answer's placeholder and a finish count; the next question waits until they choose to carry on
                effects.extend(e for e in held.effects if isinstance(e, (engine.Answered, Finish)))
                still_open, current = held.open, held.survey
            alert = None if match.help_word else self._raise(uow, Alert(match.category, False, address.channel), now)
            effects.extend(checkin.opening(match, alert.ref if alert else ""))  # a named alert keeps its reference
            if alert is not None:
                effects.append(alert)
            return Outcome(tuple(effects), open=still_open, survey=current)

        return self._run(work, event_key, address)

    def care(self, address: Address, press: Press, reach: str | None = None, event_key: str | None = None
             ) -> Outcome:
        """A button of the check pressed. `reach` is the channel's handle for this person (Telegram, Slack), passed
        to the lead only with their clear yes; the web chat has none, so there the young person types one."""

        def work(uow: UnitOfWork, now: datetime) -> Outcome:
            decision = checkin.answer(press, channel=address.channel, who=self.care_who,
                                      can_alert=self.alerts.configured, reach=reach,
                                      asks_contact=address.channel == "web")
            effects: list[Shown] = list(decision.effects)
            if decision.alert is not None:
                effects.append(self._raise(uow, decision.alert, now))
            if not decision.carry_on:
                return Outcome(tuple(effects), open=True)
            session = self.keys.session(address)
            row = uow.conversation(session)
            if row is None:
                effects.append(Say(msg.CARE_ALL_DONE.format(help=self.help_word.upper())))
                return Outcome(tuple(effects))
            if press.choice == checkin.OK:
                effects.append(Say(msg.CARE_CARRY_ON))
            resumed = self._advance(uow, address, session, row, engine.Resume(), now)
            return Outcome((*effects, *resumed.effects), open=resumed.open, survey=resumed.survey)

        return self._run(work, event_key, address)

    def acknowledge(self, ref: str) -> date | None:
        """Someone in the lead's channel pressed Acknowledge: record it in the audit log, once. Returns the day, or
        None when no such alert was raised or it was acknowledged already."""

        def work(uow: UnitOfWork, now: datetime) -> date | None:
            needle = json.dumps(ref)
            raised = [json.loads(s) for action in ("safeguarding.alert", "safeguarding.grouped")
                      for s in evidence.audit_subjects(uow, action, needle)]
            raised = [r for r in raised if r.get("alert") == ref]
            done = [json.loads(s) for s in evidence.audit_subjects(uow, "safeguarding.acknowledged", needle)]
            done = [d for d in done if d.get("alert") == ref]
            named = any(r.get("consent") for r in raised)
            # one press acknowledges the case; a named alert arriving after the anonymous one was acknowledged is news
            if not raised or (done and (not named or any(d.get("named") for d in done))):
                return None
            uow.audit("safeguarding.acknowledged", {"alert": ref} | ({"named": True} if named else {}), now.date())
            return now.date()

        with self.store.unit() as uow:
            return work(uow, self.clock())

    def _raise(self, uow: UnitOfWork, alert: Alert, now: datetime) -> Alert:
        """Audit that an alert was raised: its reference, category and consent. No words, no ids, no handle.
        A named alert that follows this young person's anonymous one keeps its reference: one case, one reference."""
        needle = json.dumps(alert.ref)
        follows = bool(alert.ref) and alert.consent and any(
            json.loads(s) == {"alert": alert.ref, "category": alert.category, "consent": False}
            for s in evidence.audit_subjects(uow, "safeguarding.alert", needle))
        ref = alert.ref if follows else secrets.token_hex(6)
        uow.audit("safeguarding.alert", {"alert": ref, "category": alert.category, "consent": alert.consent},
                  now.date())
        grouped = [json.loads(s)["alert"] for s in evidence.audit_subjects(uow, "safeguarding.grouped", needle)
                   if alert.ref in json.loads(s).get("alerts", [])] if follows else []
        return replace(alert, ref=ref, follows=(grouped[0] if grouped else ref) if follows else "")

    async def _record_group(self, ref: str, held: list[Alert]) -> None:
        """Audit one message that carries several anonymous alerts (AlertRoute), before it is posted: its own
        reference, for Acknowledge, and the alerts' references, each audited already when it was raised."""

        def work() -> None:
            with self.store.unit() as uow:
                uow.audit("safeguarding.grouped", {"alert": ref, "alerts": [a.ref for a in held]},
                          self.clock().date())

        await self.call(work)

    async def _send_alerts(self, outcome: Outcome) -> Outcome:
        """Post the alerts (after the commit that audited them), and drop them from what the channel draws. When a
        named alert could not be delivered, the young person is told so instead of being told someone will call."""
        kept: list[Shown] = []
        failed = False
        for effect in outcome.effects:
            if isinstance(effect, Alert):
                delivered = await self.alerts.send(effect)
                failed = failed or (effect.consent and not delivered)
            else:
                kept.append(effect)
        if failed:
            shared = msg.CARE_SHARED.format(who=self.care_who)
            kept = [Say(msg.CARE_NO_ROUTE) if isinstance(e, Say) and e.text == shared else e for e in kept]
        return replace(outcome, effects=tuple(kept))

    # --- persist, then send (bot.services.pending)
    # --------------------------------------------------------------------------
    def delivered(self, outcome: Outcome) -> None:
        """The channel has sent an outcome's messages (on the event loop): its pending row can go. The deletion
        rides with the next batch's commit, or goes on its own a moment later if none comes."""
        if outcome.owed is None:
            return
        self.store.replies.sent(*outcome.owed)
        if not self._flush_due and self._database is not None:
            self._flush_due = True
            asyncio.get_running_loop().call_later(pending.FLUSH_SECONDS, self._flush_replies)

    def _flush_replies(self) -> None:
        self._flush_due = False
        if self._database is None or not self.store.replies.waiting:
            return
        with contextlib.suppress(RuntimeError):  # closing: settle_replies deletes them
            self._database.submit(self._flush_now)

    def _flush_now(self) -> None:
        try:
            self.store.flush_replies()
        except (DatabaseError, Conflict):
            log.warning("could not delete the pending replies already sent; tried again with the next answer")

    def owed(self, channel: str, every: bool = False) -> list[tuple[Address, Outcome]]:
        """Claim the replies on `channel` that committed steps still owe and nobody is sending (`every`: all of
        them), each as the address and the outcome to send."""
        now = self.clock().astimezone(UTC)
        found: list[tuple[Address, Outcome]] = []
        with self.store.unit() as uow:
            for session, token, payload in self.store.replies.claim(uow, channel, now, now + pending.LEASE, every):
                try:
                    address, effects = pending.unpack(self.keys, payload)
                except Exception:  # sealed with another pepper, or damaged: it can never be sent
                    log.warning("dropped a pending reply that cannot be opened with this pepper")
                    self.store.replies.drop(uow, token)
                    continue
                found.append((address, Outcome(effects, open=True, owed=(session, token))))
        return found

    def still_owed(self, outcome: Outcome) -> bool:
        """Whether a claimed reply is still the chat's newest and unsent. A step handled since (a redelivered update
        reaching the restarted process first) replaced it with its own, which its own send covers: the older
        question must not follow the newer one."""
        if outcome.owed is None:
            return False
        with self.store.unit() as uow:
            return self.store.replies.current(uow, outcome.owed[1])

    def settle_replies(self) -> None:
        """At a clean stop: delete the rows of replies sent, and hand back those not sent for the next start."""
        self.store.flush_replies()
        with self.store.unit() as uow:
            released = self.store.replies.release(uow)
        if released:
            log.info("%d reply(ies) not sent before the stop are kept for the next start", released)

    def close(self) -> None:
        if self._database is not None:
            self._database.shutdown(wait=True)
            self._database = None

    def _resolve(self, uow: UnitOfWork, code: str, wave: int | None, now: datetime) -> tuple[Survey, int] | Outcome:
        if self.catalogue.has(code):
            return self.catalogue.latest(code), wave or 1
        # a campaign's code is short ASCII (bot.cli.campaign.CODE); anything else is none of ours and must not
        # reach the database (a lone surrogate from a JSON payload cannot even be encoded)
        campaign = store_campaigns.by_code(uow, code) if code.isascii() and len(code) <= 64 else None
        if campaign is None or not self.catalogue.has(campaign.survey_id, campaign.version):
            return Outcome((Say(msg.UNKNOWN_SURVEY),))
        rules = rules_of(campaign, now.tzinfo or UTC)
        current = current_wave(rules, now)
        if current is None:
            opens = rules.opens_at.astimezone(now.tzinfo)
            return Outcome((Say(msg.NOT_OPEN_YET.format(opens=f"{opens:%A} {opens.day} {opens:%B}")),))
        return self.catalogue.get(campaign.survey_id, campaign.version), wave or current

    def link(self, code: str) -> tuple[Survey, int] | str:
        """What a link's code opens (a survey id: its first round; a campaign's code: its current wave), or the
        words to show instead (unknown code, not open yet)."""
        with self.store.unit() as uow:
            found = self._resolve(uow, code, None, self.clock())
        if isinstance(found, Outcome):
            return next(e.text for e in found.effects if isinstance(e, Say))
        return found

    def register(self, address: Address, tags: tuple[str, ...] = ()) -> bool:
        """Make someone a contact campaigns can reach (they opened the app, or were imported); True when new."""
        with self.store.unit() as uow:
            _, created = store_campaigns.upsert_contact(uow, self.keys.contact_lookup(address), address.channel,
                                                        self.keys.seal(address), tags, self.clock().date())
        return created

    def join(self, address: Address, words: list[str], allowed: tuple[str, ...], example: str) -> Outcome:
        """Let a person put themselves in groups (campaign tags) from the partnership's list, and no others."""
        if not allowed:
            return Outcome((Say(msg.JOIN_OFF),))
        choices = ", ".join(allowed)
        chosen = [w.strip(",").lower() for w in words if w.strip(",")]
        if not chosen:
            return Outcome((Say(msg.JOIN_CHOICES.format(choices=choices, example=example)),))
        unknown = next((tag for tag in chosen if tag not in allowed), None)
        if unknown is not None:
            return Outcome((Say(msg.JOIN_UNKNOWN.format(tag=unknown, choices=choices)),))
        self.register(address, tuple(chosen))
        with self.store.unit() as uow:
            contact = uow.contact(self.keys.contact_lookup(address))
            assert contact is not None
            tags = store_campaigns.tags_of(contact)
            uow.audit("contact.joined", {"channel": address.channel, "tags": sorted(chosen)}, self.clock().date())
        return Outcome((Say(msg.JOINED.format(tags=", ".join(tags))),))

    def opt_out(self, address: Address) -> Outcome:
        """No more invitations or reminders, from now on, on every campaign (the person can still use links)."""

        def work(uow: UnitOfWork, now: datetime) -> Outcome:
            lookup = self.keys.contact_lookup(address)
            uow.ensure_contact(lookup, address.channel, self.keys.seal(address), now.date())
            store_campaigns.opt_out(uow, lookup)
            uow.audit("contact.opted_out", {"channel": address.channel}, now.date())
            return Outcome((Say(msg.OPTED_OUT),))

        return self._run(work, None, address)

    def mark_unreachable(self, address: Address) -> None:
        """The person blocked the bot or left the workspace: stop sending to them."""
        with self.store.unit() as uow:
            uow.mark_unreachable(self.keys.contact_lookup(address))

    def open_survey(self, address: Address) -> Survey | None:
        with self.store.unit() as uow:
            row = uow.conversation(self.keys.session(address))
        if row is None or not self.catalogue.has(row.survey_id, row.version):
            return None
        return self.catalogue.get(row.survey_id, row.version)

    # --- inside one unit -----------------------------------------------------------------------------------------
    def _run(self, work: Callable[[UnitOfWork, datetime], Outcome], event_key: str | None, address: Address,
             reading: str | None = None) -> Outcome:
        """One unit, retried from fresh state on Conflict. `reading`: the session key of the conversation `work`
        reads first (the address's own), which the event's claim may read with it (UnitOfWork.claim_event). What the
        unit's outcome must send goes with it (persist, then send: bot.services.pending)."""
        channel = address.channel
        started = time.perf_counter()

        def once() -> Outcome:
            now = self.clock()
            with self.store.unit() as uow:
                if event_key is not None and not uow.claim_event(self.keys.event(channel, event_key), now.date(),
                                                                 reading):
                    return Outcome((), duplicate=True)
                outcome = work(uow, now)
                if channel in pending.PUSHED and not outcome.idle:
                    outcome = self._owe(uow, address, outcome, now, reading)
                return outcome

        try:
            outcome = retry(once, RETRIES, _after_conflict, on=Conflict)
        except Conflict:
            raise RuntimeError("a conversation kept changing under us; giving up after several attempts") from None
        self._count(outcome, channel, time.perf_counter() - started)  # committed by now
        return outcome

    def _owe(self, uow: UnitOfWork, address: Address, outcome: Outcome, now: datetime,
             session: str | None = None) -> Outcome:
        """Keep what this step must send with it, sealed (bot.services.pending); written with the commit.
        `session`: the address's session key, when the step already has it."""
        payload = pending.pack(self.keys, address, outcome.effects)
        if payload is None:
            return outcome
        session, token = session or self.keys.session(address), secrets.token_hex(8)
        uow.owe(Owed(session, token, address.channel, payload, now.astimezone(UTC) + pending.LEASE))
        return replace(outcome, owed=(session, token))

    @staticmethod
    def _count(outcome: Outcome, channel: str, seconds: float) -> None:
        """Metrics (bot.metrics), once the transaction has committed: what was stored, and how long it took."""
        if outcome.duplicate:
            METRICS.duplicates.labels(channel).inc()
            return
        METRICS.answer_seconds.labels(channel).observe(seconds)
        recorded = sum(isinstance(effect, Record) for effect in outcome.effects)
        if recorded:
            METRICS.answers.labels(channel).inc(recorded)
        if any(isinstance(effect, Finish) and effect.completed for effect in outcome.effects):
            METRICS.completed.labels(channel).inc()

    def _advance(self, uow: UnitOfWork, address: Address, session: str, row: ConversationRow, event: Event,
                 now: datetime) -> Outcome:
        if not self.catalogue.has(row.survey_id, row.version):
            uow.end_conversation(session)
            return Outcome((Say(msg.SURVEY_GONE),))
        survey = self.catalogue.get(row.survey_id, row.version)
        before = State.from_json(row.state)
        step = self._scrub(survey, engine.advance(survey, before, event, now))
        stored = [e for e in step.effects if isinstance(e, (Record, engine.Discard))]
        finish = next((e for e in step.effects if isinstance(e, Finish)), None)
        response = None
        if stored or (finish is not None and finish.completed):
            salt = uow.salt(survey.id, row.wave, now.date())
            if salt is None:
                uow.end_conversation(session)
                return Outcome((Say(msg.SURVEY_CLOSED),))
            respondent = self.keys.respondent(address, survey.id, row.wave, salt)
            response = uow.open_response(respondent, survey.id, survey.version, row.wave, address.channel,
                                         now.date())
        with uow.together():  # the answers, their audit links and the conversation's save: one statement
            if response is not None:
                self._store(uow, survey, response, row.wave, stored, now)
            if finish is None and step.state != before:  # a stale tap or a re-ask changes nothing: no write
                uow.save_conversation(session, survey.id, survey.version, row.wave, step.state.to_json(),
                                      row.revision, now)
        if finish is not None:
            if response is not None and finish.completed:
                self._complete(uow, address, survey, response, row.wave, now)
            uow.end_conversation(session, row.revision)
        return Outcome(step.effects, open=finish is None, survey=survey)

    def _store(self, uow: UnitOfWork, survey: Survey, response: ResponseRef, wave: int, stored: Sequence[Effect],
               now: datetime) -> None:
        """A step's answers, or their withdrawal after Back, each with its audit link (inside `together`: see
        SqlUnit.together for what may go there)."""
        if any(isinstance(e, Record) for e in stored):
            locked = self.policy.thresholds(survey.audience, survey.min_group)
            uow.lock_thresholds(survey.id, wave, locked.group, locked.text)
        for effect in stored:
            if isinstance(effect, Record):
                stored_value = uow.put_answer(response, effect.question_id, effect.value, effect.on)
                fingerprint = self.keys.audit(f"{response.id}|{effect.question_id}|{stored_value}".encode())
                uow.audit("answer.recorded", {"response": response.id, "question": effect.question_id,
                                              "fingerprint": fingerprint}, now.date())
            elif isinstance(effect, engine.Discard) and uow.drop_answer(response, effect.question_id):
                uow.audit("answer.discarded", {"response": response.id, "question": effect.question_id},
                          now.date())

    def _complete(self, uow: UnitOfWork, address: Address, survey: Survey, response: ResponseRef, wave: int,
                  now: datetime) -> None:
        """A finished response: marked complete, its feedback answers copied, and the person's participation
        noted (for reminders only, never linked to the answers)."""
        uow.complete(response, now.date())
        self._copy_feedback(uow, survey, response, wave, now)
        uow.audit("response.completed", {"response": response.id, "survey": survey.id,
                                          "version": survey.version, "wave": wave}, now.date())
        contact = uow.ensure_contact(self.keys.contact_lookup(address), address.channel,
                                     self.keys.seal(address), now.date())
        uow.mark_participation(contact, survey.id, wave, completed=True)

    def _copy_feedback(self, uow: UnitOfWork, survey: Survey, response: ResponseRef, wave: int,
                       now: datetime) -> None:
        """A completed survey's `feedback: true` answers (scrubbed already) join the round's "you said" items; an
        answer the safeguarding check held back ("[removed for safety] ...") went to the safeguarding lead instead."""
        wanted = survey.feedback()
        if not wanted:
            return
        assert response.id is not None
        answers = uow.answers_of(response)
        for question_id in wanted:
            value = answers.get(question_id)
            if isinstance(value, str) and value.strip() and not value.startswith(msg.REMOVED_FOR_SAFETY):
                item = store_yousaid.add_item(uow, survey.id, wave, "survey", value, now.date(), response.id)
                uow.audit("feedback.received", {"item": item.id, "survey": survey.id, "wave": wave,
                                                "source": "survey"}, now.date())

    def _scrub(self, survey: Survey, step: engine.Step) -> engine.Step:
        """Clean every free-text answer before it can be stored: in its Record and in the conversation state.

        The Answered effect keeps the person's own words, because it is only shown back to them, never stored.
        """
        free_text = survey.free_text()
        cleaned: dict[str, str] = {}
        effects: list[Effect] = []
        for effect in step.effects:
            if isinstance(effect, Record) and isinstance(effect.value, str) and effect.question_id in free_text:
                value = self.scrubber.scrub(effect.value).text
                cleaned[effect.question_id] = value
                effect = replace(effect, value=value)
            effects.append(effect)
        if not cleaned:
            return step
        answers = {qid: cleaned.get(qid, value) for qid, value in step.state.answers.items()}
        return engine.Step(replace(step.state, answers=answers), tuple(effects))

    def _with_notice(self, uow: UnitOfWork, survey: Survey, wave: int, effects: tuple[Effect, ...]
                     ) -> tuple[Effect, ...]:
        """The standard privacy notice for this round goes after the survey's own intro, before the consent question:
        what is stored, until when /delete works, and the thresholds the round's reports keep to."""
        group, text_group, closes_on = uow.round_rules(survey.id, wave)
        thresholds = round_thresholds(self.policy, survey.audience, group, text_group, survey.min_group)
        said = Say(notice(survey.audience, self.policy, thresholds, closes_on, self.help_word))
        at = next((i for i, e in enumerate(effects) if isinstance(e, engine.Ask)), len(effects))
        return (*effects[:at], said, *effects[at:])

    def _title(self, survey_id: str) -> str:
        return f"“{self.catalogue.latest(survey_id).title}”" if self.catalogue.has(survey_id) else "a survey"


