"""Drawing the service's effects in Teams: each effect becomes a message (text, or an Adaptive Card) or an update of
a card already sent, through the SDK's TurnContext (the person's own turn, or a proactive one).

The one place that sends to the Bot Connector for a person, and the one place its errors become the port's neutral
errors (bot.channels.port): 429 is waited out (Retry-After, a bounded number of times) and then RateLimited; 403 and
404 (the person removed the app, or left the tenant) are Unreachable; anything else is a ChannelError, never with a
payload or an id in its message. Sends are paced under Teams' limits (bot.channels.pacing).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

import aiohttp
from microsoft_agents.activity import Activity, ActivityTypes, Attachment
from microsoft_agents.hosting.core import TurnContext

from bot.bounded import BoundedMap
from bot.channels.pacing import Pacer
from bot.channels.port import Address, ChannelError, RateLimited, Unreachable
from bot.channels.teams.cards import (
    CARD_TYPE,
    Card,
    answered_card,
    card_text,
    checkin_card,
    prompt_card,
    say_card,
)
from bot.channels.text import prompt_text
from bot.engine.conversation import Answered, Ask, Notice, Say, Update
from bot.metrics import METRICS
from bot.services.port import ChatService, Outcome
from bot.services.safeguarding.checkin import CheckIn

log = logging.getLogger(__name__)
T = TypeVar("T")

PEOPLE_KEPT = 10_000  # people whose lock and recent questions we remember
TURNS_KEPT = 6  # recent questions remembered per person, to mark them answered
SEND_ATTEMPTS = 4
MAX_RETRY_AFTER = 60.0
UNREACHABLE = frozenset({403, 404})


@dataclass
class Person:
    """One person's lock (their messages go out in the order they happened) and where their recent questions are.
    In memory only: a restart forgets it, and a press on an old card tells us again which message it was."""

    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    drawn: dict[int, str] = field(default_factory=dict)  # turn -> the card's activity id
    checks: dict[str, str] = field(default_factory=dict)  # a safeguarding check's card id -> its words
    conversation: str = ""  # their personal conversation, once made for a route that had none
    registered: bool = False  # their contact (and its route) was written in this process

    def remember(self, turn: int, activity_id: str) -> None:
        self.drawn[turn] = activity_id
        while len(self.drawn) > TURNS_KEPT:
            del self.drawn[min(self.drawn)]


def message(text: str, content: Card | None = None) -> Activity:
    """A message: plain text (never markdown: survey wording is not formatting), or a card with its words as the
    summary a notification shows."""
    if content is None:
        return Activity(type=ActivityTypes.message, text=text, text_format="plain")
    return Activity(type=ActivityTypes.message, summary=text[:200],
                    attachments=[Attachment(content_type=CARD_TYPE, content=content)])


class Renderer:
    """Sends one outcome's effects to one person, in order, and remembers their recent questions."""

    def __init__(self, service: ChatService, pacer: Pacer) -> None:
        self.service = service
        self.pacer = pacer
        self.people: BoundedMap[Address, Person] = BoundedMap(PEOPLE_KEPT)

    def person(self, address: Address) -> Person:
        return self.people.get_or_make(address, Person)

    async def render(self, context: TurnContext, address: Address, outcome: Outcome,
                     pressed: str | None = None) -> None:
        """Every effect of one outcome, then tell the service it was delivered (bot.services.pending). A press's
        stale notice is said once. Someone unreachable is marked so; a send that kept being throttled is left owed,
        and goes again after a restart."""
        if outcome.duplicate:
            log.info("answered a redelivered Teams activity (already handled)")
            return
        try:
            await self._draw_all(context, address, outcome, pressed)
        except Unreachable:
            log.info("could not reach a person on Teams (they may have removed the app); marked unreachable")
            self.service.delivered(outcome)
            await self.service.call(self.service.mark_unreachable, address)
            return
        self.service.delivered(outcome)

    async def _draw_all(self, context: TurnContext, address: Address, outcome: Outcome, pressed: str | None) -> None:
        person = self.person(address)
        said = {e.text for e in outcome.effects if isinstance(e, Say)}
        chat = context.activity.conversation.id if context.activity and context.activity.conversation else None
        for effect in outcome.effects:
            if isinstance(effect, CheckIn):
                content = checkin_card(effect)
                posted = await self.send(context, chat, card_text(content), content)
                if posted:  # its buttons go once one is pressed (one choice only)
                    person.checks[posted] = effect.text
                    while len(person.checks) > TURNS_KEPT:
                        del person.checks[next(iter(person.checks))]
            elif isinstance(effect, Ask):
                posted = await self.send(context, chat, prompt_text(effect.prompt), prompt_card(effect.prompt))
                if posted:
                    person.remember(effect.prompt.turn, posted)
            elif isinstance(effect, Update):
                drawn = person.drawn.get(effect.prompt.turn) or pressed
                if drawn:
                    await self.update(context, drawn, prompt_text(effect.prompt), prompt_card(effect.prompt))
            elif isinstance(effect, Answered):
                drawn = person.drawn.get(effect.turn) or pressed
                if drawn:
                    await self.update(context, drawn, effect.question, answered_card(effect))
                    person.drawn.pop(effect.turn, None)
            elif isinstance(effect, Say):
                await self.send(context, chat, effect.text, say_card(effect.text, outcome.survey))
            elif isinstance(effect, Notice) and effect.text not in said:
                await self.send(context, chat, effect.text)

    async def send(self, context: TurnContext, chat: str | None, text: str, content: Card | None = None) -> str:
        """A new message in the turn's conversation (paced per chat); the id Teams gave it."""
        response = await self.call(chat, lambda: context.send_activity(message(text, content)))
        return str(getattr(response, "id", None) or "")

    async def update(self, context: TurnContext, activity_id: str, text: str, content: Card) -> None:
        """A card already sent, redrawn (an edit: paced only against the overall limit)."""
        changed = message(text, content)
        changed.id = activity_id
        await self.call(None, lambda: context.update_activity(changed))

    async def call(self, chat: str | None, request: Callable[[], Awaitable[T]]) -> T:
        """One Bot Connector call within the pace, waiting out 429s (Retry-After) a bounded number of times."""
        wait = 1.0
        for _ in range(SEND_ATTEMPTS):
            await self.pacer.wait(chat)
            try:
                return await request()
            except aiohttp.ClientResponseError as exc:
                if exc.status == 429:
                    METRICS.throttled.labels("teams").inc()
                    wait = retry_after(exc.headers)
                    log.info("Teams asked us to slow down; waiting %.0f s", wait)
                    await asyncio.sleep(min(wait, MAX_RETRY_AFTER))
                    continue
                if exc.status in UNREACHABLE:
                    raise Unreachable(f"the Bot Connector answered {exc.status}") from None
                raise ChannelError(f"the Bot Connector answered {exc.status}") from None
            except (aiohttp.ClientError, TimeoutError) as exc:
                raise ChannelError(f"cannot reach the Bot Connector ({type(exc).__name__})") from None
        raise RateLimited(min(wait, MAX_RETRY_AFTER))


def retry_after(headers: Any) -> float:
    """Seconds from a Retry-After header (Teams sends whole seconds); 1 when it is missing or unreadable."""
    value = (headers or {}).get("Retry-After") if hasattr(headers, "get") else None
    try:
        seconds = float(value) if value is not None else 1.0
    except (TypeError, ValueError):
        return 1.0
    return seconds if 0 <= seconds < 86_400 else 1.0
