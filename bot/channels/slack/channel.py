"""The Slack channel object: one workspace's app, its lifecycle (Socket Mode or HTTP), and the port's methods that
campaigns, "we did" replies, safeguarding alerts and pending replies call (invite, announce, post_alert, resend).

It ties the parts together: listeners (bot.channels.slack.listeners) hand work (work.py) that the renderer
(render.py) draws with Block Kit (blocks.py). Everything it keeps about people is in memory only (people.py).
"""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING

import aiohttp
from aiohttp import web
from slack_bolt.adapter.aiohttp import to_aiohttp_response
from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler
from slack_bolt.async_app import AsyncApp
from slack_bolt.logger.messages import warning_client_prioritized_and_token_skipped
from slack_sdk.errors import SlackApiError, SlackClientError
from slack_sdk.http_retry.builtin_async_handlers import AsyncRateLimitErrorRetryHandler
from slack_sdk.web.async_client import AsyncWebClient

from bot.bounded import BoundedMap
from bot.channels.port import Address, ChannelError
from bot.channels.slack.blocks import alert_blocks, alert_text, invite_blocks, reply_blocks
from bot.channels.slack.edits import EDITS_PER_MINUTE
from bot.channels.slack.forms import bolt_request
from bot.channels.slack.listeners import Listeners, bolt_app
from bot.channels.slack.people import PEOPLE_KEPT, Person
from bot.channels.slack.render import POSTS_PER_MINUTE, Renderer
from bot.channels.slack.work import Work
from bot.config import SettingsError
from bot.domain.reaching import INVITATION, Kind
from bot.services.port import ChatService, Outcome
from bot.services.surveyfiles import SurveyCatalogue

if TYPE_CHECKING:
    from bot.server import HttpServer

EVENTS_PATH = "/slack/events"
RATE_LIMIT_RETRIES = 3
STOP_GRACE = 10.0  # seconds stop() waits for work in progress

log = logging.getLogger(__name__)
# Bolt and the SDK log here, pinned at WARNING: their debug output contains whole payloads.
_libraries = logging.getLogger("bot.channels.slack.libraries")


class _SameTokenNote(logging.Filter):
    """Bolt reads SLACK_BOT_TOKEN from the environment by itself and warns that the client's token wins. It is the
    same token (ours comes through Settings), so the warning would only alarm whoever reads the logs."""

    def filter(self, record: logging.LogRecord) -> bool:
        return record.getMessage() != warning_client_prioritized_and_token_skipped()


class SlackChannel:
    """One Slack workspace's app, running over Socket Mode or on the shared HTTP server."""

    name = "slack"

    def __init__(self, service: ChatService, catalogue: SurveyCatalogue, *, bot_token: str,
                 app_token: str | None = None, signing_secret: str | None = None,
                 api_url: str = "https://slack.com/api/", posts_per_minute: float = POSTS_PER_MINUTE,
                 edits_per_minute: float = EDITS_PER_MINUTE) -> None:
        self.service = service
        self.catalogue = catalogue
        self._bot_token = bot_token
        self._app_token = app_token
        self._signing_secret = signing_secret
        self.api_url = api_url if api_url.endswith("/") else api_url + "/"  # the SDK joins method names onto it
        self.mode = "socket" if app_token else "http"
        self.client: AsyncWebClient | None = None
        self.bolt: AsyncApp | None = None
        self._session: aiohttp.ClientSession | None = None
        self._socket: AsyncSocketModeHandler | None = None
        self._closing = False
        people: BoundedMap[Address, Person] = BoundedMap(PEOPLE_KEPT)
        self.renderer = Renderer(self.name, self._api, people, service.delivered, posts_per_minute,
                                 edits_per_minute)
        self.work = Work(service, catalogue, self.renderer)  # what people's actions do; bot.app adds the admin side
        self.listeners = Listeners(self.work)

    # --- lifecycle ----------------------------------------------------------------------------------------------------
    async def start(self, server: HttpServer) -> None:
        self._closing = False
        _libraries.setLevel(max(_libraries.getEffectiveLevel(), logging.WARNING))
        if not any(isinstance(f, _SameTokenNote) for f in _libraries.filters):
            _libraries.addFilter(_SameTokenNote())
        self._session = aiohttp.ClientSession()  # one pool of connections to the Web API for every call
        self.client = AsyncWebClient(self._bot_token, base_url=self.api_url, session=self._session, logger=_libraries)
        self.client.retry_handlers.append(AsyncRateLimitErrorRetryHandler(max_retry_count=RATE_LIMIT_RETRIES))
        try:
            await self._check_token()
            self.bolt = bolt_app(self.listeners, self.client, signing_secret=self._signing_secret or "",
                                 verify=not self._app_token, logger=_libraries)
            if self._app_token:
                self._socket = AsyncSocketModeHandler(self.bolt, self._app_token, logger=_libraries)
                await self._socket.connect_async()
                server.add_check("slack", self._connected)
            else:
                server.add_route("POST", EVENTS_PATH, self._http)
                server.add_check("slack", self._connected)
        except BaseException:
            await self._session.close()
            raise
        log.info("Slack channel started (%s)", "Socket Mode" if self._app_token else f"HTTP at {EVENTS_PATH}")

    async def stop(self) -> None:
        """Stop taking updates, let work in progress finish (bounded), then close connections."""
        self._closing = True
        if self._socket is not None:
            await self._socket.close_async()
            self._socket = None
        if self.work.tasks:
            await asyncio.wait(set(self.work.tasks), timeout=STOP_GRACE)
        await self.renderer.edits.close()
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def _check_token(self) -> None:
        """Fail at start, with one clear line, rather than on the first person's message."""
        assert self.client is not None
        try:
            await self.client.auth_test()
        except SlackApiError as exc:
            raise SettingsError(f"Slack refused SLACK_BOT_TOKEN ({exc.response.get('error', 'error')})") from None
        except (SlackClientError, aiohttp.ClientError, TimeoutError) as exc:
            raise SettingsError(f"cannot reach the Slack Web API at {self.api_url} ({type(exc).__name__})") from None

    def _connected(self) -> bool:
        if self._app_token is None:  # HTTP mode: connected once the token checked out at start, until stopped
            return self.client is not None and self._session is not None and not self._session.closed
        client = self._socket.client if self._socket else None
        session = client.current_session if client else None
        return bool(client and not client.closed and session is not None and not session.closed)

    def _api(self) -> AsyncWebClient:
        if self.client is None:
            raise ChannelError("the Slack channel is not started")
        return self.client

    async def _http(self, request: web.Request) -> web.StreamResponse:
        """Events, interactivity and `/survey` in HTTP mode, all at EVENTS_PATH; Bolt checks every signature."""
        if self._closing or self.bolt is None:
            return web.Response(status=503, text="shutting down")  # Slack delivers it again later
        stamp = request.headers.get("X-Slack-Request-Timestamp", "")
        # Bolt's check would raise TypeError on a non-ASCII signature, and log a traceback (an ERROR) for a timestamp
        # that is not a number: both are simply unsigned requests
        if not request.headers.get("X-Slack-Signature", "").isascii() or not (
                stamp.isascii() and stamp.isdigit() and len(stamp) <= 12):
            log.warning("rejected a Slack request with a bad or stale signature")
            self.service.refused("slack-signature")
            return web.Response(status=401)
        try:
            incoming = await bolt_request(request)
        except UnicodeDecodeError:
            log.warning("rejected a Slack request whose body is not text")
            return web.Response(status=400)
        except (ValueError, TypeError, AttributeError, KeyError, IndexError):
            # Bolt reads the body before it checks the signature, and trips on JSON that is not an object ("null",
            # a list): not Slack's, so a plain 400 rather than a 500 and a traceback in the log for anyone to cause
            log.warning("rejected a Slack request whose body is not a Slack payload")
            return web.Response(status=400)
        response = await self.bolt.async_dispatch(incoming)
        if response.status == 401:
            log.warning("rejected a Slack request with a bad or stale signature")
            self.service.refused("slack-signature")
        elif response.status >= 500:
            # every listener acknowledges first and works in a task, so a 5xx here means Bolt's own middleware could
            # not read a (signed) payload of an unexpected shape: a retry would fail the same way
            log.warning("rejected a Slack payload of a shape Bolt cannot handle")
            return web.Response(status=400)
        return await to_aiohttp_response(response)

    # --- what the rest of the bot asks of a channel (bot.channels.port, bot.services.safeguarding.alerts,
    # bot.services.pending) ---------
    async def invite(self, address: Address, text: str, code: str, *, kind: Kind = INVITATION) -> None:
        """An invitation or reminder (both alike) in the person's DM, with the Start button the Home tab uses."""
        await self.renderer.post(address, text, invite_blocks(text, code), paced=True)

    async def announce(self, address: Address, text: str, reply_id: int) -> None:
        """A "we did" reply in the person's DM, with its three reaction buttons."""
        await self.renderer.post(address, text, reply_blocks(text, reply_id), paced=True)

    async def post_alert(self, target: str, text: str, ack_label: str, ack_data: str) -> bool:
        """A safeguarding alert in the lead's private channel, with an Acknowledge button."""
        shown = alert_text(text)
        response = await self.renderer.call("chat.postMessage", self._api().chat_postMessage(
            channel=target, text=shown, blocks=alert_blocks(shown, ack_label, ack_data), unfurl_links=False,
            unfurl_media=False))
        return bool(response.get("ok", True))

    async def resend(self, address: Address, outcome: Outcome) -> None:
        """What a step committed before a stop still owed this person (bot.services.pending)."""
        await self.work.resend(address, outcome)
