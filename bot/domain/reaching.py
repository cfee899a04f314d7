"""What the services need from a channel to message a person first (campaigns, "we did" replies, owed replies).

The services own these small protocols and the channels satisfy them, so the dependency points from channels to
services and never back. Checked with isinstance: a channel that lacks a method is simply not used for that.
"""

from __future__ import annotations

from typing import Literal, Protocol, runtime_checkable

from bot.domain.address import Address

Kind = Literal["invitation", "reminder"]  # which of a campaign's messages `invite` sends (its outbox step)
INVITATION: Kind = "invitation"
REMINDER: Kind = "reminder"


@runtime_checkable
class Named(Protocol):
    """Any channel: its name is the `channel` of the addresses it serves."""

    name: str


@runtime_checkable
class Inviting(Named, Protocol):
    """A channel that can message people first (Telegram, Slack), so campaigns can invite and remind through it."""

    async def invite(self, address: Address, text: str, code: str, *, kind: Kind = INVITATION) -> None:
        """Send a campaign's invitation or reminder (`kind`: a chat sends both alike; an email's subject differs) with
        a way to start (`code`). Raises Unreachable or RateLimited."""
        ...


@runtime_checkable
class Announcing(Inviting, Protocol):
    """A channel that can send a "we did" reply with reaction buttons (bot.services.yousaid)."""

    async def announce(self, address: Address, text: str, reply_id: int) -> None:
        """Send a reply with "this helps / not really / tell me more". Raises Unreachable or RateLimited."""
        ...
