"""A conversation's state: where one person is in one survey, saved between messages.

Kept apart from the rules (bot.engine.conversation) because it is what the database stores: it must round-trip
through JSON exactly, so a conversation can stop at any point (a restart, another process) and carry on the same.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

CONSENT = "_consent"
Value = str | int | float | list[str] | None


class Status(StrEnum):
    CONSENT = "consent"
    ASKING = "asking"
    PAUSED = "paused"
    DONE = "done"
    DECLINED = "declined"


@dataclass(frozen=True)
class State:
    survey_id: str
    version: int
    status: Status = Status.CONSENT
    current: str | None = None
    path: tuple[str, ...] = ()
    answers: dict[str, Value] = field(default_factory=dict)
    turn: int = 0
    selection: tuple[int, ...] = ()
    awaiting_other: bool = False
    settled: tuple[str, ...] = ()  # knowledge checks whose explanation was shown: their first answer stands

    def to_json(self) -> dict[str, Any]:
        return {
            "survey_id": self.survey_id,
            "version": self.version,
            "status": self.status.value,
            "current": self.current,
            "path": list(self.path),
            "answers": dict(self.answers),
            "turn": self.turn,
            "selection": list(self.selection),
            "awaiting_other": self.awaiting_other,
            "settled": list(self.settled),
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> State:
        return cls(
            survey_id=data["survey_id"],
            version=int(data["version"]),
            status=Status(data["status"]),
            current=data.get("current"),
            path=tuple(data.get("path", ())),
            answers=dict(data.get("answers", {})),
            turn=int(data.get("turn", 0)),
            selection=tuple(data.get("selection", ())),
            awaiting_other=bool(data.get("awaiting_other", False)),
            settled=tuple(data.get("settled", ())),
        )

    @property
    def finished(self) -> bool:
        return self.status in (Status.DONE, Status.DECLINED)
