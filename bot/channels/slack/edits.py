"""Redrawing questions already in the chat (chat.update): marking one answered, showing its ticks. Best-effort, paced,
and never in the way of what comes next.

chat.update is Slack's Tier 3: about 50 calls a minute per workspace. A workspace answering faster than that would
meet 429s on these edits, and slack_sdk waits each one out in place; while the edit was part of drawing an answer, the
person's next press (and the pending reply's deletion) waited behind it. So the edits now go through one queue per
workspace, apart from the next question (a chat.postMessage, which is what the person is waiting for):
- at most `per_minute` (98% of it) are sent in any 60 seconds, in the order they were asked for, as soon as the budget
  allows; Slack's own redraws of other kinds (the check-in's buttons, an alert acknowledged) count against the same
  budget (`spent`);
- a newer drawing of a message still waiting replaces the older one in its place (only the newest is worth sending);
- when more than `waiting_max` wait, the oldest is dropped: the question then keeps its buttons, and a press on them
  is a stale tap the survey already handles ("that question was answered");
- a 429 all the same (another app or process spending the same budget) pauses the queue for Slack's Retry-After.
Nothing here is stored: an answer is stored and its next question sent whatever becomes of its edit, and a restart
forgets the edits waiting (a press on the old question is a stale tap, as above).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import deque
from collections.abc import Awaitable, Callable

from bot.channels.port import ChannelError, RateLimited
from bot.channels.slack.blocks import Blocks
from bot.channels.slack.people import Drawn

EDITS_PER_MINUTE = 50  # chat.update: Tier 3, "50+ per minute" on Slack's method page
SHARE = 0.98  # of the budget used, so a late call can never push a minute over
WAITING_MAX = 1_000  # edits waiting at most; beyond, the oldest is dropped
IN_FLIGHT_MAX = 32  # edits sent at once at most (a fast fake, or a budget Slack raised)
WINDOW = 60.0

log = logging.getLogger(__name__)

Send = Callable[[Drawn, str, Blocks], Awaitable[None]]


class Edits:
    """One workspace's queue of message redraws (see the module's docstring)."""

    def __init__(self, send: Send, per_minute: float = EDITS_PER_MINUTE, *, waiting_max: int = WAITING_MAX,
                 window: float = WINDOW, clock: Callable[[], float] = time.monotonic) -> None:
        """`window`: the seconds the budget is counted over (Slack's minute; a test's shorter one)."""
        self._send = send
        self.budget = max(1, int(per_minute * SHARE))  # calls in any `window` seconds
        self.waiting_max = waiting_max
        self.window = window
        self._clock = clock
        self._spent: deque[float] = deque()  # when each call of the last `window` seconds was made
        self._waiting: dict[tuple[str, str], tuple[str, Blocks]] = {}  # (channel, ts) -> newest drawing, oldest first
        self._paused_until = 0.0  # after a 429: Slack's Retry-After
        self._in_flight: set[asyncio.Task[None]] = set()
        self._worker: asyncio.Task[None] | None = None
        self._wake = asyncio.Event()
        self.sent = self.merged = self.dropped = self.throttled = 0  # for the logs and tests

    @property
    def waiting(self) -> int:
        return len(self._waiting)

    def request(self, drawn: Drawn, text: str, blocks: Blocks) -> None:
        """Ask for a message to be redrawn; returns at once (on the event loop)."""
        key = (drawn.channel, drawn.ts)
        if not self._waiting and self._free() == 0 and len(self._in_flight) < IN_FLIGHT_MAX:
            self._start(key, text, blocks)  # the usual case: nothing waiting and budget left
            return
        if key in self._waiting:
            self.merged += 1
        elif len(self._waiting) >= self.waiting_max:
            del self._waiting[next(iter(self._waiting))]
            self.dropped += 1
            if self.dropped % 100 == 1:
                log.info("Slack: %d question(s) left unmarked as answered so far (chat.update's limit; the answers "
                         "are stored and the next questions sent)", self.dropped)
        self._waiting[key] = (text, blocks)
        if self._worker is None or self._worker.done():
            self._worker = asyncio.get_running_loop().create_task(self._drain())
        self._wake.set()

    def spent(self) -> None:
        """A chat.update made elsewhere (not through the queue): it uses the same budget."""
        self._spent.append(self._clock())

    async def close(self) -> None:
        """At a stop: forget what waits, and let the calls under way finish (they are short)."""
        self._waiting.clear()
        if self._worker is not None:
            self._worker.cancel()
            self._worker = None
        if self._in_flight:
            await asyncio.wait(set(self._in_flight), timeout=5)

    def _free(self) -> float:
        """Seconds until a call may be made (0: now)."""
        now = self._clock()
        while self._spent and self._spent[0] <= now - self.window:
            self._spent.popleft()
        wait = self._paused_until - now
        if len(self._spent) >= self.budget:
            wait = max(wait, self._spent[0] + self.window - now)
        return max(0.0, wait)

    def _start(self, key: tuple[str, str], text: str, blocks: Blocks) -> None:
        self._spent.append(self._clock())
        task = asyncio.get_running_loop().create_task(self._call(Drawn(*key), text, blocks))
        self._in_flight.add(task)
        task.add_done_callback(self._in_flight.discard)

    async def _call(self, drawn: Drawn, text: str, blocks: Blocks) -> None:
        try:
            await self._send(drawn, text, blocks)
            self.sent += 1
        except RateLimited as exc:
            self.throttled += 1
            self._paused_until = max(self._paused_until, self._clock() + exc.retry_after)
            log.info("Slack asked for fewer message edits; pausing them for %.0f s", exc.retry_after)
        except ChannelError as exc:  # Unreachable too: the message (or the person) is gone
            log.info("could not redraw a Slack message: %s", exc)
        finally:
            self._wake.set()

    async def _drain(self) -> None:
        """Send what waits, oldest first, as the budget and the calls in flight allow."""
        while self._waiting:
            wait = self._free()
            if wait > 0:
                await asyncio.sleep(wait)
                continue
            if len(self._in_flight) >= IN_FLIGHT_MAX:
                self._wake.clear()
                await self._wake.wait()
                continue
            key = next(iter(self._waiting))
            text, blocks = self._waiting.pop(key)
            self._start(key, text, blocks)
