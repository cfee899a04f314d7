"""The Slack channel: surveys in a person's direct messages with the app, drawn in Block Kit (slack-bolt's AsyncApp).

Thin by design: a Slack payload becomes (Address("slack", team, user), engine event), the service persists it, and the
effects it returns are drawn as Block Kit messages. No survey logic lives here.

- Socket Mode when SLACK_APP_TOKEN is set; otherwise HTTP: events, interactivity and `/survey` all post to
  /slack/events on the bot's own HTTP server, where Bolt verifies every signature (401 for a bad or stale one).
- Acknowledge first, work after: every listener calls `ack()`, hands the work to a task of ours and returns, so Bolt
  may run it before answering (`process_before_response=True`; the other way Bolt starts a task per request and
  polls every 10 ms for the ack). The work runs under a per-person lock so one person's messages go out in the order
  they happened.
- Persist, then send: the service commits (in one database thread, off the event loop) before anything is drawn.
  Each delivery carries a key (the Events API event_id, an action's timestamp, a modal's id, a command's trigger) so
  a redelivery records nothing; buttons carry their turn, so a double click or a press on an old message records
  nothing either.
- Multiple choice is drawn as Block Kit checkboxes. Ticks stay in Slack until the person presses Done, which sends the
  ticked option numbers as one reply stamped with the question's turn: one transaction, and stale if late. With
  nothing ticked it sends Done, and the engine asks for at least one.
- Logs say what happened, never who or what: no user or team ids, names, message text or payloads. Bolt and the SDK
  log through a logger pinned at WARNING, because their debug output contains whole payloads.
"""

from __future__ import annotations

import asyncio
import logging
import re
import traceback
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass, field
from functools import partial
from typing import TYPE_CHECKING, Any, TypeVar

import aiohttp
from aiohttp import web
from slack_bolt.adapter.aiohttp import to_aiohttp_response, to_bolt_request
from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler
from slack_bolt.async_app import AsyncAck, AsyncApp, AsyncBoltContext
from slack_bolt.logger.messages import warning_client_prioritized_and_token_skipped
from slack_bolt.request.async_request import AsyncBoltRequest
from slack_bolt.response import BoltResponse
from slack_sdk.errors import SlackApiError, SlackClientError
from slack_sdk.http_retry.builtin_async_handlers import AsyncRateLimitErrorRetryHandler
from slack_sdk.web.async_client import AsyncWebClient
from slack_sdk.web.async_slack_response import AsyncSlackResponse

from bot.channels import buttons
from bot.channels.port import Address, ChannelError, RateLimited, Unreachable
from bot.channels.reactions import PREFIX as REACTION_PREFIX
from bot.channels.reactions import parse_reaction, reaction_buttons, reaction_data
from bot.channels.text import prompt_text
from bot.config import SettingsError
from bot.engine import conversation as engine
from bot.engine import messages as msg
from bot.engine.conversation import Answered, Ask, Finish, Notice, Prompt, Say, Update
from bot.engine.survey import Survey
from bot.metrics import METRICS
from bot.safeguarding import alerts, checkin
from bot.safeguarding.checkin import CheckIn
from bot.service import Outcome, Shown, SurveyService
from bot.surveyfiles import SurveyCatalogue

if TYPE_CHECKING:
    from bot.app import App
    from bot.chat_admin import ChatAdmin
    from bot.reporting.delivery import Deliverable
    from bot.server import HttpServer
    from bot.yousaid import YouSaid

# --- everything the Slack channel itself says (the rest comes from the engine's messages and the surveys) -------------
COMMAND = "/survey"
HELP = (
    "Here is how the survey bot works:\n"
    "• /survey start CODE  starts the survey with that code\n"
    "• /survey stop  pauses it, keeping your answers so far\n"
    "• /survey resume  carries on where you left off\n"
    "• /survey delete  deletes your answers\n"
    "• /survey stop all  stops survey invitations and reminders\n"
    "• /survey join  shows the groups you can choose, so the right surveys reach you\n"
    "• /survey report|export|evidence SURVEY  (scrutineers and admins) sends you the file here\n"
    "Answer with the buttons, or by typing a message in our chat. Skip leaves a question out, and Back lets you "
    "change your last answer."
)
COMMANDS_HINT = ("In Slack, type /survey stop to pause, /survey resume to carry on, and /survey delete to delete "
                 "your answers.")
START_WHICH = "Which survey would you like? Type /survey start and its code. The codes are: {codes}."
DM_HINT = "I've sent you a direct message. The survey happens there, where only you can see it."
EDIT_HINT = "I can't see changes to a message once it's sent. To change an answer, press ← Back on the question."
FILE_HINT = "I can only read typed answers, so files and pictures aren't saved. Please type your answer instead."
TYPE_HERE = "Type your answer as a message here, or press “Type my answer”."
ANSWER_BUTTON = "Type my answer"
RESUME_BUTTON = "Resume"
START_BUTTON = "Start"
MODAL_TITLE = "Your answer"
MODAL_SUBMIT = "Send"
MODAL_CANCEL = "Cancel"
HOME_TITLE = "Your surveys"
HOME_IN_PROGRESS = "In progress: {title}"
HOME_NONE = "There are no surveys to take just now."

# --- Slack's limits and our bounds ------------------------------------------------------------------------------------
EVENTS_PATH = "/slack/events"
BUTTON_TEXT = 75  # Block Kit: button and option text
SECTION_TEXT = 3000  # Block Kit: section text
TICKS_PER_ELEMENT = 10  # Block Kit: options in one checkboxes element
INPUT_LIMIT = 3000  # Block Kit: plain_text_input max_length
LABEL_TEXT = 2000  # Block Kit: input label
RATE_LIMIT_RETRIES = 3
PEOPLE_KEPT = 10_000  # people whose DM channel and recent questions we remember
TURNS_KEPT = 6  # recent questions remembered per person, to mark them answered
EVENTS_KEPT = 10_000  # recent event ids, to drop redeliveries without touching the database
STOP_GRACE = 10.0  # seconds stop() waits for work in progress
# Service calls run in one thread: one writer at a time. SQLite allows only one (others sleep in its busy handler), and
# on PostgreSQL every answer extends the one audit chain, so concurrent writers conflict, retry and can give up.
# Measured with 50 people at once: one thread does more work per second than six (see bench/slack_bench.py).
UNREACHABLE = frozenset({"user_disabled", "account_inactive", "channel_not_found", "user_not_found", "cannot_dm_bot",
                         "is_archived", "not_in_channel", "user_not_in_channel", "messages_tab_disabled"})

# Our own action ids, beside the shared button data `a:<turn>:...` (bot.channels.buttons).
ANSWER_ACTION = "answer"  # answer:<turn> opens a form for a typed answer
TICK_ACTION = "tick"  # tick:<turn>:<chunk> is a checkboxes element
RESUME_ACTION = "resume"
START_ACTION = "start"  # start:<survey id>, on the Home tab
MODAL_CALLBACK = "answer"
_TURNED = re.compile(r"^(answer|tick):(\d{1,9})(?::\d{1,3})?$")
_STAMP = re.compile(r"^a:(\d{1,9})$")
_TYPED_COMMAND = re.compile(r"^/(?:survey\b\s*)?(\w*)\s*(\S*)$", re.IGNORECASE)

log = logging.getLogger(__name__)
_libraries = logging.getLogger(f"{__name__}.libraries")

Blocks = list[dict[str, Any]]
K = TypeVar("K")
V = TypeVar("V")
T = TypeVar("T")


class _SameTokenNote(logging.Filter):
    """Bolt reads SLACK_BOT_TOKEN from the environment by itself and warns that the client's token wins. It is the
    same token (ours comes through Settings), so the warning would only alarm whoever reads the logs."""

    def filter(self, record: logging.LogRecord) -> bool:
        return record.getMessage() != warning_client_prioritized_and_token_skipped()


class Recent(OrderedDict[K, V]):
    """A map that forgets its least recently used entries beyond `limit`, so memory stays bounded."""

    def __init__(self, limit: int) -> None:
        super().__init__()
        self.limit = limit

    def get_or_make(self, key: K, make: Callable[[], V]) -> V:
        if key in self:
            self.move_to_end(key)
            return self[key]
        value = self[key] = make()
        while len(self) > self.limit:
            self.popitem(last=False)
        return value


@dataclass(frozen=True)
class Drawn:
    """A question message we posted: where it is, so we can mark it answered, and what it asked."""

    channel: str
    ts: str
    prompt: Prompt | None = None


@dataclass
class Person:
    """What the channel remembers about one person, in memory only: their DM channel and their recent questions."""

    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    dm: str | None = None
    drawn: dict[int, Drawn] = field(default_factory=dict)

    def remember(self, turn: int, drawn: Drawn) -> None:
        self.drawn[turn] = drawn
        while len(self.drawn) > TURNS_KEPT:
            del self.drawn[min(self.drawn)]


# --- Block Kit: how prompts and answers look (pure functions) ---------------------------------------------------------

def _plain(text: str, limit: int = SECTION_TEXT) -> dict[str, Any]:
    text = text.strip() or " "
    return {"type": "plain_text", "text": text if len(text) <= limit else text[:limit - 1] + "…", "emoji": True}


def _sections(text: str) -> Blocks:
    """Plain-text sections (no accidental mrkdwn from survey wording), split at line ends to fit Slack's limit."""
    blocks: Blocks = []
    chunk = ""
    for line in text.strip().splitlines():
        while len(line) > SECTION_TEXT:
            if chunk:
                blocks.append({"type": "section", "text": _plain(chunk)})
                chunk = ""
            blocks.append({"type": "section", "text": _plain(line[:SECTION_TEXT])})
            line = line[SECTION_TEXT:]
        if chunk and len(chunk) + 1 + len(line) > SECTION_TEXT:
            blocks.append({"type": "section", "text": _plain(chunk)})
            chunk = ""
        chunk = f"{chunk}\n{line}" if chunk else line
    if chunk or not blocks:
        blocks.append({"type": "section", "text": _plain(chunk)})
    return blocks


def escape(text: str) -> str:
    """Slack's three control characters, for the plain `text` of a message (its notification)."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


_MENTION = re.compile(r"&lt;@([UW][A-Z0-9]{2,20})&gt;")
_MARKUP = re.compile(r"<([@#!])?([^<>|]*)(?:\|([^<>]*))?>")


def unformat(text: str) -> str:
    """A typed message as the person wrote it: Slack's markup undone, and mentions kept without anyone's id."""

    def plain(match: re.Match[str]) -> str:
        sigil, target, label = match[1], match[2], match[3]
        if sigil == "@":
            return f"@{label}" if label else "@someone"
        if sigil == "#":
            return f"#{label}" if label else "#channel"
        if sigil == "!":
            return f"@{(label or target).split('^')[0]}"
        return label or target

    text = _MARKUP.sub(plain, text)
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


def _reply_blocks(text: str, reply_id: int, chosen: str | None = None) -> Blocks:
    """A "we did" reply with its reaction buttons, the person's own choice ticked and highlighted."""
    buttons = [_button(label, reaction_data(reply_id, kind)) | ({"style": "primary"} if kind == chosen else {})
               for kind, label in reaction_buttons(chosen)]
    return [*_sections(text), {"type": "actions", "elements": buttons}]


def _button(label: str, action_id: str, value: str | None = None) -> dict[str, Any]:
    return {"type": "button", "text": _plain(label, BUTTON_TEXT), "action_id": action_id, "value": value or action_id}


def _tick_option(prompt: Prompt, index: int) -> dict[str, Any]:
    return {"text": _plain(prompt.options[index], BUTTON_TEXT), "value": str(index)}


def prompt_blocks(prompt: Prompt) -> Blocks:
    """A question: its words (progress, hint, previous answer), then options as buttons or checkboxes, then Back,
    Skip and Done. A typed question gets a button that opens a form, besides replying in the chat."""
    long_options = any(len(option) > BUTTON_TEXT for option in prompt.options)
    blocks = _sections(prompt_text(prompt, numbered=long_options))
    rows = buttons.keyboard(prompt)
    if prompt.multiple:
        for chunk, start in enumerate(range(0, len(prompt.options), TICKS_PER_ELEMENT)):
            indexes = range(start, min(start + TICKS_PER_ELEMENT, len(prompt.options)))
            element: dict[str, Any] = {
                "type": "checkboxes", "action_id": f"{TICK_ACTION}:{prompt.turn}:{chunk}",
                "options": [_tick_option(prompt, i) for i in indexes],
            }
            ticked = [_tick_option(prompt, i) for i in indexes if i in prompt.selected]
            if ticked:
                element["initial_options"] = ticked
            blocks.append({"type": "actions", "block_id": f"q{prompt.turn}c{chunk}", "elements": [element]})
        rows = [[b for b in row if not isinstance(buttons.decode(b.data), engine.Toggle)] for row in rows]
    if prompt.typed:
        blocks.append({"type": "context", "elements": [_plain(TYPE_HERE)]})
        rows.insert(0, [buttons.Button(ANSWER_BUTTON, f"{ANSWER_ACTION}:{prompt.turn}")])
    for number, row in enumerate(r for r in rows if r):
        blocks.append({"type": "actions", "block_id": f"q{prompt.turn}r{number}",
                       "elements": [_button(b.label, b.data) for b in row]})
    return blocks


def answered_blocks(effect: Answered) -> Blocks:
    """The question as it stays in the chat once answered: its words and the answer, with no buttons left."""
    return [*_sections(effect.question), {"type": "context", "elements": [
        _plain(msg.PREVIOUS_ANSWER.format(answer=effect.answer))]}]


def say_blocks(text: str, survey: Survey | None) -> Blocks:
    """A plain message; the privacy notice gets the Slack commands under it, a pause gets a Resume button."""
    blocks = _sections(text)
    if survey is not None and text == survey.intro:
        blocks.append({"type": "context", "elements": [_plain(COMMANDS_HINT)]})
    if text in (msg.PAUSED, msg.STILL_PAUSED):
        blocks.append({"type": "actions", "elements": [_button(RESUME_BUTTON, RESUME_ACTION)]})
    return blocks


def answer_modal(turn: int, prompt: Prompt | None) -> dict[str, Any]:
    """A form for a typed answer; it carries the question's turn, so a late submission records nothing."""
    element: dict[str, Any] = {"type": "plain_text_input", "action_id": "text", "max_length": INPUT_LIMIT,
                               "multiline": prompt is None or prompt.kind == "text"}
    block: dict[str, Any] = {"type": "input", "block_id": "answer", "element": element,
                             "label": _plain(prompt.text if prompt else MODAL_TITLE, LABEL_TEXT)}
    if prompt is not None and prompt.hint:
        block["hint"] = _plain(prompt.hint, LABEL_TEXT)
    return {"type": "modal", "callback_id": MODAL_CALLBACK, "private_metadata": f"a:{turn}",
            "title": _plain(MODAL_TITLE, 24), "submit": _plain(MODAL_SUBMIT, 24), "close": _plain(MODAL_CANCEL, 24),
            "blocks": [block]}


def home_view(in_progress: Survey | None, surveys: list[Survey]) -> dict[str, Any]:
    """The App Home tab: the survey in progress with Resume, the others with Start, and how the commands work."""
    blocks: Blocks = [{"type": "header", "text": _plain(HOME_TITLE, 150)}]
    if in_progress is not None:
        blocks.append({"type": "section", "text": _plain(HOME_IN_PROGRESS.format(title=in_progress.title)),
                       "accessory": _button(RESUME_BUTTON, RESUME_ACTION)})
    others = [s for s in surveys if in_progress is None or s.id != in_progress.id]
    for survey in others:
        blocks.append({"type": "section", "text": _plain(survey.title),
                       "accessory": {**_button(START_BUTTON, f"{START_ACTION}:{survey.id}", survey.id),
                                     "style": "primary"}})
    if in_progress is None and not others:
        blocks.append({"type": "section", "text": _plain(HOME_NONE)})
    blocks.extend([{"type": "divider"}, {"type": "context", "elements": [_plain(HELP)]}])
    return {"type": "home", "blocks": blocks}


def ticked(body: dict[str, Any], turn: int) -> set[int] | None:
    """The options ticked on the question drawn for `turn`, as Slack sends them with a button press (`state.values`);
    None when the press carried no checkboxes for that turn."""
    prefix = f"{TICK_ACTION}:{turn}:"
    found: set[int] | None = None
    for block in (body.get("state") or {}).get("values", {}).values():
        for action_id, value in (block or {}).items() if isinstance(block, dict) else ():
            if str(action_id).startswith(prefix) and isinstance(value, dict):
                found = (found or set()) | _indexes(value.get("selected_options"))
    return found


def drawn_ticks(body: dict[str, Any], turn: int) -> set[int]:
    """The options that were ticked when the question for `turn` was drawn (going back shows the earlier answer)."""
    prefix = f"{TICK_ACTION}:{turn}:"
    found: set[int] = set()
    for block in (body.get("message") or {}).get("blocks", []):
        for element in block.get("elements", []) if isinstance(block, dict) else ():
            if isinstance(element, dict) and str(element.get("action_id", "")).startswith(prefix):
                found |= _indexes(element.get("initial_options"))
    return found


def _indexes(options: object) -> set[int]:
    if not isinstance(options, list):
        return set()
    values = (o.get("value") for o in options if isinstance(o, dict))
    return {int(v) for v in values if isinstance(v, str) and v.isdigit() and len(v) <= 3}


# --- the channel ------------------------------------------------------------------------------------------------------

class SlackChannel:
    """One Slack workspace's app, running over Socket Mode or on the shared HTTP server."""

    name = "slack"

    def __init__(self, service: SurveyService, catalogue: SurveyCatalogue, *, bot_token: str,
                 app_token: str | None = None, signing_secret: str | None = None,
                 api_url: str = "https://slack.com/api/") -> None:
        self.service = service
        self.catalogue = catalogue
        self._bot_token = bot_token
        self._app_token = app_token
        self._signing_secret = signing_secret
        self.api_url = api_url if api_url.endswith("/") else api_url + "/"  # the SDK joins method names onto it
        self.mode = "socket" if app_token else "http"
        self.client: AsyncWebClient | None = None
        self.bolt: AsyncApp | None = None
        self._session: aiohttp.ClientSession | None = None
        self._socket: AsyncSocketModeHandler | None = None
        self._people: Recent[Address, Person] = Recent(PEOPLE_KEPT)
        self._seen_events: Recent[str, bool] = Recent(EVENTS_KEPT)
        self._tasks: set[asyncio.Task[None]] = set()
        self._closing = False
        self.admin: ChatAdmin | None = None  # campaign commands for admins and scrutineers (set by from_app)
        self.join_tags: tuple[str, ...] = ()  # the groups people may choose with /survey join (set by from_app)
        self.reports: Callable[[Address, str], Deliverable | str] | None = None  # /survey report|export|evidence
        self.report_commands: frozenset[str] = frozenset()
        self.yousaid: YouSaid | None = None  # reactions to "we did" replies (set by from_app)
        self.alert_channel: str | None = None  # the safeguarding lead's private channel (set by from_app)

    @classmethod
    def from_app(cls, app: App) -> SlackChannel:
        settings = app.settings
        if not (settings.slack_app_token or settings.slack_signing_secret):
            raise SettingsError("SLACK_BOT_TOKEN is set, but Slack also needs SLACK_APP_TOKEN (Socket Mode) or "
                                "SLACK_SIGNING_SECRET (HTTP at /slack/events); see the Slack section of the README")
        if not (settings.slack_bot_token or "").startswith("xoxb-"):
            raise SettingsError("SLACK_BOT_TOKEN should be the app's bot token, starting xoxb-")
        if settings.slack_app_token and not settings.slack_app_token.startswith("xapp-"):
            raise SettingsError("SLACK_APP_TOKEN should be an app-level token starting xapp- (with connections:write)")
        if not settings.slack_api_url.startswith(("https://", "http://")):
            raise SettingsError("SLACK_API_URL should be an http(s) URL, such as https://slack.com/api/")
        channel = cls(app.service, app.catalogue, bot_token=settings.slack_bot_token or "",
                      app_token=settings.slack_app_token, signing_secret=settings.slack_signing_secret,
                      api_url=settings.slack_api_url)
        from bot.chat_admin import ChatAdmin  # the admin side needs the whole app; respondents never do

        channel.admin = ChatAdmin(app)
        channel.yousaid = channel.admin.yousaid
        channel.join_tags = settings.join_tags
        from bot.reporting.delivery import COMMANDS, respond  # reporting reads storage; the channel itself does not

        channel.reports, channel.report_commands = partial(respond, app), COMMANDS
        if settings.safeguarding_slack_channel is not None:
            channel.alert_channel = settings.safeguarding_slack_channel
            app.service.alerts.add(channel, settings.safeguarding_slack_channel)
        return channel

    # --- lifecycle ----------------------------------------------------------------------------------------------------
    async def start(self, server: HttpServer) -> None:
        self._closing = False
        _libraries.setLevel(max(_libraries.getEffectiveLevel(), logging.WARNING))
        if not any(isinstance(f, _SameTokenNote) for f in _libraries.filters):
            _libraries.addFilter(_SameTokenNote())
        self._session = aiohttp.ClientSession()  # one pool of connections to the Web API for every call
        self.client = AsyncWebClient(self._bot_token, base_url=self.api_url, session=self._session, logger=_libraries)
        self.client.retry_handlers.append(AsyncRateLimitErrorRetryHandler(max_retry_count=RATE_LIMIT_RETRIES))
        try:
            await self._check_token()
            self.bolt = self._bolt(self.client)
            if self._app_token:
                self._socket = AsyncSocketModeHandler(self.bolt, self._app_token, logger=_libraries)
                await self._socket.connect_async()
                server.add_check("slack", self._connected)
            else:
                server.add_route("POST", EVENTS_PATH, self._http)
                server.add_check("slack", self._connected)
        except BaseException:
            await self._session.close()
            raise
        log.info("Slack channel started (%s)", "Socket Mode" if self._app_token else f"HTTP at {EVENTS_PATH}")

    async def stop(self) -> None:
        """Stop taking updates, let work in progress finish (bounded), then close connections."""
        self._closing = True
        if self._socket is not None:
            await self._socket.close_async()
            self._socket = None
        if self._tasks:
            await asyncio.wait(set(self._tasks), timeout=STOP_GRACE)
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def _check_token(self) -> None:
        """Fail at start, with one clear line, rather than on the first person's message."""
        assert self.client is not None
        try:
            await self.client.auth_test()
        except SlackApiError as exc:
            raise SettingsError(f"Slack refused SLACK_BOT_TOKEN ({exc.response.get('error', 'error')})") from None
        except (SlackClientError, aiohttp.ClientError, TimeoutError) as exc:
            raise SettingsError(f"cannot reach the Slack Web API at {self.api_url} ({type(exc).__name__})") from None

    def _connected(self) -> bool:
        if self._app_token is None:  # HTTP mode: connected once the token checked out at start, until stopped
            return self.client is not None and self._session is not None and not self._session.closed
        client = self._socket.client if self._socket else None
        session = client.current_session if client else None
        return bool(client and not client.closed and session is not None and not session.closed)

    def _bolt(self, client: AsyncWebClient) -> AsyncApp:
        app = AsyncApp(client=client, signing_secret=self._signing_secret or "", process_before_response=True,
                       request_verification_enabled=not self._app_token, logger=_libraries, name="surveybot")
        app.middleware(self._drop_redeliveries)
        app.event("message")(self._on_message)
        app.event("app_home_opened")(self._on_home_opened)
        app.action(re.compile(r"^a:"))(self._on_button)
        app.action(re.compile(rf"^{checkin.PREFIX}"))(self._on_care)
        app.action(re.compile(rf"^{alerts.ACK_PREFIX}"))(self._on_acknowledge)
        app.action(re.compile(rf"^{TICK_ACTION}:"))(self._on_tick)
        app.action(re.compile(rf"^{ANSWER_ACTION}:"))(self._on_answer_button)
        app.action(RESUME_ACTION)(self._on_resume_button)
        app.action(re.compile(rf"^{START_ACTION}:"))(self._on_start_button)
        app.action(re.compile(rf"^{REACTION_PREFIX}:"))(self._on_reaction)
        app.action(re.compile(r".*"))(self._on_unknown_action)
        app.view(MODAL_CALLBACK)(self._on_modal)
        app.command(COMMAND)(self._on_command)
        return app

    async def _http(self, request: web.Request) -> web.StreamResponse:
        if self._closing or self.bolt is None:
            return web.Response(status=503, text="shutting down")  # Slack delivers it again later
        stamp = request.headers.get("X-Slack-Request-Timestamp", "")
        # Bolt's check would raise TypeError on a non-ASCII signature, and log a traceback (an ERROR) for a timestamp
        # that is not a number: both are simply unsigned requests
        if not request.headers.get("X-Slack-Signature", "").isascii() or not (
                stamp.isascii() and stamp.isdigit() and len(stamp) <= 12):
            log.warning("rejected a Slack request with a bad or stale signature")
            self.service.refused("slack-signature")
            return web.Response(status=401)
        try:
            bolt_request = await to_bolt_request(request)
        except UnicodeDecodeError:
            log.warning("rejected a Slack request whose body is not text")
            return web.Response(status=400)
        except (ValueError, TypeError, AttributeError, KeyError, IndexError):
            # Bolt reads the body before it checks the signature, and trips on JSON that is not an object ("null",
            # a list): not Slack's, so a plain 400 rather than a 500 and a traceback in the log for anyone to cause
            log.warning("rejected a Slack request whose body is not a Slack payload")
            return web.Response(status=400)
        response = await self.bolt.async_dispatch(bolt_request)
        if response.status == 401:
            log.warning("rejected a Slack request with a bad or stale signature")
            self.service.refused("slack-signature")
        elif response.status >= 500:
            # every listener acknowledges first and works in a task, so a 5xx here means Bolt's own middleware could
            # not read a (signed) payload of an unexpected shape: a retry would fail the same way
            log.warning("rejected a Slack payload of a shape Bolt cannot handle")
            return web.Response(status=400)
        return await to_aiohttp_response(response)

    # --- Bolt middleware and listeners: acknowledge, then hand the work to a task -------------------------------------
    async def _drop_redeliveries(self, req: AsyncBoltRequest, body: dict[str, Any],
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

    async def _on_message(self, body: dict[str, Any], event: dict[str, Any], context: AsyncBoltContext) -> None:
        address = self._address(context)
        if event.get("channel_type") != "im":
            log.info("ignored a message outside a direct message")
            return
        inner = event.get("message") if isinstance(event.get("message"), dict) else {}
        if event.get("bot_id") or event.get("subtype") == "bot_message" or inner.get("bot_id"):
            log.info("ignored a message from a bot")
            return
        if address is None:
            return
        subtype = event.get("subtype")
        channel = str(event.get("channel") or "")
        if subtype == "message_changed" and inner.get("edited"):  # not a link preview Slack added
            log.info("answered an edited message with a hint")
            self._spawn("an edited message", self._hint(address, channel, EDIT_HINT))
        elif subtype == "file_share" or event.get("files"):
            log.info("answered a file upload with a hint")
            self._spawn("a file upload", self._hint(address, channel, FILE_HINT))
        elif subtype is not None:
            log.debug("ignored a message event of another kind")
        else:
            text = unformat(str(event.get("text") or ""))
            if text.strip():
                key = f"event:{body.get('event_id') or event.get('ts')}"
                self._spawn("a message", self._typed(address, channel, text, key))

    async def _on_home_opened(self, event: dict[str, Any], context: AsyncBoltContext) -> None:
        address = self._address(context)
        if address is None:
            return
        channel = str(event.get("channel") or "")
        if channel.startswith("D"):
            self._person(address).dm = channel  # the app's DM with this person
        self._spawn("a new contact", self._service(self.service.register, address))  # campaigns can reach them
        if event.get("tab") == "home":
            self._spawn("the Home tab", self._publish_home(address))

    async def _on_button(self, ack: AsyncAck, body: dict[str, Any], action: dict[str, Any],
                         context: AsyncBoltContext) -> None:
        await ack()
        address = self._address(context)
        event = buttons.decode(str(action.get("value") or action.get("action_id") or ""))
        if address is None or event is None:
            log.info("ignored a button press that is not one of ours")
            return
        if isinstance(event, engine.Done):
            event = self._submitted(body, event.turn)
        self._remember_pressed(address, body, getattr(event, "turn", None))
        self._spawn("a button press", self._act(address, event, self._action_key(address, action)))

    async def _on_care(self, ack: AsyncAck, body: dict[str, Any], action: dict[str, Any],
                       context: AsyncBoltContext) -> None:
        """A button of the safeguarding check. The Slack mention is what a clear yes passes to the lead."""
        await ack()
        address = self._address(context)
        press = checkin.decode(str(action.get("value") or ""))
        if address is None or press is None:
            log.info("ignored a check button that is not one of ours")
            return
        message = body.get("message") or {}
        channel = str((body.get("container") or {}).get("channel_id") or "")
        pressed = Drawn(channel, str(message.get("ts") or "")) if channel and message.get("ts") else None
        self._spawn("a check button", self._care(address, press, self._action_key(address, action), pressed,
                                                 unformat(str(message.get("text") or ""))))

    async def _care(self, address: Address, press: checkin.Press, key: str, pressed: Drawn | None = None,
                    asked: str = "") -> None:
        if pressed is not None and asked:  # the check's buttons go once one is pressed
            await self._update(pressed, asked, _sections(asked))
        async with self._person(address).lock:
            outcome = await self._service(self.service.care, address, press, f"<@{address.user}> on Slack", key)
            await self._render(address, outcome)

    async def _on_acknowledge(self, ack: AsyncAck, body: dict[str, Any], action: dict[str, Any]) -> None:
        """Acknowledge pressed on an alert in the lead's channel: audited once, and the alert then says so."""
        await ack()
        ref = alerts.ack_ref(str(action.get("value") or ""))
        channel = str((body.get("channel") or {}).get("id") or (body.get("container") or {}).get("channel_id") or "")
        message = body.get("message") or {}
        if ref is None or channel != self.alert_channel:
            log.info("ignored an Acknowledge press outside the alert channel")
            return
        self._spawn("an acknowledgement", self._acknowledge(ref, channel, str(message.get("ts") or ""),
                                                            str(message.get("text") or "")))

    async def _acknowledge(self, ref: str, channel: str, ts: str, text: str) -> None:
        day = await self._service(self.service.acknowledge, ref)
        if day is None or not ts:
            return
        done = f"{unformat(text)}\n\n{msg.ALERT_ACKED.format(day=f'{day.day} {day:%B %Y}')}"
        await self._call("chat.update", self._api().chat_update(channel=channel, ts=ts, text=escape(done),
                                                                blocks=_sections(done)))

    async def post_alert(self, target: str, text: str, ack_label: str, ack_data: str) -> bool:
        """A safeguarding alert in the lead's private channel, with an Acknowledge button."""
        shown = _MENTION.sub(r"<@\1>", escape(text))[:SECTION_TEXT]  # only a mention is live: the lead can open it
        blocks = [{"type": "section", "text": {"type": "mrkdwn", "text": shown}},
                  {"type": "actions", "elements": [_button(ack_label, ack_data)]}]
        response = await self._call("chat.postMessage", self._api().chat_postMessage(
            channel=target, text=shown, blocks=blocks, unfurl_links=False, unfurl_media=False))
        return bool(response.get("ok", True))

    async def _on_tick(self, ack: AsyncAck) -> None:
        await ack()  # ticks stay in Slack until Done is pressed

    async def _on_answer_button(self, ack: AsyncAck, body: dict[str, Any], action: dict[str, Any],
                                context: AsyncBoltContext) -> None:
        await ack()
        address = self._address(context)
        match = _TURNED.match(str(action.get("action_id") or ""))
        trigger = body.get("trigger_id")
        if address is None or match is None or not isinstance(trigger, str):
            return
        turn = int(match[2])
        self._remember_pressed(address, body, turn)
        drawn = self._person(address).drawn.get(turn)
        self._spawn("a request for the answer form", self._open_form(trigger, turn, drawn.prompt if drawn else None))

    async def _on_resume_button(self, ack: AsyncAck, body: dict[str, Any], action: dict[str, Any],
                                context: AsyncBoltContext) -> None:
        await ack()
        address = self._address(context)
        if address is not None:
            home = (body.get("container") or {}).get("type") == "view"
            self._spawn("a press on Resume", self._act(address, engine.Resume(), self._action_key(address, action),
                                                       refresh_home=home))

    async def _on_start_button(self, ack: AsyncAck, action: dict[str, Any], context: AsyncBoltContext) -> None:
        await ack()
        address = self._address(context)
        survey_id = str(action.get("value") or "")
        if address is not None and survey_id:
            self._spawn("a press on Start", self._begin(address, survey_id, self._action_key(address, action),
                                                        refresh_home=True))

    async def _on_reaction(self, ack: AsyncAck, body: dict[str, Any], action: dict[str, Any],
                           context: AsyncBoltContext) -> None:
        """A press on "this helps / not really / tell me more" under a "we did" reply."""
        await ack()
        address = self._address(context)
        reaction = parse_reaction(str(action.get("action_id") or ""))
        message = body.get("message") or {}
        channel = str((body.get("container") or {}).get("channel_id") or "")
        pressed = Drawn(channel, str(message.get("ts") or "")) if channel and message.get("ts") else None
        if address is not None and reaction is not None and self.yousaid is not None:
            self._spawn("a reaction", self._react(address, reaction, self._action_key(address, action), pressed,
                                                  unformat(str(message.get("text") or ""))))

    async def _react(self, address: Address, reaction: tuple[int, str], key: str, pressed: Drawn | None = None,
                     reply: str = "") -> None:
        assert self.yousaid is not None
        said = await self._service(self.yousaid.react, address, reaction[0], reaction[1], key)
        if said is None:
            return
        if pressed is not None and reply and said != msg.YOUSAID_NOT_FOR_YOU:  # tick their choice on the buttons
            await self._update(pressed, reply, _reply_blocks(reply, reaction[0], reaction[1]))
        await self._post(address, said, _sections(said))

    async def _on_unknown_action(self, ack: AsyncAck) -> None:
        await ack()
        log.info("ignored an action that is not one of ours")

    async def _on_modal(self, ack: AsyncAck, view: dict[str, Any], context: AsyncBoltContext) -> None:
        await ack()  # closes the form; the answer (or a kind re-ask) arrives in the chat
        address = self._address(context)
        stamp = _STAMP.match(str(view.get("private_metadata") or ""))
        value = ((view.get("state") or {}).get("values", {}).get("answer", {}).get("text", {}) or {}).get("value")
        if address is None or stamp is None:
            log.info("ignored a form that is not one of ours")
            return
        event = engine.Reply(str(value or ""), turn=int(stamp[1]))
        self._spawn("a submitted form", self._act(address, event, f"view:{view.get('id')}"))

    async def _on_command(self, ack: AsyncAck, command: dict[str, Any], context: AsyncBoltContext) -> None:
        words = str(command.get("text") or "").split()
        verb = words[0].lower() if words else "help"
        address = self._address(context)
        if verb == "stop" and len(words) > 1 and words[1].lower() == "all":
            verb = "unsubscribe"
        if address is not None and self.reports is not None and verb in self.report_commands:
            await ack()
            self._spawn(f"/survey {verb}", self._deliver(address, " ".join(words)))
            return
        if address is not None and verb == "join":
            await ack()
            self._spawn("/survey join", self._join(address, words[1:]))
            return
        if address is not None and self.admin is not None and self.admin.handles(verb):
            await ack()
            self._spawn(f"/survey {verb}", self._admin(address, words))
            return
        if address is None or verb not in ("start", "stop", "resume", "delete", "unsubscribe"):
            await ack(HELP)
            return
        if verb == "start" and len(words) < 2:
            await ack(START_WHICH.format(codes=", ".join(self.catalogue.ids())))
            return
        if str(command.get("channel_id") or "").startswith("D"):
            await ack()
        else:
            await ack(DM_HINT)  # typed in a channel: only this person sees the hint
        key = f"command:{command.get('trigger_id')}"
        if verb == "start":
            self._spawn("/survey start", self._begin(address, words[1].lower(), key))
        else:
            self._spawn(f"/survey {verb}", self._command(address, verb, key))

    # --- the work, after the ack --------------------------------------------------------------------------------------
    def _spawn(self, what: str, work: Coroutine[Any, Any, None]) -> None:
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
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _service(self, call: Callable[..., T], *args: Any) -> T:
        """Persist, then send: the service's transaction runs in its database thread, off the event loop. The use
        case goes as it is, not wrapped, so the service can commit a survey step together with others waiting."""
        return await self.service.call(call, *args)

    async def _typed(self, address: Address, channel: str, text: str, key: str) -> None:
        person = self._person(address)
        if channel.startswith("D"):
            person.dm = channel
        match = _TYPED_COMMAND.match(text.strip())
        if match is None:
            await self._act(address, engine.Reply(text), key)
            return
        verb, code = match[1].lower(), match[2].lower()  # a command typed as a message (Slack lets " /stop" through)
        if verb == "start" and code:
            await self._begin(address, code, key)
        elif verb in ("stop", "resume", "delete") and not code:
            await self._command(address, verb, key)
        else:
            await self._post(address, HELP, _sections(HELP))

    async def _act(self, address: Address, event: engine.Event, key: str | None, refresh_home: bool = False) -> None:
        async with self._person(address).lock:
            await self._render(address, await self._outcome(address, event, key))
        if refresh_home:
            await self._publish_home(address)

    async def _outcome(self, address: Address, event: engine.Event, key: str | None) -> Outcome:
        """The service's answer to what someone did. Typed words go as one reply (the safeguarding check, then an
        answer or feedback: one trip to the database thread); words stamped with a question's turn (the ticks sent
        with Done, a form) are that question's answer, so a late one is stale."""
        if not isinstance(event, engine.Reply):
            return await self._service(self.service.handle, address, event, key)
        return await self._service(self.service.reply, address, event.text, key, event.turn)

    async def _begin(self, address: Address, survey_id: str, key: str, refresh_home: bool = False) -> None:
        async with self._person(address).lock:
            outcome = await self._service(self.service.begin, address, survey_id, None, key)
            await self._render(address, outcome)
        if refresh_home:
            await self._publish_home(address)

    async def _command(self, address: Address, verb: str, key: str) -> None:
        if verb in ("delete", "unsubscribe"):
            use_case = self.service.erase if verb == "delete" else self.service.opt_out
            async with self._person(address).lock:
                await self._render(address, await self._service(use_case, address))
            return
        event: engine.Event = engine.Stop() if verb == "stop" else engine.Resume()
        await self._act(address, event, key)

    async def _deliver(self, address: Address, request: str) -> None:
        """A report, export or evidence pack as a file in the person's DM, or a plain reply (no role, no survey...)."""
        assert self.reports is not None
        made = await self._service(self.reports, address, request)
        if isinstance(made, str):
            await self._post(address, made, _sections(made))
            return
        channel = await self._dm(address)
        await self._call("files.uploadV2", self._api().files_upload_v2(
            channel=channel, content=made.data, filename=made.filename, title=made.filename,
            initial_comment=made.caption))

    async def _join(self, address: Address, words: list[str]) -> None:
        example = f"/survey join {self.join_tags[0]}" if self.join_tags else "/survey join"
        outcome = await self._service(self.service.join, address, words, self.join_tags, example)
        await self._render(address, outcome)

    async def _admin(self, address: Address, words: list[str]) -> None:
        """A campaign command: the reply goes to the person's DM with the app, never to a channel."""
        assert self.admin is not None
        reply = await self._service(self.admin.run, address, words)
        await self._post(address, reply, _sections(reply))

    async def _hint(self, address: Address, channel: str, text: str) -> None:
        if channel.startswith("D"):
            self._person(address).dm = channel
        await self._post(address, text, _sections(text))

    async def _open_form(self, trigger: str, turn: int, prompt: Prompt | None) -> None:
        await self._call("views.open", self._api().views_open(trigger_id=trigger, view=answer_modal(turn, prompt)))

    async def _publish_home(self, address: Address) -> None:
        in_progress = await self._service(self.service.open_survey, address)
        view = home_view(in_progress, self.catalogue.all())
        await self._call("views.publish", self._api().views_publish(user_id=address.user, view=view))

    # --- drawing effects ----------------------------------------------------------------------------------------------
    async def _render(self, address: Address, outcome: Outcome) -> None:
        if outcome.duplicate:
            log.info("skipped a Slack update that was already handled")
            return
        person = self._person(address)
        said = {e.text for e in outcome.effects if isinstance(e, Say)}
        # Redrawing a question already in the chat (marking it answered) and posting what comes next are independent
        # Web API calls, so they go out side by side; each kind keeps its own order.
        redraws: list[Shown] = []
        rest: list[Shown] = []
        for effect in outcome.effects:
            turn = effect.turn if isinstance(effect, Answered) else (
                effect.prompt.turn if isinstance(effect, Update) else None)
            (redraws if turn is not None and turn in person.drawn else rest).append(effect)
        done = await asyncio.gather(*(self._draw_all(address, person, effects, outcome.survey, said)
                                      for effects in (redraws, rest) if effects), return_exceptions=True)
        for failed in done:
            if isinstance(failed, BaseException):
                raise failed
        if any(isinstance(e, Finish) for e in outcome.effects):
            person.drawn.clear()
        self.service.delivered(outcome)  # all sent: its pending reply can go (bot.pending)

    async def resend(self, address: Address, outcome: Outcome) -> None:
        """What a step committed before a stop still owed this person (bot.pending)."""
        async with self._person(address).lock:  # after any action of theirs being handled: it may have moved on
            if await self.service.call(self.service.still_owed, outcome):
                await self._render(address, outcome)

    async def _draw_all(self, address: Address, person: Person, effects: list[Shown], survey: Survey | None,
                        said: set[str]) -> None:
        for effect in effects:
            await self._draw(address, person, effect, survey, said)

    async def _draw(self, address: Address, person: Person, effect: Shown, survey: Survey | None,
                    said: set[str]) -> None:
        if isinstance(effect, CheckIn):
            elements = [_button(choice.label, choice.data) for choice in effect.choices]
            await self._post(address, effect.text, [*_sections(effect.text), {"type": "actions", "elements": elements}])
        elif isinstance(effect, Ask):
            prompt = effect.prompt
            posted = await self._post(address, prompt_text(prompt), prompt_blocks(prompt))
            person.remember(prompt.turn, Drawn(posted["channel"], posted["ts"], prompt))
        elif isinstance(effect, Update):
            drawn = person.drawn.get(effect.prompt.turn)
            if drawn is not None:
                await self._update(drawn, prompt_text(effect.prompt), prompt_blocks(effect.prompt))
                person.remember(effect.prompt.turn, Drawn(drawn.channel, drawn.ts, effect.prompt))
        elif isinstance(effect, Answered):
            drawn = person.drawn.get(effect.turn)
            if drawn is None:
                log.debug("could not mark a question answered: its message is not remembered (after a restart)")
                return
            text = f"{effect.question}\n{msg.PREVIOUS_ANSWER.format(answer=effect.answer)}"
            await self._update(drawn, text, answered_blocks(effect))
        elif isinstance(effect, Say):
            await self._post(address, effect.text, say_blocks(effect.text, survey))
        elif isinstance(effect, Notice) and effect.text not in said:
            channel = await self._dm(address)
            await self._call("chat.postEphemeral", self._api().chat_postEphemeral(
                channel=channel, user=address.user, text=escape(effect.text)))

    async def invite(self, address: Address, text: str, code: str) -> None:
        """An invitation or reminder in the person's DM, with the Start button the Home tab uses."""
        blocks = [*_sections(text), {"type": "actions", "elements": [
            _button(START_BUTTON, f"{START_ACTION}:{code}", code)]}]
        await self._post(address, text, blocks)

    async def announce(self, address: Address, text: str, reply_id: int) -> None:
        """A "we did" reply in the person's DM, with its three reaction buttons."""
        await self._post(address, text, _reply_blocks(text, reply_id))

    async def _post(self, address: Address, text: str, blocks: Blocks) -> dict[str, Any]:
        channel = await self._dm(address)
        response = await self._call("chat.postMessage", self._api().chat_postMessage(
            channel=channel, text=escape(text), blocks=blocks, unfurl_links=False, unfurl_media=False))
        return {"channel": str(response.get("channel") or channel), "ts": str(response.get("ts") or "")}

    async def _update(self, drawn: Drawn, text: str, blocks: Blocks) -> None:
        await self._call("chat.update", self._api().chat_update(
            channel=drawn.channel, ts=drawn.ts, text=escape(text), blocks=blocks))

    async def _dm(self, address: Address) -> str:
        """The person's DM channel with the app, opened once and then remembered (conversations.open is Tier 3)."""
        person = self._person(address)
        if person.dm is None:
            response = await self._call("conversations.open", self._api().conversations_open(users=address.user))
            person.dm = str((response.get("channel") or {}).get("id") or "")
            if not person.dm:
                raise ChannelError("conversations.open returned no channel")
        return person.dm

    async def _call(self, method: str, call: Awaitable[AsyncSlackResponse]) -> AsyncSlackResponse:
        """One Web API call; slack_sdk errors become the port's neutral errors (429s were retried already)."""
        try:
            return await call
        except SlackApiError as exc:
            error = str(exc.response.get("error") or "") if exc.response is not None else ""
            if exc.response is not None and exc.response.status_code == 429:
                METRICS.throttled.labels(self.name).inc()
                raise RateLimited(_retry_after(exc.response.headers)) from None
            if error in UNREACHABLE:
                raise Unreachable(f"{method}: {error}") from None
            raise ChannelError(f"{method}: {error or 'failed'}") from None
        except (SlackClientError, aiohttp.ClientError, TimeoutError) as exc:
            raise ChannelError(f"{method}: cannot reach the Slack Web API ({type(exc).__name__})") from None

    # --- small translations -------------------------------------------------------------------------------------------
    def _api(self) -> AsyncWebClient:
        if self.client is None:
            raise ChannelError("the Slack channel is not started")
        return self.client

    def _person(self, address: Address) -> Person:
        return self._people.get_or_make(address, Person)

    @staticmethod
    def _address(context: AsyncBoltContext) -> Address | None:
        team = context.team_id or context.enterprise_id
        user = context.user_id
        return Address("slack", team, user) if team and user else None

    @staticmethod
    def _action_key(address: Address, action: dict[str, Any]) -> str:
        """Stable for one delivery of one press (a redelivery repeats it), different for a second click."""
        return f"action:{address.workspace}:{address.user}:{action.get('action_ts')}:{action.get('action_id')}"

    @staticmethod
    def _submitted(body: dict[str, Any], turn: int) -> engine.Event:
        """Done on a multiple-choice question: the ticked option numbers, as one reply stamped with the question's
        turn. With nothing ticked: Done, so the engine asks for at least one; but when the question was drawn with
        earlier ticks (after Back) and they were all taken off, an empty reply, so the engine re-asks rather than
        keeping the earlier answer."""
        chosen = ticked(body, turn)
        if chosen is None:
            chosen = drawn_ticks(body, turn)
        if chosen:
            return engine.Reply(", ".join(str(i + 1) for i in sorted(chosen)), turn=turn)
        return engine.Reply("", turn=turn) if drawn_ticks(body, turn) else engine.Done(turn)

    def _remember_pressed(self, address: Address, body: dict[str, Any], turn: int | None) -> None:
        """A press tells us where the pressed question lives, which we may have forgotten (say, after a restart)."""
        container = body.get("container") or {}
        channel, ts = container.get("channel_id"), container.get("message_ts")
        if not (isinstance(channel, str) and isinstance(ts, str)):
            return
        person = self._person(address)
        if channel.startswith("D"):
            person.dm = channel
        if turn is not None and turn not in person.drawn:
            person.remember(turn, Drawn(channel, ts))


def _retry_after(headers: Any) -> float:
    value = (headers or {}).get("Retry-After") or (headers or {}).get("retry-after") or 1
    if isinstance(value, list):
        value = value[0] if value else 1
    try:
        return float(value)
    except (TypeError, ValueError):
        return 1.0
