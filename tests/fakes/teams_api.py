"""A fake Microsoft Teams on 127.0.0.1: the Bot Connector service, the token issuers, and Teams' side of the wire.

Why: the Teams channel is the real Microsoft 365 Agents SDK (and MSAL under it), and those call hosts they know by
name: the SDK fetches the Bot Framework's signing keys from https://login.botframework.com, MSAL asks
https://login.microsoftonline.com for the bot's token. Neither lets a deployment point them elsewhere (the README says
so). So the fake stands where those hosts are, the way a corporate proxy would: an HTTPS proxy on 127.0.0.1 (the
standard HTTPS_PROXY setting, which both honour) that answers for those two hosts itself, over TLS, with a
certificate from a test authority the process trusts (SSL_CERT_FILE for the SDK's urllib, REQUESTS_CA_BUNDLE for
MSAL's requests). Nothing of the SDK is patched.

- `Identity`: the token issuers. An RSA key made for the run with `cryptography`, published as the Bot Framework's
  OpenID metadata and JWKS (with Teams' endorsement), and as Entra ID's for the tenant; Entra's token endpoint gives
  the bot an access token for its app id and secret (client credentials). `mint` signs what Teams would send the bot
  (and, for the tests, forged, expired and wrong-audience tokens).
- `Connector`: the Bot Connector service (the serviceUrl in every activity): conversations made, messages posted,
  cards updated, each call checked for a token the Identity gave the bot. Failures can be queued (429 with
  Retry-After, 403 for someone who removed the app).
  Teams' rosters too: a team's members, page by page (pagedmembers, with a continuation token).
- `TeamsUser`: a person in Teams: writes, presses Action.Submit buttons (a message whose value is the button's data
  and the card's inputs), installs the app, adds it to a team; each activity posted to the bot with a genuinely
  signed token.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import itertools
import json
import os
import re
import ssl
import time
import uuid
from collections.abc import AsyncIterator, Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

import aiohttp
import jwt
from aiohttp import web
from cryptography.hazmat.primitives.asymmetric import rsa

from tests.fakes.certificates import Certificates, make_certificates

APP_ID = "0b5e3c1a-7d2f-4e8b-9a61-2c4d5e6f7a80"
APP_PASSWORD = "test-teams-client-secret"
TENANT_ID = "7c1f2a3b-4d5e-4f60-8a1b-2c3d4e5f6a7b"
BOT_FRAMEWORK = "https://api.botframework.com"  # the issuer of what Teams sends a bot, and the audience of its token
BF_HOST, ENTRA_HOST = "login.botframework.com", "login.microsoftonline.com"
Payload = dict[str, Any]

_KEYS: dict[str, rsa.RSAPrivateKey] = {}


def signing_key(name: str = "issuer") -> rsa.RSAPrivateKey:
    """An RSA key made once per test process (making one takes a moment), by name: the issuer's, or a forger's."""
    if name not in _KEYS:
        _KEYS[name] = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return _KEYS[name]


def key_id(key: rsa.RSAPrivateKey) -> str:
    numbers = key.public_key().public_numbers()
    return hashlib.sha256(str(numbers.n).encode()).hexdigest()[:16]


# --- the token issuers ------------------------------------------------------------------------------------------------

@dataclass
class Identity:
    """The Bot Framework's and Entra ID's token services, as far as a bot sees them."""

    app_id: str = APP_ID
    password: str = APP_PASSWORD
    tenant: str = TENANT_ID
    key: rsa.RSAPrivateKey = field(default_factory=signing_key)
    issued: set[str] = field(default_factory=set)  # access tokens given to the bot
    requests: list[tuple[str, str]] = field(default_factory=list)  # (host, path) asked for

    def jwks(self) -> Payload:
        public = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(self.key.public_key()))
        return {"keys": [{**public, "kid": key_id(self.key), "use": "sig", "alg": "RS256",
                          "endorsements": ["msteams"]}]}

    def mint(self, *, audience: str | None = None, issuer: str = BOT_FRAMEWORK, lifetime: float = 3600,
             service_url: str | None = None, key: rsa.RSAPrivateKey | None = None, kid: str | None = None,
             extra: Mapping[str, Any] | None = None) -> str:
        """A token as Teams' service sends a bot (or not quite, for the forgery tests). Times from the clock the
        validator reads (time.time), so a run under faketime stays consistent."""
        now = int(time.time())
        claims: Payload = {"iss": issuer, "aud": audience or self.app_id, "nbf": now - 60, "iat": now - 60,
                           "exp": now + int(lifetime)}
        if service_url is not None:
            claims["serviceurl"] = service_url
        claims.update(extra or {})
        signer = key or self.key
        return jwt.encode(claims, signer, algorithm="RS256", headers={"kid": kid or key_id(self.key)})

    def bot_token(self) -> str:
        """What Entra ID gives the bot for calling the Bot Connector."""
        token = self.mint(audience=BOT_FRAMEWORK, issuer=f"https://sts.windows.net/{self.tenant}/",
                          extra={"appid": self.app_id, "tid": self.tenant})
        self.issued.add(token)
        return token

    def answer(self, host: str, method: str, path: str, body: bytes) -> tuple[int, Payload]:
        """An HTTPS request for one of the identity hosts, answered."""
        self.requests.append((host, path.split("?")[0]))
        route = path.split("?")[0].rstrip("/")
        if host == BF_HOST and route == "/v1/.well-known/openidconfiguration":
            return 200, {"issuer": BOT_FRAMEWORK, "jwks_uri": f"https://{BF_HOST}/v1/.well-known/keys",
                         "id_token_signing_alg_values_supported": ["RS256"],
                         "token_endpoint_auth_methods_supported": ["private_key_jwt"]}
        if route.endswith("/.well-known/keys") or route.endswith("/discovery/v2.0/keys"):
            return 200, self.jwks()
        if host == ENTRA_HOST and route.endswith("/discovery/instance"):
            return 200, {"tenant_discovery_endpoint":
                         f"https://{ENTRA_HOST}/{self.tenant}/v2.0/.well-known/openid-configuration",
                         "api-version": "1.1", "metadata": [{"preferred_network": ENTRA_HOST,
                                                             "preferred_cache": ENTRA_HOST,
                                                             "aliases": [ENTRA_HOST]}]}
        if host == ENTRA_HOST and route.endswith("/v2.0/.well-known/openid-configuration"):
            tenant = route.split("/")[1]
            base = f"https://{ENTRA_HOST}/{tenant}"
            return 200, {"issuer": f"{base}/v2.0", "token_endpoint": f"{base}/oauth2/v2.0/token",
                         "authorization_endpoint": f"{base}/oauth2/v2.0/authorize",
                         "jwks_uri": f"{base}/discovery/v2.0/keys",
                         "id_token_signing_alg_values_supported": ["RS256"]}
        if host == ENTRA_HOST and method == "POST" and route.endswith("/oauth2/v2.0/token"):
            form = {k: v[0] for k, v in parse_qs(body.decode()).items()}
            if (form.get("grant_type") != "client_credentials" or form.get("client_id") != self.app_id
                    or form.get("client_secret") != self.password):
                return 401, {"error": "invalid_client", "error_description": "the app id or secret is wrong"}
            return 200, {"token_type": "Bearer", "expires_in": 3599, "ext_expires_in": 3599,
                         "access_token": self.bot_token()}
        return 404, {"error": "not_found"}


class IdentityProxy:
    """An HTTPS proxy on 127.0.0.1 that answers for the identity hosts itself (TLS with the test authority's
    certificate for their names) and for no other host."""

    def __init__(self, identity: Identity, certificates: Certificates) -> None:
        self.identity = identity
        self.context = certificates.server_context()
        self.port = 0
        self._server: asyncio.AbstractServer | None = None
        self._open: set[asyncio.Task[Any]] = set()

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._connection, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            for task in list(self._open):  # connections kept alive by MSAL's session
                task.cancel()
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._server.wait_closed(), 2)

    async def _connection(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        if task is not None:
            self._open.add(task)
        try:
            head = (await reader.readuntil(b"\r\n\r\n")).decode("latin-1")
            method, target, _ = head.split("\r\n", 1)[0].split(" ", 2)
            host = target.split(":")[0].lower()
            if method != "CONNECT" or host not in (BF_HOST, ENTRA_HOST):
                writer.write(b"HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\n\r\n")
                await writer.drain()
                return
            writer.write(b"HTTP/1.1 200 Connection established\r\n\r\n")
            await writer.drain()
            await writer.start_tls(self.context)
            while True:
                try:
                    request = (await reader.readuntil(b"\r\n\r\n")).decode("latin-1")
                except (asyncio.IncompleteReadError, ConnectionError):
                    return
                line, *lines = request.split("\r\n")
                verb, path, _ = line.split(" ", 2)
                headers = {k.strip().lower(): v.strip() for k, _, v in (h.partition(":") for h in lines if h)}
                body = await reader.readexactly(int(headers.get("content-length", "0") or 0))
                status, payload = self.identity.answer(host, verb, path, body)
                data = json.dumps(payload).encode()
                writer.write(f"HTTP/1.1 {status} {'OK' if status == 200 else 'Error'}\r\nContent-Type: "
                             f"application/json\r\nContent-Length: {len(data)}\r\nConnection: keep-alive\r\n\r\n"
                             .encode() + data)
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError, ValueError, ssl.SSLError, asyncio.CancelledError):
            return
        finally:
            self._open.discard(task)  # type: ignore[arg-type]
            with contextlib.suppress(Exception):
                writer.close()


# --- the Bot Connector service ----------------------------------------------------------------------------------------

@dataclass
class Call:
    """One request the bot made to the Bot Connector."""

    index: int
    method: str
    path: str
    conversation: str
    activity_id: str  # the message posted or updated
    body: Payload
    status: int
    peer: tuple[str, int] | None = None  # the bot's end of the TCP connection the call came over


@dataclass
class Message:
    """A message the bot posted, as it now stands (updates replace its body)."""

    conversation: str
    id: str
    body: Payload
    updates: int = 0

    @property
    def cards(self) -> list[Payload]:
        return [a.get("content") or {} for a in self.body.get("attachments") or []
                if a.get("contentType") == "application/vnd.microsoft.card.adaptive"]

    @property
    def text(self) -> str:
        """The words shown: the message's text, or its cards' TextBlocks."""
        parts = [str(self.body.get("text") or "")]
        parts.extend(str(b.get("text", "")) for c in self.cards for b in walk(c) if b.get("type") == "TextBlock")
        return "\n".join(p for p in parts if p)

    @property
    def actions(self) -> list[Payload]:
        """Every Action.Submit on the message's cards."""
        return [b for c in self.cards for b in walk(c) if b.get("type") == "Action.Submit"]

    @property
    def question(self) -> bool:
        return any(re.match(r"^(a:\d+:[ptdsb](:\d+)?|answer:\d+)$", d) for d in self.data())

    def data(self) -> list[str]:
        return [str((a.get("data") or {}).get("surveybot", "")) for a in self.actions]

    def inputs(self, kind: str) -> list[Payload]:
        return [b for c in self.cards for b in walk(c) if b.get("type") == kind]


def walk(node: Any) -> Iterator[Payload]:
    """Every element of a card, depth first."""
    if isinstance(node, dict):
        yield node
        for value in node.values():
            yield from walk(value)
    elif isinstance(node, list):
        for item in node:
            yield from walk(item)


def personal_conversation(user: str) -> str:
    """The id of a person's one-to-one chat with the bot, as stable as Teams'."""
    return "a:1" + hashlib.sha256(user.encode()).hexdigest()[:24]


class Connector:
    """The Bot Connector service the bot writes to: every call recorded, every message kept as it now stands."""

    def __init__(self, identity: Identity) -> None:
        self.identity = identity
        self.calls: list[Call] = []
        self.messages: dict[str, list[Message]] = {}  # conversation -> messages, in order
        self.by_id: dict[str, Message] = {}
        self.failures: list[tuple[int, float | None] | None] = []  # (status, Retry-After) for the next calls (None:
        # that call goes through)
        self.gone: set[str] = set()  # conversations whose person removed the app: 403
        self.members: dict[str, str] = {}  # conversation made -> its member
        self.delay = 0.0  # seconds each post takes, to give a kill time to land mid-send
        self.rosters: dict[str, list[Payload]] = {}  # team id -> its members, as pagedmembers lists them
        self.page_limit = 500  # the most members one page holds, whatever pageSize asks (Teams' own cap is 500)
        self._ids = itertools.count(1)
        self._changed = asyncio.Condition()
        self._cursor: dict[str, int] = {}
        self._runner: web.AppRunner | None = None
        self.port = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/"

    async def start(self) -> None:
        app = web.Application()
        app.router.add_post("/v3/conversations", self._create)
        app.router.add_get("/v3/conversations/{conversation}/pagedmembers", self._paged_members)
        app.router.add_post("/v3/conversations/{conversation}/activities", self._post)
        app.router.add_post("/v3/conversations/{conversation}/activities/{reply_to}", self._post)
        app.router.add_put("/v3/conversations/{conversation}/activities/{activity}", self._update)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    def fail_next(self, status: int, retry_after: float | None = None, times: int = 1, after: int = 0) -> None:
        """The next `times` calls fail with `status`, once `after` more calls have gone through."""
        self.failures.extend([None] * after + [(status, retry_after)] * times)

    async def _checked(self, request: web.Request, conversation: str) -> web.Response | None:
        scheme, _, token = request.headers.get("Authorization", "").partition(" ")
        if scheme != "Bearer" or token not in self.identity.issued:
            return web.json_response({"error": {"code": "Unauthorized"}}, status=401)
        if self.failures and (failure := self.failures.pop(0)) is not None:
            status, retry = failure
            headers = {"Retry-After": f"{retry:g}"} if retry is not None else {}
            return web.json_response({"error": {"code": "Throttled" if status == 429 else "Failed"}},
                                     status=status, headers=headers)
        if conversation in self.gone:
            return web.json_response({"error": {"code": "BotNotInConversationRoster"}}, status=403)
        return None

    def _record(self, request: web.Request, conversation: str, activity_id: str, body: Payload, status: int) -> None:
        peer = request.transport.get_extra_info("peername") if request.transport is not None else None
        self.calls.append(Call(len(self.calls), request.method, request.path, conversation, activity_id, body,
                               status, tuple(peer[:2]) if peer else None))

    async def _create(self, request: web.Request) -> web.Response:
        body = await request.json()
        refused = await self._checked(request, "")
        members = body.get("members") or []
        user = str(members[0].get("id")) if members else ""
        conversation = personal_conversation(user)
        if refused is None and conversation in self.gone:
            refused = web.json_response({"error": {"code": "Forbidden"}}, status=403)
        self._record(request, conversation, "", body, refused.status if refused else 201)
        if refused is not None:
            return refused
        self.members[conversation] = user
        return web.json_response({"id": conversation}, status=201)

    async def _paged_members(self, request: web.Request) -> web.Response:
        """A team's roster, as Microsoft documents it: at most pageSize members (and never more than page_limit),
        and a continuationToken while more are left (none on the last page)."""
        team = request.match_info["conversation"]
        refused = await self._checked(request, team)
        if refused is None and team not in self.rosters:
            refused = web.json_response({"error": {"code": "ConversationNotFound"}}, status=404)
        self._record(request, team, "", dict(request.query), refused.status if refused else 200)
        if refused is not None:
            return refused
        try:
            size = min(int(request.query.get("pageSize", "500")), self.page_limit)
            start = int(request.query.get("continuationToken") or "0", 16)
        except ValueError:
            return web.json_response({"error": {"code": "BadArgument"}}, status=400)
        roster = self.rosters[team]
        page: Payload = {"members": roster[start:start + size]}
        if start + size < len(roster):
            page["continuationToken"] = f"{start + size:x}"
        return web.json_response(page)

    async def _post(self, request: web.Request) -> web.Response:
        conversation = request.match_info["conversation"]
        body = await request.json()
        if self.delay:
            await asyncio.sleep(self.delay)
        refused = await self._checked(request, conversation)
        activity_id = "" if refused else f"1{next(self._ids):09d}"
        self._record(request, conversation, activity_id, body, refused.status if refused else 201)
        if refused is not None:
            return refused
        message = Message(conversation, activity_id, body)
        async with self._changed:
            self.messages.setdefault(conversation, []).append(message)
            self.by_id[activity_id] = message
            self._changed.notify_all()
        return web.json_response({"id": activity_id}, status=201)

    async def _update(self, request: web.Request) -> web.Response:
        conversation, activity_id = request.match_info["conversation"], request.match_info["activity"]
        body = await request.json()
        refused = await self._checked(request, conversation)
        found = self.by_id.get(activity_id)
        if refused is None and (found is None or found.conversation != conversation):
            refused = web.json_response({"error": {"code": "NotFound"}}, status=404)
        self._record(request, conversation, activity_id, body, refused.status if refused else 200)
        if refused is not None:
            return refused
        assert found is not None
        async with self._changed:
            found.body, found.updates = body, found.updates + 1
            self._changed.notify_all()
        return web.json_response({"id": activity_id})

    # --- for the tests ---------------------------------------------------------------------------------------------
    def posted(self, conversation: str) -> list[Message]:
        return list(self.messages.get(conversation, []))

    async def next_message(self, conversation: str, timeout: float = 10.0) -> Message:
        """The next message posted in `conversation` that this reader has not seen yet."""
        seen = self._cursor.get(conversation, 0)
        async with self._changed:
            await asyncio.wait_for(self._changed.wait_for(lambda: len(self.messages.get(conversation, [])) > seen),
                                   timeout)
        self._cursor[conversation] = seen + 1
        return self.messages[conversation][seen]

    async def wait_for(self, check: Callable[[], bool], timeout: float = 10.0) -> None:
        async with self._changed:
            await asyncio.wait_for(self._changed.wait_for(check), timeout)

    def calls_to(self, method: str, part: str = "") -> list[Call]:
        return [c for c in self.calls if c.method == method and part in c.path]


# --- Teams' side: people and their activities -------------------------------------------------------------------------

@dataclass
class TeamsUser:
    """One person in the tenant, writing to the bot in their personal chat (or elsewhere)."""

    teams: FakeTeams
    user: str
    name: str = "Sam Example"
    aad: str = field(default_factory=lambda: str(uuid.uuid4()))
    _ids: Iterator[int] = field(default_factory=lambda: itertools.count(1))

    @property
    def conversation(self) -> str:
        return personal_conversation(self.user)

    def activity(self, kind: str, *, conversation: str | None = None, conversation_type: str = "personal",
                 **fields: Any) -> Payload:
        """An activity as Teams sends it, with a fresh id unless one is given."""
        service = self.teams.connector.url
        body: Payload = {
            "type": kind, "id": fields.pop("id", None) or f"{self.user[-4:]}-{next(self._ids)}-{uuid.uuid4().hex[:6]}",
            "serviceUrl": service, "channelId": "msteams",
            "from": {"id": self.user, "name": self.name, "aadObjectId": self.aad},
            "conversation": {"id": conversation or self.conversation, "conversationType": conversation_type,
                             "tenantId": self.teams.identity.tenant},
            "recipient": {"id": f"28:{self.teams.identity.app_id}", "name": "Surveys"},
            "channelData": {"tenant": {"id": self.teams.identity.tenant}},
            "locale": "en-GB",
        }
        body.update(fields)
        return body

    def message(self, text: str, **fields: Any) -> Payload:
        return self.activity("message", text=text, textFormat="plain", **fields)

    def submit(self, pressed: Message, data: str, **inputs: Any) -> Payload:
        """An Action.Submit press on a card: a message whose value is the button's data and the card's inputs."""
        return self.activity("message", value={"surveybot": data, **inputs}, replyToId=pressed.id)

    def member(self) -> Payload:
        """This person as a team's roster lists them."""
        given, _, family = self.name.partition(" ")
        return {"id": self.user, "aadObjectId": self.aad, "name": self.name, "givenName": given, "surname": family,
                "email": f"{given.lower()}.{family.lower()}@anyshire.example", "tenantId": self.teams.identity.tenant,
                "userPrincipalName": f"{given.lower()}.{family.lower()}@anyshire.example", "userRole": "user"}

    def add_app_to(self, team: str, name: str, **fields: Any) -> Payload:
        """This person adds the app to a team: Teams tells the bot in the team's General channel."""
        tenant = self.teams.identity.tenant
        return self.activity("conversationUpdate", conversation=team, conversation_type="channel",
                             membersAdded=[{"id": f"28:{self.teams.identity.app_id}"}],
                             channelData={"team": {"id": team, "name": name, "aadGroupId": str(uuid.uuid4())},
                                          "eventType": "teamMemberAdded", "tenant": {"id": tenant}}, **fields)

    def installed(self) -> Payload:
        """The app added to this person's chat."""
        return self.activity("conversationUpdate", membersAdded=[{"id": f"28:{self.teams.identity.app_id}"}])

    async def send(self, activity: Payload, **token: Any) -> int:
        return (await self.teams.post(activity, **token))[0]

    async def say(self, text: str, **fields: Any) -> int:
        return await self.send(self.message(text, **fields))

    async def press(self, pressed: Message, data: str, **inputs: Any) -> int:
        return await self.send(self.submit(pressed, data, **inputs))

    async def next_message(self, timeout: float = 10.0) -> Message:
        return await self.teams.connector.next_message(self.conversation, timeout)

    async def next_question(self, timeout: float = 10.0) -> Message:
        """The next message that is a question (a card with an answer's buttons)."""
        while not (message := await self.next_message(timeout)).question:
            pass
        return message


class FakeTeams:
    """The identity hosts (behind their proxy), the Bot Connector, and a way to post activities to the bot."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.identity = Identity()
        self.connector = Connector(self.identity)
        folder.mkdir(parents=True, exist_ok=True)
        self.certificates = make_certificates(folder, names=(BF_HOST, ENTRA_HOST))
        self.proxy = IdentityProxy(self.identity, self.certificates)
        self.bot_url = ""  # set once the bot listens: http://127.0.0.1:PORT/api/messages

    def environment(self) -> dict[str, str]:
        """What a process needs to reach the identity hosts through the proxy, and to trust its certificate."""
        proxy = f"http://127.0.0.1:{self.proxy.port}"
        ca = str(self.certificates.ca_file)
        return {"HTTPS_PROXY": proxy, "https_proxy": proxy, "NO_PROXY": "127.0.0.1,localhost",
                "no_proxy": "127.0.0.1,localhost", "SSL_CERT_FILE": ca, "REQUESTS_CA_BUNDLE": ca}

    def settings(self) -> dict[str, str]:
        return {"SURVEYBOT_TEAMS_APP_ID": self.identity.app_id, "SURVEYBOT_TEAMS_APP_PASSWORD": self.identity.password,
                "SURVEYBOT_TEAMS_TENANT_ID": self.identity.tenant}

    def person(self, user: str | None = None, **fields: Any) -> TeamsUser:
        return TeamsUser(self, user or f"29:1{uuid.uuid4().hex}", **fields)

    async def post(self, activity: Payload, *, token: str | None = None, url: str | None = None) -> tuple[int, str]:
        """POST an activity to the bot, with a token as Teams' service would sign it (or the one given)."""
        bearer = token if token is not None else self.identity.mint(service_url=self.connector.url)
        headers = {"Authorization": f"Bearer {bearer}"} if bearer else {}
        async with aiohttp.ClientSession() as session, session.post(url or self.bot_url, json=activity,
                                                                     headers=headers) as response:
            return response.status, await response.text()

    async def __aenter__(self) -> FakeTeams:
        await self.connector.start()
        await self.proxy.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.proxy.stop()
        await self.connector.stop()


@contextlib.asynccontextmanager
async def fake_teams(folder: Path) -> AsyncIterator[FakeTeams]:
    """The fake, with this process's environment pointing the identity hosts at it for as long as it runs."""
    async with FakeTeams(folder) as teams:
        saved = {k: os.environ.get(k) for k in teams.environment()}
        os.environ.update(teams.environment())
        try:
            yield teams
        finally:
            for k, v in saved.items():
                if v is None:
                    os.environ.pop(k, None)
                else:
                    os.environ[k] = v
