"""Contacts: people campaigns can reach, the groups (campaign tags) they join, and stopping invitations; and the
Teams teams the bot was added to, whose members `surveybot contacts import-teams` imports.

A part of SurveyService (bot.services.service): channels call these through it. The person is kept by a keyed lookup
and a sealed address (bot.services.privacy), never by a platform id.
"""

from __future__ import annotations

from datetime import datetime

from bot.domain.address import Address
from bot.engine import messages as msg
from bot.engine.conversation import Say
from bot.services.steps import Outcome, Steps
from storage import campaigns as store_campaigns
from storage import contacts as store_contacts
from storage import team_refs
from storage.unit_of_work import UnitOfWork

TEAM = "teams-team"  # the channel of a team's reference: Address(TEAM, tenant, team id, route=its service URL)


def team_name(text: str) -> str:
    """A team's name as it is looked up: case and spacing as the IT officer may type them do not matter."""
    return " ".join(text.split()).casefold()


class Contacts(Steps):
    """The contact use cases of SurveyService."""

    def register(self, address: Address, tags: tuple[str, ...] = ()) -> bool:
        """Make someone a contact campaigns can reach (they opened the app, or were imported); True when new. An
        address with a route (Teams) has it sealed again, as the route may have changed since (a new service URL,
        or their personal chat now known) while who they are has not."""
        with self.store.unit() as uow:
            lookup, sealed = self.keys.contact_lookup(address), self.keys.seal(address)
            _, created = store_campaigns.upsert_contact(uow, lookup, address.channel, sealed, tags,
                                                        self.clock().date())
            if address.route and not created:
                store_contacts.readdress(uow, lookup, sealed)
        return created

    def join(self, address: Address, words: list[str], allowed: tuple[str, ...], example: str) -> Outcome:
        """Let a person put themselves in groups (campaign tags) from the partnership's list, and no others."""
        if not allowed:
            return Outcome((Say(msg.JOIN_OFF),))
        choices = ", ".join(allowed)
        chosen = [w.strip(",").lower() for w in words if w.strip(",")]
        if not chosen:
            return Outcome((Say(msg.JOIN_CHOICES.format(choices=choices, example=example)),))
        unknown = next((tag for tag in chosen if tag not in allowed), None)
        if unknown is not None:
            return Outcome((Say(msg.JOIN_UNKNOWN.format(tag=unknown, choices=choices)),))
        self.register(address, tuple(chosen))
        with self.store.unit() as uow:
            contact = store_contacts.find(uow, self.keys.contact_lookup(address))
            assert contact is not None
            tags = store_campaigns.tags_of(contact)
            uow.audit("contact.joined", {"channel": address.channel, "tags": sorted(chosen)}, self.clock().date())
        return Outcome((Say(msg.JOINED.format(tags=", ".join(tags))),))

    def opt_out(self, address: Address) -> Outcome:
        """No more invitations or reminders, from now on, on every campaign (the person can still use links)."""

        def work(uow: UnitOfWork, now: datetime) -> Outcome:
            lookup = self.keys.contact_lookup(address)
            store_contacts.ensure(uow, lookup, address.channel, self.keys.seal(address), now.date())
            store_campaigns.opt_out(uow, lookup)
            uow.audit("contact.opted_out", {"channel": address.channel}, now.date())
            return Outcome((Say(msg.OPTED_OUT),))

        return self._run(work, None, address)

    def mark_unreachable(self, address: Address) -> None:
        """The person blocked the bot or left the workspace: stop sending to them."""
        with self.store.unit() as uow:
            store_contacts.mark_unreachable(uow, self.keys.contact_lookup(address))

    def keep_team(self, team: Address, name: str) -> None:
        """The app was added to a team (or the team renamed): keep its sealed reference, found by keyed hashes of
        its id and name, so its members can be imported later. The name itself is not kept."""
        named = self.keys.team(team.workspace, "name", team_name(name)) if name.strip() else None
        with self.store.unit() as uow:
            team_refs.keep(uow, self.keys.team(team.workspace, "id", team.user), named, self.keys.seal(team),
                           self.clock().date())

    def forget_team(self, team: Address) -> None:
        """The app was removed from a team, or the team deleted: its members can no longer be listed."""
        with self.store.unit() as uow:
            team_refs.forget(uow, self.keys.team(team.workspace, "id", team.user))
