"""The web console's frame: sign-in, sessions, the checks every request passes, and how a page is drawn.

Each page module (campaigns, surveys, contacts, results, yousaid, safeguarding, audit) registers its routes through
`Console.page` and `Console.form`, naming the action its roles must allow (bot.services.roles.Action). So on every
request, before a page's own code runs: the session is looked up and the roles read afresh (a role taken away takes
effect at once); a person without the action's role gets 403 and the refusal is audited; a form must come from our
own page (Origin and Sec-Fetch-Site) and carry the session's CSRF token. Pages are Jinja2 templates with
autoescaping (bot/templates/console/), under a strict Content-Security-Policy: no inline script or style, nothing from
anywhere else. Forms are plain HTML forms: everything works without JavaScript.

The work a page does is the same use case the command line calls (bot.services...), so it is checked and audited
exactly as there. It runs off the event loop (`Console.work`), so a long report never stalls anyone's survey.
"""

from __future__ import annotations

import asyncio
import logging
import math
import re
import traceback
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from importlib import resources
from typing import Any, TypeVar
from urllib.parse import urlsplit

from aiohttp import web
from aiohttp.web_protocol import RequestPayloadError

from bot import templates
from bot.domain.address import Address
from bot.reporting.delivery import ReportingParts
from bot.server import PAGE_HEADERS
from bot.services.console_access import ConsoleAccess, Person, TooMany
from bot.services.roles import PERMISSIONS, Action, Forbidden, Role, parse_who
from bot.throttle import Buckets, client_of

log = logging.getLogger(__name__)
T = TypeVar("T")

PREFIX = "/admin"
COOKIE = "surveybot_console"
CSRF_FIELD = "csrf"
STATIC = {"console.css": "text/css"}
CSP = ("default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; form-action 'self'; "
       "base-uri 'none'; frame-ancestors 'none'")
HEADERS = {"Content-Security-Policy": CSP, **PAGE_HEADERS, "Cache-Control": "no-store"}
TOKEN = re.compile(r"^[A-Za-z0-9_-]{20,100}$")
UPLOAD_LIMIT = 1024 * 1024  # a survey file or a contacts list; the server refuses larger bodies anyway

# A form's fields, read and checked (same site, this session's CSRF token) before the page's handler runs.
FORM: web.RequestKey[dict[str, Any]] = web.RequestKey("surveybot_console_form", dict)
PageHandler = Callable[[web.Request, Person], Awaitable[web.StreamResponse]]
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


class Refusal(Exception):
    """A request we will not take, as a status and one plain sentence for the page."""

    def __init__(self, status: int, message: str, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.retry_after = retry_after


@dataclass(frozen=True)
class Section:
    """One entry of the navigation: shown only to people whose roles allow its action."""

    path: str
    label: str
    needs: Action


# The navigation, in the order people use it; page modules register the routes behind each.
SECTIONS = (
    Section(f"{PREFIX}/campaigns", "Campaigns", Action.READ_RESULTS),
    Section(f"{PREFIX}/surveys", "Surveys", Action.CHANGE_SURVEYS),
    Section(f"{PREFIX}/contacts", "Contacts", Action.CHANGE_CONTACTS),
    Section(f"{PREFIX}/results", "Results", Action.READ_RESULTS),
    Section(f"{PREFIX}/yousaid", "You said, we did", Action.WRITE_YOUTH_REPLIES),
    Section(f"{PREFIX}/yousaid/approve", "Approve replies", Action.APPROVE_YOUTH_REPLIES),  # the second person
    Section(f"{PREFIX}/safeguarding", "Safeguarding", Action.RECEIVE_ALERTS),
    Section(f"{PREFIX}/audit", "Audit", Action.READ_RESULTS),
)


class Console:
    """The console on the bot's HTTP server. Built once by the composition root (bot.app) with the core parts."""

    def __init__(self, core: ReportingParts, access: ConsoleAccess, *, public_url: str | None = None,
                 trust_proxy: bool = False, mailer: Callable[[str, str], Awaitable[None]] | None = None) -> None:
        self.core = core
        self.access = access
        self.public_url = public_url.rstrip("/") if public_url else None
        self.trust_proxy = trust_proxy
        self.mailer = mailer  # sends a sign-in link to an email address (bot.channels.email), when SMTP is set up
        self.server: Any = None  # the HTTP server it is mounted on; its own address serves when no public one is set
        self.clients = Buckets(rate=1.0, burst=30.0)  # sign-in attempts per client: guessing a link is hopeless
        self.static = {name: resources.files("bot.console").joinpath("static", name).read_bytes() for name in STATIC}
        self._routes: list[tuple[str, str, Handler]] = []  # the pages' own, added by their modules (bot.console)

    # --- wiring -----------------------------------------------------------------------------------------------------
    def mount(self, server: Any) -> None:
        """Add every route to the bot's HTTP server (bot.server.HttpServer)."""
        self.server = server
        server.add_route("GET", PREFIX, self._guard(self._home))
        server.add_route("GET", f"{PREFIX}/", self._guard(self._home))
        server.add_route("GET", PREFIX + "/signin/{token}", self._guard(self._confirm))
        server.add_route("POST", f"{PREFIX}/signin", self._guard(self._sign_in))
        server.add_route("POST", f"{PREFIX}/signout", self._guard(self._sign_out))
        server.add_route("GET", PREFIX + "/static/{name}", self._guard(self._asset))
        for method, path, handler in self._routes:
            server.add_route(method, path, handler)
        server.add_route("*", PREFIX + "/{anything:.*}", self._guard(self._nowhere))  # last: what nothing else took

    def link_url(self, token: str) -> str:
        """The sign-in link to hand someone: on the public address when there is one."""
        base = self.public_url or (self.server.base_url if self.server is not None else "")
        return f"{base}{PREFIX}/signin/{token}"

    def offer_link(self, address: Address, via: str) -> str:
        """A sign-in link as a sentence for the person who asked (in chat, or printed on the server), or why not.
        Runs on a worker thread (it writes the link's hash)."""
        try:
            token = self.access.link_for(address, via)
        except (Forbidden, TooMany) as refusal:
            return f"Sorry, {refusal}."
        return (f"Your sign-in link for the surveybot console (it works once, for the next ten minutes; keep it to "
                f"yourself): {self.link_url(token)}")

    def page(self, path: str, needs: Action) -> Callable[[PageHandler], PageHandler]:
        """Register a GET page for people whose roles allow `needs`."""
        def register(handler: PageHandler) -> PageHandler:
            self._routes.append(("GET", path, self._guard(self._signed_in(handler, needs, form=False))))
            return handler
        return register

    def form(self, path: str, needs: Action) -> Callable[[PageHandler], PageHandler]:
        """Register a POST form for people whose roles allow `needs`: same-site and CSRF checked first."""
        def register(handler: PageHandler) -> PageHandler:
            self._routes.append(("POST", path, self._guard(self._signed_in(handler, needs, form=True))))
            return handler
        return register

    # --- drawing ----------------------------------------------------------------------------------------------------
    def render(self, person: Person | None, template: str, *, status: int = 200, **context: Any) -> web.Response:
        """A page from bot/templates/console/, with the navigation this person may use and their form token."""
        sections = [s for s in SECTIONS if person is not None and person.may(s.needs)]
        html = templates.ENVIRONMENT.get_template(f"console/{template}").render(
            person=person, sections=sections, csrf=self.access.csrf(person.token) if person else "",
            csrf_field=CSRF_FIELD, roles=sorted(r.value for r in person.roles) if person else [],
            static=f"{PREFIX}/static", **context)
        return web.Response(text=html, status=status, content_type="text/html", headers=HEADERS)

    def message(self, person: Person | None, heading: str, text: str, status: int = 200,
                back: str | None = None) -> web.Response:
        return self.render(person, "message.html", status=status, heading=heading, text=text, back=back)

    @staticmethod
    def see_other(location: str) -> web.Response:
        """After a form: go to a page (Post/Redirect/Get), so reloading never repeats the change."""
        return web.Response(status=303, headers={**HEADERS, "Location": location})

    @staticmethod
    async def work(call: Callable[..., T], *args: Any) -> T:
        """A use case off the event loop (a report can take seconds; answers must not wait for it)."""
        return await asyncio.to_thread(call, *args)

    @staticmethod
    async def fields(request: web.Request) -> dict[str, Any]:
        """A form's fields (url-encoded or multipart, an uploaded file as aiohttp's FileField)."""
        try:
            return dict(await request.post())
        except web.HTTPRequestEntityTooLarge:  # an HTTPException, which would otherwise end as a 500 page
            raise Refusal(413, f"That is more than the console takes at once ({UPLOAD_LIMIT // (1024 * 1024)} MB). "
                               "Please send a smaller file: a long contacts list can be split in two.") from None
        except (ValueError, UnicodeDecodeError, RequestPayloadError):
            raise Refusal(400, "The form could not be read. Please go back and try again.") from None

    # --- the checks -------------------------------------------------------------------------------------------------
    def person_of(self, request: web.Request) -> Person | None:
        token = request.cookies.get(COOKIE, "")
        return self.access.person(token) if TOKEN.match(token) else None

    def _signed_in(self, handler: PageHandler, needs: Action, *, form: bool) -> Handler:
        async def checked(request: web.Request) -> web.StreamResponse:
            person = await self.work(self.person_of, request)
            if person is None:
                if form:
                    raise Refusal(403, "You are signed out. Please sign in again, then send the form once more.")
                return self.see_other(PREFIX)
            if form:
                self._same_site(request)
                fields = await self.fields(request)
                if fields.get(CSRF_FIELD) != self.access.csrf(person.token):
                    raise Refusal(403, "This form is out of date or came from another site. Please reload the "
                                       "page and try again.")
                request[FORM] = fields
            if not person.may(needs):
                await self.work(self.access.refused, person, request.match_info.route.resource.canonical
                                if request.match_info.route.resource else request.path, needs)
                allowed = " or ".join(r.value for r in Role if needs in PERMISSIONS[r])
                return self.message(person, "Not for your role", f"To {needs.value} you need the {allowed} role. "
                                    "If you should have it, ask your partnership's surveybot administrator.",
                                    status=403, back=PREFIX)
            return await handler(request, person)
        return checked

    def _same_site(self, request: web.Request) -> None:
        """Only our own pages may post: a form on another site must not act for someone signed in here."""
        if request.headers.get("Sec-Fetch-Site", "same-origin") not in ("same-origin", "none"):
            raise Refusal(403, "This form came from another site, so it was not sent.")
        origin = request.headers.get("Origin")
        ours = {request.host, urlsplit(self.public_url).netloc if self.public_url else request.host}
        if origin not in (None, "null") and urlsplit(origin).netloc not in ours:
            raise Refusal(403, "This form came from another site, so it was not sent.")

    def _limit(self, request: web.Request) -> None:
        forwarded = request.headers.get("X-Forwarded-For") if self.trust_proxy else None
        wait = self.clients.take(client_of(request.remote, forwarded))
        if wait > 0:
            log.info("console: asked a client to slow down (sign-in rate limit)")
            raise Refusal(429, "Too many tries. Please wait a minute and try again.", retry_after=wait)

    def _guard(self, handler: Handler) -> Handler:
        """Every refusal as a short page, and never a traceback."""
        async def guarded(request: web.Request) -> web.StreamResponse:
            try:
                return await handler(request)
            except Refusal as refusal:
                response = self.message(None, "Sorry", refusal.message, status=refusal.status, back=PREFIX)
                if refusal.retry_after is not None:
                    response.headers["Retry-After"] = str(max(1, math.ceil(refusal.retry_after)))
                return response
            except Exception as exc:  # a bug must not show a traceback, nor log a token
                frame = traceback.extract_tb(exc.__traceback__)[-1]
                log.error("console: failed to handle a request (%s at %s:%s)", type(exc).__name__, frame.filename,
                          frame.lineno)
                return self.message(None, "Sorry", "Something went wrong on our side. Nothing was changed by "
                                    "the part that failed; please try again in a minute.", status=500, back=PREFIX)
        return guarded

    # --- sign-in ----------------------------------------------------------------------------------------------------
    async def _home(self, request: web.Request) -> web.StreamResponse:
        person = await self.work(self.person_of, request)
        if person is None:
            return self.render(None, "signin.html", by_email=self.mailer is not None)
        sections = [s for s in SECTIONS if person.may(s.needs)]
        return self.render(person, "home.html", shown=sections)

    async def _confirm(self, request: web.Request) -> web.StreamResponse:
        """A sign-in link opened: a button to press, so a link previewer or mail scanner that fetches the link
        does not spend it; the POST signs in."""
        self._limit(request)
        token = request.match_info["token"]
        if not TOKEN.match(token):
            raise Refusal(404, "This sign-in link is not complete. Please copy the whole link, or ask for a new one.")
        return self.render(None, "confirm.html", token=token)

    async def _sign_in(self, request: web.Request) -> web.StreamResponse:
        self._same_site(request)
        self._limit(request)
        fields = await self.fields(request)
        token = str(fields.get("token", ""))
        if "email" in fields and not token:
            return await self._email_link(str(fields["email"]))
        if not TOKEN.match(token):
            raise Refusal(400, "This sign-in link is not complete. Please copy the whole link, or ask for a new one.")
        person = await self.work(self.access.sign_in, token)
        if person is None:
            return self.message(None, "This link has expired", "Sign-in links work once, for ten minutes. Please "
                                "ask for a new one: type /signin to the bot, or ask your administrator.",
                                status=410, back=PREFIX)
        response = self.see_other(PREFIX)
        secure = request.secure or (self.public_url or "").startswith("https://")
        response.set_cookie(COOKIE, person.token, path=PREFIX, httponly=True, secure=secure, samesite="Strict")
        return response

    async def _email_link(self, typed: str) -> web.StreamResponse:
        """A sign-in link by email. The answer is the same whether or not the address may sign in, so the form
        cannot be used to find out who holds a role."""
        if self.mailer is None:
            raise Refusal(404, "Sign-in by email is not set up here. Please type /signin to the bot in your chat.")
        try:
            address = parse_who(f"email:{typed.strip()[:254]}")
        except ValueError:
            raise Refusal(400, "That does not look like an email address. Please check it and try again.") from None
        try:
            token = await self.work(self.access.link_for, address, "email")
        except (Forbidden, TooMany):
            token = None
        if token is not None:
            try:
                await self.mailer(f"{address.user}@{address.workspace}", self.link_url(token))
            except Exception as exc:  # the mail server's failure, by kind only: never the address
                log.warning("console: a sign-in email could not be sent (%s)", type(exc).__name__)
        return self.message(None, "Check your email", "If that address may use the console, a sign-in link is on "
                            "its way. It works once, for ten minutes.", back=PREFIX)

    async def _sign_out(self, request: web.Request) -> web.StreamResponse:
        self._same_site(request)
        person = await self.work(self.person_of, request)
        if person is not None:
            fields = await self.fields(request)
            if fields.get(CSRF_FIELD) != self.access.csrf(person.token):
                raise Refusal(403, "This form is out of date. Please reload the page and try again.")
            await self.work(self.access.sign_out, person.token)
        response = self.message(None, "Signed out", "You have signed out of the console. You can close this page.",
                                back=PREFIX)
        response.del_cookie(COOKIE, path=PREFIX)
        return response

    async def _nowhere(self, request: web.Request) -> web.StreamResponse:
        raise Refusal(404, "There is no such page in the console. The links at the top go to every section.")

    async def _asset(self, request: web.Request) -> web.StreamResponse:
        name = request.match_info["name"]
        if name not in STATIC:
            raise Refusal(404, "There is no such page.")
        return web.Response(body=self.static[name], content_type=STATIC[name], charset="utf-8",
                            headers={**HEADERS, "Cache-Control": "no-cache"})
