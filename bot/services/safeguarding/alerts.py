"""The separate route to the safeguarding lead: an alert in a private Slack channel and/or Telegram chat, each with
an Acknowledge button.

The chat channels post it (they hold the platform clients); this module decides the words and who gets them. An
alert carries the category, the channel's name and a short random reference, and a way to reach the young person
only after their clear yes. The service records in the audit log that it was raised (category, consent, reference:
no words, no ids) and, when someone presses Acknowledge, that it was acknowledged.
"""

from __future__ import annotations

import asyncio
import logging
import re
import secrets
from collections import Counter
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Protocol

from bot.engine import messages as msg
from bot.services.safeguarding.checkin import Alert
from bot.services.safeguarding.matching import ASKED_FOR_HELP

log = logging.getLogger(__name__)
ACK_PREFIX = "sgack:"
_ACK = re.compile(r"^sgack:([0-9a-f]{8,32})$")
CHANNEL_NAMES = {"telegram": "Telegram", "slack": "Slack", "teams": "Microsoft Teams", "web": "the web chat",
                 "console": "the terminal"}


class AlertPoster(Protocol):
    """A channel that can post an alert with an Acknowledge button to the lead's chat or channel `target`."""

    async def post_alert(self, target: str, text: str, ack_label: str, ack_data: str) -> bool: ...


def alert_text(alert: Alert) -> str:
    channel = CHANNEL_NAMES.get(alert.channel, alert.channel)
    category = alert.category.replace("-", " ")
    if alert.consent and alert.reach:
        named = msg.ALERT_CONSENT.format(ref=alert.ref, channel=channel, category=category, reach=alert.reach)
        return named + msg.ALERT_FOLLOWS.format(ref=alert.follows) if alert.follows else named
    if alert.category == ASKED_FOR_HELP:
        return msg.ALERT_HELP.format(ref=alert.ref, channel=channel)
    return msg.ALERT_ANONYMOUS.format(ref=alert.ref, channel=channel, category=category)


def ack_data(ref: str) -> str:
    return f"{ACK_PREFIX}{ref}"


def ack_ref(data: str | None) -> str | None:
    """The alert a pressed Acknowledge button names, or None for anything else."""
    found = _ACK.match(data or "")
    return found[1] if found else None


class AlertRoute:
    """Where alerts go: every configured (poster, target). Empty means no route is set up.

    Anonymous alerts are coalesced, because anyone can open the web link as often as they like and type a phrase:
    the first goes at once, and any more within `window` wait and go together at its end as one message with
    their count and categories, so the lead sees at most one anonymous message per window. An alert where a young
    person agreed to be contacted always goes at once. Each alert is still audited on its own by the service;
    a grouped message gets a reference of its own, recorded (by `record`) before it is posted, so Acknowledge works
    on it too. `clock` and `sleep` are injected so tests can move time by hand."""

    def __init__(self, clock: Callable[[], datetime] = lambda: datetime.now(UTC), window: float = 0.0,
                 sleep: Callable[[float], Awaitable[None]] = asyncio.sleep) -> None:
        self.targets: list[tuple[AlertPoster, str]] = []
        self.clock = clock
        self.window = window  # seconds; 0 sends every alert at once
        self.sleep = sleep
        self.record: Callable[[str, list[Alert]], Awaitable[None]] | None = None  # audits a grouped message
        self._quiet_until: datetime | None = None  # no anonymous message before this; later ones are held
        self._held: list[Alert] = []
        self._timer: asyncio.Task[None] | None = None

    def add(self, poster: AlertPoster, target: str) -> None:
        self.targets.append((poster, target))

    @property
    def configured(self) -> bool:
        return bool(self.targets)

    async def send(self, alert: Alert) -> bool:
        """Post to every target, or hold an anonymous alert for the window's message; True when at least one
        target took it (or it is held). Failures are logged by category, never content."""
        if not self.targets:
            log.warning("a safeguarding alert (%s) could not be sent: no alert route is set up", alert.category)
            return False
        now = self.clock()
        if alert.consent or self.window <= 0:
            return await self._post(alert_text(alert), alert.ref, alert.category)
        if self._quiet_until is None or (now >= self._quiet_until and not self._held):
            self._quiet_until = now + timedelta(seconds=self.window)
            return await self._post(alert_text(alert), alert.ref, alert.category)
        self._held.append(alert)
        if self._timer is None or self._timer.done():
            wait = max(0.0, (self._quiet_until - now).total_seconds())
            self._timer = asyncio.get_running_loop().create_task(self._flush_after(wait))
        return True

    async def flush(self) -> None:
        """Post the held anonymous alerts now, as one message (also when the bot stops, so none is lost)."""
        held, self._held = self._held, []
        if self._timer is not None and not self._timer.done() and self._timer is not asyncio.current_task():
            self._timer.cancel()
        if not held:
            return
        self._quiet_until = self.clock() + timedelta(seconds=self.window)
        if len(held) == 1:
            await self._post(alert_text(held[0]), held[0].ref, held[0].category)
            return
        ref = secrets.token_hex(6)
        if self.record is not None:
            try:
                await self.record(ref, held)
            except Exception as exc:  # the lead must still hear; each alert was audited already
                log.error("a grouped safeguarding alert could not be recorded: %s", type(exc).__name__)
        await self._post(grouped_text(ref, held), ref, f"{len(held)} grouped")

    async def _flush_after(self, seconds: float) -> None:
        await self.sleep(seconds)
        await self.flush()

    async def _post(self, text: str, ref: str, what: str) -> bool:
        delivered = False
        for poster, target in self.targets:
            try:
                delivered = await poster.post_alert(target, text, msg.ALERT_ACK, ack_data(ref)) or delivered
            except Exception as exc:  # one route failing must not stop the other
                log.error("a safeguarding alert (%s) could not be posted: %s", what, type(exc).__name__)
        if not delivered:
            log.error("a safeguarding alert (%s) reached no route", what)
        return delivered


def grouped_text(ref: str, held: list[Alert]) -> str:
    """One message for several anonymous alerts: how many, on which channels, and their categories by count."""
    categories = Counter(a.category.replace("-", " ") for a in held)
    channels = sorted({CHANNEL_NAMES.get(a.channel, a.channel) for a in held})
    return msg.ALERT_GROUPED.format(ref=ref, count=len(held), channel=" and ".join(channels),
                                    categories=", ".join(f"“{name}” ({n})" for name, n in categories.most_common()))
