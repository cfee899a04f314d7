"""The use cases: start a survey, handle what a respondent did, erase their answers.

`SurveyService` is the one face channels call. Its parts live beside it, one concern each: how a step runs inside one
unit of work (bot.services.steps), the safeguarding care path (bot.services.care), contacts (bot.services.contacts)
and the database thread with group commit (bot.services.group_commit). This module holds the conversation's use cases
and replies owed (persist, then send: bot.services.pending).

Privacy (docs/privacy.md): free text is scrubbed before it is stored (bot.services.steps); a new conversation opens
with the standard privacy notice for its round (bot.services.notices).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from datetime import UTC, date, datetime
from typing import Any, TypeVar

from bot.domain.address import Address
from bot.engine import conversation as engine
from bot.engine import messages as msg
from bot.engine.conversation import Effect, Event, Say
from bot.engine.survey import Audience, Survey
from bot.retrying import jittered, retry
from bot.services import pending
from bot.services.campaigns import current_wave, rules_of
from bot.services.care import Care
from bot.services.contacts import Contacts
from bot.services.group_commit import DatabaseThread, claims_ahead, joins_group_commit
from bot.services.notices import notice
from bot.services.policy import Policy, round_thresholds
from bot.services.privacy import Keys
from bot.services.safeguarding.alerts import AlertRoute
from bot.services.safeguarding.checkin import Alert
from bot.services.safeguarding.matching import DEFAULT_HELP_WORD, Matcher
from bot.services.safeguarding.phrases import load_phrases
from bot.services.scrubbing import Scrubber
from bot.services.steps import RETRIES, Outcome, Shown
from bot.services.surveyfiles import Problem, SurveyCatalogue, SurveyFileError
from storage import campaigns as store_campaigns
from storage import contacts as store_contacts
from storage import conversations, rounds, survey_versions
from storage import responses as store_responses
from storage import yousaid as store_yousaid
from storage.conversations import Claim
from storage.database import DatabaseError
from storage.results import digest
from storage.sql import Conflict
from storage.unit_of_work import Store, UnitOfWork

__all__ = ["Outcome", "Shown", "SurveyService", "joins_group_commit"]  # what channels and the app import from here

log = logging.getLogger(__name__)
T = TypeVar("T")


class SurveyService(Care, Contacts):
    """What channels and commands call: the use cases here, and those of its parts (Care, Contacts, and Steps below
    them). Each runs on the database thread through `call`."""

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
        self.database = DatabaseThread(store)  # every use case runs there (`call`)
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
                problem = self._publish_one(uow, survey, today)[1]
                if problem is not None:
                    frozen.append(problem)
            if frozen:
                raise SurveyFileError(frozen)

    def publish(self, survey: Survey, keep: Callable[[], None], who: str | None = None) -> str:
        """Publish one survey version while the bot runs (the web console), as start-up publishes each: its exact
        text recorded and audited (`survey.new`, or `survey.updated` for an edit of a version without answers, with
        the keyed fingerprint of who did it), refused with a SurveyFileError if that version has answers already.
        `keep` (writing its file into the survey folder) runs inside the transaction, so a file that cannot be
        written publishes nothing; then this process's catalogue serves it at once.

        Other processes on the same database find it in survey_version when a campaign, a conversation or a report
        asks them for this version (SurveyCatalogue.get); a conversation started there by the survey's id gets it
        from their next restart, when they read the survey folder. Returns "new", "updated" or "same"."""
        def once() -> str:
            today = self.clock().date()
            with self.store.unit() as uow:
                result, frozen = self._publish_one(uow, survey, today, who)
                if frozen is not None:
                    raise SurveyFileError([frozen])
                keep()
            return result
        result = retry(once, RETRIES, jittered(), on=Conflict)
        self.catalogue.add(survey)
        return result

    def published_list(self) -> list[tuple[str, int, str, str, date, bool]]:
        """Every published version of every survey, without its text (storage.survey_versions.listed)."""
        with self.store.unit() as uow:
            return survey_versions.listed(uow)

    def frozen(self, survey: Survey) -> Problem | None:
        """The problem publishing `survey` would meet (nothing is written): its version collected answers under other
        wording."""
        with self.store.unit() as uow:
            row = survey_versions.published(uow, survey.id, survey.version)
            if row is None or row.digest == digest(survey.source):
                return None
            return frozen_problem(survey) if survey_versions.has_answers(uow, survey.id, survey.version) else None

    @staticmethod
    def _publish_one(uow: UnitOfWork, survey: Survey, today: date, who: str | None = None
                     ) -> tuple[str, Problem | None]:
        """One version stored and audited (a change only); the problem to report if its wording is frozen."""
        result = survey_versions.publish(uow, survey.id, survey.version, survey.title, survey.audience.value,
                                         survey.source, today)
        if result == "frozen":
            return result, frozen_problem(survey)
        if result in ("new", "updated"):
            subject: dict[str, object] = {"survey": survey.id, "version": survey.version}
            if who is not None:
                subject["who"] = who
            uow.audit(f"survey.{result}", subject, today)
        return result, None

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
            open_row = conversations.read(uow, session)
            if open_row is not None and open_row.survey_id == survey.id:
                return self._advance(uow, address, session, open_row, first or engine.Resume(), now)
            salt = rounds.salt(uow, survey.id, round_wave, now.date())
            if salt is None:
                return Outcome((Say(msg.SURVEY_CLOSED),))
            respondent = self.keys.respondent(address, survey.id, round_wave, salt)
            if store_responses.has_completed(uow, respondent, survey.id, round_wave):
                return Outcome((Say(msg.ALREADY_FINISHED),))
            if until_consent:  # an open link: nothing is stored before a yes
                shown = engine.start(survey, now)
                if first is None:
                    return Outcome(self._with_notice(uow, survey, round_wave, shown.effects), open=True,
                                   survey=survey)
                agreed = engine.advance(survey, shown.state, first, now)
                if agreed.state.status is not engine.Status.ASKING:  # not a yes (yet): nothing to keep
                    return Outcome(agreed.effects, open=not agreed.state.finished, survey=survey)
            contact = store_contacts.ensure(uow, self.keys.contact_lookup(address), address.channel,
                                            self.keys.seal(address), now.date())
            store_contacts.mark_participation(uow, contact, survey.id, round_wave, completed=False)
            step = engine.start(survey, now)
            conversations.save(uow, session, survey.id, survey.version, round_wave, step.state.to_json(),
                               open_row.revision if open_row else None, now)
            if first is not None:  # they agreed: carry their yes through the conversation just stored
                row = conversations.read(uow, session)
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

    def _claim_of(self, address: Address, event: Event, event_key: str | None = None) -> Claim | None:
        """The claim `handle` will make (group_commit.claims_ahead): its event's key and the person's session."""
        if event_key is None:
            return None
        return Claim(self.keys.event(address.channel, event_key), self.keys.session(address), self.clock().date())

    @joins_group_commit
    @claims_ahead(_claim_of)
    def handle(self, address: Address, event: Event, event_key: str | None = None) -> Outcome:
        """Apply what someone did to their open conversation."""

        session = self.keys.session(address)  # once a step: each keyed hash is a few µs of the press (BENCHMARKS.md)

        def work(uow: UnitOfWork, now: datetime) -> Outcome:
            row = conversations.read(uow, session)
            if row is None:
                return Outcome((Say(msg.NO_SURVEY_OPEN),), idle=isinstance(event, engine.Reply))
            return self._advance(uow, address, session, row, event, now)

        return self._run(work, event_key, address, reading=session)

    @joins_group_commit
    def reply(self, address: Address, text: str, event_key: str | None = None, turn: int | None = None,
              feedback: bool = True) -> Outcome:
        """Words someone typed: the safeguarding check first, then an answer to their open survey, or else (no
        survey open) "you said" feedback. The one entry for typed words on every channel, so the check runs in one
        place; one call, so a channel hands a typed message to the database thread once rather than three times;
        each step is still its own unit, in the order the safeguarding rules need.
        `turn`: the question the words were typed for, when the channel knows it (engine.Reply). `feedback`: False
        where an idle message means something else (the web chat's first screen, the console's preview): the
        outcome then says `idle` and nothing is stored."""
        guarded = self.guard(address, text, event_key)  # before anything can store the words
        if guarded is not None:
            return guarded
        outcome = self.handle(address, engine.Reply(text, turn), event_key)
        if outcome.idle and feedback:  # no survey open: a young person's free message is "you said" feedback
            outcome = self.feedback(address, text, f"{event_key}:feedback" if event_key is not None else None)
        return outcome

    def feedback(self, address: Address, text: str, event_key: str | None = None) -> Outcome:
        """A free message from a young person, outside any survey: "you said" feedback.

        This is the ONE way a free message becomes feedback (`reply` calls it when `handle` says no survey is
        open), so the safeguarding check goes in front of this method: nothing below may store the words first.
        `reply` runs `guard` before `handle`; this method runs it again itself, so no path can store a disclosure
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
            row = conversations.read(uow, session)
            salts = rounds.live_salts(uow)
            if row is not None:
                conversations.end(uow, session)
                salts = [s for s in salts if (s[0], s[1]) == (row.survey_id, row.wave)]
                if not salts:
                    return Outcome((Say(msg.ANONYMOUS_NOW),))
            erased: list[str] = []
            for survey_id, wave, salt in salts:
                respondent = self.keys.respondent(address, survey_id, wave, salt)
                for response in store_responses.responses_of(uow, respondent, survey_id, wave):
                    assert response.id is not None
                    store_yousaid.drop_items_of_response(uow, response.id)
                    count = store_responses.erase(uow, response)
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
        """Run a use case from the event loop on the service's database thread(s), shared by every channel
        (bot.services.group_commit: survey steps marked @joins_group_commit are committed together). Alerts the
        step raised are posted once it has committed (bot.services.care)."""
        result = await self.database.run(use_case, *args)
        if isinstance(result, Outcome) and any(isinstance(e, Alert) for e in result.effects):
            return await self._send_alerts(result)  # type: ignore[return-value]
        return result

    # --- persist, then send (bot.services.pending)
    # --------------------------------------------------------------------------
    def delivered(self, outcome: Outcome) -> None:
        """The channel has sent an outcome's messages (on the event loop): its pending row can go. The deletion
        rides with the next batch's commit, or goes on its own a moment later if none comes."""
        if outcome.owed is None:
            return
        self.store.replies.sent(*outcome.owed)
        if not self._flush_due and self.database.started:
            self._flush_due = True
            asyncio.get_running_loop().call_later(pending.FLUSH_SECONDS, self._flush_replies)

    def _flush_replies(self) -> None:
        self._flush_due = False
        if not self.database.started or not self.store.replies.waiting:
            return
        with contextlib.suppress(RuntimeError):  # closing: settle_replies deletes them
            self.database.submit(self._flush_now)

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
        self.database.close()

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


    def _with_notice(self, uow: UnitOfWork, survey: Survey, wave: int, effects: tuple[Effect, ...]
                     ) -> tuple[Effect, ...]:
        """The standard privacy notice for this round goes after the survey's own intro, before the consent question:
        what is stored, until when /delete works, and the thresholds the round's reports keep to."""
        group, text_group, closes_on = rounds.rules(uow, survey.id, wave)
        thresholds = round_thresholds(self.policy, survey.audience, group, text_group, survey.min_group)
        said = Say(notice(survey.audience, self.policy, thresholds, closes_on, self.help_word))
        at = next((i for i, e in enumerate(effects) if isinstance(e, engine.Ask)), len(effects))
        return (*effects[:at], said, *effects[at:])

    def _title(self, survey_id: str) -> str:
        return f"“{self.catalogue.latest(survey_id).title}”" if self.catalogue.has(survey_id) else "a survey"


def frozen_problem(survey: Survey) -> Problem:
    return Problem(survey.path, 1, f"version {survey.version} of `{survey.id}` has already collected answers, so its "
                   "wording is frozen: give the changed survey a new version number")
