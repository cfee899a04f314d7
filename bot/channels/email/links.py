"""The pages an email's links open, on the bot's own HTTP server: /i/TOKEN (the person's survey, in the web chat)
and /u/TOKEN (unsubscribe).

/i/TOKEN draws the web chat exactly as /s/CODE does (bot.channels.web: the same page, script, forms and API at
/i/TOKEN/api), but the person is the one the token names, not a cookie: no login, and the same link carries on from
another device. A wrong or expired token gets a kind page. Guessing is pointless (a token is 256 bits) and is also
slowed: a client that has tried MISSES_ALLOWED wrong tokens recently is refused for a while, right or wrong.

/u/TOKEN shows one button; pressing it, or the mail program's one-click POST (List-Unsubscribe-Post, RFC 8058),
opts the person out of every campaign, as /stop all does. A GET never unsubscribes, because mail scanners follow
links. The POST takes no same-site check: RFC 8058 posts come from the mail provider, and knowing the token is the
proof. Tokens are never logged; rate limits and locks are keyed by the token's keyed hash.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl

from aiohttp import web

from bot import templates
from bot.bounded import BoundedMap
from bot.channels import web_words, webpage
from bot.channels.email import words
from bot.channels.web import PRIVATE, client_of
from bot.channels.web_drawing import Confirm, Result, draw
from bot.channels.web_events import RESUME, Action, Refused, form_event, read_body
from bot.channels.web_session import Link
from bot.engine import conversation as engine
from bot.engine import messages as msg
from bot.engine.conversation import Ask, Notice, Update
from bot.engine.survey import Audience
from bot.services import notices
from bot.services.invitations import Opened, PersonalLinks
from bot.services.safeguarding.checkin import CheckIn

if TYPE_CHECKING:
    from bot.channels.web import WebChannel
    from bot.server import HttpServer

MISSES_ALLOWED = 20  # wrong tokens from one client before it is slowed down
MISSES_FORGIVEN = 1 / 30  # a second: one wrong token forgotten every 30 s
CLIENTS_KEPT = 50_000


@dataclass
class Misses:
    """Wrong tokens tried per client, forgiven slowly: `blocked` once a client has tried too many."""

    allowed: float = MISSES_ALLOWED
    forgiven: float = MISSES_FORGIVEN
    clock: Callable[[], float] = time.monotonic
    _counts: BoundedMap[str, tuple[float, float]] = field(default_factory=lambda: BoundedMap(CLIENTS_KEPT))

    def _level(self, client: str) -> float:
        now = self.clock()
        self._counts.drop_oldest_while(lambda kept: kept[0] - (now - kept[1]) * self.forgiven <= 0)  # all forgiven
        count, since = self._counts.get(client) or (0.0, now)
        return max(0.0, count - (self.clock() - since) * self.forgiven)

    def blocked(self, client: str) -> float:
        """0 when the client may try; else the seconds until it may."""
        over = self._level(client) - self.allowed + 1
        return over / self.forgiven if over > 0 else 0.0

    def missed(self, client: str) -> None:
        self._counts.put(client, (self._level(client) + 1, self.clock()))


class PersonalPages:
    def __init__(self, links: PersonalLinks, call: Callable[..., Awaitable[Any]], chat: WebChannel) -> None:
        self.links = links
        self.call = call
        self.chat = chat
        self.misses = Misses()

    def add_routes(self, server: HttpServer) -> None:
        chat = self.chat
        server.add_route("GET", "/i/{token}", chat.guarded(self.page, api=False))
        server.add_route("POST", "/i/{token}", chat.guarded(self.form, api=False))
        server.add_route("POST", "/i/{token}/api", chat.guarded(self.api, api=True))
        server.add_route("GET", "/u/{token}", chat.guarded(self.ask_to_stop, api=False))
        server.add_route("POST", "/u/{token}", chat.guarded(self.stop, api=False))

    # --- the survey -------------------------------------------------------------------------------------------------
    async def page(self, request: web.Request) -> web.StreamResponse:
        opened = await self._opened(request)
        action = request.path
        html = webpage.page(opened.title, action, webpage.start_form(action), open_=False, assets=self.chat.assets(),
                            get_help=opened.audience is Audience.YOUNG_PEOPLE)
        return web.Response(text=html, content_type="text/html", headers=PRIVATE)

    async def api(self, request: web.Request) -> web.StreamResponse:
        opened = await self._opened(request)
        self.chat.same_site(request)
        digest = self.links.digest(request.match_info["token"])
        self.chat.limit(request, digest)
        body = await self.chat.request_body(request)
        if request.content_type != "application/json":
            raise Refused(415, "send the event as application/json")
        link = _link(opened)
        result = await self._act(link, digest, read_body(body), opened)
        if result.open and result.effects == (Notice(msg.ALREADY_ANSWERED),):
            waiting = await self._act(link, digest, RESUME, opened)
            result = Result((*result.effects, *waiting.effects), waiting.open)
        action = request.path.removesuffix("/api")
        drawn = draw(result.effects, action, summary=notices.summary(opened.audience))
        return web.json_response({"open": result.open, "effects": drawn}, headers=PRIVATE)

    async def form(self, request: web.Request) -> web.StreamResponse:
        opened = await self._opened(request)
        self.chat.same_site(request)
        digest = self.links.digest(request.match_info["token"])
        self.chat.limit(request, digest)
        fields = _fields(await self.chat.request_body(request))
        link, action = _link(opened), form_event(fields)
        result = await self._act(link, digest, action, opened)
        effects = result.effects
        if result.open and not any(isinstance(e, (Ask, Update, Confirm, CheckIn)) for e in effects):
            effects = (*effects, *(await self._act(link, digest, RESUME, opened)).effects)
        drawn = draw(effects, request.path, summary=notices.summary(opened.audience),
                     kept=action if isinstance(action, engine.Reply) else None)
        chat = "".join(d["html"] for d in drawn if "html" in d)
        status = " ".join(d["text"] for d in drawn if d["type"] == "notice")
        html = webpage.page(opened.title, request.path, chat, status=status, started=True, open_=result.open,
                            assets=self.chat.assets(), get_help=opened.audience is Audience.YOUNG_PEOPLE)
        return web.Response(text=html, content_type="text/html", headers=PRIVATE)

    async def _act(self, link: Link, digest: str, action: Action, opened: Opened) -> Result:
        """The web chat's own actions (web_session.Sessions.act), for the person the link names."""
        return (await self.chat.sessions.act(link, digest, action, who=opened.address))[1]

    async def _opened(self, request: web.Request) -> Opened:
        """The person and round the token names, or a kind page (and one more miss counted for this client)."""
        client = self._client(request)
        self._not_blocked(client)
        opened = await self.call(self.links.open, request.match_info["token"])
        if opened is None:
            self.misses.missed(client)
            raise Refused(404, words.LINK_GONE)
        return opened

    # --- unsubscribing ----------------------------------------------------------------------------------------------
    async def ask_to_stop(self, request: web.Request) -> web.StreamResponse:
        self._not_blocked(self._client(request))
        return self._stop_page(request, words.STOP_ASK_TITLE, words.STOP_ASK, done=False)

    async def stop(self, request: web.Request) -> web.StreamResponse:
        client = self._client(request)
        self._not_blocked(client)
        await self.chat.request_body(request)  # "List-Unsubscribe=One-Click" (RFC 8058) or our button: either will do
        if not await self.call(self.links.stop, request.match_info["token"]):
            self.misses.missed(client)
            raise Refused(404, words.LINK_GONE)
        return self._stop_page(request, words.STOPPED_TITLE, words.STOPPED, done=True)

    def _stop_page(self, request: web.Request, heading: str, text: str, *, done: bool) -> web.StreamResponse:
        html = stop_page(heading, text, request.path, done=done, assets=self.chat.assets())
        return web.Response(text=html, content_type="text/html", headers=PRIVATE)

    # --- checks -----------------------------------------------------------------------------------------------------
    def _client(self, request: web.Request) -> str:
        forwarded = request.headers.get("X-Forwarded-For") if self.chat.trust_proxy else None
        return client_of(request.remote, forwarded)

    def _not_blocked(self, client: str) -> None:
        wait = self.misses.blocked(client)
        if wait > 0:
            raise Refused(429, words.SLOW_DOWN, retry_after=wait)


def stop_page(heading: str, text: str, action: str, *, done: bool, assets: dict[str, str]) -> str:
    """The unsubscribe page: the question and its button, or (`done`) the answer."""
    return templates.render("email/unsubscribe.html", words=web_words, heading=heading, text=text, action=action,
                            button=words.STOP_BUTTON, done=done, assets=assets)


def _link(opened: Opened) -> Link:
    """The web chat's Link for the round: the campaign's code opens its own survey version (SurveyService.begin)."""
    return Link(opened.code, opened.wave, opened.title, opened.audience)


def _fields(body: bytes) -> list[tuple[str, str]]:
    try:
        return parse_qsl(body.decode("utf-8"), keep_blank_values=True, max_num_fields=300, strict_parsing=False)
    except (UnicodeDecodeError, ValueError):
        raise Refused(400, web_words.BAD_REQUEST) from None
