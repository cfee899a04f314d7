"""Who is chatting on the web chat, and what the page's actions do for them: the resume cookie and the sessions.

A person is Address("web", "link", token), the token a random value (secrets.token_urlsafe) held only in their
cookie: HttpOnly, SameSite=Strict, Secure over https, scoped to the link's own path. The token is never logged, and
never stored (the service keeps keyed pseudonyms of it). Each person's requests are handled one at a time.

Handing a person in: a route reads the token with `token_of` (None for a newcomer), calls `act(link, token, action)`
(which makes a token when there is none and opens the survey), and sets the cookie with `keep` on the path of the
link the person will use. The routes of /s/CODE (bot.channels.web) work that way. An email's personal link
(bot.channels.email.links) is a person already: its pages act for the contact the link names (`who`), keyed by the
link's hash, and need no cookie, so the same link carries on from another device.
"""

from __future__ import annotations

import re
import secrets
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass

from aiohttp import web

from bot.bounded import KeyedLocks
from bot.channels import web_words as words
from bot.channels.port import Address
from bot.channels.web_drawing import Chose, Confirm, Result
from bot.channels.web_events import DELETE, ERASE, GET_HELP, HELP, KEEP, OPEN, RESUME, Action
from bot.engine import conversation as engine
from bot.engine import messages as msg
from bot.engine.conversation import Ask, Notice, Say
from bot.engine.survey import Audience
from bot.services.port import ChatService
from bot.services.safeguarding import checkin
from bot.services.safeguarding.checkin import Press

COOKIE = "resume"
TOKEN = re.compile(r"^[A-Za-z0-9_-]{43}$")  # secrets.token_urlsafe(32)


@dataclass(frozen=True)
class Link:
    """What an anonymous link opens: a survey, in one round (wave)."""

    survey_id: str
    wave: int
    title: str
    audience: Audience = Audience.PRACTITIONERS


class Sessions:
    """The web chat's people: their cookies, their one-at-a-time locks, and their actions run through the service."""

    def __init__(self, service: ChatService, cookie_days: int) -> None:
        self.service = service
        self.cookie_days = cookie_days
        self.locks: KeyedLocks[str] = KeyedLocks()  # a person's lock lives only while they act or wait to

    # --- the cookie -----------------------------------------------------------------------------------------------
    @staticmethod
    def token_of(request: web.Request) -> str | None:
        """The person's token from their cookie, if it has the shape of one we made."""
        token = request.cookies.get(COOKIE)
        return token if token is not None and TOKEN.match(token) else None

    def keep(self, request: web.Request, response: web.StreamResponse, token: str, forget: bool, path: str) -> None:
        """Set (or renew) the resume cookie, scoped to the link's `path`; delete it once the answers are deleted."""
        secure = request.secure or request.headers.get("X-Forwarded-Proto", "").lower() == "https"
        if forget:
            response.del_cookie(COOKIE, path=path, secure=secure, httponly=True, samesite="Strict")
            return
        response.set_cookie(COOKIE, token, path=path, max_age=self.cookie_days * 86_400, httponly=True,
                            samesite="Strict", secure=secure)

    # --- acting ---------------------------------------------------------------------------------------------------
    async def act(self, link: Link, token: str | None, action: Action, who: Address | None = None
                  ) -> tuple[str, Result]:
        """Do what the person asked, one request at a time per person, and return their token and the result.
        Without a token nothing can be carried on, so any action opens the survey (with a new token). `who`: a
        person an email's personal link names (bot.channels.email.links), with `token` its keyed hash."""
        if token is None:
            token, action = secrets.token_urlsafe(32), OPEN
        who = who or Address("web", "link", token)
        service = self.service
        async with self.lock(token):
            if action in (OPEN, RESUME):  # stores nothing until they agree (SurveyService.open_link)
                outcome = await service.call(service.open_link, who, link.survey_id, link.wave)
                effects = outcome.effects
                resumed = action == OPEN and any(isinstance(e, Ask) for e in effects) and not any(
                    isinstance(e, Say) for e in effects)
                if resumed:
                    effects = (Say(words.WELCOME_BACK), *effects)
                return token, Result(effects, outcome.open)
            if action == DELETE:
                return token, Result((Confirm(),), await self.is_open(who))
            if action == ERASE:
                outcome = await service.call(service.erase, who)
                return token, Result(outcome.effects, False, forget=True)
            if action == KEEP:
                if await self.is_open(who):
                    outcome = await service.call(service.open_link, who, link.survey_id, link.wave)
                    return token, Result(outcome.effects, outcome.open)
                return token, Result((Notice(words.KEPT),), False)
            if action == GET_HELP:  # the button: the gentle check, as the HELP word gives on every channel
                checked = await service.call(service.guard, who, service.help_word)
                if checked is not None:
                    return token, Result(checked.effects, checked.open)
                action = HELP  # not a young people's survey: how this page works
            if action == HELP:  # typed as an answer: explain, then ask the waiting question again
                if not await self.is_open(who):
                    return token, Result((Say(words.HELP),), False)
                outcome = await service.call(service.open_link, who, link.survey_id, link.wave)
                return token, Result((Say(words.HELP), *outcome.effects), outcome.open)
            assert not isinstance(action, str)
            if isinstance(action, Press):  # the safeguarding check: no handle here, so a yes asks how to reach them
                outcome = await service.call(service.care, who, action)
                label = checkin.label_of(action)
                said: tuple[Chose, ...] = (Chose(label),) if label else ()
                return token, Result((*said, *outcome.effects), outcome.open)
            if isinstance(action, engine.Reply):  # the service's one entry for typed words: the check comes first
                outcome = await service.call(service.reply, who, action.text, None, action.turn, False)
            else:
                outcome = await service.call(service.handle, who, action)
            if outcome.effects == (Say(msg.NO_SURVEY_OPEN),):  # the first screen: nothing is stored before this,
                # so their consent (or no) comes here (never after the check: its outcome says more than this)
                outcome = await service.call(service.open_link, who, link.survey_id, link.wave, action)
            return token, Result(outcome.effects, outcome.open)

    async def is_open(self, who: Address) -> bool:
        return await self.service.call(self.service.open_survey, who) is not None

    def lock(self, token: str) -> AbstractAsyncContextManager[None]:
        return self.locks.hold(token)
