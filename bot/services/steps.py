"""Inside one unit: how a survey step runs, shared by the use cases (bot.services.service), the safeguarding care
path (bot.services.care) and contacts (bot.services.contacts).

Each step is one unit of work: claim the platform event (so a redelivery does nothing), load the conversation, run the
pure engine, store its Record/Discard/Finish effects under the survey round's pseudonym with the date only, save or end
the conversation, append the audit records, commit. The effects are returned for the channel to send only after that
commit. Two updates from one person at once cannot both win: the conversation row is saved with optimistic locking
and the loser retries from fresh state.

Privacy (docs/privacy.md): free text is scrubbed (bot.services.scrubbing) before any of that stores it, in the answer
and in the conversation state alike; the round's thresholds are locked by its first stored answer.
"""

from __future__ import annotations

import logging
import secrets
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from functools import partial

from bot.domain.address import Address
from bot.engine import conversation as engine
from bot.engine import messages as msg
from bot.engine.conversation import Effect, Event, Finish, Record, Say, State
from bot.engine.survey import Survey
from bot.metrics import METRICS
from bot.retrying import jittered, retry
from bot.services import pending
from bot.services.group_commit import DatabaseThread
from bot.services.policy import Policy
from bot.services.privacy import Keys
from bot.services.safeguarding.alerts import AlertRoute
from bot.services.safeguarding.checkin import Alert, CheckIn
from bot.services.safeguarding.matching import Matcher
from bot.services.scrubbing import Scrubber
from bot.services.surveyfiles import SurveyCatalogue
from storage import contacts as store_contacts
from storage import conversations, rounds
from storage import responses as store_responses
from storage import yousaid as store_yousaid
from storage.replies import Owed
from storage.responses import ResponseRef
from storage.sql import Conflict
from storage.unit_of_work import ConversationRow, Store, UnitOfWork

log = logging.getLogger("bot.services.service")  # one logger for the service, whichever module of it speaks
RETRIES = 8
_JITTER = jittered()


Shown = Effect | CheckIn | Alert  # the engine's effects, plus the safeguarding check's


@dataclass(frozen=True)
class Outcome:
    effects: tuple[Shown, ...]
    open: bool = False  # a conversation is still open afterwards
    duplicate: bool = False
    survey: Survey | None = None
    idle: bool = False  # a typed message found no survey open: the channel may offer it as feedback instead
    owed: tuple[str, str] | None = None  # its pending reply (session, token): bot.services.pending; see `delivered`


def _after_conflict(attempt: int, error: Exception) -> float:
    """Count and log a unit that collided with another writer; the pause before its retry desynchronises them."""
    METRICS.conflicts.inc()
    log.info("rows changed concurrently; retrying (attempt %d)", attempt + 1)
    return _JITTER(attempt, error)


class Steps:
    """The parts of SurveyService (bot.services.service, which sets these up) that run inside one unit."""

    store: Store
    catalogue: SurveyCatalogue
    keys: Keys
    clock: Callable[[], datetime]
    policy: Policy
    scrubber: Scrubber
    matcher: Matcher
    care_who: str
    help_word: str
    alerts: AlertRoute
    database: DatabaseThread

    def open_survey(self, address: Address) -> Survey | None:
        with self.store.unit() as uow:
            row = conversations.read(uow, self.keys.session(address))
        if row is None or not self.catalogue.has(row.survey_id, row.version):
            return None
        return self.catalogue.get(row.survey_id, row.version)

    def _run(self, work: Callable[[UnitOfWork, datetime], Outcome], event_key: str | None, address: Address,
             reading: str | None = None) -> Outcome:
        """One unit, retried from fresh state on Conflict. `reading`: the session key of the conversation `work`
        reads first (the address's own), which the event's claim may read with it (storage.conversations.claim_event).
        What the unit's outcome must send goes with it (persist, then send: bot.services.pending)."""
        channel = address.channel
        started = time.perf_counter()

        def once() -> Outcome:
            now = self.clock()
            with self.store.unit() as uow:
                if event_key is not None and not conversations.claim_event(
                        uow, self.keys.event(channel, event_key), now.date(), reading):
                    duplicate = Outcome((), duplicate=True)
                    uow.after_commit(partial(self._count, duplicate, channel, started))
                    return duplicate
                outcome = work(uow, now)
                if channel in pending.PUSHED and not outcome.idle:
                    outcome = self._owe(uow, address, outcome, now, reading)
                # counted once stored: inside a batch that is at the batch's commit, and a spoilt batch counts nothing
                uow.after_commit(partial(self._count, outcome, channel, started))
                return outcome

        try:
            outcome = retry(once, RETRIES, _after_conflict, on=Conflict)
        except Conflict:
            raise RuntimeError("a conversation kept changing under us; giving up after several attempts") from None
        return outcome

    def _owe(self, uow: UnitOfWork, address: Address, outcome: Outcome, now: datetime,
             session: str | None = None) -> Outcome:
        """Keep what this step must send with it, sealed (bot.services.pending); written with the commit.
        `session`: the address's session key, when the step already has it (each keyed hash costs a press time)."""
        payload = pending.pack(self.keys, address, outcome.effects)
        if payload is None:
            return outcome
        session, token = session or self.keys.session(address), secrets.token_hex(8)
        uow.owe(Owed(session, token, address.channel, payload, now.astimezone(UTC) + pending.LEASE))
        return replace(outcome, owed=(session, token))

    @staticmethod
    def _count(outcome: Outcome, channel: str, started: float) -> None:
        """Metrics (bot.metrics), once the transaction has committed: what was stored, and how long it took."""
        seconds = time.perf_counter() - started
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
            conversations.end(uow, session)
            return Outcome((Say(msg.SURVEY_GONE),))
        survey = self.catalogue.get(row.survey_id, row.version)
        before = State.from_json(row.state)
        step = self._scrub(survey, engine.advance(survey, before, event, now))
        stored = [e for e in step.effects if isinstance(e, (Record, engine.Discard))]
        finish = next((e for e in step.effects if isinstance(e, Finish)), None)
        response = None
        if stored or (finish is not None and finish.completed):
            salt = rounds.salt(uow, survey.id, row.wave, now.date())
            if salt is None:
                conversations.end(uow, session)
                return Outcome((Say(msg.SURVEY_CLOSED),))
            respondent = self.keys.respondent(address, survey.id, row.wave, salt)
            response = store_responses.open_response(uow, respondent, survey.id, survey.version, row.wave,
                                                     address.channel, now.date())
        with uow.together():  # the answers, their audit links and the conversation's save: one statement
            if response is not None:
                self._store(uow, survey, response, row.wave, stored, now)
            if finish is None and step.state != before:  # a stale tap or a re-ask changes nothing: no write
                conversations.save(uow, session, survey.id, survey.version, row.wave, step.state.to_json(),
                                   row.revision, now)
        if finish is not None:
            if response is not None and finish.completed:
                self._complete(uow, address, survey, response, row.wave, now)
            conversations.end(uow, session, row.revision)
        return Outcome(step.effects, open=finish is None, survey=survey)

    def _store(self, uow: UnitOfWork, survey: Survey, response: ResponseRef, wave: int, stored: Sequence[Effect],
               now: datetime) -> None:
        """A step's answers, or their withdrawal after Back, each with its audit link (inside `together`: see
        SqlUnit.together for what may go there)."""
        if any(isinstance(e, Record) for e in stored):
            locked = self.policy.thresholds(survey.audience, survey.min_group)
            rounds.lock_thresholds(uow, survey.id, wave, locked.group, locked.text)
        for effect in stored:
            if isinstance(effect, Record):
                stored_value = store_responses.put_answer(uow, response, effect.question_id, effect.value, effect.on)
                fingerprint = self.keys.audit(f"{response.id}|{effect.question_id}|{stored_value}".encode())
                uow.audit("answer.recorded", {"response": response.id, "question": effect.question_id,
                                              "fingerprint": fingerprint}, now.date())
            elif isinstance(effect, engine.Discard) and store_responses.drop_answer(uow, response, effect.question_id):
                uow.audit("answer.discarded", {"response": response.id, "question": effect.question_id},
                          now.date())

    def _complete(self, uow: UnitOfWork, address: Address, survey: Survey, response: ResponseRef, wave: int,
                  now: datetime) -> None:
        """A finished response: marked complete, its feedback answers copied, and the person's participation
        noted (for reminders only, never linked to the answers)."""
        store_responses.complete(uow, response, now.date())
        self._copy_feedback(uow, survey, response, wave, now)
        uow.audit("response.completed", {"response": response.id, "survey": survey.id,
                                          "version": survey.version, "wave": wave}, now.date())
        contact = store_contacts.ensure(uow, self.keys.contact_lookup(address), address.channel,
                                        self.keys.seal(address), now.date())
        store_contacts.mark_participation(uow, contact, survey.id, wave, completed=True)

    def _copy_feedback(self, uow: UnitOfWork, survey: Survey, response: ResponseRef, wave: int,
                       now: datetime) -> None:
        """A completed survey's `feedback: true` answers (scrubbed already) join the round's "you said" items; an
        answer the safeguarding check held back ("[removed for safety] ...") went to the safeguarding lead instead."""
        wanted = survey.feedback()
        if not wanted:
            return
        assert response.id is not None
        answers = store_responses.answers_of(uow, response)
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
