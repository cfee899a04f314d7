"""The Bot Connector client, kept from one turn to the next.

The SDK's own factory (RestChannelServiceClientFactory) makes a new connector client for every turn: it asks MSAL for
the bot's token, opens an aiohttp session, connects to the Bot Connector (over TLS, in production) and closes it all
when the turn ends. A survey step makes two or three calls in its turn (the answered card updated, the next question
sent), so that per-turn setup was about a tenth of the bot's CPU an answer (BENCHMARKS.md, "6 December, late"), and
a TLS handshake of latency in production. `KeptConnectorClients` is the SDK's factory, plugged in where the SDK takes
one (CloudAdapter's `channel_service_client_factory`), that keeps one client per Bot Connector address for a few
minutes, and never past its token's expiry; the SDK's per-turn close leaves a kept client open. Anything unusual (an
anonymous or agentic request, a Copilot Studio connector, a token that is not a JWT) gets a client of its own, as
before.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable
from dataclasses import dataclass

import jwt
from microsoft_agents.activity import RoleTypes
from microsoft_agents.hosting.core import RestChannelServiceClientFactory, TurnContext
from microsoft_agents.hosting.core.authorization import ClaimsIdentity, Connections
from microsoft_agents.hosting.core.connector import ConnectorClientBase
from microsoft_agents.hosting.core.connector.teams import TeamsConnectorClient

KEEP_SECONDS = 240.0  # a client is made afresh at least this often (MSAL hands out tokens good for 5 minutes more)
EXPIRY_MARGIN = 60.0  # and never used within this long of its token's expiry
RETIRE_SECONDS = 60.0  # a replaced client is closed this long after, when turns still using it are done


class KeptConnectorClient(TeamsConnectorClient):
    """A connector client that outlives the turn it was made for: the SDK closes a turn's client when the turn ends,
    which for this one does nothing; `release` closes it."""

    async def close(self) -> None:
        return None

    async def release(self) -> None:
        await super().close()


@dataclass
class _Kept:
    client: KeptConnectorClient
    until: float  # on the factory's clock


class KeptConnectorClients(RestChannelServiceClientFactory):
    """The SDK's connector client factory, keeping one client per (Bot Connector address, audience, scopes).
    `clock`: seconds, wall time (a token's expiry is wall time); tests move it on."""

    def __init__(self, connection_manager: Connections, clock: Callable[[], float] = time.time) -> None:
        super().__init__(connection_manager)
        self.clock = clock
        self._kept: dict[tuple[str, str, tuple[str, ...]], _Kept] = {}
        self._retired: dict[KeptConnectorClient, asyncio.TimerHandle] = {}  # replaced, to be closed a little later
        self._retiring: set[asyncio.Task[None]] = set()  # being closed

    async def create_connector_client(self, context: TurnContext | None, claims_identity: ClaimsIdentity,
                                      service_url: str, audience: str, scopes: list[str] | None = None,
                                      use_anonymous: bool = False) -> ConnectorClientBase:
        if use_anonymous or not service_url or not audience or _unusual(context):
            return await super().create_connector_client(context, claims_identity, service_url, audience, scopes,
                                                         use_anonymous)
        wanted = list(scopes or claims_identity.get_token_scope())
        key = (service_url, audience, tuple(wanted))
        now = self.clock()
        kept = self._kept.get(key)
        if kept is not None and now < kept.until:
            return kept.client
        provider = self._connection_manager.get_token_provider(claims_identity, service_url)
        token = await provider.get_access_token(audience, wanted)
        expires = _expiry(token)
        if expires is None or expires - EXPIRY_MARGIN <= now:  # nothing to go on: a client for this turn only
            return TeamsConnectorClient(endpoint=service_url, token=token)
        client = KeptConnectorClient(endpoint=service_url, token=token)
        self._kept[key] = _Kept(client, min(now + KEEP_SECONDS, expires - EXPIRY_MARGIN))
        if kept is not None:
            self._retire(kept.client)
        return client

    def _retire(self, client: KeptConnectorClient) -> None:
        """Close a replaced client a little later: a turn that took it just before may still be using it."""
        loop = asyncio.get_running_loop()

        def release() -> None:
            self._retired.pop(client, None)
            task = loop.create_task(client.release())
            self._retiring.add(task)
            task.add_done_callback(self._retiring.discard)

        self._retired[client] = loop.call_later(RETIRE_SECONDS, release)

    async def close(self) -> None:
        """Close every client kept, replaced or being closed (the channel is stopping and its turns are done)."""
        clients = [kept.client for kept in self._kept.values()] + list(self._retired)
        for timer in self._retired.values():
            timer.cancel()
        self._kept, self._retired = {}, {}
        with contextlib.suppress(Exception):
            await asyncio.gather(*(client.release() for client in clients), *self._retiring)


def _unusual(context: TurnContext | None) -> bool:
    """A turn the SDK makes another kind of client for, or fetches another kind of token for."""
    if context is None:
        return False
    activity = context.activity
    return bool(activity.is_agentic_request()) or (
        activity.recipient is not None and activity.recipient.role == RoleTypes.connector_user)


def _expiry(token: str) -> float | None:
    """When the bot's own access token expires (its `exp`), read without checking its signature: it came from
    Entra ID over TLS a moment ago, and is only being asked how long it may be reused."""
    try:
        claims = jwt.decode(token, options={"verify_signature": False})
    except jwt.PyJWTError:
        return None
    expires = claims.get("exp")
    return float(expires) if isinstance(expires, int | float) else None
