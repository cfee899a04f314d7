"""What a channel needs of the services: the protocol every channel types against, instead of the service's class.

The mirror of bot.channels.port (what the services need of a channel). A channel turns what a person did into one of
these use cases, run through `call` on the service's database thread, and draws the `Outcome` it gets back. Typed
words always go to `reply` (the one entry, so the safeguarding check runs in one place for every channel); presses go
to `handle`, `begin`, `care` and the rest. `SurveyService` (bot.services.service) is what bot.app hands in; a test or
a future split of the service may hand in anything else with these members.

`Outcome` and `Shown` are the values the use cases hand back; channels import them from here, so they need not know
which module of the services defines them.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Any, Protocol, TypeVar

from bot.domain.address import Address
from bot.engine.conversation import Event
from bot.engine.survey import Survey
from bot.services.safeguarding.checkin import Press
from bot.services.service import Outcome, Shown

__all__ = ["ChatService", "Outcome", "Shown"]

T = TypeVar("T")


class ChatService(Protocol):
    """The use cases a channel calls for the people it serves, and the calls around sending their outcomes."""

    help_word: str  # the word that asks for the gentle check (a button may stand for it, as on the web chat)

    async def call(self, use_case: Callable[..., T], *args: Any) -> T:
        """Run a use case (one of the methods below) off the event loop; its outcome arrives after the commit."""
        ...

    # --- what a person does --------------------------------------------------------------------------------------
    def begin(self, address: Address, code: str, wave: int | None = None, event_key: str | None = None,
              first: Event | None = None, until_consent: bool = False) -> Outcome: ...

    def open_link(self, address: Address, code: str, wave: int | None = None, first: Event | None = None
                  ) -> Outcome: ...

    def handle(self, address: Address, event: Event, event_key: str | None = None) -> Outcome: ...

    def reply(self, address: Address, text: str, event_key: str | None = None, turn: int | None = None,
              feedback: bool = True) -> Outcome: ...

    def guard(self, address: Address, text: str, event_key: str | None = None) -> Outcome | None: ...

    def care(self, address: Address, press: Press, reach: str | None = None, event_key: str | None = None
             ) -> Outcome: ...

    def erase(self, address: Address) -> Outcome: ...

    def join(self, address: Address, words: list[str], allowed: tuple[str, ...], example: str) -> Outcome: ...

    def opt_out(self, address: Address) -> Outcome: ...

    def register(self, address: Address, tags: tuple[str, ...] = ()) -> bool: ...

    def keep_team(self, team: Address, name: str) -> None: ...

    def forget_team(self, team: Address) -> None: ...

    def open_survey(self, address: Address) -> Survey | None: ...

    def link(self, code: str) -> tuple[Survey, int] | str: ...

    def acknowledge(self, ref: str) -> date | None: ...

    # --- around sending ------------------------------------------------------------------------------------------
    def delivered(self, outcome: Outcome) -> None: ...

    def still_owed(self, outcome: Outcome) -> bool: ...

    def mark_unreachable(self, address: Address) -> None: ...

    def refused(self, kind: str) -> None: ...
