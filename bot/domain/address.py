"""Who sent something: a person on one channel. Shared by the services and the channels, so it lives below both."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Address:
    """A person on one channel. Held in memory only: made pseudonymous in bot.services.privacy before anything is
    stored."""

    channel: str
    workspace: str
    user: str

    def identity(self) -> bytes:
        return f"{self.channel}|{self.workspace}|{self.user}".encode()

    def __repr__(self) -> str:  # never print a platform id by accident
        return f"Address({self.channel!r}, …)"
