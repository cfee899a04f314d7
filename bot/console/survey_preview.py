"""The Surveys section's preview (bot.console.surveys): a survey walked in the web chat's drawing, storing nothing.

The pure engine (bot.engine.conversation) takes each step; its state goes back and forth in a hidden field, sealed
with an HMAC under a key of the pepper's, beside the fingerprint of the survey text it belongs to. Nothing is kept on
the server and nothing touches the database.

Typed words meet the same safeguarding check as in the real chat (SurveyService.reply runs it first there): the
service's own phrase list and HELP word (bot.services.safeguarding.matching), the same rule for whose words it reads
(bot.services.care.guarded), the same gentle check-in and the same answers to its buttons
(bot.services.safeguarding.checkin), and a matched answer held back as the engine holds it back (engine.Withhold).
So the officer sees what a young person would see. What the real chat would do besides, raise an alert, audit it
and post it to the safeguarding lead, is only described on the page: a preview raises no alert and records nothing.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
from dataclasses import dataclass

from bot.channels import web_words
from bot.channels.web_drawing import Chose
from bot.channels.web_events import DELETE, ERASE, GET_HELP, HELP
from bot.console.site import Console, Refusal
from bot.engine import conversation as engine
from bot.engine import messages as msg
from bot.engine.survey import Survey
from bot.services import notices
from bot.services.care import guarded
from bot.services.policy import round_thresholds
from bot.services.port import Shown
from bot.services.safeguarding import checkin
from bot.services.safeguarding.checkin import Alert, Press
from bot.services.safeguarding.matching import Match

# What the preview says for the chat's buttons that act on stored answers (there are none here).
NOTHING_STORED = "This is a preview, so nothing is stored: there is nothing to delete."
OUT_OF_DATE = "This preview page is out of date. Please start the preview again."
# What the officer is told, beside the chat, when the real chat would have alerted the safeguarding lead.
NO_ALERT = ("This is a preview, so no alert was raised and nothing was recorded. In the real chat, the safeguarding "
            "lead would now be alerted: {what}.")
ANONYMOUS = "anonymously, with the kind of worry only"
NAMED = "by name, with how the young person asked to be contacted"
CHECK_SHOWN = ("This is the safeguarding check a young person sees. It is a preview, so whatever you press, no alert "
               "is raised and nothing is recorded.")


@dataclass(frozen=True)
class Walked:
    """One step of the preview: the engine's step with what to draw, and the note for the officer (None: none)."""

    state: engine.State
    effects: tuple[Shown | Chose, ...]
    note: str | None = None
    checked: bool = False  # the typed words met the safeguarding check: they are never put back in a box


# --- the sealed state ----------------------------------------------------------------------------------------------

def seal(key: bytes, state: engine.State, source: str) -> str:
    """The engine's state for the next form, with the fingerprint of the survey text it belongs to, signed."""
    body = json.dumps({"state": state.to_json(), "survey": _digest(source)}, separators=(",", ":"))
    encoded = base64.urlsafe_b64encode(body.encode()).decode()
    return f"{encoded}.{hmac.new(key, encoded.encode(), hashlib.sha256).hexdigest()}"


def unseal(key: bytes, sealed: str, source: str) -> engine.State:
    """The state a form carried back; Refusal(400) if it was not ours, or belongs to other text."""
    encoded, _, mac = sealed.partition(".")
    expected = hmac.new(key, encoded.encode(), hashlib.sha256).hexdigest()
    if not hmac.compare_digest(mac.encode(), expected.encode()):
        raise Refusal(400, OUT_OF_DATE)
    try:
        body = json.loads(base64.urlsafe_b64decode(encoded.encode()))
        if body["survey"] != _digest(source):
            raise ValueError("another survey's state")
        return engine.State.from_json(body["state"])
    except (ValueError, KeyError, TypeError, binascii.Error):
        raise Refusal(400, OUT_OF_DATE) from None


def _digest(source: str) -> str:
    return hashlib.sha256(source.encode()).hexdigest()


# --- the steps -----------------------------------------------------------------------------------------------------

def first_screen(console: Console, survey: Survey) -> Walked:
    """What the web chat shows first: the survey's intro, the standard privacy notice (with the thresholds a new
    round would lock; no closing date yet), then the question asking to start."""
    core = console.core
    step = engine.start(survey, core.service.clock())
    thresholds = round_thresholds(core.policy, survey.audience, None, None, survey.min_group)
    said = engine.Say(notices.notice(survey.audience, core.policy, thresholds, None, core.service.help_word))
    at = next((i for i, e in enumerate(step.effects) if isinstance(e, engine.Ask)), len(step.effects))
    return Walked(step.state, (*step.effects[:at], said, *step.effects[at:]))


def walk(console: Console, survey: Survey, state: engine.State, action: object) -> Walked:
    """One step of the preview, for what the page sent. Typed words (and the Get help button) meet the
    safeguarding check first, as in the real chat; the check's buttons answer as there. The page's own buttons
    that act on stored answers are answered with a note. As in the web chat, a step that leaves no question on
    screen shows the waiting one."""
    service = console.core.service
    now = service.clock()
    if action == GET_HELP:  # the button: the check, as the HELP word gives it (not a young people's survey: help)
        checked = _check(console, survey, state, service.help_word)
        if checked is not None:
            return checked
        action = HELP
    if isinstance(action, str):  # the page's own actions (bot.channels.web_events): open, resume, delete, help...
        said = {DELETE: NOTHING_STORED, ERASE: NOTHING_STORED, HELP: web_words.HELP}.get(action)
        resumed = engine.advance(survey, state, engine.Resume(), now)
        return Walked(resumed.state, resumed.effects if said is None else (engine.Say(said), *resumed.effects))
    if isinstance(action, Press):
        return _pressed(console, survey, state, action)
    if isinstance(action, engine.Reply):
        checked = _check(console, survey, state, action.text)
        if checked is not None:
            return checked
    if not isinstance(action, engine.Event):
        raise Refusal(400, OUT_OF_DATE)
    step = engine.advance(survey, state, action, now)
    waiting = step.state.status in (engine.Status.CONSENT, engine.Status.ASKING)
    if waiting and not any(isinstance(e, (engine.Ask, engine.Update)) for e in step.effects):
        resumed = engine.advance(survey, step.state, engine.Resume(), now)  # a stale button: the question waiting
        return Walked(resumed.state, (*step.effects, *resumed.effects))
    return Walked(step.state, step.effects)


def _open(survey: Survey, state: engine.State) -> Survey | None:
    """The survey as the real chat would have it open: not before the young person agrees (nothing is stored for
    them until then), nor once it has finished."""
    return None if state.status is engine.Status.CONSENT or state.finished else survey


def _check(console: Console, survey: Survey, state: engine.State, text: str) -> Walked | None:
    """The safeguarding check on typed words, as Care.guard runs it, without its writes: None when the real chat
    would carry on with the words as usual. On a match, a phrase's answer is held back as the engine holds it back
    (its placeholder shown; the next question waits until they carry on), and the check-in opens."""
    service = console.core.service
    match: Match | None = service.matcher.check(text)
    if match is None or not guarded(_open(survey, state)):
        return None
    effects: list[Shown | Chose] = []
    if _open(survey, state) is not None and not match.help_word:
        held = engine.advance(survey, state, engine.Withhold(match.category), service.clock())
        effects.extend(e for e in held.effects if isinstance(e, (engine.Answered, engine.Finish)))
        state = held.state
    effects.extend(checkin.opening(match))
    note = CHECK_SHOWN if match.help_word else NO_ALERT.format(what=ANONYMOUS)  # a phrase alerts at once there
    return Walked(state, tuple(effects), note, checked=True)


def _pressed(console: Console, survey: Survey, state: engine.State, press: Press) -> Walked:
    """A button of the check, answered as Care.care answers it on the web chat (which asks how to reach them), with
    the alert it would raise described instead of raised, and the contact typed in its box dropped unread."""
    service = console.core.service
    decision = checkin.answer(press, channel="web", who=service.care_who, can_alert=service.alerts.configured,
                              reach=None, asks_contact=True)
    label = checkin.label_of(press)
    effects: list[Shown | Chose] = [Chose(label)] if label else []
    effects.extend(decision.effects)
    note = _alerted(decision.alert) if decision.alert is not None else None if decision.carry_on else CHECK_SHOWN
    if not decision.carry_on:
        return Walked(state, tuple(effects), note)
    if _open(survey, state) is None:
        effects.append(engine.Say(msg.CARE_ALL_DONE.format(help=service.help_word.upper())))
        return Walked(state, tuple(effects), note)
    if press.choice == checkin.OK:
        effects.append(engine.Say(msg.CARE_CARRY_ON))
    resumed = engine.advance(survey, state, engine.Resume(), service.clock())
    return Walked(resumed.state, (*effects, *resumed.effects), note)


def _alerted(alert: Alert) -> str:
    return NO_ALERT.format(what=NAMED if alert.consent else ANONYMOUS)
