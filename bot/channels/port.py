"""What a running chat channel is to the composition root (bot.app): something to start on the shared server and stop.

Who sent something (Address), the errors a send may end in and the protocols for messaging people first live in
bot.domain, below the services; they are re-exported here for the channel modules. Each adapter translates its
platform's updates into (Address, engine event), renders engine effects in its own way, and turns its SDK's errors
into bot.domain.errors.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

# The types below the channels, re-exported so the channel modules can keep importing them from here.
from bot.domain.address import Address as Address
from bot.domain.errors import ChannelError as ChannelError
from bot.domain.errors import RateLimited as RateLimited
from bot.domain.errors import Unreachable as Unreachable
from bot.domain.reaching import Announcing as Announcing
from bot.domain.reaching import Inviting as Inviting

if TYPE_CHECKING:
    from bot.server import HttpServer


class Channel(Protocol):
    """A running chat channel. `start` registers its routes on the shared HTTP server (webhooks) and/or begins polling
    or a socket connection; `stop` ends it cleanly."""

    name: str

    async def start(self, server: HttpServer) -> None: ...

    async def stop(self) -> None: ...
