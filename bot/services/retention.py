"""Deleting what is no longer needed, on time, with a record of it: round keys, raw free text, idle conversations.

`purge` is the one job the scheduler runs (daily is plenty) and `surveybot purge` runs by hand. Each run writes one
`purge` audit record with its counts, even when it found nothing, so the log shows the job ran. What is due follows
from the round's close (`closes_on`, its last day of answers) and the settings in bot.services.policy:

* key: destroyed `key_days` after the close (default 30). Each destruction also gets its own `key.destroyed`
  record, whether the purge or `surveybot keys destroy` did it. After it, the round's answers are anonymous
  records: nobody, even with the pepper, can link them to a person, so /delete can no longer find them.
* raw free text: blanked (its stored value replaced with null) `text_days` after the close (default 90). The purge
  record lists the round and the question ids, so `surveybot audit verify` knows those nulls are not tampering.
  "You said" feedback items of the round (storage.yousaid) are blanked at the same time.
* conversation state: deleted once idle 24 hours past the round's close; with no close known, once idle
  `state_days` (default 30). Completed or declined conversations are deleted at once by the service.
* processed-event keys: forgotten after EVENT_DAYS (7).
* anonymous web starts never finished: the contact and participation rows a web visitor's yes made are deleted
  `start_days` (default 30) after that day, unless they finished a round (storage.web_starts).
* personal links of email invitations (storage.personal_links): deleted with their round's key.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta

from bot.engine.survey import Survey
from bot.services.policy import EVENT_DAYS, Policy
from bot.services.surveyfiles import parse_survey
from storage import personal_links, rounds, survey_versions, web_starts
from storage import yousaid as store_yousaid
from storage.unit_of_work import Store, UnitOfWork

IDLE_AFTER_CLOSE = timedelta(hours=24)


class RoundNotFound(Exception):
    """No such survey round; the message names it."""


@dataclass(frozen=True)
class BlankedText:
    survey_id: str
    wave: int
    questions: tuple[str, ...]
    answers: int


@dataclass(frozen=True)
class PurgeReport:
    conversations: int = 0
    keys: tuple[tuple[str, int], ...] = ()
    texts: tuple[BlankedText, ...] = field(default_factory=tuple)
    events: int = 0
    feedback: int = 0  # "you said" feedback items blanked with their round's free text
    starts: int = 0  # anonymous web starts never finished, forgotten

    def summary(self) -> str:
        blanked = sum(t.answers for t in self.texts)
        feedback = f", {self.feedback} feedback item(s) blanked" if self.feedback else ""
        starts = f", {self.starts} unfinished web start(s) forgotten" if self.starts else ""
        return (f"{self.conversations} idle conversation(s) deleted, {blanked} free-text answer(s) blanked, "
                f"{len(self.keys)} key(s) destroyed, {self.events} processed event key(s) forgotten{feedback}"
                f"{starts}")


def destroy_key(store: Store, survey_id: str, wave: int, today: date) -> int:
    """Destroy one round's key now (audited); returns how many open conversations of the round went with it."""
    with store.unit() as uow:
        row = rounds.get(uow, survey_id, wave)
        if row is None:
            raise RoundNotFound(f"survey `{survey_id}` has no wave {wave} (it has had no answers)")
        if row.salt is None:
            raise RoundNotFound(f"the key of `{survey_id}` wave {wave} was already destroyed on "
                                f"{row.destroyed_on.isoformat() if row.destroyed_on else 'an unknown date'}")
        return _destroy(uow, survey_id, wave, today, "by hand")


def _destroy(uow: UnitOfWork, survey_id: str, wave: int, today: date, why: str) -> int:
    ended = rounds.destroy_key(uow, survey_id, wave, today) or 0
    personal_links.forget_round(uow, survey_id, wave)  # an email's link into the round dies with its key
    uow.audit("key.destroyed", {"survey": survey_id, "wave": wave, "conversations": ended, "why": why}, today)
    return ended


def purge(store: Store, policy: Policy, now: datetime) -> PurgeReport:
    """Delete everything that is due, in one transaction, and record what went."""
    today = now.date()
    with store.unit() as uow:
        conversations = _idle_conversations(uow, policy, now)
        ended = rounds.delete_conversations(uow, conversations)
        keys: list[tuple[str, int]] = []
        texts: list[BlankedText] = []
        feedback = 0
        for row in rounds.all_rounds(uow):
            if row.closes_on is None:
                continue
            if today >= policy.text_blanked_on(row.closes_on):
                questions = _free_text_questions(uow, row.survey_id)
                count = rounds.blank_answers(uow, row.survey_id, row.wave, questions)
                if count:
                    texts.append(BlankedText(row.survey_id, row.wave, questions, count))
                feedback += store_yousaid.blank_items(uow, row.survey_id, row.wave)
            if row.salt is not None and today >= policy.key_destroyed_on(row.closes_on):
                ended += _destroy(uow, row.survey_id, row.wave, today, "retention")
                keys.append((row.survey_id, row.wave))
        events = rounds.forget_events(uow, today - timedelta(days=EVENT_DAYS))
        starts = web_starts.forget_unfinished(uow, today - timedelta(days=policy.start_days - 1))
        report = PurgeReport(ended, tuple(keys), tuple(texts), events, feedback, starts)
        subject = {
            "conversations": report.conversations,
            "keys": [{"survey": s, "wave": w} for s, w in report.keys],
            "texts": [{"survey": t.survey_id, "wave": t.wave, "questions": list(t.questions), "answers": t.answers}
                      for t in report.texts],
            "events": report.events,
        }
        if feedback:
            subject["feedback"] = feedback
        if starts:
            subject["starts"] = starts
        uow.audit("purge", subject, today)
    return report


def _idle_conversations(uow: UnitOfWork, policy: Policy, now: datetime) -> list[str]:
    closes = {(row.survey_id, row.wave): row.closes_on for row in rounds.all_rounds(uow)}
    due: list[str] = []
    for conversation in rounds.conversations(uow):
        touched = conversation.touched
        if touched.tzinfo is None:  # SQLite hands back the stored wall time without its zone: it was ours
            touched = touched.replace(tzinfo=now.tzinfo)
        closes_on = closes.get((conversation.survey_id, conversation.wave))
        if closes_on is None:
            idle_since, allowed = touched, timedelta(days=policy.state_days)
        else:
            closed_at = datetime.combine(closes_on + timedelta(days=1), time(), tzinfo=now.tzinfo)
            idle_since, allowed = max(touched, closed_at, key=_instant), IDLE_AFTER_CLOSE
        if _instant(now) - _instant(idle_since) >= allowed:  # elapsed time, the same across a clock change
            due.append(conversation.session)
    return due


def _instant(moment: datetime) -> datetime:
    return moment.astimezone(UTC)


def _free_text_questions(uow: UnitOfWork, survey_id: str) -> tuple[str, ...]:
    """Free-text columns of every published version (as published, so a removed file still counts)."""
    ids: set[str] = set()
    for stored in survey_versions.published_versions(uow, survey_id):
        survey: Survey = parse_survey(stored.source, f"{survey_id} v{stored.version} (as published)")
        ids.update(survey.free_text())
    return tuple(sorted(ids))
