"""A fake Slack platform (Web API, signed HTTP requests, Socket Mode) served on 127.0.0.1.

Why: the bot must be exercised through the real slack_bolt / slack_sdk code paths, offline and
deterministically, including faults (rate limits, deactivated users) that real Slack won't produce on cue.

Rate limits: with ``enforce_limits=True`` (``--enforce-limits`` when run as a process) the fake answers 429 with a
Retry-After header, as Slack does, beyond the limits Slack documents for the methods named in TIERS
(conversations.open and chat.update are Tier 3: 50 a minute) and for chat.postMessage (one a second per channel,
with a short burst, and a workspace-wide limit, `posts_per_minute`, for which Slack gives no figure: 300 unless
told). Each limit is counted over a sliding window of its own length, and ``throttled`` counts the calls it refused.

Point the SDK at it with ``AsyncWebClient(token, base_url=fake.api_url)`` (= ``fake.base_url + "/api/"``):
slack_sdk builds URLs with ``urljoin(base_url, method)``, so the trailing slash is required. Socket Mode
needs no extra setting: the handler calls ``apps.connections.open`` through that same client and connects
to the ``ws://`` URL the fake returns.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import contextlib
import itertools
import json
import math
import signal
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any, Literal, TypeVar
from urllib.parse import urlencode

import aiohttp
from aiohttp import WSCloseCode, WSMsgType, web
from slack_sdk.signature import SignatureVerifier

TEAM_ID = "T0FAKE"
TEAM_NAME = "Fake Partnership"
APP_ID = "A0FAKE"
BOT_USER_ID = "U0BOT"
BOT_ID = "B0BOT"
HOOK_URL = "https://hooks.slack.invalid/fake"  # never reachable: pass fake.response_url() to capture posts
JSON_FIELDS = frozenset({"blocks", "attachments", "view", "files", "metadata"})
# Slack's rate-limit tiers: calls a minute for each method of that tier (per app, per workspace)
TIER_PER_MINUTE = {1: 1, 2: 20, 3: 50, 4: 100}
TIERS = {"conversations.open": 3, "chat.update": 3}  # the tier each method's reference page gives, where enforced
POSTS_PER_MINUTE = 300  # chat.postMessage, workspace-wide
CHANNEL_BURST = 3  # chat.postMessage, per channel: one a second, and a burst of up to this many within 3 seconds
Forge = Literal["wrong_secret", "stale"]
Payload = dict[str, Any]
T = TypeVar("T")
_serial = itertools.count(1)


def _new_id(prefix: str) -> str:
    return f"{prefix}{next(_serial):08d}"


def _now_ts() -> str:
    return f"{time.time():.6f}"


# ---------------------------------------------------------------- payload builders (HTTP and Socket Mode)


def im_message(user: str, text: str, channel: str, *, ts: str | None = None) -> Payload:
    """A ``message.im`` event: what a respondent typing in the bot's DM produces."""
    ts = ts or _now_ts()
    return {"type": "message", "channel_type": "im", "channel": channel, "user": user, "text": text,
            "ts": ts, "event_ts": ts, "team": TEAM_ID}


def bot_message(bot_id: str, text: str, channel: str, *, user: str | None = None) -> Payload:
    """A DM message posted by an app (has ``bot_id``); bots must not answer these or they loop."""
    return {**im_message(user or f"U{bot_id}", text, channel), "bot_id": bot_id, "app_id": f"A{bot_id}",
            "bot_profile": {"id": bot_id, "name": "other-bot", "app_id": f"A{bot_id}"}}


def edited_message(user: str, channel: str, ts: str, new_text: str, old_text: str = "") -> Payload:
    """A ``message_changed`` event: the user edited an earlier answer (arrives with ``hidden``)."""
    now = _now_ts()
    return {"type": "message", "subtype": "message_changed", "hidden": True, "channel": channel,
            "channel_type": "im", "ts": now, "event_ts": now,
            "message": {"type": "message", "user": user, "text": new_text, "ts": ts,
                        "edited": {"user": user, "ts": now}},
            "previous_message": {"type": "message", "user": user, "text": old_text, "ts": ts}}


def file_share_message(user: str, channel: str, filename: str, text: str = "",
                       mimetype: str = "text/plain") -> Payload:
    """A ``file_share`` subtype message: a respondent attached a file instead of answering."""
    file = {"id": _new_id("F"), "name": filename, "title": filename, "mimetype": mimetype,
            "url_private": f"https://files.slack.invalid/{filename}", "size": 0}
    return {**im_message(user, text, channel), "subtype": "file_share", "files": [file], "upload": False}


def channel_message(user: str, text: str, channel: str = "C0PUBLIC") -> Payload:
    """A message in a public channel (``channel_type`` "channel"); the bot must not treat it as an answer."""
    return {**im_message(user, text, channel), "channel_type": "channel"}


def app_home_opened(user: str, channel: str = "D0HOME", tab: str = "home") -> Payload:
    """The ``app_home_opened`` event that should make the bot publish its Home tab."""
    return {"type": "app_home_opened", "user": user, "channel": channel, "tab": tab, "event_ts": _now_ts()}


def event_envelope(event: Payload, *, event_id: str | None = None, team_id: str = TEAM_ID) -> Payload:
    """The ``event_callback`` body Slack wraps every Events API event in."""
    return {"token": "legacy-verification-token", "team_id": team_id, "api_app_id": APP_ID,
            "type": "event_callback", "event": event, "event_id": event_id or _new_id("Ev"),
            "event_time": int(time.time()), "is_ext_shared_channel": False,
            "authorizations": [{"enterprise_id": None, "team_id": team_id, "user_id": BOT_USER_ID,
                                "is_bot": True, "is_enterprise_install": False}]}


def _interaction_base(kind: str, user_id: str) -> Payload:
    return {"type": kind, "token": "legacy-verification-token", "api_app_id": APP_ID,
            "team": {"id": TEAM_ID, "domain": "fake"}, "enterprise": None, "is_enterprise_install": False,
            "user": {"id": user_id, "username": user_id.lower(), "name": user_id.lower(), "team_id": TEAM_ID},
            "trigger_id": f"{int(time.time())}.{next(_serial)}.fake"}


def block_actions_payload(user_id: str, channel_id: str, message_ts: str, action_id: str, value: str | None,
                          *, block_id: str = "b1", selected_options: list[str | Payload] | None = None,
                          message: Payload | None = None, response_url: str = HOOK_URL) -> Payload:
    """A ``block_actions`` payload: a button click, or checkbox choices when selected_options is given."""
    action: Payload = {"action_id": action_id, "block_id": block_id, "action_ts": _now_ts(), "type": "button",
                       "value": value}
    if selected_options is not None:
        action = {**action, "type": "checkboxes", "selected_options": [
            o if isinstance(o, dict) else {"text": {"type": "plain_text", "text": o}, "value": o}
            for o in selected_options]}
        action.pop("value")
    return {**_interaction_base("block_actions", user_id),
            "container": {"type": "message", "message_ts": message_ts, "channel_id": channel_id,
                          "is_ephemeral": False},
            "channel": {"id": channel_id, "name": "directmessage"},
            "message": message or {"type": "message", "user": BOT_USER_ID, "ts": message_ts, "text": ""},
            "state": {"values": {}}, "response_url": response_url, "actions": [action]}


def view_submission_payload(user_id: str, callback_id: str, private_metadata: str,
                            state_values: Payload) -> Payload:
    """A ``view_submission`` payload: the user pressed Submit on a modal."""
    view = {"id": _new_id("V"), "type": "modal", "callback_id": callback_id, "private_metadata": private_metadata,
            "state": {"values": state_values}, "hash": "fakehash", "blocks": [], "team_id": TEAM_ID,
            "app_id": APP_ID, "bot_id": BOT_ID, "title": {"type": "plain_text", "text": "Survey"}}
    return {**_interaction_base("view_submission", user_id), "view": view, "response_urls": []}


def slash_command_fields(user_id: str, command: str = "/survey", text: str = "", *,
                         channel_id: str = "C0PUBLIC", response_url: str = HOOK_URL) -> dict[str, str]:
    """The plain fields of a slash command (form-encoded over HTTP, a JSON object in Socket Mode)."""
    return {"token": "legacy-verification-token", "team_id": TEAM_ID, "team_domain": "fake",
            "channel_id": channel_id, "channel_name": "survey", "user_id": user_id,
            "user_name": user_id.lower(), "command": command, "text": text, "api_app_id": APP_ID,
            "is_enterprise_install": "false", "response_url": response_url,
            "trigger_id": f"{int(time.time())}.{next(_serial)}.fake"}


# ---------------------------------------------------------------- signed HTTP requests to a Bolt endpoint


class SlackSigner:
    """Posts requests signed exactly as Slack signs them, so Bolt's real verification runs."""

    def __init__(self, secret: str) -> None:
        self.secret = secret

    def headers(self, body: str, *, forge: Forge | None = None) -> dict[str, str]:
        """Signature headers; ``forge`` signs with a wrong secret or a 6-minute-old timestamp."""
        timestamp = str(int(time.time()) - (360 if forge == "stale" else 0))
        secret = "not-the-signing-secret" if forge == "wrong_secret" else self.secret
        signature = SignatureVerifier(secret).generate_signature(timestamp=timestamp, body=body)
        return {"X-Slack-Request-Timestamp": timestamp, "X-Slack-Signature": signature or ""}

    async def post(self, url: str, body: str, content_type: str, *, forge: Forge | None = None,
                   extra_headers: dict[str, str] | None = None) -> tuple[int, str]:
        """POST a signed body; returns (status, body text)."""
        headers = {"Content-Type": content_type, **self.headers(body, forge=forge), **(extra_headers or {})}
        async with aiohttp.ClientSession() as session, session.post(url, data=body, headers=headers) as resp:
            return resp.status, await resp.text()

    async def post_event(self, url: str, event: Payload, *, event_id: str | None = None,
                         retry_num: int | None = None, retry_reason: str = "http_timeout",
                         forge: Forge | None = None) -> tuple[int, str]:
        """Deliver an Events API event; ``retry_num`` marks it as Slack's redelivery."""
        extra = {} if retry_num is None else {"X-Slack-Retry-Num": str(retry_num),
                                              "X-Slack-Retry-Reason": retry_reason}
        body = json.dumps(event_envelope(event, event_id=event_id))
        return await self.post(url, body, "application/json", forge=forge, extra_headers=extra)

    async def post_interaction(self, url: str, payload: Payload, *, forge: Forge | None = None) -> tuple[int, str]:
        """Deliver any interactive payload as Slack does: form field ``payload`` holding JSON."""
        body = urlencode({"payload": json.dumps(payload)})
        return await self.post(url, body, "application/x-www-form-urlencoded", forge=forge)

    async def post_block_action(self, url: str, user_id: str, channel_id: str, message_ts: str, action_id: str,
                                value: str | None, *, block_id: str = "b1",
                                selected_options: list[str | Payload] | None = None,
                                message: Payload | None = None, forge: Forge | None = None) -> tuple[int, str]:
        """Simulate a click on a message button (or checkbox selection)."""
        payload = block_actions_payload(user_id, channel_id, message_ts, action_id, value, block_id=block_id,
                                        selected_options=selected_options, message=message)
        return await self.post_interaction(url, payload, forge=forge)

    async def post_view_submission(self, url: str, user_id: str, callback_id: str, private_metadata: str,
                                   state_values: Payload, *, forge: Forge | None = None) -> tuple[int, str]:
        """Simulate submitting a modal."""
        payload = view_submission_payload(user_id, callback_id, private_metadata, state_values)
        return await self.post_interaction(url, payload, forge=forge)

    async def post_slash_command(self, url: str, user_id: str, command: str = "/survey", text: str = "", *,
                                 channel_id: str = "C0PUBLIC", response_url: str = HOOK_URL,
                                 forge: Forge | None = None) -> tuple[int, str]:
        """Simulate a slash command (plain form fields, no JSON)."""
        fields = slash_command_fields(user_id, command, text, channel_id=channel_id, response_url=response_url)
        return await self.post(url, urlencode(fields), "application/x-www-form-urlencoded", forge=forge)


# ---------------------------------------------------------------- the fake Web API + Socket Mode server


@dataclass
class ApiCall:
    """One recorded request to the fake, kept so tests assert on what the bot really sent."""

    index: int
    method: str
    params: Payload
    token: str | None
    status: int
    response: Payload
    at: float = 0.0  # time.monotonic() when answered, for benchmarks of rates

    @property
    def ok(self) -> bool:
        return self.status == 200 and bool(self.response.get("ok"))


@dataclass
class UploadedFile:
    """A file sent through the files.uploadV2 flow (getUploadURLExternal, POST, completeUploadExternal)."""

    file_id: str
    filename: str
    length: int
    data: bytes = b""
    title: str | None = None
    channel: str | None = None
    completed: bool = False


@dataclass
class _Fault:
    status: int
    retry_after: int | None
    error: str
    remaining: int


def _decode(key: str, value: Any) -> Any:
    """slack_sdk sends blocks/view/files as JSON strings inside forms or query strings; unwrap them."""
    if key in JSON_FIELDS and isinstance(value, str) and value[:1] in "[{":
        try:
            return json.loads(value)
        except ValueError:
            return value
    return value


async def _read_params(request: web.Request) -> Payload:
    """Merge query string, form and JSON bodies: slack_sdk uses all three depending on the method."""
    params: Payload = dict(request.query)
    if request.can_read_body:
        if request.content_type == "application/json":
            params.update(await request.json())
        else:
            params.update({k: v for k, v in (await request.post()).items() if isinstance(v, str)})
    return {k: _decode(k, v) for k, v in params.items()}


def _err(error: str) -> Payload:
    return {"ok": False, "error": error}


class FakeSlack:
    """In-process fake of slack.com: records every call and keeps just enough state to answer like Slack."""

    def __init__(self, *, host: str = "127.0.0.1", port: int = 0, team_id: str = TEAM_ID,
                 bot_user_id: str = BOT_USER_ID, bot_id: str = BOT_ID, enforce_limits: bool = False,
                 posts_per_minute: int = POSTS_PER_MINUTE) -> None:
        self.host, self.port = host, port
        self.enforce_limits, self.posts_per_minute = enforce_limits, posts_per_minute
        self.throttled = 0  # calls refused with 429 for going over a limit (not those scripted with fail_next)
        self._recent: dict[str, collections.deque[float]] = collections.defaultdict(collections.deque)
        self.team_id, self.bot_user_id, self.bot_id = team_id, bot_user_id, bot_id
        self.calls: list[ApiCall] = []
        self.uploads: dict[str, UploadedFile] = {}
        self.views: dict[str, Payload] = {}  # modals by view id
        self.home_views: dict[str, Payload] = {}  # published Home tab by user id
        self.members: dict[str, list[str]] = {}  # conversations.members answers; set freely
        self.users: dict[str, Payload] = {}  # users.info overrides; see add_user
        self.acks: dict[str, Payload] = {}  # Socket Mode acks by envelope id
        self._messages: dict[str, dict[str, Payload]] = {}  # channel -> ts -> current message
        self._dms: dict[str, str] = {}  # sorted user ids -> DM channel
        self._dm_owners: dict[str, str] = {}  # one person's DM channel -> that person
        self._deactivated: set[str] = set()
        self._faults: dict[str, list[_Fault]] = {}
        self._sockets: list[web.WebSocketResponse] = []
        self._ts = itertools.count(1)
        self._cursors: dict[str, int] = {}
        self._changed = asyncio.Condition()
        self._runner: web.AppRunner | None = None
        self._handlers: dict[str, Callable[[Payload, str | None], Payload]] = {
            "auth.test": self._auth_test, "apps.connections.open": self._connections_open,
            "chat.postMessage": self._post_message, "chat.update": self._update,
            "chat.postEphemeral": self._post_ephemeral, "chat.delete": self._delete,
            "conversations.open": self._open, "conversations.members": self._members,
            "users.info": self._user_info, "views.publish": self._views_publish,
            "views.open": self._views_open, "views.update": self._views_update,
            "files.getUploadURLExternal": self._upload_url, "files.completeUploadExternal": self._complete_upload,
        }

    # ---- lifecycle

    async def start(self) -> FakeSlack:
        app = web.Application()
        app.router.add_route("*", "/api/{method}", self._api)
        app.router.add_post("/upload/{file_id}", self._upload)
        app.router.add_post("/respond/{hook}", self._respond)
        app.router.add_get("/link/", self._socket)
        app.router.add_get("/_fake/calls", self._dump_calls)
        app.router.add_get("/_fake/posted", self._posted)
        app.router.add_get("/_fake/counts", self._counts)
        app.router.add_get("/_fake/sent", self._sent)
        self._runner = web.AppRunner(app, shutdown_timeout=2.0, access_log=None)  # no user ids in test logs
        await self._runner.setup()
        await web.TCPSite(self._runner, self.host, self.port).start()
        self.port = self._runner.addresses[0][1]
        return self

    async def stop(self) -> None:
        """Close Socket Mode connections first, or the server would wait for them on shutdown."""
        for ws in list(self._sockets):
            await ws.close(code=WSCloseCode.GOING_AWAY, message=b"fake slack shutting down")
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> FakeSlack:
        return await self.start()

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    def run_in_thread(self, timeout: float = 5.0) -> FakeSlackThread:
        """Serve from a background thread with its own loop (for sync code); inspect ``calls`` only."""
        loop = asyncio.new_event_loop()
        ready = threading.Event()

        def serve() -> None:
            asyncio.set_event_loop(loop)
            loop.run_until_complete(self.start())
            ready.set()
            loop.run_forever()
            loop.close()

        thread = threading.Thread(target=serve, name="fake-slack", daemon=True)
        thread.start()
        if not ready.wait(timeout):
            raise RuntimeError("fake Slack did not start")
        return FakeSlackThread(self, loop, thread)

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def api_url(self) -> str:
        """What to pass as ``AsyncWebClient(base_url=...)``; the trailing slash matters for urljoin."""
        return f"{self.base_url}/api/"

    def response_url(self) -> str:
        """A response_url on the fake, so ``respond()`` posts are recorded as method "response_url"."""
        return f"{self.base_url}/respond/{uuid.uuid4().hex}"

    # ---- scripting and inspection

    def calls_to(self, method: str) -> list[ApiCall]:
        return [c for c in self.calls if c.method == method]

    def messages_in(self, channel: str) -> list[Payload]:
        """Current messages (after chat.update/delete) in post order; a user id means their DM."""
        return [dict(m) for m in self._messages.get(self._resolve(channel), {}).values()]

    def dm_channel(self, *users: str) -> str:
        """The stable DM ("D...") or group DM ("G...") id conversations.open returns for these users."""
        key = ",".join(sorted(users))
        if key not in self._dms:
            self._dms[key] = f"{'D' if len(users) == 1 else 'G'}{len(self._dms) + 1:08d}"
            if len(users) == 1:
                self._dm_owners[self._dms[key]] = users[0]
        return self._dms[key]

    def add_user(self, user_id: str, **fields: Any) -> None:
        """Override users.info fields (e.g. tz, real_name, is_bot) for one user."""
        self.users[user_id] = {**self.users.get(user_id, {}), **fields}

    def fail_next(self, method: str, status: int = 429, retry_after: int | None = 1, times: int = 1,
                  error: str = "ratelimited") -> None:
        """Make the next ``times`` calls to ``method`` fail like Slack's rate limiter does."""
        self._faults.setdefault(method, []).append(_Fault(status, retry_after, error, times))

    def deactivate_user(self, user_id: str) -> None:
        """A user who left: DMs to them fail with user_disabled / account_inactive."""
        self._deactivated.add(user_id)

    async def wait_for(self, predicate: Callable[[ApiCall], bool], timeout: float = 5.0,
                       since: int = 0) -> ApiCall:
        """First call from index ``since`` matching ``predicate``, waking on each new call (no polling)."""
        def find() -> ApiCall | None:
            return next((c for c in self.calls[since:] if predicate(c)), None)
        return await self._wait_until(find, timeout, "a matching API call")

    async def next_message(self, channel: str, timeout: float = 5.0) -> Payload:
        """The next message the bot posted to ``channel`` (or a user's DM) not yet returned here."""
        channel = self._resolve(channel)
        call = await self.wait_for(
            lambda c: c.method == "chat.postMessage" and c.ok and c.response["channel"] == channel,
            timeout, since=self._cursors.get(channel, 0))
        self._cursors[channel] = call.index + 1
        return call.response["message"]

    async def wait_socket_connected(self, timeout: float = 5.0) -> web.WebSocketResponse:
        return await self._wait_until(self._live_socket, timeout, "a Socket Mode connection")

    async def socket_send(self, envelope_type: str, payload: Payload, retry_attempt: int = 0,
                          retry_reason: str = "", *, accepts_response_payload: bool | None = None,
                          timeout: float = 5.0) -> str:
        """Push an envelope to the newest Socket Mode connection; returns its envelope_id."""
        ws = await self.wait_socket_connected(timeout)
        envelope_id = str(uuid.uuid4())
        if accepts_response_payload is None:
            accepts_response_payload = envelope_type != "events_api"
        await ws.send_json({"envelope_id": envelope_id, "type": envelope_type, "payload": payload,
                            "accepts_response_payload": accepts_response_payload,
                            "retry_attempt": retry_attempt, "retry_reason": retry_reason})
        return envelope_id

    async def socket_wait_ack(self, envelope_id: str, timeout: float = 5.0) -> Payload:
        """The ack the client sent for ``envelope_id`` (``{"envelope_id": ...}``, maybe with payload)."""
        return await self._wait_until(lambda: self.acks.get(envelope_id), timeout, f"ack of {envelope_id}")

    async def _wait_until(self, check: Callable[[], T | None], timeout: float, what: str) -> T:
        async with self._changed:
            try:
                async with asyncio.timeout(timeout):
                    while (result := check()) is None:
                        await self._changed.wait()
            except TimeoutError:
                seen = [c.method for c in self.calls]
                raise TimeoutError(f"timed out after {timeout}s waiting for {what}; calls: {seen}") from None
            return result

    async def _notify(self) -> None:
        async with self._changed:
            self._changed.notify_all()

    async def _record(self, method: str, params: Payload, token: str | None, status: int,
                      response: Payload) -> None:
        self.calls.append(ApiCall(len(self.calls), method, params, token, status, response, time.monotonic()))
        await self._notify()

    def _over_limit(self, method: str, params: Payload) -> int | None:
        """None when the call is within Slack's limits for it (and is then counted), else the seconds to wait."""
        windows: list[tuple[str, int, float]] = []  # (what is counted, how many, over how many seconds)
        if method in TIERS:
            windows.append((method, TIER_PER_MINUTE[TIERS[method]], 60.0))
        elif method == "chat.postMessage":
            windows.append((method, self.posts_per_minute, 60.0))
            windows.append((f"{method} {self._resolve(str(params.get('channel', '')))}", CHANNEL_BURST,
                            float(CHANNEL_BURST)))
        now = time.monotonic()
        waits = []
        for key, most, seconds in windows:
            recent = self._recent[key]
            while recent and now - recent[0] >= seconds:
                recent.popleft()
            if len(recent) >= most:
                waits.append(math.ceil(recent[0] + seconds - now))
        if waits:
            return max(1, *waits)
        for key, _, _ in windows:
            self._recent[key].append(now)
        return None

    def _live_socket(self) -> web.WebSocketResponse | None:
        return next((ws for ws in reversed(self._sockets) if not ws.closed), None)

    def _resolve(self, channel: str) -> str:
        """Posting to a user id means their DM, as on real Slack."""
        return self.dm_channel(channel) if channel[:1] in ("U", "W") else channel

    def _dm_owner(self, channel: str) -> str | None:
        return self._dm_owners.get(channel)

    def _next_ts(self) -> str:
        micros = next(self._ts) * 100
        return f"{1_700_000_000 + micros // 1_000_000}.{micros % 1_000_000:06d}"

    # ---- HTTP endpoints

    async def _api(self, request: web.Request) -> web.Response:
        method = request.match_info["method"]
        params = await _read_params(request)
        auth = request.headers.get("Authorization", "")
        token = params.pop("token", None) or (auth[7:] if auth.startswith("Bearer ") else None)
        status, headers = 200, {}
        faults = [f for f in self._faults.get(method, []) if f.remaining > 0]
        wait = self._over_limit(method, params) if self.enforce_limits else None
        if faults:
            faults[0].remaining -= 1
            status, body = faults[0].status, _err(faults[0].error)
            if faults[0].retry_after is not None:
                headers["Retry-After"] = str(faults[0].retry_after)
        elif wait is not None:
            self.throttled += 1
            status, body, headers["Retry-After"] = 429, _err("ratelimited"), str(wait)
        elif method in self._handlers:
            body = self._handlers[method](params, token)
            body = body if "ok" in body else {"ok": True, **body}
        else:
            body = _err("unknown_method")
        await self._record(method, params, token, status, body)
        return web.json_response(body, status=status, headers=headers)

    async def _upload(self, request: web.Request) -> web.Response:
        upload = self.uploads.get(request.match_info["file_id"])
        if upload is None:
            return web.Response(status=404, text="file_not_found")
        upload.data = await request.read()
        await self._record("upload", {"file_id": upload.file_id, "size": len(upload.data)}, None, 200, {"ok": True})
        return web.Response(text=f"OK - {len(upload.data)}")

    async def _respond(self, request: web.Request) -> web.Response:
        await self._record("response_url", await request.json(), None, 200, {"ok": True})
        return web.Response(text="ok")

    async def _dump_calls(self, request: web.Request) -> web.Response:
        """Lets a benchmark in another process see what a real bot process sent."""
        since = int(request.query.get("since", "0"))
        return web.json_response([asdict(c) for c in self.calls[since:]])

    async def _posted(self, request: web.Request) -> web.Response:
        """The messages posted from call `since` on, each with its channel and the person whose DM it is, and the
        index to ask from next: how a benchmark's people see their DMs, as a Slack client is told of new messages.
        It waits up to `wait` seconds for one, so the reader needs neither to poll nor to be sent every call."""
        since = int(request.query.get("since", "0"))
        wait = float(request.query.get("wait", "0"))
        def news() -> bool:
            return any(c.method == "chat.postMessage" for c in itertools.islice(self.calls, since, None))

        if wait > 0 and not news():
            async with self._changed:
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(wait):
                        await self._changed.wait_for(news)
        calls = self.calls[since:]
        posted = [{"channel": c.response["channel"], "owner": self._dm_owner(c.response["channel"]),
                   "message": c.response["message"]} for c in calls if c.method == "chat.postMessage" and c.ok]
        return web.json_response({"next": since + len(calls), "messages": posted})

    async def _counts(self, request: web.Request) -> web.Response:
        """How many calls to each method succeeded so far, for a benchmark in another process."""
        return web.json_response(collections.Counter(c.method for c in self.calls if c.ok))

    async def _sent(self, request: web.Request) -> web.Response:
        """When each successful chat.postMessage was answered (time.monotonic(), this process's clock) and to which
        channel, with the number of calls refused for going over a limit: a broadcast benchmark's figures."""
        posted = [[c.response["channel"], c.at] for c in self.calls if c.method == "chat.postMessage" and c.ok]
        return web.json_response({"posted": posted, "throttled": self.throttled,
                                  "calls": collections.Counter(c.method for c in self.calls)})

    async def _socket(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse(timeout=1.0)  # autoping answers the SDK's ping/pong liveness checks
        await ws.prepare(request)
        self._sockets.append(ws)
        await ws.send_json({"type": "hello", "num_connections": len(self._sockets),
                            "debug_info": {"host": "fake-slack", "approximate_connection_time": 3600},
                            "connection_info": {"app_id": APP_ID}})
        await self._notify()
        try:
            async for msg in ws:
                if msg.type == WSMsgType.TEXT:
                    data = json.loads(msg.data)
                    if "envelope_id" in data:
                        self.acks[data["envelope_id"]] = data
                        await self._notify()
        finally:
            self._sockets.remove(ws)
        return ws

    # ---- Web API methods: (params, token) -> response body

    def _auth_test(self, p: Payload, token: str | None) -> Payload:
        return {"url": "https://fake-partnership.slack.com/", "team": TEAM_NAME, "user": "surveybot",
                "team_id": self.team_id, "user_id": self.bot_user_id, "bot_id": self.bot_id,
                "is_enterprise_install": False}

    def _connections_open(self, p: Payload, token: str | None) -> Payload:
        if not (token or "").startswith("xapp-"):
            return _err("not_allowed_token_type")
        return {"url": f"ws://{self.host}:{self.port}/link/?ticket={uuid.uuid4().hex}&app_id={APP_ID}"}

    def _post_message(self, p: Payload, token: str | None) -> Payload:
        channel = self._resolve(p.get("channel", ""))
        if not channel:
            return _err("channel_not_found")
        if self._dm_owner(channel) in self._deactivated:
            return _err("account_inactive")
        if not (p.get("text") or p.get("blocks") or p.get("attachments")):
            return _err("no_text")
        msg = {"type": "message", "user": self.bot_user_id, "bot_id": self.bot_id, "text": p.get("text", ""),
               "blocks": p.get("blocks", []), "ts": self._next_ts()}
        if p.get("thread_ts"):
            msg["thread_ts"] = p["thread_ts"]
        self._messages.setdefault(channel, {})[msg["ts"]] = msg
        return {"channel": channel, "ts": msg["ts"], "message": dict(msg)}

    def _update(self, p: Payload, token: str | None) -> Payload:
        channel = self._resolve(p.get("channel", ""))
        msg = self._messages.get(channel, {}).get(p.get("ts", ""))
        if msg is None:
            return _err("message_not_found")
        msg.update({k: p[k] for k in ("text", "blocks") if k in p}, edited={"user": self.bot_user_id})
        return {"channel": channel, "ts": msg["ts"], "text": msg["text"], "message": dict(msg)}

    def _post_ephemeral(self, p: Payload, token: str | None) -> Payload:
        if p.get("user") in self._deactivated:
            return _err("user_not_in_channel")
        return {"message_ts": self._next_ts()}

    def _delete(self, p: Payload, token: str | None) -> Payload:
        channel = self._resolve(p.get("channel", ""))
        if self._messages.get(channel, {}).pop(p.get("ts", ""), None) is None:
            return _err("message_not_found")
        return {"channel": channel, "ts": p["ts"]}

    def _open(self, p: Payload, token: str | None) -> Payload:
        users = p.get("users", "")
        users = users.split(",") if isinstance(users, str) else list(users)
        users = [u.strip() for u in users if u.strip()]
        if not users:
            return _err("users_list_not_supplied")
        if self._deactivated.intersection(users):
            return _err("user_disabled")
        channel = self.dm_channel(*users)
        return {"channel": {"id": channel, "is_im": len(users) == 1, "user": users[0]}, "no_op": False}

    def _members(self, p: Payload, token: str | None) -> Payload:
        channel = p.get("channel", "")
        owner = self._dm_owner(channel)
        members = self.members.get(channel) or ([self.bot_user_id, owner] if owner else None)
        if members is None:
            return _err("channel_not_found")
        return {"members": members, "response_metadata": {"next_cursor": ""}}

    def _user_info(self, p: Payload, token: str | None) -> Payload:
        user = p.get("user", "")
        name = f"User {user}"
        return {"user": {"id": user, "team_id": self.team_id, "name": user.lower(), "real_name": name,
                         "deleted": user in self._deactivated, "is_bot": False, "tz": "Europe/London",
                         "profile": {"real_name": name, "display_name": name}, **self.users.get(user, {})}}

    def _views_publish(self, p: Payload, token: str | None) -> Payload:
        view = {**p.get("view", {}), "id": _new_id("V")}
        self.home_views[p.get("user_id", "")] = view
        return {"view": view}

    def _views_open(self, p: Payload, token: str | None) -> Payload:
        if not p.get("trigger_id"):
            return _err("invalid_arguments")
        view = {**p.get("view", {}), "id": _new_id("V")}
        self.views[view["id"]] = view
        return {"view": view}

    def _views_update(self, p: Payload, token: str | None) -> Payload:
        view_id = p.get("view_id") or next(
            (vid for vid, v in self.views.items() if v.get("external_id") == p.get("external_id")), None)
        if view_id not in self.views:
            return _err("not_found")
        self.views[view_id] = {**p.get("view", {}), "id": view_id}
        return {"view": self.views[view_id]}

    def _upload_url(self, p: Payload, token: str | None) -> Payload:
        file_id = _new_id("F")
        self.uploads[file_id] = UploadedFile(file_id, p.get("filename", ""), int(p.get("length", 0)))
        return {"file_id": file_id, "upload_url": f"{self.base_url}/upload/{file_id}"}

    def _complete_upload(self, p: Payload, token: str | None) -> Payload:
        channel = p.get("channel_id") or (p.get("channels") or "").split(",")[0] or None
        done = []
        for item in p.get("files", []):
            upload = self.uploads.get(item.get("id", ""))
            if upload is None:
                return _err("file_not_found")
            upload.title, upload.channel, upload.completed = item.get("title"), channel, True
            done.append({"id": upload.file_id, "name": upload.filename, "title": upload.title,
                         "size": len(upload.data)})
        if channel:
            ts = self._next_ts()
            self._messages.setdefault(self._resolve(channel), {})[ts] = {
                "type": "message", "user": self.bot_user_id, "text": p.get("initial_comment", ""),
                "files": done, "ts": ts}
        return {"files": done}


class FakeSlackThread:
    """Handle for a FakeSlack served by ``run_in_thread``: read ``fake.calls``; call ``stop()`` when done."""

    def __init__(self, fake: FakeSlack, loop: asyncio.AbstractEventLoop, thread: threading.Thread) -> None:
        self.fake, self._loop, self._thread = fake, loop, thread
        self.base_url, self.api_url = fake.base_url, fake.api_url

    def stop(self, timeout: float = 5.0) -> None:
        asyncio.run_coroutine_threadsafe(self.fake.stop(), self._loop).result(timeout)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout)


async def _serve_forever(host: str, port: int, enforce_limits: bool, posts_per_minute: int) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    async with FakeSlack(host=host, port=port, enforce_limits=enforce_limits,
                         posts_per_minute=posts_per_minute) as fake:
        print(fake.base_url, flush=True)
        await stop.wait()


def main(argv: list[str] | None = None) -> None:
    """``python -m tests.fakes.slack_api --port N``: serve until killed, for benchmarks of a real bot."""
    parser = argparse.ArgumentParser(description=main.__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--enforce-limits", action="store_true", help="answer 429 beyond Slack's documented limits")
    parser.add_argument("--posts-per-minute", type=int, default=POSTS_PER_MINUTE,
                        help="chat.postMessage's workspace-wide limit (Slack gives no figure)")
    args = parser.parse_args(argv)
    asyncio.run(_serve_forever(args.host, args.port, args.enforce_limits, args.posts_per_minute))


if __name__ == "__main__":
    main()
