"""The work a listener hands on after its ack: one person's action, persisted by the service, then drawn.

Each piece runs in a task we hold (`spawn`), so it is neither lost nor cut short on stop, and one person's pieces run
under their lock, so their messages go out in the order they happened. The service commits (in its one database
thread, off the event loop) before anything is drawn.
"""

from __future__ import annotations

import asyncio
import logging
import traceback
from collections.abc import Callable, Coroutine
from typing import TYPE_CHECKING, Any, TypeVar

from bot.bounded import KeyedLocks
from bot.channels.port import Address, ChannelError, RateLimited, Unreachable
from bot.channels.slack.blocks import answer_modal, home_view, reply_blocks, sections
from bot.channels.slack.payloads import TYPED_COMMAND
from bot.channels.slack.people import Drawn, Person
from bot.channels.slack.render import Renderer
from bot.channels.slack.words import HELP
from bot.engine import commands
from bot.engine import conversation as engine
from bot.engine import messages as msg
from bot.engine.commands import Means, Typed
from bot.engine.conversation import Prompt
from bot.services.port import ChatService, Outcome
from bot.services.safeguarding import checkin
from bot.services.surveyfiles import SurveyCatalogue

if TYPE_CHECKING:
    from bot.reporting.delivery import Deliverable
    from bot.services.chat_admin import ChatAdmin
    from bot.services.yousaid import YouSaid

log = logging.getLogger(__name__)

T = TypeVar("T")
TYPED_OFFERED = frozenset({"start", "stop", "resume", "delete"})  # of bot.engine.commands, typed as a message


class Work:
    """What the Slack channel does for people, each piece started by a listener (bot.channels.slack.listeners)."""

    def __init__(self, service: ChatService, catalogue: SurveyCatalogue, renderer: Renderer) -> None:
        self.service = service
        self.catalogue = catalogue
        self.renderer = renderer
        self.locks: KeyedLocks[Address] = KeyedLocks()  # one person's pieces in order, kept only while they act
        self.tasks: set[asyncio.Task[None]] = set()
        self.admin: ChatAdmin | None = None  # campaign commands for admins and scrutineers (set by bot.app)
        self.join_tags: tuple[str, ...] = ()  # the groups people may choose with /survey join (set by bot.app)
        self.reports: Callable[[Address, str], Deliverable | str] | None = None  # /survey report|export|evidence
        self.report_commands: frozenset[str] = frozenset()
        self.yousaid: YouSaid | None = None  # reactions to "we did" replies (set by bot.app)
        self.alert_channel: str | None = None  # the safeguarding lead's private channel (set by bot.app)

    def person(self, address: Address) -> Person:
        return self.renderer.person(address)

    def spawn(self, what: str, work: Coroutine[Any, Any, object]) -> None:
        """Run `work` in a task we hold (so it is neither lost nor cut short on stop), logging failures plainly."""

        async def guarded() -> None:
            try:
                await work
            except Unreachable:
                log.info("could not reach a person on Slack (they may have left, or turned off direct messages)")
            except RateLimited as exc:
                log.warning("Slack kept asking us to slow down (retry after %.0f s); a message about %s was not sent",
                            exc.retry_after, what)
            except ChannelError as exc:
                log.warning("a Slack Web API call failed while handling %s: %s", what, exc)
            except Exception as exc:  # a bug must not take the channel down, nor print a payload
                frame = traceback.extract_tb(exc.__traceback__)[-1]
                log.error("failed to handle %s on Slack (%s at %s:%s)", what, type(exc).__name__, frame.filename,
                          frame.lineno)

        task = asyncio.get_running_loop().create_task(guarded())
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)

    async def call(self, use_case: Callable[..., T], *args: Any) -> T:
        """Persist, then send: the service's transaction runs in its database thread, off the event loop. The use
        case goes as it is, not wrapped, so the service can commit a survey step together with others waiting."""
        return await self.service.call(use_case, *args)

    async def typed(self, address: Address, channel: str, text: str, key: str) -> None:
        """A message typed in the DM: an answer, or one of the commands typed as words (Slack lets " /stop" through)."""
        person = self.person(address)
        if channel.startswith("D"):
            person.dm = channel
        match = TYPED_COMMAND.match(text.strip())
        if match is None:
            await self.act(address, engine.Reply(text), key)
            return
        verb, code = match[1].lower(), match[2].lower()
        typed = commands.find(verb, code, TYPED_OFFERED)
        if typed is not None and typed.command.means is Means.BEGIN and code:
            await self.begin(address, code, key)
        elif typed is not None and typed.bare and typed.command.means is not Means.BEGIN:
            await self.command(address, typed, key)
        else:
            await self.renderer.post(address, HELP, sections(HELP))

    async def act(self, address: Address, event: engine.Event, key: str | None, refresh_home: bool = False) -> None:
        async with self.locks.hold(address):
            await self.renderer.render(address, await self._outcome(address, event, key))
        if refresh_home:
            await self.publish_home(address)

    async def _outcome(self, address: Address, event: engine.Event, key: str | None) -> Outcome:
        """The service's answer to what someone did. Typed words go as one reply (the safeguarding check, then an
        answer or feedback: one trip to the database thread); words stamped with a question's turn (the ticks sent
        with Done, a form) are that question's answer, so a late one is stale."""
        if not isinstance(event, engine.Reply):
            return await self.call(self.service.handle, address, event, key)
        return await self.call(self.service.reply, address, event.text, key, event.turn)

    async def begin(self, address: Address, survey_id: str, key: str, refresh_home: bool = False) -> None:
        async with self.locks.hold(address):
            outcome = await self.call(self.service.begin, address, survey_id, None, key)
            await self.renderer.render(address, outcome)
        if refresh_home:
            await self.publish_home(address)

    async def command(self, address: Address, typed: Typed, key: str) -> None:
        """A step (/stop, /resume), or erasing answers or invitations, typed or through /survey."""
        means = typed.command.means
        if means in (Means.ERASE, Means.OPT_OUT):
            use_case = self.service.erase if means is Means.ERASE else self.service.opt_out
            async with self.locks.hold(address):
                await self.renderer.render(address, await self.call(use_case, address))
            return
        await self.act(address, typed.event(), key)

    async def resend(self, address: Address, outcome: Outcome) -> None:
        """What a step committed before a stop still owed this person (bot.services.pending)."""
        async with self.locks.hold(address):  # after any action of theirs being handled: it may have moved on
            if await self.service.call(self.service.still_owed, outcome):
                await self.renderer.render(address, outcome)

    async def deliver(self, address: Address, request: str) -> None:
        """A report, export or evidence pack as a file in the person's DM, or a plain reply (no role, no survey...)."""
        assert self.reports is not None
        made = await self.call(self.reports, address, request)
        if isinstance(made, str):
            await self.renderer.post(address, made, sections(made))
            return
        channel = await self.renderer.dm(address)
        await self.renderer.call("files.uploadV2", self.renderer.api().files_upload_v2(
            channel=channel, content=made.data, filename=made.filename, title=made.filename,
            initial_comment=made.caption))

    async def join(self, address: Address, words: list[str]) -> None:
        example = f"/survey join {self.join_tags[0]}" if self.join_tags else "/survey join"
        outcome = await self.call(self.service.join, address, words, self.join_tags, example)
        await self.renderer.render(address, outcome)

    async def run_admin(self, address: Address, words: list[str]) -> None:
        """A campaign command: the reply goes to the person's DM with the app, never to a channel."""
        assert self.admin is not None
        reply = await self.call(self.admin.run, address, words)
        await self.renderer.post(address, reply, sections(reply))

    async def hint(self, address: Address, channel: str, text: str) -> None:
        if channel.startswith("D"):
            self.person(address).dm = channel
        await self.renderer.post(address, text, sections(text))

    async def open_form(self, trigger: str, turn: int, prompt: Prompt | None) -> None:
        await self.renderer.call("views.open", self.renderer.api().views_open(
            trigger_id=trigger, view=answer_modal(turn, prompt)))

    async def publish_home(self, address: Address) -> None:
        in_progress = await self.call(self.service.open_survey, address)
        view = home_view(in_progress, self.catalogue.all())
        await self.renderer.call("views.publish", self.renderer.api().views_publish(user_id=address.user, view=view))

    async def care(self, address: Address, press: checkin.Press, key: str, pressed: Drawn | None = None,
                   asked: str = "") -> None:
        """A press on the safeguarding check. The Slack mention is what a clear yes passes to the lead."""
        if pressed is not None and asked:  # the check's buttons go once one is pressed
            await self.renderer.update(pressed, asked, sections(asked))
        async with self.locks.hold(address):
            outcome = await self.call(self.service.care, address, press, f"<@{address.user}> on Slack", key)
            await self.renderer.render(address, outcome)

    async def acknowledge(self, ref: str, channel: str, ts: str, text: str) -> None:
        """Acknowledge pressed on an alert (its words already unformatted): audited once, and the alert then says so."""
        day = await self.call(self.service.acknowledge, ref)
        if day is None or not ts:
            return
        done = f"{text}\n\n{msg.ALERT_ACKED.format(day=f'{day.day} {day:%B %Y}')}"
        await self.renderer.update(Drawn(channel, ts), done, sections(done))

    async def react(self, address: Address, reaction: tuple[int, str], key: str, pressed: Drawn | None = None,
                    reply: str = "") -> None:
        assert self.yousaid is not None
        said = await self.call(self.yousaid.react, address, reaction[0], reaction[1], key)
        if said is None:
            return
        if pressed is not None and reply and said != msg.YOUSAID_NOT_FOR_YOU:  # tick their choice on the buttons
            await self.renderer.update(pressed, reply, reply_blocks(reply, reaction[0], reaction[1]))
        await self.renderer.post(address, said, sections(said))

    def remember_pressed(self, address: Address, body: dict[str, Any], turn: int | None) -> None:
        """A press tells us where the pressed question lives, which we may have forgotten (say, after a restart)."""
        container = body.get("container") or {}
        channel, ts = container.get("channel_id"), container.get("message_ts")
        if not (isinstance(channel, str) and isinstance(ts, str)):
            return
        person = self.person(address)
        if channel.startswith("D"):
            person.dm = channel
        if turn is not None and turn not in person.drawn:
            person.remember(turn, Drawn(channel, ts))
