"""The standard privacy notice every respondent reads before agreeing to start, in one place.

Why here and not in each survey file: the promises it makes (what is stored, for how long, until when /delete works,
the smallest group a report shows) must match what the code does, so they are written once, from the same numbers
the purge and the reports use (bot.services.policy), and appended after each survey's own intro. docs/privacy.md says
the
same at length. Young people get their own version: short sentences, everyday words, reading age about 9 to 11
(tests/test_notices.py checks the sentence lengths), and it says the chat is not watched live and when something
could be shared.
"""

from __future__ import annotations

from datetime import date

from bot.engine.survey import Audience
from bot.services.policy import Policy, Thresholds


def long_date(day: date) -> str:
    """"30 April 2026": no time, no locale, no leading zero."""
    return f"{day.day} {day:%B %Y}"


def delete_until(policy: Policy, closes_on: date | None) -> str:
    if closes_on is not None:
        return f"until {long_date(policy.last_delete_day(closes_on))}"
    days = "1 day" if policy.key_days == 1 else f"{policy.key_days} days"
    return f"until the survey closes and for {days} after"


# The young people's notice says how to delete and get help by typing; a page with buttons for both says it its own
# way (bot.channels.web swaps these sentences for its own).
TYPE_DELETE = "Type /delete to remove your answers."
TYPE_HELP = "Type {help} at any time if you need help."

# What a young person must read before pressing anything, where the whole notice can be one tap away (the web
# chat): the three promises that decide whether to take part. Everything else stays in the full notice.
YOUNG_PEOPLE_SUMMARY = "\n".join([
    "We don't keep your name, and nobody watches this chat live.",
    "If you say you or someone else is not safe, we may tell an adult who can help. We will tell you first.",
])


def summary(audience: Audience) -> str | None:
    """The short notice for the first screen, for audiences whose full notice is too long to read before starting."""
    return YOUNG_PEOPLE_SUMMARY if audience is Audience.YOUNG_PEOPLE else None


def notice(audience: Audience, policy: Policy, thresholds: Thresholds, closes_on: date | None,
           help_word: str = "HELP") -> str:
    """The notice for one survey round, with its real dates when the round's close is known."""
    if audience is Audience.YOUNG_PEOPLE:
        return young_people(policy, thresholds, closes_on, help_word)
    return adults(policy, thresholds, closes_on)


def adults(policy: Policy, thresholds: Thresholds, closes_on: date | None) -> str:
    return "\n".join([
        "How we keep your answers:",
        "• We store your answers without your name or chat account, under a code only this survey system can "
        "work out. The code lets you carry on later and delete your answers.",
        f"• Type /delete to delete your answers, {delete_until(policy, closes_on)}. Then the code is destroyed: "
        "nobody can link the answers to you any more, so they can no longer be deleted.",
        "• Please don't name anyone in what you write. Before it is stored we remove phone numbers, email "
        "addresses, postcodes, NHS and National Insurance numbers, links, handles and the names on our list. "
        f"Written answers are deleted {policy.text_days} days after the survey closes.",
        "• The partnership's business unit and independent scrutineer see the answers, never who gave them. "
        f"Reports never show a group of fewer than {thresholds.group} people, or written comments from a group of "
        f"fewer than {thresholds.text}.",
    ])


def young_people(policy: Policy, thresholds: Thresholds, closes_on: date | None, help_word: str = "HELP") -> str:
    if closes_on is not None:
        until = f"You can do this until {long_date(policy.last_delete_day(closes_on))}."
    else:
        until = f"You can do this until {policy.key_days} days after the survey ends."
    return "\n".join([
        "Keeping your answers private:",
        "We don't keep your name or your account.",
        "Your answers are saved with a secret code instead.",
        f"{TYPE_DELETE} {until}",
        "After that, nobody can tell which answers are yours.",
        "Please don't write anyone's name or phone number. If you do, we try to take them out.",
        "The adults who run the survey see your answers, but not who you are.",
        f"When we show results, it is only about groups of {thresholds.group} or more young people.",
        "Nobody watches this chat live.",
        "If you say you or someone else is not safe, we may tell an adult who can help.",
        "We only do this to keep you safe, and we will tell you first.",
        TYPE_HELP.format(help=help_word.upper()),
    ])
