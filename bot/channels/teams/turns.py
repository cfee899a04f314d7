"""What each activity Teams sends does: the handlers the channel registers as the AgentApplication's routes.

A message's words go to `service.reply` (or, when they are a command of bot.engine.commands, to what that row means);
a press on a card (an Action.Submit: a message whose `value` carries our data) goes to `service.handle`, `begin` or
`care`. Each runs under the person's lock and inside their own turn, so what it draws goes back through the SDK's
TurnContext. The app being installed for a person or a team (conversationUpdate, installationUpdate), and anyone
writing, keep their conversation reference (the route in their Address) sealed in their contact, for invitations.

Every handler catches its own failures: they are logged by kind, never with the activity, and the person gets a kind
apology; nothing reaches the SDK's own error handling, which would log the exception's words.
"""

from __future__ import annotations

import contextlib
import logging
import re
import traceback
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from microsoft_agents.activity import Activity
from microsoft_agents.hosting.core import TurnContext, TurnState

from bot.channels import buttons
from bot.channels.port import Address, ChannelError, RateLimited, Unreachable
from bot.channels.reactions import parse_reaction
from bot.channels.teams import reading
from bot.channels.teams import words as said
from bot.channels.teams.cards import ALERT_TEXT, RESUME, card, card_text, download_card, reply_card, words
from bot.channels.teams.render import Renderer
from bot.engine import commands
from bot.engine import conversation as engine
from bot.engine import messages as msg
from bot.engine.commands import Means, Typed
from bot.services.contacts import TEAM
from bot.services.port import ChatService, Outcome
from bot.services.safeguarding import alerts, checkin

if TYPE_CHECKING:
    from bot.reporting.links import Offer
    from bot.services.chat_admin import ChatAdmin
    from bot.services.yousaid import YouSaid

log = logging.getLogger(__name__)
OFFERED = frozenset(c.word for c in commands.COMMANDS)  # every row of the table, typed as /word in the chat
SLASHED = re.compile(r"^/(\w+)(?:\s+(.*))?$", re.DOTALL)  # a command's shape: which one is the table's or the admin's
PERSONAL = "personal"


class Turns:
    """The channel's handlers, one per kind of activity (registered by bot.channels.teams.channel)."""

    def __init__(self, service: ChatService, renderer: Renderer, tenant: str, default_survey: str) -> None:
        self.service = service
        self.renderer = renderer
        self.tenant = tenant.lower()
        self.default_survey = default_survey
        self.join_tags: tuple[str, ...] = ()  # the groups people may choose with /join (set by bot.app)
        self.yousaid: YouSaid | None = None  # reactions to "we did" replies (set by bot.app)
        self.admin: ChatAdmin | None = None  # campaign commands for admins and scrutineers (set by bot.app)
        # /report, /export and /evidence answered with a download link (bot.reporting.links.offer, set by bot.app),
        # and how a link's token becomes its URL (set by the channel once the server is known)
        self.reports: Callable[[Address, str], Offer | str] | None = None
        self.report_commands: frozenset[str] = frozenset()
        self.file_url: Callable[[str], str] = lambda token: token
        self.alert_channel: str | None = None  # the safeguarding lead's Teams channel (set by bot.app)

    # --- who ----------------------------------------------------------------------------------------------------------
    def who(self, activity: Activity, account: Any = None) -> Address | None:
        """The person behind an activity (or `account`, a member added), when they are in our tenant."""
        account = account or activity.from_property
        conversation = activity.conversation
        tenant = (conversation.tenant_id if conversation else None) or _channel_tenant(activity.channel_data)
        if not isinstance(tenant, str) or tenant.lower() != self.tenant:
            return None
        personal = conversation is not None and conversation.conversation_type == PERSONAL
        return reading.address(tenant, getattr(account, "id", None), activity.service_url,
                               conversation.id if conversation else "", personal=personal,
                               aad=getattr(account, "aad_object_id", None))

    async def keep(self, address: Address, force: bool = False) -> None:
        """Keep the person as a contact, their route sealed with them: once a process, or whenever told to."""
        person = self.renderer.person(address)
        if person.registered and not force:
            return
        await self.service.call(self.service.register, address)
        person.registered = True

    # --- routes -------------------------------------------------------------------------------------------------------
    async def on_message(self, context: TurnContext, _state: TurnState) -> None:
        await self._guarded(context, "a message", self._message)

    async def on_edit(self, context: TurnContext, _state: TurnState) -> None:
        await self._guarded(context, "an edited message", self._edited)

    async def on_members_added(self, context: TurnContext, _state: TurnState) -> None:
        await self._guarded(context, "the app being added", self._added)

    async def on_installation(self, context: TurnContext, _state: TurnState) -> None:
        await self._guarded(context, "the app being installed or removed", self._installation)

    async def on_team_changed(self, context: TurnContext, _state: TurnState) -> None:
        await self._guarded(context, "a change to a team", self._team_changed)

    async def on_anything_else(self, context: TurnContext, _state: TurnState) -> None:
        """Typing, reactions, deleted messages...: nothing to do (and nothing for the SDK to log)."""

    async def _guarded(self, context: TurnContext, what: str, work: Callable[[TurnContext], Any]) -> None:
        try:
            await work(context)
        except Unreachable:
            log.info("could not reach a person on Teams while handling %s", what)
        except RateLimited as exc:
            log.warning("Teams kept asking us to slow down (retry after %.0f s) while handling %s", exc.retry_after,
                        what)
        except Exception as exc:  # a bug, or the database: logged by kind, and a kind word for the person
            frame = traceback.extract_tb(exc.__traceback__)[-1] if exc.__traceback__ else None
            where = f" at {frame.filename}:{frame.lineno}" if frame else ""
            log.error("failed to handle %s on Teams (%s%s)", what, type(exc).__name__, where)
            with contextlib.suppress(ChannelError):
                await self.renderer.send(context, None, said.SORRY)

    # --- messages ---------------------------------------------------------------------------------------------------
    async def _message(self, context: TurnContext) -> None:
        activity = context.activity
        conversation = activity.conversation
        personal = conversation is not None and conversation.conversation_type == PERSONAL
        text = reading.typed_text(activity.text)
        if not personal:  # a team's channel or a group chat: surveys happen in the personal chat
            ref = alerts.ack_ref(reading.data_of(activity.value))
            if ref is not None and self._in_alert_channel(activity):
                await self._acknowledge(context, ref)
            elif text.startswith("/"):
                await self.renderer.send(context, None, said.PERSONAL_HINT)
            return
        who = self.who(activity)
        if who is None:
            log.info("ignored a Teams activity from outside the tenant, or without a sender")
            return
        await self.keep(who)
        key = str(activity.id or "") or None
        if reading.data_of(activity.value) is not None:
            await self._pressed(context, who, activity.value, key, activity.reply_to_id)
        elif text:
            await self._typed(context, who, text, key)
        elif activity.attachments:
            await self.renderer.send(context, conversation.id if conversation else None, said.FILE_HINT)

    def command(self, text: str) -> commands.Typed | None:
        """The row of the one table a message is: `/word ...`, or the bare word alone with what follows, as Teams'
        command menu (the app package's commands) sends it. The help word never reads as a command: typed alone it
        is someone asking for the safeguarding check, on every channel."""
        typed = commands.read(text, OFFERED)
        if typed is not None or text.startswith("/"):
            return typed
        if text.strip().lower() == self.service.help_word.lower():
            return None
        return commands.read(f"/{text.strip()}", OFFERED)

    async def _typed(self, context: TurnContext, who: Address, text: str, key: str | None) -> None:
        typed = self.command(text)
        if typed is None:
            slashed = SLASHED.match(text)
            if slashed is not None and self.reports is not None and slashed[1].lower() in self.report_commands:
                await self._report(context, who, text)
            elif slashed is not None and self.admin is not None and self.admin.handles(slashed[1].lower()):
                await self._admin(context, who, [slashed[1].lower(), *(slashed[2] or "").split()])
            else:
                await self._run(context, who, self.service.reply, text, key)
            return
        means = typed.command.means
        if means is Means.HELP:
            await self.renderer.send(context, None, said.HELP)
        elif means is Means.BEGIN:
            code = typed.args.split()[0].lower() if typed.args else ""
            if not code:
                current = await self.service.call(self.service.open_survey, who)
                code = current.id if current is not None else self.default_survey
            await self._run(context, who, self.service.begin, code, None, key)
        elif means is Means.ERASE:
            await self._run(context, who, self.service.erase)
        elif means is Means.OPT_OUT:
            await self._run(context, who, self.service.opt_out)
        elif means is Means.JOIN:
            tags = self.join_tags
            await self._run(context, who, self.service.join, typed.args.split(), tags,
                            f"/join {tags[0]}" if tags else "/join")
        else:
            await self._step(context, who, typed, key)

    async def _admin(self, context: TurnContext, who: Address, words: list[str]) -> None:
        """A campaign command (bot.services.chat_admin checks the role and audits a refusal); the reply goes to this
        person's personal chat only."""
        assert self.admin is not None
        reply = await self.service.call(self.admin.run, who, words)
        await self.renderer.send(context, None, reply)

    async def _report(self, context: TurnContext, who: Address, text: str) -> None:
        """A report, export or evidence pack: a card with a short-lived download link (built when it is used), or a
        plain reply (no role, no such survey...), in this person's personal chat only."""
        assert self.reports is not None
        made = await self.service.call(self.reports, who, text)
        if isinstance(made, str):
            await self.renderer.send(context, None, made)
            return
        ready = said.DOWNLOAD_READY.format(what=made.what, minutes=made.minutes)
        await self.renderer.send(context, None, ready, download_card(ready, self.file_url(made.token)))

    def _in_alert_channel(self, activity: Activity) -> bool:
        """A press in the lead's channel, by someone in our tenant (a reply's conversation id names its thread too:
        `19:...@thread.tacv2;messageid=...`)."""
        conversation = activity.conversation
        where = (conversation.id or "").split(";", 1)[0] if conversation is not None else ""
        return bool(self.alert_channel) and where == self.alert_channel and self.who(activity) is not None

    async def _acknowledge(self, context: TurnContext, ref: str) -> None:
        """Acknowledge pressed on an alert: audited once; the alert then says so and loses its button."""
        activity = context.activity
        day = await self.service.call(self.service.acknowledge, ref)
        value = activity.value if isinstance(activity.value, dict) else {}
        shown = value.get(ALERT_TEXT)
        if day is None or not activity.reply_to_id or not isinstance(shown, str):
            if day is None:
                await self.renderer.send(context, None, msg.ALERT_UNKNOWN)
            return
        done = f"{shown}\n\n{msg.ALERT_ACKED.format(day=f'{day.day} {day:%B %Y}')}"
        await self.renderer.update(context, activity.reply_to_id, done, card([words(done)]))

    async def _step(self, context: TurnContext, who: Address, typed: Typed, key: str | None) -> None:
        await self._run(context, who, self.service.handle, typed.event(), key)

    async def _pressed(self, context: TurnContext, who: Address, value: Any, key: str | None,
                       pressed: str | None) -> None:
        """A button on one of our cards: a question's, Start, Resume, the check's, or a reaction's."""
        data = reading.data_of(value) or ""
        event = reading.event_of(value)
        if isinstance(event, engine.Reply):  # Done with ticks, or Send under a box: stamped with the turn
            await self._run(context, who, self.service.reply, event.text, key, event.turn, pressed=pressed)
        elif event is not None:
            await self._run(context, who, self.service.handle, event, key, pressed=pressed)
        elif (code := reading.start_code(value)) is not None:
            await self._run(context, who, self.service.begin, code, None, key)
        elif data == RESUME:
            await self._run(context, who, self.service.handle, engine.Resume(), key)
        elif (press := checkin.decode(data)) is not None:
            asked = self.renderer.person(who).checks.pop(pressed or "", None)
            if pressed and asked is not None:  # the check's buttons go once one is pressed (one choice only)
                await self.renderer.update(context, pressed, asked, card([words(asked)]))
            name = getattr(context.activity.from_property, "name", None)
            reach = f"{name} on Microsoft Teams" if isinstance(name, str) and name else "a person on Microsoft Teams"
            await self._run(context, who, self.service.care, press, reach, key)
        elif (reaction := parse_reaction(data)) is not None and self.yousaid is not None:
            await self._react(context, who, reaction, key, pressed)
        elif buttons.decode(data) is None:
            await self.renderer.send(context, None, said.STALE_BUTTON)

    async def _react(self, context: TurnContext, who: Address, reaction: tuple[int, str], key: str | None,
                     pressed: str | None) -> None:
        """"This helps / not really / tell me more" under a "we did" reply, as on Telegram and Slack: counted once
        per person (a new choice replaces the old), the card redrawn in place with their choice ticked, and a word
        back: thanks, the kind reply to "tell me more" once, or that a second press of the same choice changed
        nothing. A redelivered press does nothing."""
        assert self.yousaid is not None
        reply_id, kind = reaction
        async with self.renderer.person(who).lock:
            said = await self.service.call(self.yousaid.react, who, reply_id, kind, key)
            if said is None:
                return
            if pressed and said in (msg.YOUSAID_REACTED, msg.YOUSAID_TELL_ME_MORE):
                text = await self.service.call(self.yousaid.words, reply_id)
                if text is not None:
                    content = reply_card(text, reply_id, kind)
                    await self.renderer.update(context, pressed, card_text(content), content)
            await self.renderer.send(context, None, said)

    async def _run(self, context: TurnContext, who: Address, use_case: Callable[..., Outcome], *args: Any,
                   pressed: str | None = None) -> None:
        """Persist, then send: the use case commits (on the service's database thread) before anything is drawn."""
        async with self.renderer.person(who).lock:
            outcome = await self.service.call(use_case, who, *args)
            await self.renderer.render(context, who, outcome, pressed)

    async def _edited(self, context: TurnContext) -> None:
        conversation = context.activity.conversation
        if conversation is not None and conversation.conversation_type == PERSONAL:
            await self.renderer.send(context, conversation.id, said.EDIT_HINT)

    # --- the app added, installed or removed ------------------------------------------------------------------------
    async def _added(self, context: TurnContext) -> None:
        """Added to a person's chat: keep them and say hello. Added to a team: keep whoever added it; members added
        to a team later are kept too (their personal chat is made when the first invitation goes)."""
        activity = context.activity
        bot_id = getattr(activity.recipient, "id", None)
        added = [m for m in activity.members_added or [] if getattr(m, "id", None)]
        conversation = activity.conversation
        personal = conversation is not None and conversation.conversation_type == PERSONAL
        if any(m.id == bot_id for m in added):
            who = self.who(activity)
            if who is not None:
                await self.keep(who, force=True)
                if personal:
                    await self.renderer.send(context, conversation.id if conversation else None, said.WELCOME)
            await self._team(activity, kept=True)
        for member in added:
            if member.id != bot_id and (who := self.who(activity, member)) is not None:
                await self.keep(who, force=True)

    async def _installation(self, context: TurnContext) -> None:
        """Installed: keep whoever installed it (their route may be new). Removed from a person's chat: they can no
        longer be reached, so campaigns stop trying."""
        activity = context.activity
        who = self.who(activity)
        if who is None:
            return
        action = str(activity.action or "").lower()
        conversation = activity.conversation
        if action.startswith("remove") and conversation is not None and conversation.conversation_type == PERSONAL:
            await self.service.call(self.service.mark_unreachable, who)
        elif action.startswith("remove"):
            await self._team(activity, kept=False)
        elif action.startswith("add"):
            await self.keep(who, force=True)
            await self._team(activity, kept=True)

    async def _team_changed(self, context: TurnContext) -> None:
        """A team the app is in was renamed (kept under its new name), or deleted, or the app removed from it."""
        activity = context.activity
        kind = reading.event_type(activity.channel_data).lower()
        bot_id = getattr(activity.recipient, "id", None)
        removed = any(getattr(m, "id", None) == bot_id for m in activity.members_removed or [])
        if kind in ("teamrenamed", "teamrestored"):
            await self._team(activity, kept=True)
        elif kind in ("teamdeleted", "teamarchived") or removed:
            await self._team(activity, kept=False)

    async def _team(self, activity: Activity, kept: bool) -> None:
        """Keep (or forget) the team an activity from our tenant happened in, sealed: its members are imported by
        `surveybot contacts import-teams`, which finds it by name or id."""
        team = reading.team_of(activity.channel_data)
        conversation = activity.conversation
        tenant = (conversation.tenant_id if conversation else None) or _channel_tenant(activity.channel_data)
        if team is None or not isinstance(tenant, str) or tenant.lower() != self.tenant:
            return
        service_url = activity.service_url
        if not isinstance(service_url, str) or not service_url.startswith(("https://", "http://")):
            return
        reference = Address(TEAM, self.tenant, team[0], service_url)
        if kept:
            await self.service.call(self.service.keep_team, reference, team[1])
            log.info("kept a team the app was added to (or renamed)")
        else:
            await self.service.call(self.service.forget_team, reference)
            log.info("forgot a team the app was removed from")

    # --- what the service asks of the channel --------------------------------------------------------------------
    async def resend(self, context: TurnContext, who: Address, outcome: Outcome) -> None:
        async with self.renderer.person(who).lock:  # after any press of theirs being handled: it may have moved on
            if await self.service.call(self.service.still_owed, outcome):
                await self.renderer.render(context, who, outcome)


def _channel_tenant(channel_data: object) -> str | None:
    """Teams also says the tenant in the activity's channelData."""
    tenant = channel_data.get("tenant") if isinstance(channel_data, dict) else getattr(channel_data, "tenant", None)
    found = tenant.get("id") if isinstance(tenant, dict) else getattr(tenant, "id", None)
    return found if isinstance(found, str) else None

