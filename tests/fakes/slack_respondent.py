"""A scripted person on the fake Slack: reads the bot's last message in their DM and answers it as a person would.

Why: to prove the Slack channel end to end, a test needs someone who only sees what the bot really sent (the Block Kit
blocks recorded by the fake Web API) and answers through what Slack really delivers (signed HTTP requests, or Socket
Mode envelopes). Nothing here knows the survey: choices come from the buttons and checkboxes drawn, typed answers from
the hint under the question ("a whole number from 0 to 40", "Up to 500 characters").
"""

from __future__ import annotations

import random
import re
from dataclasses import dataclass, field
from typing import Any, Protocol

from tests.fakes.slack_api import (
    TEAM_ID,
    FakeSlack,
    Payload,
    SlackSigner,
    block_actions_payload,
    event_envelope,
    im_message,
    slash_command_fields,
    view_submission_payload,
)

_NUMBER_RULE = re.compile(r"number from (-?[\d.,]+) to (-?[\d.,]+)")
_ACTION = re.compile(r"^a:(\d+):([ptdsb])(?::(\d+))?$")


class Transport(Protocol):
    """How a person's actions reach the bot: signed HTTP posts, or Socket Mode envelopes."""

    async def event(self, event: Payload, *, event_id: str | None = None, retry: int | None = None) -> int: ...

    async def interaction(self, payload: Payload) -> int: ...

    async def command(self, fields: dict[str, str]) -> tuple[int, str]: ...


@dataclass
class HttpTransport:
    """Slack's HTTP delivery: every request genuinely signed, to the bot's /slack/events."""

    url: str
    signer: SlackSigner

    async def event(self, event: Payload, *, event_id: str | None = None, retry: int | None = None) -> int:
        status, _ = await self.signer.post_event(self.url, event, event_id=event_id, retry_num=retry)
        return status

    async def interaction(self, payload: Payload) -> int:
        status, _ = await self.signer.post_interaction(self.url, payload)
        return status

    async def command(self, fields: dict[str, str]) -> tuple[int, str]:
        from urllib.parse import urlencode

        return await self.signer.post(self.url, urlencode(fields), "application/x-www-form-urlencoded")


@dataclass
class SocketTransport:
    """Socket Mode delivery: envelopes pushed over the fake's websocket; the status is 200 once the bot acks."""

    fake: FakeSlack

    async def event(self, event: Payload, *, event_id: str | None = None, retry: int | None = None) -> int:
        envelope = await self.fake.socket_send("events_api", event_envelope(event, event_id=event_id),
                                               retry_attempt=retry or 0, retry_reason="timeout" if retry else "")
        await self.fake.socket_wait_ack(envelope)
        return 200

    async def interaction(self, payload: Payload) -> int:
        await self.fake.socket_wait_ack(await self.fake.socket_send("interactive", payload))
        return 200

    async def command(self, fields: dict[str, str]) -> tuple[int, str]:
        ack = await self.fake.socket_wait_ack(await self.fake.socket_send("slash_commands", fields))
        return 200, str((ack.get("payload") or {}).get("text", ""))


def section_text(message: Payload) -> str:
    """The words of a message as shown: its section and context blocks, in order."""
    parts: list[str] = []
    for block in message.get("blocks", []):
        if block.get("type") == "section":
            parts.append(block["text"]["text"])
        elif block.get("type") == "context":
            parts.extend(element.get("text", "") for element in block.get("elements", []))
    return "\n".join(parts) or message.get("text", "")


def elements(message: Payload) -> list[tuple[Payload, Payload]]:
    """Every interactive element of a message, with the block it sits in."""
    return [(block, element) for block in message.get("blocks", []) if block.get("type") == "actions"
            for element in block.get("elements", [])]


def is_question(message: Payload) -> bool:
    return any(str(e.get("action_id", "")).startswith(("a:", "answer:", "tick:")) for _, e in elements(message))


@dataclass
class Respondent:
    """One person answering in their DM. `seed` makes their choices random but repeatable; `modal_share` is how often
    a typed answer goes through the form rather than a message; `skip_share` how often an optional one is skipped."""

    fake: FakeSlack
    transport: Transport
    user: str
    seed: int = 0
    modal_share: float = 0.5
    skip_share: float = 0.2
    typed: list[str] = field(default_factory=list)  # every answer typed, so tests can look for it in the logs
    pressed: int = 0

    def __post_init__(self) -> None:
        self.dm = self.fake.dm_channel(self.user)
        self.rng = random.Random(self.seed)

    async def command(self, text: str, channel_id: str | None = None) -> tuple[int, str]:
        return await self.transport.command(slash_command_fields(self.user, text=text,
                                                                 channel_id=channel_id or self.dm))

    async def say(self, text: str, *, event_id: str | None = None, retry: int | None = None) -> int:
        return await self.transport.event(im_message(self.user, text, self.dm), event_id=event_id, retry=retry)

    async def press(self, message: Payload, element: Payload, block: Payload,
                    state: dict[str, Any] | None = None) -> Payload:
        """Click a button on `message`; `state` is what Slack sends of the message's checkboxes. Returns the payload."""
        payload = block_actions_payload(self.user, self.dm, message["ts"], element["action_id"],
                                        element.get("value"), block_id=block.get("block_id", "b1"), message=message)
        if state is not None:
            payload["state"] = {"values": state}
        self.pressed += 1
        assert await self.transport.interaction(payload) == 200
        return payload

    async def next_message(self, timeout: float = 10.0) -> Payload:
        return await self.fake.next_message(self.dm, timeout=timeout)

    async def next_question(self, timeout: float = 10.0) -> Payload:
        while not is_question(message := await self.next_message(timeout)):
            pass
        return message

    async def complete(self, survey_id: str, thanks: str, max_steps: int = 200) -> list[Payload]:
        """Start the survey with `/survey start`, answer every question until the thanks, and return every message."""
        status, _ = await self.command(f"start {survey_id}")
        assert status == 200
        seen: list[Payload] = []
        for _ in range(max_steps):
            message = await self.next_message()
            seen.append(message)
            if thanks.strip() in section_text(message):
                return seen
            if is_question(message):
                await self.answer(message)
        raise AssertionError(f"no thanks after {max_steps} messages; last: {section_text(seen[-1])!r}")

    async def answer(self, message: Payload) -> None:
        """Answer one question validly: a button, some ticks and Done, or typed words (in the chat or the form)."""
        found = elements(message)
        controls = {m[2]: (b, e) for b, e in found if (m := _ACTION.match(str(e.get("action_id", ""))))}
        if "s" in controls and self.rng.random() < self.skip_share:
            await self.press(message, controls["s"][1], controls["s"][0])
            return
        ticks = [(b, e) for b, e in found if e.get("type") == "checkboxes"]
        if ticks:
            await self.tick_and_submit(message, ticks, controls["d"])
            return
        picks = [(b, e) for b, e in found if (m := _ACTION.match(str(e.get("action_id", "")))) and m[2] == "p"]
        if picks:
            consent = "happy to start" in section_text(message)
            block, element = picks[0] if consent else self.rng.choice(picks)
            await self.press(message, element, block)
            return
        await self.type_answer(message, found)

    async def tick_and_submit(self, message: Payload, ticks: list[tuple[Payload, Payload]],
                              done: tuple[Payload, Payload]) -> None:
        options = [(b, e, o) for b, e in ticks for o in e["options"]]
        chosen = self.rng.sample(options, self.rng.randint(1, min(3, len(options))))
        state: dict[str, Any] = {}
        for block, element, _ in options:
            selected = [o for b, e, o in chosen if e is element]
            state.setdefault(block["block_id"], {})[element["action_id"]] = {"type": "checkboxes",
                                                                             "selected_options": selected}
        block, element, _ = chosen[0]
        tick = block_actions_payload(self.user, self.dm, message["ts"], element["action_id"], None,
                                     block_id=block["block_id"], message=message,
                                     selected_options=state[block["block_id"]][element["action_id"]]
                                     ["selected_options"])
        assert await self.transport.interaction(tick) == 200  # a tick is only acknowledged
        await self.press(message, done[1], done[0], state=state)

    def typed_answer(self, message: Payload) -> str:
        rule = _NUMBER_RULE.search(section_text(message))
        if rule:
            return rule[1].replace(",", "")
        words = self.rng.choice(["Fine & dandy <really>", "More time to talk", "Clear contacts for each step"])
        self.typed.append(words)
        return words

    async def type_answer(self, message: Payload, found: list[tuple[Payload, Payload]]) -> None:
        words = self.typed_answer(message)
        form = [(b, e) for b, e in found if str(e.get("action_id", "")).startswith("answer:")]
        if form and self.rng.random() < self.modal_share:
            trigger = (await self.press(message, form[0][1], form[0][0]))["trigger_id"]
            opened = await self.fake.wait_for(lambda c: c.method == "views.open" and c.params["trigger_id"] == trigger)
            view = opened.response["view"]
            values = {"answer": {"text": {"type": "plain_text_input", "value": words}}}
            payload = view_submission_payload(self.user, view["callback_id"], view["private_metadata"], values)
            assert await self.transport.interaction(payload) == 200
            return
        # Slack escapes &, < and > in message text; the bot must undo that
        escaped = words.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
        assert await self.say(escaped) == 200


__all__ = ["TEAM_ID", "HttpTransport", "Respondent", "SocketTransport", "Transport", "is_question", "section_text"]
