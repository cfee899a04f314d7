"""The safeguarding care path (docs/safeguarding.md): the check on a young person's words before anything stores
them, the buttons of the check, and the alerts to the safeguarding lead (audited, then posted after the commit).

A part of SurveyService (bot.services.service): channels call these through it.
"""

from __future__ import annotations

import json
import secrets
from dataclasses import replace
from datetime import date, datetime

from bot.domain.address import Address
from bot.engine import conversation as engine
from bot.engine import messages as msg
from bot.engine.conversation import Finish, Say
from bot.engine.survey import Audience, Survey
from bot.services.safeguarding import checkin
from bot.services.safeguarding.checkin import Alert, Press
from bot.services.steps import Outcome, Shown, Steps
from storage import conversations, evidence
from storage.unit_of_work import UnitOfWork


def guarded(survey: Survey | None) -> bool:
    """Whether the check reads words typed with this survey open (None: none is open). It reads a young people's
    survey's answers and any message outside a survey (the first screen, before agreeing, included), never an
    adult's answers to a practitioners' or partners' survey. Shared with the console's survey preview."""
    return survey is None or survey.audience is Audience.YOUNG_PEOPLE


class Care(Steps):
    """The safeguarding use cases of SurveyService, and the posting of the alerts they raise."""

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
        if not guarded(self.open_survey(address)):
            return None

        def work(uow: UnitOfWork, now: datetime) -> Outcome:
            session = self.keys.session(address)
            row = conversations.read(uow, session)
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
            row = conversations.read(uow, session)
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

        await self.database.run(work)  # commits alone: not a survey step

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
