"""Personal links for people invited by email: one link per person per campaign wave into the web chat, and one
unsubscribe link per person. The use cases behind bot.channels.email; they know nothing of SMTP or HTTP.

Why a link at all: an email cannot carry buttons that talk back to us, so the invitation's one button opens the web
chat as that person (their email Address), with no login. Their conversation is found by the same keyed session as
on every channel, so the link carries on from another device, and starting and finishing are marked on their
contact's participation (what reminders read), never with the answers: the answers' pseudonym follows the round's
rules exactly as on any channel.

A token is HMAC(pepper-derived key, round salt | contact lookup | survey | wave), 43 URL-safe characters: the same
for a person's invitation and reminders in one wave, unguessable, and impossible to make again once the round's key
(salt) is destroyed. Only a keyed hash of it is stored (storage.personal_links), so a database dump holds no usable
link; the round's rows are deleted with its key (bot.services.retention). The unsubscribe token is made the same way
from the contact lookup alone, so it keeps working after a round has ended.
"""

from __future__ import annotations

import base64
import hmac
import math
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime

from bot.domain.address import Address
from bot.domain.errors import ChannelError
from bot.engine.survey import Audience
from bot.services.broadcast import last_day
from bot.services.campaigns import current_wave, rules_of, window
from bot.services.privacy import Keys
from bot.services.surveyfiles import SurveyCatalogue
from storage import campaigns as store_campaigns
from storage import contacts, personal_links, rounds
from storage.models import Campaign
from storage.unit_of_work import Store

TOKEN = re.compile(r"[A-Za-z0-9_-]{43}", re.ASCII)  # 32 bytes of HMAC, URL-safe base64 without padding
QUESTIONS_A_MINUTE = 3  # how long a survey takes, as the invitation says it: plain questions take about 20 s each


@dataclass(frozen=True)
class Issued:
    """What an email needs to invite one person: their two links' tokens and the survey's facts."""

    token: str
    stop_token: str
    title: str
    minutes: int
    closes: date
    young_people: bool


@dataclass(frozen=True)
class Opened:
    """Who a personal link opens the web chat for, and which campaign round."""

    address: Address
    code: str
    survey_id: str
    wave: int
    title: str
    audience: Audience


class PersonalLinks:
    def __init__(self, store: Store, keys: Keys, catalogue: SurveyCatalogue, clock: Callable[[], datetime]) -> None:
        self.store = store
        self.keys = keys
        self.catalogue = catalogue
        self.clock = clock
        self._token_key = bytes.fromhex(keys.secret("personal-link-token"))
        self._digest_key = bytes.fromhex(keys.secret("personal-link-digest"))

    def _token(self, message: bytes) -> str:
        return base64.urlsafe_b64encode(hmac.digest(self._token_key, message, "sha256")).decode().rstrip("=")

    def digest(self, token: str) -> str:
        """What is stored for a token (and what rate limits and locks are keyed by): never the token itself."""
        return hmac.digest(self._digest_key, token.encode(), "sha256").hex()

    def issue(self, address: Address, code: str) -> Issued:
        """The links for one person's invitation or reminder to campaign `code`'s current wave, stored (as keyed
        hashes) before the email goes, so a link in a sent email always opens."""
        now = self.clock()
        today = now.date()
        lookup = self.keys.contact_lookup(address)
        with self.store.unit() as uow:
            campaign = store_campaigns.by_code(uow, code)
            if campaign is None:
                raise ChannelError("no such campaign")
            rules = rules_of(campaign, now.tzinfo or UTC)
            wave = current_wave(rules, now) or 1
            salt = rounds.salt(uow, campaign.survey_id, wave, today)
            if salt is None:
                raise ChannelError("the round has closed")
            survey = self.catalogue.get(campaign.survey_id, campaign.version)
            token = self._token(b"invite|" + salt + f"|{lookup}|{survey.id}|{wave}".encode())
            stop = self._token(f"stop|{lookup}".encode())
            personal_links.keep(uow, self.digest(token), personal_links.INVITE, lookup, today, campaign.id,
                                survey.id, wave)
            personal_links.keep(uow, self.digest(stop), personal_links.STOP, lookup, today)
        closes = last_day(window(rules, wave)[1]).date()
        minutes = max(1, math.ceil(len(survey.questions) / QUESTIONS_A_MINUTE))
        return Issued(token, stop, survey.title, minutes, closes, survey.audience is Audience.YOUNG_PEOPLE)

    def open(self, token: str) -> Opened | None:
        """Who and what a personal link opens; None for a token that is wrong, expired (its round's key destroyed)
        or whose person or campaign is gone."""
        if not TOKEN.fullmatch(token):
            return None
        with self.store.unit() as uow:
            link = personal_links.find(uow, self.digest(token))
            if link is None or link.kind != personal_links.INVITE or link.survey_id is None or link.wave is None:
                return None
            campaign = uow.session.get(Campaign, link.campaign_id)
            key = rounds.get(uow, link.survey_id, link.wave)
            contact = contacts.find(uow, link.lookup)
            if campaign is None or key is None or key.salt is None or contact is None:
                return None
            if not self.catalogue.has(campaign.survey_id, campaign.version):
                return None
            survey = self.catalogue.get(campaign.survey_id, campaign.version)
            return Opened(self.keys.unseal(contact.address), campaign.code, survey.id, link.wave, survey.title,
                          survey.audience)

    def stop(self, token: str) -> bool:
        """The unsubscribe link (or its one-click POST, RFC 8058): no more invitations or reminders from any
        campaign, as /stop all does in a chat. False for a token that is not one."""
        if not TOKEN.fullmatch(token):
            return False
        today = self.clock().date()
        with self.store.unit() as uow:
            link = personal_links.find(uow, self.digest(token))
            if link is None or link.kind != personal_links.STOP:
                return False
            if store_campaigns.opt_out(uow, link.lookup):
                uow.audit("contact.opted_out", {"channel": "email", "by": "unsubscribe link"}, today)
            return True
