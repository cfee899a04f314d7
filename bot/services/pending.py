"""Persist, then send: what a committed survey step must still send is stored with it, and sent once after a stop.

The service stores a step (answer, conversation, audit) in one transaction and the channel sends the next question
after the commit. A process stopped in between (SIGTERM, SIGKILL, a crash) used to leave the person waiting until
they wrote again. Now the messages the step must send travel in the same transaction as a `pending_reply` row
(storage.replies), deleted once sent; on start-up, and whenever another process's lease on one runs out, what is left
is sent once.

Which channels: those where we message the person (Telegram, polling or webhook; Slack, HTTP or Socket Mode;
Teams). The web chat is not one: its reply is the HTTP response to the person's own request, and the page draws the
conversation's current question from the database whenever it loads, so a reply lost in a stop appears at the next
load or retry, with nothing stored for it.

Privacy: a row holds the chat's session key (a keyed hash), a random token, the channel, and a payload sealed with a
key from the pepper (bot.services.privacy): the platform address and the words to send, never in plain form. The row
goes when
the messages have gone. Only what a person sees is kept: plain messages, questions and the "Are you OK?" check; the
edits of earlier messages are not (their message ids live in the process that sent them), nor are alerts.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import Callable, Iterable, Sequence
from dataclasses import fields
from datetime import timedelta
from typing import Any, Generic, Protocol, TypeVar, runtime_checkable

from bot.domain.address import Address
from bot.domain.errors import Unreachable
from bot.domain.reaching import Named
from bot.engine.conversation import Ask, Prompt, Say
from bot.services.safeguarding.checkin import CheckIn, Choice
from storage.replies import CLAIM_LIMIT

log = logging.getLogger(__name__)
PUSHED = frozenset({"telegram", "slack", "teams"})  # channels whose replies we send ourselves
LEASE = timedelta(seconds=60)  # a pending reply is its sending process's for this long; then anyone may send it
SWEEP_SECONDS = 20.0  # how often a running process looks for replies whose lease ran out
FLUSH_SECONDS = 1.0  # sent replies' rows wait this long for a batch to take their deletion along
OutcomeT = TypeVar("OutcomeT")  # the service's Outcome (bot.services.service), which this module does not import
Sent = TypeVar("Sent", contravariant=True)  # the same, as a channel takes it
T = TypeVar("T")
Owable = Say | Ask | CheckIn  # what a pending reply keeps of a step's effects
# A prompt's fields are flat (text, numbers, tuples of them), so it is packed field by field: dataclasses.asdict
# deep-copies every value and cost more than the rest of a Slack press's pending row (BENCHMARKS.md, 6 December)
PROMPT_FIELDS = tuple(field.name for field in fields(Prompt))


def pack(keys: Any, address: Address, effects: Iterable[object]) -> str | None:
    """The messages among a step's effects, with the address, sealed; None when the step sends no message."""
    kept: list[dict[str, Any]] = []
    for effect in effects:
        if isinstance(effect, Say):
            kept.append({"say": effect.text})
        elif isinstance(effect, Ask):
            kept.append({"ask": {name: getattr(effect.prompt, name) for name in PROMPT_FIELDS}})
        elif isinstance(effect, CheckIn):
            kept.append({"check": effect.text, "choices": [[c.label, c.data] for c in effect.choices],
                         "box": effect.contact_box})
    if not kept:
        return None
    to = [address.channel, address.workspace, address.user] + ([address.route] if address.route else [])
    body = {"to": to, "effects": kept}
    return str(keys.seal_reply(json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode()))


def unpack(keys: Any, payload: str) -> tuple[Address, tuple[Owable, ...]]:
    """A sealed pending reply back as an address and effects. Raises ValueError (or cryptography's InvalidTag) for
    one sealed with another pepper or damaged."""
    body = json.loads(keys.unseal_reply(payload))
    effects: list[Owable] = []
    for item in body["effects"]:
        if "say" in item:
            effects.append(Say(item["say"]))
        elif "ask" in item:
            fields: dict[str, Any] = {k: tuple(v) if isinstance(v, list) else v for k, v in item["ask"].items()}
            effects.append(Ask(Prompt(**fields)))
        elif "check" in item:
            effects.append(CheckIn(item["check"], tuple(Choice(label, data) for label, data in item["choices"]),
                                   bool(item["box"])))
    channel, workspace, user, *route = body["to"]  # a route (Teams) rides fourth when there is one
    return Address(channel, workspace, user, route[0] if route else ""), tuple(effects)


@runtime_checkable
class Resending(Named, Protocol[Sent]):
    """A channel that can send a step's messages again to the person it owed them to."""

    async def resend(self, address: Address, outcome: Sent) -> None:
        """Send `outcome` (it carries the pending row's key: the channel marks it delivered once sent)."""
        ...


class Replies(Protocol[OutcomeT]):
    """What the Resender needs of the service (bot.services.service.SurveyService, which imports this module)."""

    async def call(self, use_case: Callable[..., T], *args: Any) -> T: ...

    def owed(self, channel: str, every: bool = False) -> Sequence[tuple[Address, OutcomeT]]: ...

    def delivered(self, outcome: OutcomeT) -> None: ...

    def settle_replies(self) -> None: ...


class Resender(Generic[OutcomeT]):
    """Sends what committed steps still owed when a process stopped: at start, then now and then for rows whose
    sending process's lease ran out (another process died, on PostgreSQL)."""

    def __init__(self, service: Replies[OutcomeT], channels: Iterable[Named], alone: bool) -> None:
        """`alone`: no other process can be sending (SQLite has one), so at start every row left is ours."""
        self.service = service
        self.channels = [channel for channel in channels if isinstance(channel, Resending)]
        self.alone = alone
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        """Begin in the background, so a slow platform or many rows never hold up the start."""
        self._task = asyncio.create_task(self._every_while())

    async def stop(self) -> None:
        """Stop sweeping, and hand back what this process has not sent (for the next start), deleting what it has."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        try:
            await self.service.call(self.service.settle_replies)
        except Exception:  # the database is gone: the next start sends them once their lease runs out
            log.warning("could not hand back the pending replies at stop")

    async def sweep(self, every: bool = False) -> int:
        """Claim and send the rows nobody is sending; how many were sent."""
        sent = 0
        for channel in self.channels:
            claim_all = every
            while True:
                found = await self.service.call(self.service.owed, channel.name, claim_all)
                for address, outcome in found:
                    try:
                        await channel.resend(address, outcome)
                        sent += 1
                    except Unreachable:  # they blocked the bot or left: it can never go
                        self.service.delivered(outcome)
                    except Exception as exc:  # kept: tried again when its lease runs out
                        log.warning("could not send a pending %s reply (%s); it is tried again later",
                                    channel.name, type(exc).__name__)
                if len(found) < CLAIM_LIMIT:
                    break
                claim_all = False  # those just claimed are leased now: the next claim takes only the rest
        if sent:
            log.info("sent %d reply(ies) that a stopped process still owed", sent)
        return sent

    async def _every_while(self) -> None:
        every = self.alone  # the first sweep, at start: alone on the database, every row left is ours
        while True:
            try:
                await self.sweep(every)
            except Exception as exc:  # the database is unreachable for now: the next sweep tries again
                log.warning("looking for pending replies failed (%s)", type(exc).__name__)
            every = False
            await asyncio.sleep(SWEEP_SECONDS)
