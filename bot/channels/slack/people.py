"""What the Slack channel remembers about each person, in memory only: their DM channel and where their recent
questions were posted (so an answer can redraw its question). The lock that keeps their messages in order is kept
apart (bot.bounded.KeyedLocks in work.py), only while they act, so a person whose survey is finished can be forgotten
at once: nothing they see depends on it (the next message goes to their user id, and a press says where it was)."""

from __future__ import annotations

from dataclasses import dataclass, field

from bot.engine.conversation import Prompt

PEOPLE_KEPT = 10_000  # people whose DM channel and recent questions we remember
TURNS_KEPT = 6  # recent questions remembered per person, to mark them answered


@dataclass(frozen=True)
class Drawn:
    """A question message we posted: where it is, so we can mark it answered, and what it asked."""

    channel: str
    ts: str
    prompt: Prompt | None = None


@dataclass
class Person:
    """One person's DM channel and recent questions. Never stored: a restart forgets it, and a press on an old
    message tells us again where that message lives."""

    dm: str | None = None
    drawn: dict[int, Drawn] = field(default_factory=dict)

    def remember(self, turn: int, drawn: Drawn) -> None:
        self.drawn[turn] = drawn
        while len(self.drawn) > TURNS_KEPT:
            del self.drawn[min(self.drawn)]
