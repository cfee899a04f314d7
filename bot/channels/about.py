"""The privacy and terms pages, /privacy and /terms, on the bot's own HTTP server beside the web chat.

Why the bot serves them: the Teams app's About page (bot/channels/teams/manifest.py) must link to a privacy notice and
terms of use, and a link to a page somewhere else could promise what the bot does not do. Here the numbers (how long
keys and written answers are kept, the smallest group a report shows) come from the same Policy the purge and the
reports use, so the pages cannot drift from the code. The words are in bot/templates/web/privacy.html and terms.html,
in the web chat's look; the partnership and its contact point come from settings, with neutral words without them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from bot import templates
from bot.channels import web_words as words
from bot.services.policy import Policy

PAGES = {"privacy": "web/privacy.html", "terms": "web/terms.html"}
_EMAIL = re.compile(r"[^@\s<>\"]+@[^@\s<>\"]+\.[^@\s<>\"]+")
_PHONE = re.compile(r"\+?[0-9][0-9 ]{5,}[0-9]")
_WEB = re.compile(r"https://[^\s<>\"]+")


@dataclass(frozen=True)
class About:
    """What the pages say that differs from one deployment to another."""

    policy: Policy
    help_word: str = "HELP"
    partnership: str | None = None  # SURVEYBOT_PARTNERSHIP_NAME
    contact: str | None = None  # SURVEYBOT_PRIVACY_CONTACT


def contact_link(contact: str) -> str | None:
    """Where a tap on the contact point goes: mail for an email address, the page for an https address, a call for
    a phone number; None for anything else (shown as plain words)."""
    if _EMAIL.fullmatch(contact):
        return f"mailto:{contact}"
    if _WEB.fullmatch(contact):
        return contact
    if _PHONE.fullmatch(contact):
        return "tel:" + contact.replace(" ", "")
    return None


def page(name: str, about: About, *, assets: dict[str, str]) -> str:
    """One of the two pages (`privacy` or `terms`), drawn."""
    policy = about.policy
    return templates.render(PAGES[name], words=words, assets=assets, policy=policy, help_word=about.help_word,
                            partnership=about.partnership, contact=about.contact,
                            contact_href=contact_link(about.contact) if about.contact else None)
