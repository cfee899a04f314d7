"""A scripted person on the fake Teams: reads the bot's last message in their personal chat and answers it as a person
would, through what Teams really delivers (an Action.Submit press, or a typed message, each with a signed token).

Nothing here knows the survey: choices come from the cards' buttons and choice sets, typed answers from the words
under the question ("a whole number from 0 to 40").
"""

from __future__ import annotations

import random
import re
from dataclasses import dataclass, field

from tests.fakes.teams_api import Message, TeamsUser

_NUMBER_RULE = re.compile(r"number from (-?[\d.,]+) to (-?[\d.,]+)")
_ACTION = re.compile(r"^a:(\d+):([ptdsb])(?::(\d+))?$")


def is_question(message: Message) -> bool:
    return message.question


def turn_of(message: Message) -> int:
    for data in message.data():
        if (found := _ACTION.match(data)) or (found := re.match(r"^answer:(\d+)$", data)):
            return int(found[1])
    raise AssertionError("not a question")


@dataclass
class Respondent:
    """One person answering in their personal chat. `seed` makes their choices random but repeatable; `card_share` is
    how often a typed answer goes in the card's box rather than as a message; `skip_share` how often an optional
    question is skipped."""

    person: TeamsUser
    seed: int = 0
    card_share: float = 0.5
    skip_share: float = 0.2
    typed: list[str] = field(default_factory=list)  # every answer typed, so tests can look for it in the logs

    def __post_init__(self) -> None:
        self.rng = random.Random(self.seed)

    async def next_message(self, timeout: float = 10.0) -> Message:
        return await self.person.next_message(timeout)

    async def next_question(self, timeout: float = 10.0) -> Message:
        while not is_question(message := await self.next_message(timeout)):
            pass
        return message

    async def complete(self, survey_id: str, thanks: str, max_steps: int = 200) -> list[Message]:
        """Start the survey with `/start CODE`, answer every question until the thanks, and return every message."""
        assert await self.person.say(f"/start {survey_id}") in (200, 202)
        seen: list[Message] = []
        for _ in range(max_steps):
            message = await self.next_message()
            seen.append(message)
            if thanks.strip() in message.text:
                return seen
            if is_question(message):
                await self.answer(message)
        raise AssertionError(f"no thanks after {max_steps} messages; last: {seen[-1].text!r}")

    async def answer(self, message: Message) -> None:
        """Answer one question validly: a button, some ticks and Done, or typed words (in the card or a message)."""
        data = message.data()
        controls = {m[2]: d for d in data if (m := _ACTION.match(d)) and m[3] is None}
        if "s" in controls and self.rng.random() < self.skip_share:
            assert await self.person.press(message, controls["s"]) in (200, 202)
            return
        choice_sets = message.inputs("Input.ChoiceSet")
        if choice_sets:
            values = [c["value"] for c in choice_sets[0]["choices"]]
            ticked = self.rng.sample(values, self.rng.randint(1, min(3, len(values))))
            assert await self.person.press(message, controls["d"], ticks=",".join(ticked)) in (200, 202)
            return
        picks = [d for d in data if (m := _ACTION.match(d)) and m[2] == "p"]
        if picks:
            consent = "happy to start" in message.text
            assert await self.person.press(message, picks[0] if consent else self.rng.choice(picks)) in (200, 202)
            return
        words = self.typed_answer(message)
        send = [d for d in data if d.startswith("answer:")]
        if send and self.rng.random() < self.card_share:
            assert await self.person.press(message, send[0], typed=words) in (200, 202)
        else:
            assert await self.person.say(words) in (200, 202)

    def typed_answer(self, message: Message) -> str:
        rule = _NUMBER_RULE.search(message.text)
        if rule:
            return rule[1].replace(",", "")
        words = self.rng.choice(["Fine & dandy <really>", "More time to talk", "Clear contacts for each step"])
        self.typed.append(words)
        return words
