"""The people campaigns can reach: importing contacts (from a CSV file, a Slack channel or a Teams team), listing and
tagging them.

The use cases behind `surveybot contacts ...` (bot/cli/campaign.py parses and prints). Every mistake is one
`CampaignError` line naming the field or file:line; an import is all or nothing. Contacts are stored sealed and
looked up by a keyed hash: no platform id is ever listed or logged.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

from bot.domain.address import Address
from bot.services.contacts import TEAM, team_name
from bot.services.core import Core
from bot.services.roles import parse_who
from storage import campaigns as store_campaigns
from storage import contacts as store_contacts
from storage import team_refs

TAG = re.compile(r"^[a-z0-9][a-z0-9_-]{0,39}$")
CHANNELS = ("telegram", "slack", "email", "teams")
IMPORTED = ("telegram", "slack", "email")  # a Teams contact needs a conversation reference, which no list has


class CampaignError(Exception):
    """A campaign command was given something it cannot use; the message names the field."""


def parse_tags(text: str, field: str) -> list[str]:
    """Words separated by commas or semicolons, each a tag (or a channel name); `field` names the option."""
    words = [w.strip().lower() for w in re.split(r"[,;]", text) if w.strip()]
    for word in words:
        if not TAG.match(word):
            raise CampaignError(f"{field}: {_not_a_tag(word)}")
    return words


def _not_a_tag(word: str) -> str:
    """Why a word is not a tag, naming an invisible character (a NUL, a tab) rather than showing a look-alike."""
    odd = next((c for c in word if not c.isprintable()), None)
    shown = "".join(c if c.isprintable() else "?" for c in word[:40]) + ("…" if len(word) > 40 else "")
    if odd is not None:
        return f"`{shown}` is not a tag: it holds an invisible character (U+{ord(odd):04X}) where ? is shown"
    if len(word) > 40:
        return f"`{shown}` is not a tag: a tag is at most 40 characters"
    return f"`{shown}` is not a tag (lower case letters, digits, - and _)"


IMPORT_BATCH = 20_000  # contacts written at a time (a few MB); the file is streamed, never read whole
_NOT_UTF8 = re.compile("[\udc80-\udcff]")  # bytes that were not UTF-8, kept by errors="surrogateescape"
LONGEST_FIELD = 10_000  # characters; a who or tags field is a few dozen, so longer is a broken file


def import_contacts(core: Core, path: Path) -> tuple[int, int]:
    """All or nothing: rows are checked and stored as the file is read, in one transaction, so nothing is kept if
    any row is wrong. The file is streamed (a million rows need no more memory than a thousand).
    Returns (rows read, contacts new)."""
    today = core.service.clock().date()
    try:
        with path.open(encoding="utf-8-sig", errors="surrogateescape", newline="") as handle, \
                core.store.unit() as uow:
            rows = added = 0
            batch: list[tuple[str, str, str, list[str]]] = []
            for address, tags in contact_rows(path, handle, core.bot_id):
                batch.append((core.keys.contact_lookup(address), address.channel, core.keys.seal(address), tags))
                rows += 1
                if len(batch) == IMPORT_BATCH:
                    added += store_campaigns.upsert_contacts(uow, batch, today)
                    batch.clear()
            if batch:
                added += store_campaigns.upsert_contacts(uow, batch, today)
            uow.audit("contacts.imported", {"rows": rows, "new": added}, today)
    except OSError as exc:
        raise CampaignError(f"{path}: cannot read it ({exc.strerror or type(exc).__name__})") from None
    return rows, added


def contact_rows(path: Path, lines: Iterable[str], bot_id: str | None) -> Iterator[tuple[Address, list[str]]]:
    """Each row of a contacts CSV as (address, tags), read lazily. Any bad row raises CampaignError
    naming file:line, which rolls back whatever the import stored before it."""
    limit = csv.field_size_limit(LONGEST_FIELD)  # the module's limit is process-wide: put it back afterwards
    reader = csv.reader(lines)
    try:
        header = [name.strip().lower() for name in next(reader, [])]
        if "who" not in header:
            raise CampaignError(f"{path}:1: the first line should name the columns: who,tags")
        who_at, tags_at = header.index("who"), header.index("tags") if "tags" in header else None
        tag_lists: dict[str, list[str]] = {}  # most rows repeat a few tag fields: check each once
        for row in reader:
            if not any(field.strip() for field in row):
                continue  # a blank line
            number = reader.line_num
            if _NOT_UTF8.search("".join(row)):
                raise CampaignError(f"{path}:{number}: not UTF-8 text (save the file as CSV UTF-8)")
            try:
                address = parse_who(row[who_at] if who_at < len(row) else "", bot_id)
                if address.channel not in IMPORTED:
                    raise ValueError(f"channel `{address.channel}` cannot be invited from a list (telegram, slack or "
                                     "email; Teams contacts are kept when the app is installed, or imported with "
                                     "`surveybot contacts import-teams`)")
                field = row[tags_at] if tags_at is not None and tags_at < len(row) else ""
                tags = tag_lists.get(field)
                if tags is None:
                    tags = parse_tags(field, "tags")
                    if len(tag_lists) < 1000:
                        tag_lists[field] = tags
            except (ValueError, CampaignError) as exc:
                raise CampaignError(f"{path}:{number}: {exc}") from None
            yield address, tags
    except csv.Error as exc:
        reason = (f"a field is longer than {LONGEST_FIELD:,} characters (a who or tags is a few dozen); is this the "
                  "right file?") if "field larger" in str(exc) else f"not a readable CSV row ({exc})"
        raise CampaignError(f"{path}:{reader.line_num}: {reason}") from None
    finally:
        csv.field_size_limit(limit)


def import_slack_channel(core: Core, channel_id: str, tags: list[str], bot_token: str | None,
                         api_url: str) -> tuple[int, int]:
    """Every member of a Slack channel (but the app itself), through the Web API with the bot's token.
    Returns (members imported, contacts new)."""
    if not bot_token:
        raise CampaignError("SLACK_BOT_TOKEN is not set, so Slack cannot be asked who is in the channel")
    if not re.fullmatch(r"[CG][A-Z0-9]{2,20}", channel_id):
        raise CampaignError(f"channel `{channel_id}` should be a channel id like C0123ABCD")
    from slack_sdk import WebClient  # only this command talks to Slack; the others need not load it
    from slack_sdk.errors import SlackApiError

    client = WebClient(bot_token, base_url=api_url)
    try:
        me = client.auth_test()
        members: list[str] = []
        cursor = None
        while True:
            page = client.conversations_members(channel=channel_id, limit=500, cursor=cursor)
            members.extend(str(m) for m in page.get("members") or [])
            cursor = (page.get("response_metadata") or {}).get("next_cursor")
            if not cursor:
                break
    except SlackApiError as exc:
        raise CampaignError(f"Slack refused: {exc.response.get('error', 'unknown error')}") from None
    except OSError as exc:
        raise CampaignError(f"cannot reach Slack at {api_url}: {exc}") from None
    team, bot_user = str(me.get("team_id")), str(me.get("user_id"))
    done = import_people(core, (Address("slack", team, member) for member in members if member != bot_user), tags,
                         "slack channel")
    return done.added + done.known, done.added


@dataclass(frozen=True)
class Imported:
    """What an import of people did, in counts only: new contacts, those already known, and those given a tag they
    did not have."""

    added: int
    known: int
    tagged: int


def find_team(core: Core, tenant: str, text: str) -> Address:
    """A team the app was added to (its sealed reference, kept by the Teams channel), by the name it had then or
    since, or by its id (19:...@thread.tacv2), or by the link Teams' "Get link to team" gives."""
    typed = " ".join(text.split())
    if not typed:
        raise CampaignError("TEAM: give the team's name, or its id or link (Get link to team, in the team's menu)")
    team_id = team_id_of(typed)
    with core.store.unit() as uow:
        found = [core.keys.unseal(sealed) for sealed in team_refs.found(
            uow, core.keys.team(tenant, "id", team_id), core.keys.team(tenant, "name", team_name(typed)))]
        known = team_refs.count(uow)
    found = [team for team in found if team.channel == TEAM and team.workspace == tenant]
    shown = typed[:80] + ("…" if len(typed) > 80 else "")
    if not found:
        raise CampaignError(f"TEAM: no team `{shown}` is known to the bot ({known} team(s) known). Add the app to the "
                            "team in Teams while the bot runs, then try again")
    if len({team.user for team in found}) > 1:
        raise CampaignError(f"TEAM: {len(found)} teams are called `{shown}`; give the team's link instead (Get link "
                            "to team, in the team's menu)")
    return found[0]


def team_id_of(typed: str) -> str:
    """A team's id from what was typed: the id itself, or the team's link (https://teams.microsoft.com/l/team/ID/...)."""
    if typed.lower().startswith(("https://", "http://")):
        parts = urlsplit(typed).path.split("/")
        if len(parts) > 3 and parts[1] == "l" and parts[2] in ("team", "channel"):
            return unquote(parts[3])
    return typed


def import_people(core: Core, people: Iterable[Address], tags: list[str], source: str) -> Imported:
    """People a platform listed (a Teams team's roster), made contacts with `tags`, all in one transaction. Someone
    already known keeps the address the bot last learnt for them (a Teams route with their personal chat is better
    than the roster's, which has none) and gains the tags."""
    today = core.service.clock().date()
    added = known = tagged = 0
    with core.store.unit() as uow:
        for address in people:
            lookup = core.keys.contact_lookup(address)
            before = store_contacts.find(uow, lookup)
            had = set(store_campaigns.tags_of(before)) if before is not None else set()
            _, created = store_campaigns.upsert_contact(uow, lookup, address.channel, core.keys.seal(address), tags,
                                                        today)
            added, known = added + created, known + (not created)
            tagged += bool(set(tags) - had)
        uow.audit("contacts.imported", {"rows": added + known, "new": added, "tagged": tagged, "from": source},
                  today)
    return Imported(added, known, tagged)


def list_contacts(core: Core, tag: str | None) -> list[dict[str, Any]]:
    """Every contact (with `tag`, if given): id, channel, tags and state, never a platform id."""
    with core.store.unit() as uow:
        return [{"id": c.id, "channel": c.channel, "tags": store_campaigns.tags_of(c), "opted_out": c.opted_out,
                 "unreachable": c.unreachable, "joined_on": c.joined_on.isoformat()}
                for c in store_campaigns.contacts(uow, tag)]


def tag_contact(core: Core, contact_id: int, add: list[str], remove: list[str]) -> list[str]:
    """Add and remove tags on one contact, audited; returns its tags now."""
    with core.store.unit() as uow:
        row = store_campaigns.set_tags(uow, contact_id, add, remove)
        if row is None:
            raise CampaignError(f"no contact {contact_id} (see `surveybot contacts list`)")
        uow.audit("contact.tagged", {"contact": contact_id, "add": add, "remove": remove},
                  core.service.clock().date())
        return store_campaigns.tags_of(row)
