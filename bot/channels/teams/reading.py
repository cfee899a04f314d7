"""Reading what Teams sends: who wrote or pressed, how to reach them again, what they typed, what they pressed.

Pure functions over plain values (the activity's fields as the SDK parsed them, and the `value` dictionary an
Action.Submit sends). Activities come from outside, so every reader takes whatever shape arrives and returns a safe
default rather than raising (tests/test_teams_reading.py checks it with Hypothesis).
"""

from __future__ import annotations

import html
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass

from bot.channels import buttons
from bot.channels.port import Address
from bot.channels.teams.cards import DATA_KEY, START, TICKS, TYPED
from bot.engine import conversation as engine

CHANNEL = "teams"
DATA_LIMIT = 200  # no data of ours is longer; anything longer is not ours
TEAM_ID_LIMIT = 300  # a team's id (19:...@thread.tacv2) is well under this
NAME_LIMIT = 256  # Teams allows a team's name 256 characters
TYPED_LIMIT = 20_000  # characters of a typed answer read from a card's box (the engine has its own, lower limits)
_MENTION = re.compile(r"<at\b[^>]*>(.*?)</at>", re.IGNORECASE | re.DOTALL)
_TAG = re.compile(r"</?(?:p|div|span|br)\b[^>]*>", re.IGNORECASE)
_ANSWERED = re.compile(r"^answer:(\d{1,9})$")
OBJECT_ID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")


@dataclass(frozen=True)
class Route:
    """How to message a person first: the Bot Connector's service URL for their tenant, their Teams user id (what a
    new conversation names them by) and, once known, their personal conversation with the bot (until then the
    channel creates it)."""

    service_url: str
    conversation: str = ""
    member: str = ""

    def pack(self) -> str:
        return json.dumps({"s": self.service_url, "c": self.conversation, "u": self.member}, separators=(",", ":"))


def unpack_route(text: str) -> Route | None:
    """A packed route, or None for anything else (an address stored without one, a damaged one)."""
    try:
        found = json.loads(text)
    except ValueError:
        return None
    if not isinstance(found, dict):
        return None
    service, conversation, member = found.get("s"), found.get("c", ""), found.get("u", "")
    if not (isinstance(service, str) and service.startswith(("https://", "http://")) and isinstance(conversation, str)
            and isinstance(member, str)):
        return None
    return Route(service, conversation, member)


def address(tenant: object, user: object, service_url: object, conversation: object = "",
            personal: bool = True, aad: object = None) -> Address | None:
    """The person behind an activity: Address("teams", tenant, their Entra ID object id), with the route to reach
    them (which holds their Teams user id). The object id is who they are: the same for every bot, and what an
    administrator can name them by (`teams:TENANT:OBJECT_ID`); the Teams user id stands in only when Teams sends no
    object id. Only a personal chat's conversation is kept in the route (a team's channel is not where a survey
    goes)."""
    if not all(isinstance(v, str) and v and len(v) <= 1000 for v in (tenant, user, service_url)):
        return None
    assert isinstance(tenant, str) and isinstance(user, str) and isinstance(service_url, str)
    if not service_url.startswith(("https://", "http://")) or "\n" in user or "|" in tenant:
        return None
    who = aad.lower() if isinstance(aad, str) and OBJECT_ID.fullmatch(aad) else user
    kept = conversation if personal and isinstance(conversation, str) and len(conversation) <= 1000 else ""
    return Address(CHANNEL, tenant.lower(), who, Route(service_url, kept, user).pack())


def team_of(channel_data: object) -> tuple[str, str] | None:
    """The team an activity happened in, from its channelData: (the team's id, its name, "" when Teams sends none),
    or None outside a team or for anything of another shape."""
    team = channel_data.get("team") if isinstance(channel_data, Mapping) else getattr(channel_data, "team", None)
    found = team.get("id") if isinstance(team, Mapping) else getattr(team, "id", None)
    name = team.get("name") if isinstance(team, Mapping) else getattr(team, "name", None)
    if not isinstance(found, str) or not 0 < len(found) <= TEAM_ID_LIMIT or not found.isprintable():
        return None
    return found, name[:NAME_LIMIT] if isinstance(name, str) else ""


def event_type(channel_data: object) -> str:
    """What a conversationUpdate is about, as channelData says (teamRenamed, teamDeleted...); "" when unsaid."""
    found = (channel_data.get("eventType") if isinstance(channel_data, Mapping)
             else getattr(channel_data, "event_type", None))
    return found if isinstance(found, str) and len(found) <= 64 else ""


def typed_text(text: object) -> str:
    """A message as the person wrote it: mentions taken out (Teams writes `<at>Name</at>`; the bot's own, and anyone
    else's name, are nobody's answer), the few tags a pasted message carries undone, entities decoded."""
    if not isinstance(text, str):
        return ""
    return html.unescape(_TAG.sub(" ", _MENTION.sub(" ", text))).strip()


def data_of(value: object) -> str | None:
    """The data of the button pressed (cards.submit), or None when the value is not one of ours."""
    if not isinstance(value, Mapping):
        return None
    data = value.get(DATA_KEY)
    return data if isinstance(data, str) and 0 < len(data) <= DATA_LIMIT else None


def ticked(value: Mapping[str, object]) -> set[int] | None:
    """The option numbers ticked in a multiple-choice question's choice set (Teams joins them with commas); None
    when the card sent no choice set."""
    found = value.get(TICKS)
    if found is None:
        return None
    if not isinstance(found, str):
        return set()
    return {int(v) for v in found.split(",") if v.strip().isascii() and v.strip().isdigit() and len(v.strip()) <= 3}


def event_of(value: object) -> engine.Event | None:
    """What a press on one of our question cards means to the engine, or None when it is not a question's button.

    Done on a multiple-choice question sends the ticked options as one reply stamped with its turn (one transaction,
    and stale if late); with nothing ticked it is Done, so the engine asks for at least one. Send under a typed
    question's box sends the words typed there, stamped with its turn, so a late one is stale too."""
    data = data_of(value)
    if data is None:
        return None
    assert isinstance(value, Mapping)
    answered = _ANSWERED.match(data)
    if answered is not None:
        typed = value.get(TYPED)
        return engine.Reply(typed[:TYPED_LIMIT] if isinstance(typed, str) else "", turn=int(answered[1]))
    event = buttons.decode(data)
    if isinstance(event, engine.Done):
        chosen = ticked(value)
        if chosen:
            return engine.Reply(", ".join(str(i + 1) for i in sorted(chosen)), turn=event.turn)
    return event


def start_code(value: object) -> str | None:
    """The campaign code under an invitation's Start button."""
    data = data_of(value)
    if data is None or not data.startswith(f"{START}:"):
        return None
    return data[len(START) + 1:] or None
