"""The port between the service and the chat platforms: who sent something, and the few errors a channel may raise.

Kept deliberately narrow: only what the service needs. Each adapter translates its platform's updates into
(Address, engine event) and renders engine effects in its own way; platform SDK errors are translated into these.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol, runtime_checkable

if TYPE_CHECKING:
    from bot.server import HttpServer


@dataclass(frozen=True)
class Address:
    """A person on one channel. Held in memory only: made pseudonymous in bot.privacy before anything is stored."""

    channel: str
    workspace: str
    user: str

    def identity(self) -> bytes:
        return f"{self.channel}|{self.workspace}|{self.user}".encode()

    def __repr__(self) -> str:  # never print a platform id by accident
        return f"Address({self.channel!r}, …)"


class ChannelError(Exception):
    """Something went wrong talking to a platform; the message never contains user ids or message text."""


class Unreachable(ChannelError):
    """The person blocked the bot or left: mark them unreachable, do not retry."""


class RateLimited(ChannelError):
    """The platform asked us to slow down for `retry_after` seconds."""

    def __init__(self, retry_after: float) -> None:
        super().__init__(f"rate limited for {retry_after} s")
        self.retry_after = retry_after


class Channel(Protocol):
    """A running chat channel. `start` registers its routes on the shared HTTP server (webhooks) and/or begins polling
    or a socket connection; `stop` ends it cleanly."""

    name: str

    async def start(self, server: HttpServer) -> None: ...

    async def stop(self) -> None: ...


@runtime_checkable
class Inviting(Channel, Protocol):
    """A channel that can message people first (Telegram, Slack), so campaigns can invite and remind through it."""

    async def invite(self, address: Address, text: str, code: str) -> None:
        """Send a campaign's invitation or reminder with a way to start (`code`). Raises Unreachable or RateLimited."""
        ...


@runtime_checkable
class Announcing(Inviting, Protocol):
    """A channel that can send a "we did" reply with reaction buttons (bot.yousaid)."""

    async def announce(self, address: Address, text: str, reply_id: int) -> None:
        """Send a reply with "this helps / not really / tell me more". Raises Unreachable or RateLimited."""
        ...
