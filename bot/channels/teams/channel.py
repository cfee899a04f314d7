"""The Teams channel object: the bot's app registration, the Microsoft 365 Agents SDK set up on the bot's own HTTP
server (POST /api/messages), and the port's methods that campaigns, "we did" replies and pending replies call
(invite, announce, resend).

The SDK is used as it means to be: an AgentApplication whose routes are our handlers (bot.channels.teams.turns), its
CloudAdapter for every turn and every proactive message (given, where it takes one, the SDK's own client factory
subclassed to keep the Bot Connector client from turn to turn: bot.channels.teams.connector), its JwtTokenValidator
for every inbound request, and its MSAL connection manager for the bot's own token. Around the validator this
module adds only what the SDK leaves to its host: which kind of refusal a 401 was (audited once a day per kind, as
Slack's and Telegram's are), and a check that the activity's service URL is the one the token was issued for.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import warnings
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any, TypeVar
from urllib.parse import urlsplit

import jwt
from aiohttp import web
from microsoft_agents.activity import (
    ActivityTypes,
    ChannelAccount,
    ChannelId,
    ConversationAccount,
    ConversationParameters,
    ConversationReference,
)
from microsoft_agents.authentication.msal import MsalConnectionManager
from microsoft_agents.hosting.aiohttp import CloudAdapter
from microsoft_agents.hosting.core import (
    AgentApplication,
    AgentAuthConfiguration,
    ApplicationOptions,
    AuthenticationConstants,
    AuthTypes,
    JwtTokenValidator,
    RouteRank,
    Storage,
    StoreItem,
    TurnContext,
    TurnState,
)

from bot.channels.pacing import Pacer
from bot.channels.port import Address, ChannelError, Unreachable
from bot.channels.teams import reading
from bot.channels.teams.cards import alert_card, card_text, invite_card, reply_card
from bot.channels.teams.connector import KeptConnectorClients
from bot.channels.teams.downloads import PATH as DOWNLOADS
from bot.channels.teams.downloads import Downloads
from bot.channels.teams.render import Renderer
from bot.channels.teams.turns import PERSONAL, Turns
from bot.config import SettingsError
from bot.domain.reaching import INVITATION, Kind
from bot.services.port import ChatService, Outcome

if TYPE_CHECKING:
    from bot.server import HttpServer

MESSAGES_PATH = "/api/messages"
TEAMS = "msteams"  # the Bot Framework's channel id for Teams
# Teams allows a bot about 7 messages a second in one conversation but only 60 in 30 seconds (2 a second, kept up),
# and 50 a second across a tenant: a margin under both.
PER_CHAT, OVERALL = 2.0, 30.0
SDK_LOGGERS = ("microsoft_agents", "msal")

log = logging.getLogger(__name__)
StoreItemT = TypeVar("StoreItemT", bound=StoreItem)


class NoStorage(Storage):
    """The AgentApplication's turn state, kept nowhere: the conversation lives in our database (as aiogram's FSM is
    turned off for Telegram), and the SDK's memory storage would keep a little of everyone, without a bound."""

    async def read(self, keys: list[str], *, target_cls: type[StoreItemT] | None = None,
                   **kwargs: Any) -> dict[str, StoreItemT]:
        return {}

    async def write(self, changes: dict[str, StoreItem]) -> None:
        return None

    async def delete(self, keys: list[str]) -> None:
        return None


def app_connections(app_id: str, password: str, tenant_id: str
                    ) -> tuple[AgentAuthConfiguration, MsalConnectionManager]:
    """The bot's Entra ID app registration, as the SDK's validator and MSAL take it."""
    config = AgentAuthConfiguration(auth_type=AuthTypes.client_secret, client_id=app_id, tenant_id=tenant_id,
                                    client_secret=password, validate_issuer=True, anonymous_allowed=False)
    return config, MsalConnectionManager(connections_configurations={"SERVICE_CONNECTION": config})


async def bot_token(connections: MsalConnectionManager) -> str:
    """The bot's own token for the Bot Connector, got on a thread of its own: MSAL's first use looks the tenant up
    with blocking HTTP calls (in the SDK, on the event loop), which must not hold up turns in progress. A wrong secret
    or tenant is one line naming the settings."""
    provider = connections.get_default_connection()
    scope = AuthenticationConstants.AGENTS_SDK_SCOPE

    def token() -> str:
        return asyncio.run(provider.get_access_token(scope, [f"{scope}/.default"]))

    try:
        return await asyncio.to_thread(token)
    except (ValueError, OSError) as exc:
        raise SettingsError("Entra ID gave no token for SURVEYBOT_TEAMS_APP_ID with SURVEYBOT_TEAMS_APP_PASSWORD "
                            f"in SURVEYBOT_TEAMS_TENANT_ID ({type(exc).__name__}): check the app registration's "
                            "client secret and the tenant") from None


def quiet_sdk_logs() -> None:
    """The SDK's and MSAL's INFO and DEBUG lines name conversations and carry payloads, and the connector's errors
    name the conversation (render.py and roster.py log the kind instead): held at WARNING and CRITICAL."""
    for name in SDK_LOGGERS:
        logger = logging.getLogger(name)
        logger.setLevel(max(logger.getEffectiveLevel(), logging.WARNING))
    logging.getLogger("microsoft_agents.hosting.core.connector").setLevel(logging.CRITICAL)


async def _raise(_context: TurnContext, error: Exception) -> None:
    """The adapter's error handler: raise, so a proactive send's failure reaches `invite` (the SDK's default would
    send the exception's words to the person)."""
    raise error


class TeamsChannel:
    """One Entra ID app registration's bot, on the shared HTTP server at /api/messages."""

    name = "teams"

    def __init__(self, service: ChatService, *, app_id: str, password: str, tenant_id: str,
                 default_survey: str, pacer: Pacer | None = None, service_url: str = "",
                 public_url: str | None = None) -> None:
        self.service = service
        self.app_id = app_id
        self.tenant_id = tenant_id
        self.service_url = service_url  # the Bot Connector for our tenant: where alerts to a channel are posted
        self.public_url = public_url.rstrip("/") if public_url else None  # download links start with it
        self.downloads: Downloads | None = None  # the download links' pages (set by bot.app with the reports)
        self._password = password
        self.renderer = Renderer(service, pacer or Pacer(overall=OVERALL, per_chat=PER_CHAT))
        self.turns = Turns(service, self.renderer, tenant_id, default_survey)
        self.clients: KeptConnectorClients | None = None  # the Bot Connector clients, kept from turn to turn
        self.adapter: CloudAdapter | None = None
        self.agent: AgentApplication[TurnState] | None = None
        self.validator: JwtTokenValidator | None = None
        self._inflight: set[asyncio.Task[web.StreamResponse]] = set()
        self._closing = False

    # --- lifecycle ----------------------------------------------------------------------------------------------------
    async def start(self, server: HttpServer) -> None:
        quiet_sdk_logs()
        self._closing = False
        config, connections = app_connections(self.app_id, self._password, self.tenant_id)
        await bot_token(connections)  # a wrong secret or tenant fails here with one line, not at the first message
        self.validator = JwtTokenValidator(config)
        self.clients = KeptConnectorClients(connections)
        self.adapter = CloudAdapter(connection_manager=connections, channel_service_client_factory=self.clients)
        self.adapter.on_turn_error = _raise
        self.agent = AgentApplication[TurnState](
            ApplicationOptions(bot_app_id=self.app_id, storage=NoStorage(), start_typing_timer=False,
                               remove_recipient_mention=True),
            connection_manager=connections)
        self._routes(self.agent)
        server.add_route("POST", MESSAGES_PATH, self._http)
        if self.downloads is not None:
            self.downloads.mount(server)
            # the public address when set, else this server's own (its port is known only once it listens)
            self.turns.file_url = lambda token: f"{self.public_url or server.base_url}{DOWNLOADS}/{token}"
        server.add_check("teams", lambda: self.adapter is not None and not self._closing)
        log.info("Teams channel started (HTTP at %s)", MESSAGES_PATH)

    def _routes(self, agent: AgentApplication[TurnState]) -> None:
        turns = self.turns

        def of(kind: str) -> Callable[[TurnContext], bool]:
            return lambda context: context.activity.type == kind

        agent.add_route(of(ActivityTypes.message), turns.on_message)
        agent.add_route(of(ActivityTypes.message_update), turns.on_edit)
        agent.add_route(lambda c: c.activity.type == ActivityTypes.conversation_update and bool(
            c.activity.members_added), turns.on_members_added)
        agent.add_route(lambda c: c.activity.type == ActivityTypes.conversation_update and not bool(
            c.activity.members_added), turns.on_team_changed)
        agent.add_route(of(ActivityTypes.installation_update), turns.on_installation)
        agent.add_route(lambda _context: True, turns.on_anything_else, rank=RouteRank.LAST)

    async def stop(self) -> None:
        """Stop taking activities, and let those in progress finish (bounded)."""
        self._closing = True
        if self._inflight:
            await asyncio.wait(set(self._inflight), timeout=10.0)
        if self.clients is not None:
            await self.clients.close()

    # --- inbound ------------------------------------------------------------------------------------------------------
    async def _http(self, request: web.Request) -> web.StreamResponse:
        """Every activity Teams sends. The SDK's validator checks the token (signature against the Bot Framework's
        published keys, issuer, audience = our app id, expiry) before anything is read or stored."""
        if self._closing or self.adapter is None or self.agent is None or self.validator is None:
            return web.Response(status=503, text="shutting down")  # Teams delivers it again later
        scheme, _, token = request.headers.get("Authorization", "").strip().partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            return self._refuse("missing")
        try:
            identity = await self.validator.validate_token(token.strip())
        except jwt.ExpiredSignatureError:
            return self._refuse("expired")
        except jwt.PyJWKClientConnectionError:
            log.warning("could not fetch the Bot Framework's signing keys; refused a Teams request")
            return web.Response(status=503)  # not the sender's fault: Teams delivers it again
        except (jwt.InvalidSignatureError, jwt.PyJWKClientError):
            return self._refuse("signature")
        except jwt.PyJWTError:
            return self._refuse("malformed")
        except ValueError as exc:  # the SDK's own checks: "Invalid audience." / "Invalid issuer."
            return self._refuse("audience" if "audience" in str(exc).lower() else "issuer")
        except (KeyError, TypeError, AttributeError):  # a token without a key id, or claims of the wrong shape
            return self._refuse("malformed")
        try:
            body = await request.json()
        except ValueError:
            return web.Response(status=400)
        claimed = identity.get_claim_value(AuthenticationConstants.SERVICE_URL_CLAIM)
        service_url = body.get("serviceUrl") if isinstance(body, dict) else None
        if claimed and (not isinstance(service_url, str) or _host(claimed) != _host(service_url)):
            return self._refuse("service-url")  # a token issued for one service URL, replayed with another
        with warnings.catch_warnings():  # the SDK's adapter reads the identity under this plain string key
            warnings.simplefilter("ignore", web.NotAppKeyWarning)
            request["claims_identity"] = identity
        task = asyncio.current_task()
        if task is not None:
            self._inflight.add(task)  # type: ignore[arg-type]
        try:
            response = await self.adapter.process(request, self.agent)
        except ValueError:  # the body is JSON but not an activity (pydantic's ValidationError is a ValueError)
            log.warning("rejected a Teams request whose body is not an activity")
            return web.Response(status=400)
        finally:
            if task is not None:
                self._inflight.discard(task)  # type: ignore[arg-type]
        return response or web.Response(status=202)

    def _refuse(self, kind: str) -> web.Response:
        log.warning("refused a Teams request: its token is %s", kind if kind != "service-url" else
                    "for another service URL")
        self.service.refused(f"teams-token-{kind}")
        return web.Response(status=401)

    # --- proactive: what the rest of the bot asks of a channel ----------------------------------------------------
    async def reach(self, address: Address, work: Callable[[TurnContext], Awaitable[None]]) -> None:
        """Run `work` in a proactive turn in the person's personal chat, made first if their route has none yet."""
        if self.adapter is None:
            raise ChannelError("the Teams channel is not started")
        route = reading.unpack_route(address.route)
        if route is None:
            raise Unreachable("no Teams route kept for this person")
        person = self.renderer.person(address)
        conversation = route.conversation or person.conversation
        agent = ChannelAccount(id=f"28:{self.app_id}")
        user = ChannelAccount(id=route.member or address.user)
        try:
            if conversation:
                reference = ConversationReference(
                    channel_id=ChannelId(TEAMS), service_url=route.service_url, agent=agent, user=user,
                    conversation=ConversationAccount(id=conversation, tenant_id=address.workspace,
                                                     conversation_type=PERSONAL))
                await self.adapter.continue_conversation(self.app_id, reference.get_continuation_activity(), work)
                return

            async def made(context: TurnContext) -> None:
                """The chat Teams made, kept with the person's sealed address before anything is sent in it, so a
                reminder after a restart goes straight there."""
                person.conversation = context.activity.conversation.id
                learnt = reading.Route(route.service_url, person.conversation, route.member).pack()
                await self.service.call(self.service.register, Address(address.channel, address.workspace,
                                                                       address.user, learnt))
                await work(context)

            parameters = ConversationParameters(is_group=False, bot=agent, members=[user],
                                                tenant_id=address.workspace,
                                                channel_data={"tenant": {"id": address.workspace}})
            await self.renderer.call(None, lambda: self.adapter.create_conversation(  # type: ignore[union-attr]
                self.app_id, TEAMS, route.service_url, AuthenticationConstants.AGENTS_SDK_SCOPE, parameters, made))
        except ChannelError:
            raise
        except (ValueError, OSError) as exc:  # MSAL could not get the bot's token (or reach Entra ID), or the SDK
            # refused the reference
            raise ChannelError(f"could not start a Teams turn ({type(exc).__name__})") from None

    async def invite(self, address: Address, text: str, code: str, *, kind: Kind = INVITATION) -> None:
        """An invitation or reminder (both alike) in the person's chat, with a Start button."""
        content = invite_card(text, code)

        async def send(context: TurnContext) -> None:
            await self.renderer.send(context, context.activity.conversation.id, card_text(content), content)

        await self.reach(address, send)

    async def announce(self, address: Address, text: str, reply_id: int) -> None:
        """A "we did" reply with its three reaction buttons."""
        content = reply_card(text, reply_id)

        async def send(context: TurnContext) -> None:
            await self.renderer.send(context, context.activity.conversation.id, card_text(content), content)

        await self.reach(address, send)

    async def post_alert(self, target: str, text: str, ack_label: str, ack_data: str) -> bool:
        """A safeguarding alert posted in the lead's Teams channel (`target`, its conversation id), with an Acknowledge
        button (bot.services.safeguarding.alerts). Teams lets a bot post in a channel of a team it was added to."""
        if self.adapter is None:
            raise ChannelError("the Teams channel is not started")
        content = alert_card(text, ack_label, ack_data)
        posted: list[str] = []

        async def send(context: TurnContext) -> None:
            posted.append(await self.renderer.send(context, target, card_text(content), content))

        reference = ConversationReference(
            channel_id=ChannelId(TEAMS), service_url=self.service_url, agent=ChannelAccount(id=f"28:{self.app_id}"),
            conversation=ConversationAccount(id=target, tenant_id=self.tenant_id, conversation_type="channel",
                                             is_group=True))
        try:
            await self.adapter.continue_conversation(self.app_id, reference.get_continuation_activity(), send)
        except ChannelError:
            raise
        except (ValueError, OSError) as exc:
            raise ChannelError(f"could not start a Teams turn ({type(exc).__name__})") from None
        return bool(posted and posted[0])

    async def resend(self, address: Address, outcome: Outcome) -> None:
        """What a step committed before a stop still owed this person (bot.services.pending)."""

        async def send(context: TurnContext) -> None:
            await self.turns.resend(context, address, outcome)

        await self.reach(address, send)


def _host(url: str) -> str:
    with contextlib.suppress(ValueError):
        return (urlsplit(url).hostname or "").lower()
    return ""
