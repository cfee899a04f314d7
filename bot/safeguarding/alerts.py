"""The separate route to the safeguarding lead: an alert in a private Slack channel and/or Telegram chat, each with
an Acknowledge button.

The chat channels post it (they hold the platform clients); this module decides the words and who gets them. An
alert carries the category, the channel's name and a short random reference, and a way to reach the young person
only after their clear yes. The service records in the audit log that it was raised (category, consent, reference:
no words, no ids) and, when someone presses Acknowledge, that it was acknowledged.
"""

from __future__ import annotations

import logging
import re
from typing import Protocol

from bot.engine import messages as msg
from bot.safeguarding.checkin import Alert
from bot.safeguarding.matching import ASKED_FOR_HELP

log = logging.getLogger(__name__)
ACK_PREFIX = "sgack:"
_ACK = re.compile(r"^sgack:([0-9a-f]{8,32})$")
CHANNEL_NAMES = {"telegram": "Telegram", "slack": "Slack", "web": "the web chat", "console": "the terminal"}


class AlertPoster(Protocol):
    """A channel that can post an alert with an Acknowledge button to the lead's chat or channel `target`."""

    async def post_alert(self, target: str, text: str, ack_label: str, ack_data: str) -> bool: ...


def alert_text(alert: Alert) -> str:
    channel = CHANNEL_NAMES.get(alert.channel, alert.channel)
    category = alert.category.replace("-", " ")
    if alert.consent and alert.reach:
        named = msg.ALERT_CONSENT.format(ref=alert.ref, channel=channel, category=category, reach=alert.reach)
        return named + msg.ALERT_FOLLOWS.format(ref=alert.ref) if alert.follows else named
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
    """Where alerts go: every configured (poster, target). Empty means no route is set up."""

    def __init__(self) -> None:
        self.targets: list[tuple[AlertPoster, str]] = []

    def add(self, poster: AlertPoster, target: str) -> None:
        self.targets.append((poster, target))

    @property
    def configured(self) -> bool:
        return bool(self.targets)

    async def send(self, alert: Alert) -> bool:
        """Post to every target; True when at least one took it. Failures are logged by category, never content."""
        if not self.targets:
            log.warning("a safeguarding alert (%s) could not be sent: no alert route is set up", alert.category)
            return False
        delivered = False
        for poster, target in self.targets:
            try:
                delivered = await poster.post_alert(target, alert_text(alert), msg.ALERT_ACK, ack_data(alert.ref)) \
                    or delivered
            except Exception as exc:  # one route failing must not stop the other
                log.error("a safeguarding alert (%s) could not be posted: %s", alert.category, type(exc).__name__)
        if not delivered:
            log.error("a safeguarding alert (%s) reached no route", alert.category)
        return delivered
