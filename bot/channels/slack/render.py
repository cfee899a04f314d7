"""Drawing the service's effects in Slack: each effect becomes chat.postMessage, chat.update or chat.postEphemeral.

The one place that calls the Slack Web API for a person, and the one place its errors become the port's neutral
errors (bot.channels.port): Unreachable when the person cannot be reached, RateLimited once slack_sdk's own 429
retries ran out, ChannelError for anything else, never with a payload or an id in the message.

Reaching people at scale. A message to someone whose DM channel we do not know yet goes to their user id: Slack posts
it in the app's DM with them and answers with that DM's channel id, which is then remembered (in memory only, with
the rest of what people.py keeps, and never logged). So a campaign needs no conversations.open (Tier 3, about 50 a
minute: 40 minutes for 2,000 people) before its invitations; the call is left for what must name the DM itself (an
ephemeral notice, a file) and is paced under its tier. Campaign messages are paced under chat.postMessage's own
limits: one a second per person, and a workspace-wide rate (POSTS_PER_MINUTE). Redrawing a question already in the
chat (chat.update, Tier 3) is best-effort and paced on its own, apart from the next question (edits.py).
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

import aiohttp
from slack_sdk.errors import SlackApiError, SlackClientError
from slack_sdk.web.async_client import AsyncWebClient
from slack_sdk.web.async_slack_response import AsyncSlackResponse

from bot.bounded import BoundedMap
from bot.channels.pacing import Pacer
from bot.channels.port import Address, ChannelError, RateLimited, Unreachable
from bot.channels.slack.blocks import (
    Blocks,
    answered_blocks,
    answered_text,
    checkin_blocks,
    escape,
    prompt_blocks,
    say_blocks,
)
from bot.channels.slack.edits import EDITS_PER_MINUTE, Edits
from bot.channels.slack.people import Drawn, Person
from bot.channels.text import prompt_text
from bot.engine.conversation import Answered, Ask, Finish, Notice, Say, Update
from bot.engine.survey import Survey
from bot.metrics import METRICS
from bot.services.port import Outcome, Shown
from bot.services.safeguarding.checkin import CheckIn

UNREACHABLE = frozenset({"user_disabled", "account_inactive", "channel_not_found", "user_not_found", "cannot_dm_bot",
                         "is_archived", "not_in_channel", "user_not_in_channel", "messages_tab_disabled"})

# chat.postMessage: Slack allows about one message a second per channel, "while also maintaining a workspace-wide
# limit" for which it publishes no figure; 300 a minute (5 a second) is a cautious one. Campaigns use 98% of it, so a
# late send can never push a minute over; people's answers are not held back (Slack's 429s on them are waited out).
POSTS_PER_MINUTE = 300
CAMPAIGN_SHARE = 0.98
OPENS_PER_MINUTE = 50  # conversations.open is Tier 3: 50+ a minute

log = logging.getLogger(__name__)


class Renderer:
    """Posts and redraws one workspace's messages, remembering (in `people`) where each person's questions are."""

    def __init__(self, name: str, api: Callable[[], AsyncWebClient], people: BoundedMap[Address, Person],
                 delivered: Callable[[Outcome], None], posts_per_minute: float = POSTS_PER_MINUTE,
                 edits_per_minute: float = EDITS_PER_MINUTE) -> None:
        self.name = name  # the channel's name, for the throttling metric
        self.api = api  # the started channel's Web API client (ChannelError before start)
        self.people = people
        self.delivered = delivered  # told once every effect of an outcome is sent (bot.services.pending)
        self.campaign_pacer = Pacer(overall=posts_per_minute / 60 * CAMPAIGN_SHARE, per_chat=1.0)
        self.open_pacer = Pacer(overall=OPENS_PER_MINUTE / 60 * CAMPAIGN_SHARE)
        self.edits = Edits(self._edit, edits_per_minute)  # chat.update, paced apart from the next question

    def person(self, address: Address) -> Person:
        return self.people.get_or_make(address, Person)

    async def render(self, address: Address, outcome: Outcome) -> None:
        """Every effect of one outcome, in order, then tell the service it was delivered."""
        if outcome.duplicate:
            log.info("skipped a Slack update that was already handled")
            return
        person = self.person(address)
        said = {e.text for e in outcome.effects if isinstance(e, Say)}
        for effect in outcome.effects:
            if isinstance(effect, (Answered, Update)):
                self._redraw(person, effect)  # queued, best-effort: never ahead of what comes next (edits.py)
            else:
                await self._draw(address, person, effect, outcome.survey, said)
        if any(isinstance(e, Finish) for e in outcome.effects):
            self.people.pop(address)  # nothing of a finished survey is needed: forgotten now, not when crowded out
        self.delivered(outcome)  # all sent: its pending reply can go (bot.services.pending)

    def _redraw(self, person: Person, effect: Answered | Update) -> None:
        """A question already in the chat, marked answered or drawn with its ticks: handed to the paced queue."""
        if isinstance(effect, Update):
            drawn = person.drawn.get(effect.prompt.turn)
            if drawn is not None:
                self.edits.request(drawn, prompt_text(effect.prompt), prompt_blocks(effect.prompt))
                person.remember(effect.prompt.turn, Drawn(drawn.channel, drawn.ts, effect.prompt))
            return
        drawn = person.drawn.get(effect.turn)
        if drawn is None:
            log.debug("could not mark a question answered: its message is not remembered (after a restart)")
            return
        self.edits.request(drawn, answered_text(effect), answered_blocks(effect))

    async def _draw(self, address: Address, person: Person, effect: Shown, survey: Survey | None,
                    said: set[str]) -> None:
        if isinstance(effect, CheckIn):
            await self.post(address, effect.text, checkin_blocks(effect))
        elif isinstance(effect, Ask):
            prompt = effect.prompt
            posted = await self.post(address, prompt_text(prompt), prompt_blocks(prompt))
            person.remember(prompt.turn, Drawn(posted["channel"], posted["ts"], prompt))
        elif isinstance(effect, Say):
            await self.post(address, effect.text, say_blocks(effect.text, survey))
        elif isinstance(effect, Notice) and effect.text not in said:
            channel = await self.dm(address)
            await self.call("chat.postEphemeral", self.api().chat_postEphemeral(
                channel=channel, user=address.user, text=escape(effect.text)))

    async def post(self, address: Address, text: str, blocks: Blocks, *, paced: bool = False) -> dict[str, Any]:
        """A message in the person's DM; where it went, so it can be redrawn. `paced`: a campaign's message, kept
        under chat.postMessage's limits (people's own answers are not held back)."""
        person = self.person(address)
        if paced:
            await self.campaign_pacer.wait(address.user)
        if person.dm is not None:
            return await self._post(person, person.dm, text, blocks)
        try:
            return await self._post(person, address.user, text, blocks)  # Slack finds the DM and says which it is
        except Unreachable:
            # A workspace that would not take the user id: open the DM the long way (paced), and try once more
            return await self._post(person, await self.dm(address), text, blocks)

    async def _post(self, person: Person, channel: str, text: str, blocks: Blocks) -> dict[str, Any]:
        response = await self.call("chat.postMessage", self.api().chat_postMessage(
            channel=channel, text=escape(text), blocks=blocks, unfurl_links=False, unfurl_media=False))
        where = str(response.get("channel") or channel)
        if where.startswith("D"):
            person.dm = where  # the DM's id, for what needs it (an edit, a notice) without conversations.open
        return {"channel": where, "ts": str(response.get("ts") or "")}

    async def update(self, drawn: Drawn, text: str, blocks: Blocks) -> None:
        """A redraw made now, outside the queue (a check-in's buttons, an alert acknowledged: rare, and part of what
        the press does); it uses the queue's budget all the same."""
        self.edits.spent()
        await self._edit(drawn, text, blocks)

    async def _edit(self, drawn: Drawn, text: str, blocks: Blocks) -> None:
        await self.call("chat.update", self.api().chat_update(
            channel=drawn.channel, ts=drawn.ts, text=escape(text), blocks=blocks))

    async def dm(self, address: Address) -> str:
        """The person's DM channel with the app, opened once and then remembered (conversations.open is Tier 3, so
        the calls are paced under it)."""
        person = self.person(address)
        if person.dm is None:
            await self.open_pacer.wait(None)
            response = await self.call("conversations.open", self.api().conversations_open(users=address.user))
            person.dm = str((response.get("channel") or {}).get("id") or "")
            if not person.dm:
                raise ChannelError("conversations.open returned no channel")
        return person.dm

    async def call(self, method: str, call: Awaitable[AsyncSlackResponse]) -> AsyncSlackResponse:
        """One Web API call; slack_sdk errors become the port's neutral errors (429s were retried already)."""
        try:
            return await call
        except SlackApiError as exc:
            error = str(exc.response.get("error") or "") if exc.response is not None else ""
            if exc.response is not None and exc.response.status_code == 429:
                METRICS.throttled.labels(self.name).inc()
                raise RateLimited(_retry_after(exc.response.headers)) from None
            if error in UNREACHABLE:
                raise Unreachable(f"{method}: {error}") from None
            raise ChannelError(f"{method}: {error or 'failed'}") from None
        except (SlackClientError, aiohttp.ClientError, TimeoutError) as exc:
            raise ChannelError(f"{method}: cannot reach the Slack Web API ({type(exc).__name__})") from None


def _retry_after(headers: Any) -> float:
    value = (headers or {}).get("Retry-After") or (headers or {}).get("retry-after") or 1
    if isinstance(value, list):
        value = value[0] if value else 1
    try:
        return float(value)
    except (TypeError, ValueError):
        return 1.0
