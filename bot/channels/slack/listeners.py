"""Bolt listeners: what Slack sends (events, button presses, the answer form, `/survey`), acknowledged at once and
handed to the channel's work (bot.channels.slack.work).

Acknowledge first, work after: every listener calls `ack()`, hands the work to a task of ours and returns, so Bolt
may run it before answering (`process_before_response=True`; the other way Bolt starts a task per request and polls
every 10 ms for the ack). Listeners are registered by `bolt_app` on an AsyncApp it builds, never at import, so each
started channel has its own app, and a middleware drops Slack's redeliveries before any listener runs.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Awaitable, Callable
from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp, AsyncBoltContext
from slack_bolt.request.async_request import AsyncBoltRequest
from slack_bolt.response import BoltResponse
from slack_sdk.web.async_client import AsyncWebClient

from bot.bounded import BoundedMap
from bot.channels import buttons
from bot.channels.reactions import PREFIX as REACTION_PREFIX
from bot.channels.reactions import parse_reaction
from bot.channels.slack.blocks import ANSWER_ACTION, MODAL_CALLBACK, RESUME_ACTION, START_ACTION, TICK_ACTION
from bot.channels.slack.payloads import STAMP, TURNED, action_key, address, submitted, unformat
from bot.channels.slack.people import Drawn
from bot.channels.slack.words import COMMAND, DM_HINT, EDIT_HINT, FILE_HINT, HELP, START_WHICH
from bot.channels.slack.work import Work
from bot.engine import commands
from bot.engine import conversation as engine
from bot.engine.commands import Means
from bot.services.safeguarding import alerts, checkin

EVENTS_KEPT = 10_000  # recent event ids, to drop redeliveries without touching the database
SLASH_OFFERED = frozenset({"start", "stop", "resume", "delete", "unsubscribe", "join", "help"})  # after /survey

log = logging.getLogger(__name__)


def bolt_app(listeners: Listeners, client: AsyncWebClient, *, signing_secret: str, verify: bool,
             logger: logging.Logger) -> AsyncApp:
    """A Bolt app with every listener registered. `verify` is off for Socket Mode, whose envelopes are not signed."""
    app = AsyncApp(client=client, signing_secret=signing_secret, process_before_response=True,
                   request_verification_enabled=verify, logger=logger, name="surveybot")
    app.middleware(listeners.drop_redeliveries)
    app.event("message")(listeners.on_message)
    app.event("app_home_opened")(listeners.on_home_opened)
    app.action(re.compile(r"^a:"))(listeners.on_button)
    app.action(re.compile(rf"^{checkin.PREFIX}"))(listeners.on_care)
    app.action(re.compile(rf"^{alerts.ACK_PREFIX}"))(listeners.on_acknowledge)
    app.action(re.compile(rf"^{TICK_ACTION}:"))(listeners.on_tick)
    app.action(re.compile(rf"^{ANSWER_ACTION}:"))(listeners.on_answer_button)
    app.action(RESUME_ACTION)(listeners.on_resume_button)
    app.action(re.compile(rf"^{START_ACTION}:"))(listeners.on_start_button)
    app.action(re.compile(rf"^{REACTION_PREFIX}:"))(listeners.on_reaction)
    app.action(re.compile(r".*"))(listeners.on_unknown_action)
    app.view(MODAL_CALLBACK)(listeners.on_modal)
    app.command(COMMAND)(listeners.on_command)
    return app


class Listeners:
    """One workspace's listeners: each reads its payload, acknowledges, and spawns a piece of `work`."""

    def __init__(self, work: Work) -> None:
        self.work = work
        self._seen_events: BoundedMap[str, bool] = BoundedMap(EVENTS_KEPT)

    async def drop_redeliveries(self, req: AsyncBoltRequest, body: dict[str, Any],
                                next: Callable[[], Awaitable[None]]) -> BoltResponse | None:
        """Slack redelivers an event it thinks we missed (X-Slack-Retry-Num; Socket Mode's retry_attempt). One this
        process already took is answered 200 at once; any other goes on, and the service's claim on the event id
        (in the database, so across restarts and replicas) makes sure it records nothing twice."""
        event_id = body.get("event_id")
        if isinstance(event_id, str):
            if event_id in self._seen_events:
                log.info("answered a redelivered Slack event (attempt %s) without handling it again",
                         req.headers.get("x-slack-retry-num", ["?"])[0])
                return BoltResponse(status=200, body="")
            self._seen_events.get_or_make(event_id, lambda: True)
        await next()
        return None

    # --- events -------------------------------------------------------------------------------------------------------
    async def on_message(self, body: dict[str, Any], event: dict[str, Any], context: AsyncBoltContext) -> None:
        who = address(context)
        if event.get("channel_type") != "im":
            log.info("ignored a message outside a direct message")
            return
        message = event.get("message")
        inner: dict[str, Any] = message if isinstance(message, dict) else {}
        if event.get("bot_id") or event.get("subtype") == "bot_message" or inner.get("bot_id"):
            log.info("ignored a message from a bot")
            return
        if who is None:
            return
        subtype = event.get("subtype")
        channel = str(event.get("channel") or "")
        if subtype == "message_changed" and inner.get("edited"):  # not a link preview Slack added
            log.info("answered an edited message with a hint")
            self.work.spawn("an edited message", self.work.hint(who, channel, EDIT_HINT))
        elif subtype == "file_share" or event.get("files"):
            log.info("answered a file upload with a hint")
            self.work.spawn("a file upload", self.work.hint(who, channel, FILE_HINT))
        elif subtype is not None:
            log.debug("ignored a message event of another kind")
        else:
            text = unformat(str(event.get("text") or ""))
            if text.strip():
                key = f"event:{body.get('event_id') or event.get('ts')}"
                self.work.spawn("a message", self.work.typed(who, channel, text, key))

    async def on_home_opened(self, event: dict[str, Any], context: AsyncBoltContext) -> None:
        who = address(context)
        if who is None:
            return
        channel = str(event.get("channel") or "")
        if channel.startswith("D"):
            self.work.person(who).dm = channel  # the app's DM with this person
        self.work.spawn("a new contact", self.work.call(self.work.service.register, who))  # campaigns can reach them
        if event.get("tab") == "home":
            self.work.spawn("the Home tab", self.work.publish_home(who))

    # --- button presses -----------------------------------------------------------------------------------------------
    async def on_button(self, ack: AsyncAck, body: dict[str, Any], action: dict[str, Any],
                        context: AsyncBoltContext) -> None:
        """A survey button (bot.channels.buttons): an answer, Back, Skip, or Done with the ticks Slack sends along."""
        await ack()
        who = address(context)
        event = buttons.decode(str(action.get("value") or action.get("action_id") or ""))
        if who is None or event is None:
            log.info("ignored a button press that is not one of ours")
            return
        if isinstance(event, engine.Done):
            event = submitted(body, event.turn)
        self.work.remember_pressed(who, body, getattr(event, "turn", None))
        self.work.spawn("a button press", self.work.act(who, event, action_key(who, action)))

    async def on_care(self, ack: AsyncAck, body: dict[str, Any], action: dict[str, Any],
                      context: AsyncBoltContext) -> None:
        """A button of the safeguarding check."""
        await ack()
        who = address(context)
        press = checkin.decode(str(action.get("value") or ""))
        if who is None or press is None:
            log.info("ignored a check button that is not one of ours")
            return
        message = body.get("message") or {}
        channel = str((body.get("container") or {}).get("channel_id") or "")
        pressed = Drawn(channel, str(message.get("ts") or "")) if channel and message.get("ts") else None
        self.work.spawn("a check button", self.work.care(who, press, action_key(who, action), pressed,
                                                         unformat(str(message.get("text") or ""))))

    async def on_acknowledge(self, ack: AsyncAck, body: dict[str, Any], action: dict[str, Any]) -> None:
        """Acknowledge pressed on an alert in the lead's channel; a press anywhere else is ignored."""
        await ack()
        ref = alerts.ack_ref(str(action.get("value") or ""))
        channel = str((body.get("channel") or {}).get("id") or (body.get("container") or {}).get("channel_id") or "")
        message = body.get("message") or {}
        if ref is None or channel != self.work.alert_channel:
            log.info("ignored an Acknowledge press outside the alert channel")
            return
        self.work.spawn("an acknowledgement", self.work.acknowledge(ref, channel, str(message.get("ts") or ""),
                                                                    unformat(str(message.get("text") or ""))))

    async def on_tick(self, ack: AsyncAck) -> None:
        await ack()  # ticks stay in Slack until Done is pressed

    async def on_answer_button(self, ack: AsyncAck, body: dict[str, Any], action: dict[str, Any],
                               context: AsyncBoltContext) -> None:
        """"Type my answer": opens the answer form, which needs the press's trigger id."""
        await ack()
        who = address(context)
        match = TURNED.match(str(action.get("action_id") or ""))
        trigger = body.get("trigger_id")
        if who is None or match is None or not isinstance(trigger, str):
            return
        turn = int(match[2])
        self.work.remember_pressed(who, body, turn)
        drawn = self.work.person(who).drawn.get(turn)
        self.work.spawn("a request for the answer form",
                        self.work.open_form(trigger, turn, drawn.prompt if drawn else None))

    async def on_resume_button(self, ack: AsyncAck, body: dict[str, Any], action: dict[str, Any],
                               context: AsyncBoltContext) -> None:
        await ack()
        who = address(context)
        if who is not None:
            home = (body.get("container") or {}).get("type") == "view"
            self.work.spawn("a press on Resume", self.work.act(who, engine.Resume(), action_key(who, action),
                                                               refresh_home=home))

    async def on_start_button(self, ack: AsyncAck, action: dict[str, Any], context: AsyncBoltContext) -> None:
        await ack()
        who = address(context)
        survey_id = str(action.get("value") or "")
        if who is not None and survey_id:
            self.work.spawn("a press on Start", self.work.begin(who, survey_id, action_key(who, action),
                                                                refresh_home=True))

    async def on_reaction(self, ack: AsyncAck, body: dict[str, Any], action: dict[str, Any],
                          context: AsyncBoltContext) -> None:
        """A press on "this helps / not really / tell me more" under a "we did" reply."""
        await ack()
        who = address(context)
        reaction = parse_reaction(str(action.get("action_id") or ""))
        message = body.get("message") or {}
        channel = str((body.get("container") or {}).get("channel_id") or "")
        pressed = Drawn(channel, str(message.get("ts") or "")) if channel and message.get("ts") else None
        if who is not None and reaction is not None and self.work.yousaid is not None:
            self.work.spawn("a reaction", self.work.react(who, reaction, action_key(who, action), pressed,
                                                          unformat(str(message.get("text") or ""))))

    async def on_unknown_action(self, ack: AsyncAck) -> None:
        await ack()
        log.info("ignored an action that is not one of ours")

    # --- the answer form and /survey ----------------------------------------------------------------------------------
    async def on_modal(self, ack: AsyncAck, view: dict[str, Any], context: AsyncBoltContext) -> None:
        await ack()  # closes the form; the answer (or a kind re-ask) arrives in the chat
        who = address(context)
        stamp = STAMP.match(str(view.get("private_metadata") or ""))
        value = ((view.get("state") or {}).get("values", {}).get("answer", {}).get("text", {}) or {}).get("value")
        if who is None or stamp is None:
            log.info("ignored a form that is not one of ours")
            return
        event = engine.Reply(str(value or ""), turn=int(stamp[1]))
        self.work.spawn("a submitted form", self.work.act(who, event, f"view:{view.get('id')}"))

    async def on_command(self, ack: AsyncAck, command: dict[str, Any], context: AsyncBoltContext) -> None:
        """`/survey VERB ...`: a row of the one table of typed commands (bot.engine.commands), a report, or an admin
        verb; anything else gets the help."""
        work = self.work
        words = str(command.get("text") or "").split()
        verb = words[0].lower() if words else "help"
        who = address(context)
        typed = commands.find(verb, words[1] if len(words) > 1 else "", SLASH_OFFERED)  # "stop all" included
        means = typed.command.means if typed is not None else None
        if who is not None and work.reports is not None and verb in work.report_commands:
            await ack()
            work.spawn(f"/survey {verb}", work.deliver(who, " ".join(words)))
            return
        if who is not None and means is Means.JOIN:
            await ack()
            work.spawn("/survey join", work.join(who, words[1:]))
            return
        if who is not None and work.admin is not None and work.admin.handles(verb):
            await ack()
            work.spawn(f"/survey {verb}", work.run_admin(who, words))
            return
        if who is None or typed is None or means is Means.HELP:
            await ack(HELP)
            return
        if means is Means.BEGIN and len(words) < 2:
            await ack(START_WHICH.format(codes=", ".join(work.catalogue.ids())))
            return
        if str(command.get("channel_id") or "").startswith("D"):
            await ack()
        else:
            await ack(DM_HINT)  # typed in a channel: only this person sees the hint
        key = f"command:{command.get('trigger_id')}"
        if means is Means.BEGIN:
            work.spawn("/survey start", work.begin(who, words[1].lower(), key))
        else:
            work.spawn(f"/survey {verb}", work.command(who, typed, key))
