"""Who sent something: a person on one channel. Shared by the services and the channels, so it lives below both."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Address:
    """A person on one channel. Held in memory only: made pseudonymous in bot.services.privacy before anything is
    stored.

    `route` is how to reach them, where the platform needs more than who they are (Teams: the service URL and the
    conversation to write in, bot.channels.teams.reading). It is sealed with the address, but it is not part of who
    the person is: it may change (Teams moves a tenant to another service URL) without changing their pseudonyms, so
    it is left out of `identity`, equality and hashing."""

    channel: str
    workspace: str
    user: str
    route: str = field(default="", compare=False)

    def identity(self) -> bytes:
        return f"{self.channel}|{self.workspace}|{self.user}".encode()

    def __repr__(self) -> str:  # never print a platform id by accident
        return f"Address({self.channel!r}, …)"
