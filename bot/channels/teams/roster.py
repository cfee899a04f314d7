"""Who is in a team the app was added to, for `surveybot contacts import-teams` and the console's Contacts page: the
team's roster, page by page, through the Agents SDK's own connector client (GET {serviceUrl}/v3/conversations/{team
id}/pagedmembers), and `import_team`, which makes the members contacts.

Each member becomes an Address as bot.channels.teams.reading makes one for someone who writes (their Entra object
id, their Teams user id in the route), with no personal chat yet: the channel makes it at the first invitation
(TeamsChannel.reach), paced and through the outbox, rather than here, where a few hundred createConversation calls
would run unpaced in a command and make chats for people a campaign may never invite. Nothing else of a member is
read: not their name, email or user principal name. Every refusal is one ChannelError line, raised before anything is
stored, so an import is whole or not at all.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass

import aiohttp
from microsoft_agents.activity import PagedMembersResult
from microsoft_agents.hosting.core.connector.client import ConnectorClient

from bot.channels.port import Address, ChannelError
from bot.channels.teams import reading
from bot.channels.teams.channel import app_connections, bot_token, quiet_sdk_logs
from bot.channels.teams.render import MAX_RETRY_AFTER, SEND_ATTEMPTS, retry_after
from bot.services.contact_book import CampaignError, Imported, find_team, import_people
from bot.services.core import Core

log = logging.getLogger(__name__)
PAGE_SIZE = 500  # the most Teams gives in one page
REFUSED = {
    401: "Teams refused the bot's token (401): check SURVEYBOT_TEAMS_APP_ID and SURVEYBOT_TEAMS_TENANT_ID",
    403: "Teams refused to list the team's members (403): the app may have been removed from the team; add it "
         "again and retry",
    404: "Teams does not know that team (404): it may have been deleted, or the app removed from it",
}


@dataclass(frozen=True)
class Roster:
    """The team's members as addresses (each once), and how many were left out (another tenant's, or a bot)."""

    people: tuple[Address, ...]
    left_out: int


async def import_team(core: Core, team: str, tags: list[str], app_id: str, password: str,
                      tenant: str) -> tuple[Imported, int]:
    """A team the app was added to, found among those the channel kept (by name, id or link); its roster read from
    Teams before anything is stored; then its members made contacts with the tags, in one transaction. Returns what
    the import did and how many members were left out. The database's part runs off the event loop (the console
    calls this in the running bot). Every refusal is a CampaignError line."""
    reference = await asyncio.to_thread(find_team, core, tenant, team)
    try:
        roster = await members(app_id, password, tenant, reference)
    except ChannelError as exc:
        raise CampaignError(str(exc)) from None
    done = await asyncio.to_thread(import_people, core, roster.people, tags, "teams team")
    return done, roster.left_out


async def members(app_id: str, password: str, tenant: str, team: Address, page_size: int = PAGE_SIZE) -> Roster:
    """Every member of `team` (Address(TEAM, tenant, team id, route=its service URL), as the channel kept it)."""
    quiet_sdk_logs()
    _, connections = app_connections(app_id, password, tenant)
    token = await bot_token(connections)
    client = ConnectorClient(team.route, token)
    people: dict[Address, None] = {}
    left_out = 0
    cursor: str | None = None
    try:
        while True:
            page = await _page(client, team.user, page_size, cursor)
            for member in page.members or []:
                elsewhere = isinstance(member.tenant_id, str) and member.tenant_id.lower() != tenant.lower()
                who = None if elsewhere or str(member.id or "").startswith("28:") else reading.address(
                    tenant, member.id, team.route, "", personal=False, aad=member.aad_object_id)
                if who is None:
                    left_out += 1
                else:
                    people.setdefault(who)
            cursor = page.continuation_token or None
            if cursor is None:
                break
    finally:
        await client.close()
    log.debug("read a team's roster: %d member(s) in it, %d left out", len(people), left_out)
    return Roster(tuple(people), left_out)


async def _page(client: ConnectorClient, team_id: str, page_size: int, cursor: str | None) -> PagedMembersResult:
    """One page of the roster, waiting out 429s (Retry-After) a bounded number of times."""
    for _ in range(SEND_ATTEMPTS):
        try:
            return await client.conversations.get_conversation_paged_members(team_id, page_size, cursor)
        except aiohttp.ClientResponseError as exc:
            if exc.status == 429:
                await asyncio.sleep(min(retry_after(exc.headers), MAX_RETRY_AFTER))
                continue
            raise ChannelError(REFUSED.get(exc.status, f"Teams answered {exc.status} when asked for the team's "
                                                       "members")) from None
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise ChannelError(f"cannot reach the Bot Connector ({type(exc).__name__})") from None
    raise ChannelError("Teams kept asking the bot to slow down; try the import again in a few minutes")
