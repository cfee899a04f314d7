"""The web chat channel: a survey on a page of the bot's own HTTP server, reached by an anonymous link /s/CODE.

The way in for people who can't use Telegram or Slack (both require users in the UK to be 16 or over), and the
zero-set-up default: `surveybot run` with no tokens serves it. The same engine, service and storage as every other
channel; only the drawing differs (bot.channels.webpage).

This module holds the routes and the HTTP limits. What the page sends is read in bot.channels.web_events, who is
chatting (the cookie, one request at a time per person, what each action does) is bot.channels.web_session, and what
is drawn is bot.channels.web_drawing.

- Anonymous: no login. Resuming on the same device needs one cookie and nothing else: a random token
  (secrets.token_urlsafe), HttpOnly, SameSite=Strict, Secure over https, scoped to the link's own path. The person
  is Address("web", "link", token). The token is never logged, and never stored: the service keeps only keyed
  pseudonyms of it (and the sealed contact address, encrypted).
- Routes: GET /s/CODE is the page; POST /s/CODE/api takes one event as JSON and returns the effects to draw (the main
  path, used by chat.js); POST /s/CODE takes the same forms without JavaScript and answers with a whole page;
  GET /s/CODE/qr.svg is a printable poster of the link.
- Persist, then draw: the service commits before a response is sent. Every question's buttons carry its turn, so a
  double click, a resubmitted form or an old tab records nothing; that is why no event key is needed here.
- Abuse: bodies over 32 KiB get 413; each person (token) and each client (network address) has a token bucket, and
  an empty one gets 429 with Retry-After, so one client flooding a link cannot lock it for everyone else (the
  address a proxy forwards counts only with SURVEYBOT_TRUST_PROXY); JSON that isn't an event gets 400 with a short
  message; posts from another site get 403; unknown codes get a friendly 404 page. Never a traceback: a failure is
  logged by type and line, without data.
- No third-party anything: the page, its CSS and its script come from the package, under a strict
  Content-Security-Policy (nothing inline, nothing from elsewhere), with no referrer and no caching of answers.
"""

from __future__ import annotations

import hashlib
import logging
import math
import re
import traceback
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from urllib.parse import parse_qsl, urlsplit

from aiohttp import web
from aiohttp.web_protocol import RequestPayloadError

from bot.channels import about as about_pages
from bot.channels import web_words as words
from bot.channels import webpage
from bot.channels.poster import poster_svg
from bot.channels.web_drawing import Confirm, Result, draw
from bot.channels.web_events import MAX_TICKS, RESUME, Refused, form_event, read_body, read_event
from bot.channels.web_session import COOKIE, Link, Sessions
from bot.engine import conversation as engine
from bot.engine import messages as msg
from bot.engine.conversation import Ask, Notice, Update
from bot.engine.survey import Audience
from bot.server import PAGE_HEADERS, HttpServer
from bot.services import notices
from bot.services.policy import Policy
from bot.services.port import ChatService
from bot.services.safeguarding.checkin import CheckIn
from bot.services.surveyfiles import SurveyCatalogue
from bot.throttle import Buckets, client_of

__all__ = ["COOKIE", "CSP", "Limits", "Refused", "WebChannel", "client_of", "read_body", "read_event"]

log = logging.getLogger(__name__)

CODE = re.compile(r"^[a-z0-9][a-z0-9_-]{0,62}$")
BODY_LIMIT = 32 * 1024  # the longest typed answer a survey may take (4,000 characters) fits with room to spare
STATIC = {"chat.css": "text/css", "chat.js": "text/javascript", "icon.svg": "image/svg+xml"}
CSP = ("default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; "
       "form-action 'self'; base-uri 'none'; frame-ancestors 'none'")
SECURITY_HEADERS = {"Content-Security-Policy": CSP, **PAGE_HEADERS}
PRIVATE = {**SECURITY_HEADERS, "Cache-Control": "no-store"}  # answers must not linger in a shared device's cache


@dataclass(frozen=True)
class Limits:
    """Token buckets: `*_rate` requests a second on average, bursts of up to `*_burst`. A person answers a question
    every few seconds; a class of thirty behind one school address at the same moment stays well inside that
    client's bucket. There is no bucket for a whole link: anyone could empty it and lock the link for everyone."""

    person_rate: float = 2.0
    person_burst: float = 20.0
    client_rate: float = 20.0
    client_burst: float = 200.0


# --- the channel ------------------------------------------------------------------------------------------------------

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


class WebChannel:
    name = "web"

    def __init__(self, service: ChatService, catalogue: SurveyCatalogue, *, cookie_days: int,
                 public_url: str | None = None, limits: Limits | None = None, trust_proxy: bool = False,
                 about: about_pages.About | None = None) -> None:
        self.service = service
        self.about = about or about_pages.About(Policy())
        self.catalogue = catalogue
        self.public_url = public_url.rstrip("/") if public_url else None
        self.trust_proxy = trust_proxy
        self.server: HttpServer | None = None  # its own address is the link's without a public one (set by start)
        self.limits = limits or Limits()
        self.people = Buckets(self.limits.person_rate, self.limits.person_burst)
        self.clients = Buckets(self.limits.client_rate, self.limits.client_burst)
        self.sessions = Sessions(service, cookie_days)
        self.static = {name: webpage.static_file(name) for name in STATIC}
        self.versions = {name: hashlib.sha256(body).hexdigest()[:12] for name, body in self.static.items()}

    def set_limits(self, limits: Limits) -> None:
        self.limits = limits
        self.people = Buckets(limits.person_rate, limits.person_burst)
        self.clients = Buckets(limits.client_rate, limits.client_burst)

    # --- lifecycle -----------------------------------------------------------------------------------------------
    async def start(self, server: HttpServer) -> None:
        self.server = server
        server.add_route("GET", "/s/{code}", self.guarded(self.page, api=False))
        server.add_route("POST", "/s/{code}", self.guarded(self.form, api=False))
        server.add_route("POST", "/s/{code}/api", self.guarded(self.api, api=True))
        server.add_route("GET", "/s/{code}/qr.svg", self.guarded(self.qr, api=False))
        server.add_route("GET", "/web/{name}", self.guarded(self.asset, api=False))
        for name in about_pages.PAGES:  # the Teams app's privacy and terms links point here
            server.add_route("GET", f"/{name}", self.guarded(self.about_page, api=False))

    async def stop(self) -> None:
        """Nothing to close: every request finished its work before it was answered."""

    # --- routes -----------------------------------------------------------------------------------------------------
    async def page(self, request: web.Request) -> web.StreamResponse:
        link = await self._link(request)
        action = self._action(request)
        html = webpage.page(link.title, action, webpage.start_form(action), open_=False, assets=self.assets(),
                            get_help=link.audience is Audience.YOUNG_PEOPLE)
        return web.Response(text=html, content_type="text/html", headers=PRIVATE)

    async def api(self, request: web.Request) -> web.StreamResponse:
        link = await self._link(request)
        self.same_site(request)
        token = self.sessions.token_of(request)
        self.limit(request, token)
        body = await self.request_body(request)
        if request.content_type != "application/json":
            raise Refused(415, "send the event as application/json")
        action = read_body(body)
        token, result = await self.sessions.act(link, token, action)
        if result.open and result.effects == (Notice(msg.ALREADY_ANSWERED),):
            # an old tab, or a question asked again elsewhere: draw the question that is waiting now
            _, waiting = await self.sessions.act(link, token, RESUME)
            result = Result((*result.effects, *waiting.effects), waiting.open)
        drawn = draw(result.effects, self._action(request), summary=notices.summary(link.audience))
        response = web.json_response({"open": result.open, "effects": drawn}, headers=PRIVATE)
        self._cookie(request, response, token, result.forget)
        return response

    async def form(self, request: web.Request) -> web.StreamResponse:
        link = await self._link(request)
        self.same_site(request)
        token = self.sessions.token_of(request)
        self.limit(request, token)
        body = await self.request_body(request)
        try:
            fields = parse_qsl(body.decode("utf-8"), keep_blank_values=True, max_num_fields=MAX_TICKS + 10,
                               strict_parsing=False)
        except (UnicodeDecodeError, ValueError):
            raise Refused(400, words.BAD_REQUEST) from None
        action = form_event(fields)
        token, result = await self.sessions.act(link, token, action)
        effects = result.effects
        if result.open and not any(isinstance(e, (Ask, Update, Confirm, CheckIn)) for e in effects):
            # a resubmitted form or an old page: show the question that is waiting now
            _, waiting = await self.sessions.act(link, token, RESUME)
            effects = (*effects, *waiting.effects)
        action_url = self._action(request)
        drawn = draw(effects, action_url, summary=notices.summary(link.audience),
                     kept=action if isinstance(action, engine.Reply) else None)
        chat = "".join(d["html"] for d in drawn if "html" in d)
        status = " ".join(d["text"] for d in drawn if d["type"] == "notice")
        html = webpage.page(link.title, action_url, chat, status=status, started=True, open_=result.open,
                            assets=self.assets(), get_help=link.audience is Audience.YOUNG_PEOPLE)
        response = web.Response(text=html, content_type="text/html", headers=PRIVATE)
        self._cookie(request, response, token, result.forget)
        return response

    async def qr(self, request: web.Request) -> web.StreamResponse:
        link = await self._link(request)
        self.limit(request, None)
        url = self.link_url(link_code(request))
        return web.Response(text=poster_svg(url, link.title), content_type="image/svg+xml", headers=PRIVATE)

    async def asset(self, request: web.Request) -> web.StreamResponse:
        name = request.match_info["name"]
        if name not in STATIC:
            raise Refused(404, words.NOT_FOUND)
        cached = request.query.get("v") == self.versions[name]
        headers = {**SECURITY_HEADERS, "Cache-Control": "public, max-age=31536000, immutable" if cached
                   else "no-cache"}
        return web.Response(body=self.static[name], content_type=STATIC[name], charset="utf-8", headers=headers)

    async def about_page(self, request: web.Request) -> web.StreamResponse:
        """/privacy or /terms: no cookie, nothing stored; a browser may keep it but asks again before showing it, so
        a changed setting shows at once."""
        self.limit(request, None)
        html = about_pages.page(request.path.strip("/"), self.about, assets=self.assets())
        return web.Response(text=html, content_type="text/html",
                            headers={**SECURITY_HEADERS, "Cache-Control": "no-cache"})

    def link_url(self, code: str) -> str:
        """The address to print or share: the public URL when one is set, else this server's own. Never the request's
        Host header: anyone can send any Host, and a poster must not point people at someone else's site."""
        assert self.server is not None
        return f"{self.public_url or self.server.base_url}/s/{code}"

    # --- checks (limit, same_site, request_body, assets and guarded are public: an email's personal link pages,
    # bot.channels.email.links, are served with the same limits, checks and refusals) -------------------------------
    async def _link(self, request: web.Request) -> Link:
        """What the link opens. A code is a survey id (its first round) or a campaign's code (its current wave),
        worked out by the service exactly as Telegram's /start CODE and Slack's Start button are."""
        code = link_code(request)
        if not CODE.match(code):
            raise Refused(404, words.NOT_FOUND)
        found = await self.service.call(self.service.link, code)
        if isinstance(found, str):
            raise Refused(404, words.NOT_FOUND if found == msg.UNKNOWN_SURVEY else found)
        survey, wave = found
        return Link(survey.id, wave, survey.title, survey.audience)

    def limit(self, request: web.Request, token: str | None) -> None:
        forwarded = request.headers.get("X-Forwarded-For") if self.trust_proxy else None
        wait = self.clients.take(client_of(request.remote, forwarded))
        if token is not None:
            wait = max(wait, self.people.take(token))
        if wait > 0:
            log.info("web: asked a visitor to slow down (rate limit)")
            raise Refused(429, words.SLOW_DOWN, retry_after=wait)

    def same_site(self, request: web.Request) -> None:
        """Only the page itself may post: a form on another site must not answer (or start) a survey for someone.
        The page's origin is the host it was asked for, or the public address (a proxy may rewrite Host)."""
        if request.headers.get("Sec-Fetch-Site", "same-origin") not in ("same-origin", "none"):
            raise Refused(403, words.CROSS_SITE)
        origin = request.headers.get("Origin")
        ours = {request.host, urlsplit(self.public_url).netloc if self.public_url else request.host}
        # "null" is what a form on our own page sends under Referrer-Policy: no-referrer; Sec-Fetch-Site said above
        # where it came from, and the cookie is SameSite=Strict anyway
        if origin not in (None, "null") and urlsplit(origin).netloc not in ours:
            raise Refused(403, words.CROSS_SITE)

    @staticmethod
    async def request_body(request: web.Request) -> bytes:
        if request.content_length is not None and request.content_length > BODY_LIMIT:
            raise Refused(413, words.TOO_BIG)
        try:
            body = await request.content.read(BODY_LIMIT + 1)
        except RequestPayloadError:  # e.g. Content-Encoding: gzip on a body that is not gzip
            # nothing more of it can be read: end the body here rather than drain it (aiohttp would log the same
            # error again), and close the connection once the 400 is sent, as its bytes cannot be trusted
            request.content.feed_eof()
            request.protocol.close()
            raise Refused(400, words.BAD_REQUEST) from None
        if len(body) > BODY_LIMIT:
            raise Refused(413, words.TOO_BIG)
        return body

    @staticmethod
    def _action(request: web.Request) -> str:
        return f"/s/{link_code(request)}"

    def _cookie(self, request: web.Request, response: web.StreamResponse, token: str, forget: bool) -> None:
        self.sessions.keep(request, response, token, forget, self._action(request))

    def assets(self) -> dict[str, str]:
        return {name: f"/web/{name}?v={version}" for name, version in self.versions.items()}

    # --- errors -----------------------------------------------------------------------------------------------------
    def guarded(self, handler: Handler, *, api: bool) -> Handler:
        """Every refusal as a short message (JSON for the API, a page otherwise), and never a traceback."""

        async def guarded(request: web.Request) -> web.StreamResponse:
            try:
                return await handler(request)
            except Refused as refused:
                return self._refusal(request, refused, api)
            except Exception as exc:  # a bug must not show a traceback, nor log a token or an answer
                frame = traceback.extract_tb(exc.__traceback__)[-1]
                log.error("web: failed to handle a request (%s at %s:%s)", type(exc).__name__, frame.filename,
                          frame.lineno)
                return self._refusal(request, Refused(500, words.WENT_WRONG), api)

        return guarded

    def _refusal(self, request: web.Request, refused: Refused, api: bool) -> web.StreamResponse:
        headers = dict(PRIVATE)
        if refused.retry_after is not None:
            headers["Retry-After"] = str(max(1, math.ceil(refused.retry_after)))
        if api:
            return web.json_response({"error": refused.message}, status=refused.status, headers=headers)
        heading = words.NOT_FOUND_TITLE if refused.status == 404 else words.SORRY
        text = words.BAD_REQUEST if refused.status == 400 else refused.message  # not the API's technical wording
        html = webpage.message_page(heading, text, assets=self.assets())
        return web.Response(text=html, status=refused.status, content_type="text/html", headers=headers)


def link_code(request: web.Request) -> str:
    return request.match_info.get("code", "")
