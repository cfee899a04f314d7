"""The gentle check after a disclosure or the HELP word, as a small pure state machine with no stored state.

Where a young person is in the check lives in the buttons they are shown: each carries its choice and the category
(`care:<choice>:<n>`, then `:<ref>` of an alert already raised), never their words. So nothing about a disclosure is
kept between messages, and a press on an old button simply runs that step again. The steps:

    Are you OK?  [I'm OK, carry on] -> the survey carries on (or a kind word when none is open)
                 [I'd like some help] / [Talk to an adult] -> Would you like someone to get in touch?
    get in touch? [Yes, please] -> (web chat: how can they reach you? [Send] [I'd rather not])
                                -> the lead is told who, through the alert route; the young person is told who
                                   will contact them. No route set up: they are told so, and given Childline again.
                  [No, thanks]  -> nobody is told who they are.

Alerts (docs/safeguarding.md): a phrase match raises an anonymous alert (the category only) at once, whatever is
pressed next, so the lead knows even if the young person says nothing more. The HELP word raises none by itself:
only "I'd like some help" or "Talk to an adult" followed by "No, thanks" raises an anonymous one. A clear "Yes,
please" raises a named alert: after a phrase match it carries the anonymous alert's reference (kept in the
buttons), so the lead sees one case, not two.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from bot.engine import messages as msg
from bot.engine.conversation import Say
from bot.services.safeguarding.matching import ALL_CATEGORIES, ASKED_FOR_HELP, Match

OK, HELP, ADULT, YES, NO, CONTACT, RATHER_NOT = "ok", "help", "adult", "yes", "no", "contact", "not"
CHOICES = (OK, HELP, ADULT, YES, NO, CONTACT, RATHER_NOT)
PREFIX = "care:"
_DATA = re.compile(r"^care:(ok|help|adult|yes|no|contact|not):(\d{1,2})(?::([0-9a-f]{12}))?$")


@dataclass(frozen=True)
class Choice:
    label: str
    data: str


@dataclass(frozen=True)
class CheckIn:
    """An effect: a message with the check's buttons (and, when `contact_box`, a box to type into)."""

    text: str
    choices: tuple[Choice, ...]
    contact_box: bool = False


@dataclass(frozen=True)
class Alert:
    """An effect: tell the safeguarding lead. `reach` is how to contact the young person, only with their clear yes;
    it is held in memory, sent, and dropped: never stored or logged. `ref` names the alert in the audit log."""

    category: str
    consent: bool
    channel: str
    reach: str | None = None
    ref: str = ""  # on a named alert, before it is raised: the case's earlier alert, if any
    follows: str = ""  # the message the lead already has about this young person: their anonymous alert's
    # reference (which this alert keeps), or the grouped message that carried it

    def __repr__(self) -> str:  # never print how to reach someone by accident
        return f"Alert({self.category!r}, consent={self.consent}, {self.channel!r}, ref={self.ref!r})"


@dataclass(frozen=True)
class Press:
    """A check button pressed (and on the web chat, the words typed in the contact box)."""

    choice: str
    category: str
    text: str | None = None
    ref: str = ""  # the anonymous alert already raised for this check, if any

    def __repr__(self) -> str:
        return f"Press({self.choice!r}, {self.category!r})"


@dataclass(frozen=True)
class Decision:
    effects: tuple[Say | CheckIn, ...]
    alert: Alert | None = None
    carry_on: bool = False  # the check is over: carry on with the survey


def encode(choice: str, category: str, ref: str = "") -> str:
    return f"{PREFIX}{choice}:{ALL_CATEGORIES.index(category)}" + (f":{ref}" if ref else "")


def decode(data: str | None, text: str | None = None) -> Press | None:
    """A check button's data, or None when it is not one (forged or malformed data included)."""
    found = _DATA.match(data or "")
    if found is None or int(found[2]) >= len(ALL_CATEGORIES):
        return None
    return Press(found[1], ALL_CATEGORIES[int(found[2])], text, found[3] or "")


_LABELS = {OK: msg.CARE_OK, HELP: msg.CARE_HELP, ADULT: msg.CARE_ADULT, YES: msg.CARE_YES, NO: msg.CARE_NO,
           RATHER_NOT: msg.CARE_RATHER_NOT}


def label_of(press: Press) -> str | None:
    """The words of the button pressed, to say back what was chosen. None for Send under the contact box: what
    they typed is passed on, not shown again."""
    return _LABELS.get(press.choice)


def opening(match: Match, ref: str = "") -> tuple[Say | CheckIn, ...]:
    """What a young person sees on a match or the HELP word: a kind word, where to get help, and "Are you OK?".
    `ref`: the anonymous alert just raised, carried by the buttons to a named alert that may follow."""
    first = msg.CARE_HELP_WORD if match.help_word else msg.CARE_HEARD
    choices = (Choice(msg.CARE_OK, encode(OK, match.category, ref)),
               Choice(msg.CARE_HELP, encode(HELP, match.category, ref)),
               Choice(msg.CARE_ADULT, encode(ADULT, match.category, ref)))
    return (Say(first), Say(msg.CARE_SIGNPOST), CheckIn(msg.CARE_ASK, choices))


def answer(press: Press, *, channel: str, who: str, can_alert: bool, reach: str | None, asks_contact: bool
           ) -> Decision:
    """The next step after a press. `reach` is what the channel knows of how to contact this person (a handle);
    `asks_contact` is for channels with no handle (the web chat), where the young person types it instead."""
    category = press.category
    if press.choice == OK:
        return Decision((), carry_on=True)
    if press.choice in (HELP, ADULT):
        choices = (Choice(msg.CARE_YES, encode(YES, category, press.ref)),
                   Choice(msg.CARE_NO, encode(NO, category, press.ref)))
        return Decision((CheckIn(msg.CARE_CONSENT.format(who=who), choices),))
    anonymous = Alert(category, False, channel) if category == ASKED_FOR_HELP else None  # phrases alerted at once
    if press.choice == YES and asks_contact:
        if not can_alert:
            return Decision((Say(msg.CARE_NO_ROUTE),), carry_on=True)
        choices = (Choice(msg.CARE_SEND, encode(CONTACT, category, press.ref)),
                   Choice(msg.CARE_RATHER_NOT, encode(RATHER_NOT, category, press.ref)))
        return Decision((CheckIn(msg.CARE_ASK_CONTACT, choices, contact_box=True),))
    if press.choice == CONTACT and asks_contact:
        reach = (press.text or "").strip()[:500] or None
    if press.choice in (YES, CONTACT) and reach:
        if not can_alert:
            return Decision((Say(msg.CARE_NO_ROUTE),), carry_on=True)
        return Decision((Say(msg.CARE_SHARED.format(who=who)),), Alert(category, True, channel, reach, press.ref),
                        carry_on=True)
    return Decision((Say(msg.CARE_NOT_SHARED),), anonymous, carry_on=True)
