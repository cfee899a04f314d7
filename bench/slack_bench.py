"""Benchmark of the Slack channel in HTTP mode, side by side with two minimal Bolt apps, on one harness.

    .venv/bin/python bench/slack_bench.py [--users 50] [--rounds 4] [--database-url URL]

The baselines. The fair one is a minimal Bolt app that does, per press, what Slack makes every survey step do: it
acks, then marks the pressed message answered (chat.update) and posts the next one (chat.postMessage), side by side,
in a task as the channel does, with no storage and no survey; `/survey start` makes it post what the bot posts when
a survey starts (the welcome, the privacy note and the first question, as the bot posted them in the warm-up round),
one after another as the bot does, so over a person's whole survey both make the same Web API calls with messages
of the same size. The ack-only app is kept for information: it makes none of the Web API calls, so it says what Bolt
and the harness cost and nothing more.

Four processes besides this one, all on 127.0.0.1: the fake Slack Web API (tests/fakes/slack_api.py), the real bot
(`surveybot run` with SLACK_API_URL pointing at the fake), and the two minimal Bolt apps, each mounted the same way on
the bot's own HttpServer. This process plays `--users` people at once, each pressing buttons with genuinely signed
requests. For the bot, each person takes the whole "you-said" survey: they press a valid button of the question
they were last sent (or tick boxes and press Done), then wait for the next question before pressing again, as a
person must. A press counts once it is acknowledged AND its work is done (answer stored, question marked answered,
next question posted). People learn of their next question from the fake (GET /_fake/posted, which answers as
soon as the bot posts something, as a Slack client is told), and a round's clock stops only once the fake has seen
every pressed question marked answered. The fair app's people do the same: `/survey start`, then seven presses,
each on the question it last posted, waiting for the next (the pressed question's own blocks, a real question of the
survey, so both post messages of the same size). The ack-only app is sent the same number of presses per person,
and a press counts once acknowledged, since acknowledging is all it does. The three apps take turns, a round of
`--users` people each, so all meet the (shared) machine's load alike. Time-to-ack is measured at the client, from
sending the request to the response.

Not a test: it prints figures (interactions per second, p50/p95 time-to-ack, the ratio to the fair baseline, whose
target is at least 0.5, the ratio to the ack-only app, and the CPU time each process spent per press: on a busy
machine the rates follow the CPU), checks that every person's response was stored as completed, and exits 0.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import aiohttp

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from tests.fakes.slack_api import SlackSigner, block_actions_payload, slash_command_fields  # noqa: E402

SECRET = "bench-signing-secret"
TOKEN = "xoxb-bench"
SURVEY = "you-said"
PRESSES_PER_PERSON = 7  # consent and six questions: the same count is sent to the minimal app
_ACTION = re.compile(r"^a:(\d+):([ptdsb])(?::(\d+))?$")
# What urlencode does to each ASCII character, done in one str.translate: the pure-Python quote_plus took a third of
# this process's time per press, for the baseline and the bot alike
_FORM = str.maketrans({chr(c): "+" if c == 32 else f"%{c:02X}" for c in range(128)
                       if not (chr(c).isalnum() or chr(c) in "_.-~")})


# --- the minimal Bolt app, served in its own process ---------------------------------------------------------------

async def serve_bolt(bolt: Any, port: int, session: aiohttp.ClientSession) -> None:
    """A baseline Bolt app (an AsyncApp) on the bot's own HttpServer at /slack/events, as the bot serves Slack, until
    killed."""
    from slack_bolt.adapter.aiohttp import to_aiohttp_response, to_bolt_request

    from bot.server import HttpServer

    async def endpoint(request: aiohttp.web.Request) -> aiohttp.web.StreamResponse:
        return await to_aiohttp_response(await bolt.async_dispatch(await to_bolt_request(request)))

    server = HttpServer("127.0.0.1", port)
    server.add_route("POST", "/slack/events", endpoint)
    await server.start()
    try:
        await asyncio.Event().wait()
    finally:
        await server.stop()
        await session.close()


async def serve_minimal(port: int, api_url: str) -> None:
    """A Bolt AsyncApp that only acks, on the bot's own HttpServer, exactly as the channel mounts its app."""
    from slack_bolt.async_app import AsyncApp
    from slack_sdk.web.async_client import AsyncWebClient


    session = aiohttp.ClientSession()
    bolt = AsyncApp(client=AsyncWebClient(TOKEN, base_url=api_url, session=session), signing_secret=SECRET,
                    process_before_response=True)

    async def only_ack(ack: Any) -> None:
        await ack()

    bolt.action(re.compile(".*"))(only_ack)
    bolt.command("/survey")(only_ack)

    await serve_bolt(bolt, port, session)


async def serve_fair(port: int, api_url: str, sample_file: Path) -> None:
    """A Bolt AsyncApp that does per press the two Web API calls a survey step makes, and nothing else: ack, then
    chat.update on the pressed message and chat.postMessage of the next, side by side, in a task (as the channel's
    listeners hand their work on). `/survey start` posts, one after another, the messages the driver saw the bot post
    when a survey started (`sample_file`), so the opening costs both apps the same calls."""
    from slack_bolt.async_app import AsyncApp
    from slack_sdk.web.async_client import AsyncWebClient


    session = aiohttp.ClientSession()
    client = AsyncWebClient(TOKEN, base_url=api_url, session=session)
    bolt = AsyncApp(client=client, signing_secret=SECRET, process_before_response=True)
    tasks: set[asyncio.Task[Any]] = set()

    def spawn(work: Awaitable[Any]) -> None:
        task = asyncio.ensure_future(work)
        tasks.add(task)
        task.add_done_callback(tasks.discard)

    async def next_question(channel: str, ts: str, message: dict[str, Any]) -> None:
        text, blocks = str(message.get("text") or "A question"), message.get("blocks") or []
        await asyncio.gather(client.chat_update(channel=channel, ts=ts, text=text, blocks=blocks),
                             client.chat_postMessage(channel=channel, text=text, blocks=blocks, unfurl_links=False,
                                                     unfurl_media=False))

    async def on_press(ack: Any, body: dict[str, Any]) -> None:
        await ack()
        container = body.get("container") or {}
        spawn(next_question(str(container.get("channel_id")), str(container.get("message_ts")),
                            body.get("message") or {}))

    async def opening(channel: str) -> None:
        for message in json.loads(sample_file.read_text()):
            await client.chat_postMessage(channel=channel, text=str(message.get("text") or ""),
                                          blocks=message.get("blocks") or [], unfurl_links=False, unfurl_media=False)

    async def on_start(ack: Any, command: dict[str, Any]) -> None:
        await ack()
        spawn(opening(str(command.get("user_id"))))

    bolt.action(re.compile(".*"))(on_press)
    bolt.command("/survey")(on_start)

    await serve_bolt(bolt, port, session)


# --- processes -----------------------------------------------------------------------------------------------------

def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def start_fake() -> tuple[subprocess.Popen[str], str]:
    process = subprocess.Popen([sys.executable, "-m", "tests.fakes.slack_api", "--port", str(free_port())],
                               cwd=REPO, stdout=subprocess.PIPE, text=True)
    assert process.stdout is not None
    return process, process.stdout.readline().strip()


def start_bot(api_url: str, port: int, data_dir: Path, database_url: str | None) -> subprocess.Popen[str]:
    env = {**os.environ, "SLACK_BOT_TOKEN": TOKEN, "SLACK_SIGNING_SECRET": SECRET, "SLACK_API_URL": api_url,
           "SURVEYBOT_PORT": str(port), "SURVEYBOT_DATA_DIR": str(data_dir), "SURVEYBOT_LOG_LEVEL": "WARNING",
           "SURVEYBOT_PEPPER": "bench-pepper-" + "x" * 40,
           # the bench measures the bot's capacity, not Slack's limits: the fake enforces none, and the fair app's
           # chat.update is not paced either, so neither is the bot's (Slack's Tier 3 would hold it to 50 a minute)
           "SLACK_EDITS_PER_MINUTE": "1000000"}
    env.pop("SLACK_APP_TOKEN", None)
    if database_url:
        env["DATABASE_URL"] = database_url
    return subprocess.Popen([sys.executable, "-m", "bot.cli", "run"], cwd=data_dir, env=env, text=True)


def start_minimal(api_url: str, port: int) -> subprocess.Popen[str]:
    return subprocess.Popen([sys.executable, __file__, "--serve-minimal", str(port), "--api-url", api_url], cwd=REPO,
                            text=True)


def start_fair(api_url: str, port: int, sample_file: Path) -> subprocess.Popen[str]:
    return subprocess.Popen([sys.executable, __file__, "--serve-fair", str(port), "--api-url", api_url,
                             "--sample-file", str(sample_file)], cwd=REPO, text=True)


async def wait_until_up(session: aiohttp.ClientSession, url: str, process: subprocess.Popen[str]) -> None:
    async with asyncio.timeout(30):
        while True:
            if process.poll() is not None:
                raise SystemExit(f"{process.args} exited with {process.returncode}")
            try:
                async with session.get(url) as response:
                    if response.status == 200:
                        return
            except aiohttp.ClientError:
                pass
            await asyncio.sleep(0.1)


# --- the harness ---------------------------------------------------------------------------------------------------

@dataclass
class Harness:
    """One HTTP connection pool for every simulated person, and a follower of what the bot posted to Slack."""

    session: aiohttp.ClientSession
    fake_url: str
    signer: SlackSigner = field(default_factory=lambda: SlackSigner(SECRET))
    inbox: dict[str, asyncio.Queue[dict[str, Any]]] = field(default_factory=lambda: defaultdict(asyncio.Queue))
    dms: dict[str, str] = field(default_factory=dict)  # user -> their DM channel with the app
    sample: dict[str, Any] = field(default_factory=dict)  # the last question pressed
    opening: list[dict[str, Any]] = field(default_factory=list)  # what the bot posted when a survey started
    cursor: int = 0

    async def post(self, url: str, body: str, content_type: str) -> tuple[int, float]:
        """POST a signed body; returns the status and the time to the response (the ack), in seconds."""
        headers = {"Content-Type": content_type, **self.signer.headers(body)}
        started = time.perf_counter()
        async with self.session.post(url, data=body, headers=headers) as response:
            await response.read()
            return response.status, time.perf_counter() - started

    async def press(self, url: str, payload: dict[str, Any]) -> float:
        status, took = await self.post(url, form_payload(payload), "application/x-www-form-urlencoded")
        assert status == 200, status
        return took

    async def marked(self) -> int:
        """How many questions the app has marked answered (successful chat.update calls) so far."""
        async with self.session.get(f"{self.fake_url}/_fake/counts") as response:
            return int((await response.json()).get("chat.update", 0))

    async def follow(self) -> None:
        """Hand each message the bot posts to the person whose DM it is in. The fake answers as soon as there is
        something new (or after a second with nothing), so a person learns of their next question at once and the
        fake is not asked over and over while there is nothing to tell."""
        while True:
            async with self.session.get(f"{self.fake_url}/_fake/posted",
                                        params={"since": self.cursor, "wait": 1}) as response:
                news = await response.json()
            self.cursor = news["next"]
            for posted in news["messages"]:
                owner = posted["owner"] or posted["channel"]
                self.dms[owner] = posted["channel"]
                self.inbox[owner].put_nowait(posted["message"])


def form_payload(payload: dict[str, Any]) -> str:
    """The form body Slack posts for an interaction, `payload=<JSON>`, exactly as urlencode would write it."""
    text = json.dumps(payload)  # ASCII: json.dumps escapes everything else
    return "payload=" + text.translate(_FORM)


def press_for(user: str, dm: str, message: dict[str, Any]) -> dict[str, Any] | None:
    """A valid press on a question: the first option (Yes on the consent), Skip on a typed question, or two ticks
    and Done on multiple choice. None when the message is not a question."""
    found = [(b, e) for b in message.get("blocks", []) if b.get("type") == "actions" for e in b["elements"]]
    controls = {m[2] + (m[3] or ""): (b, e) for b, e in found if (m := _ACTION.match(str(e.get("action_id", ""))))}
    boxes = [(b, e) for b, e in found if e.get("type") == "checkboxes"]
    state: dict[str, Any] = {}
    if boxes:
        block, element = boxes[0]
        state = {block["block_id"]: {element["action_id"]: {"type": "checkboxes",
                                                           "selected_options": element["options"][:2]}}}
        block, element = controls["d"]
    elif "p0" in controls:
        block, element = controls["p0"]
    elif "s" in controls:
        block, element = controls["s"]
    else:
        return None
    payload = block_actions_payload(user, dm, message["ts"], element["action_id"], element.get("value"),
                                    block_id=block["block_id"], message=message)
    payload["state"] = {"values": state}
    return payload


async def person_on_bot(harness: Harness, url: str, user: str, thanks: str, acks: list[float]) -> int:
    """Take the whole survey; returns the number of presses."""
    fields = slash_command_fields(user, text=f"start {SURVEY}", channel_id="C0BENCH")
    status, _ = await harness.post(url, urlencode(fields), "application/x-www-form-urlencoded")
    assert status == 200
    presses = 0
    inbox = harness.inbox[user]
    opening: list[dict[str, Any]] = []
    while True:
        async with asyncio.timeout(30):
            message = await inbox.get()
        if thanks in message.get("text", ""):
            return presses
        payload = press_for(user, harness.dms[user], message)
        if not presses:
            opening.append(message)
            if payload is not None:
                harness.opening = opening
        if payload is not None:
            harness.sample = message
            acks.append(await harness.press(url, payload))
            presses += 1


async def person_on_fair(harness: Harness, url: str, user: str, acks: list[float]) -> int:
    """`/survey start`, then PRESSES_PER_PERSON presses, each on the question the fair app last posted, waiting for
    the next, as a person on the bot does; the round waits for every pressed message to be marked too."""
    fields = slash_command_fields(user, text=f"start {SURVEY}", channel_id="C0BENCH")
    status, _ = await harness.post(url, urlencode(fields), "application/x-www-form-urlencoded")
    assert status == 200
    inbox = harness.inbox[user]
    presses = 0
    while presses < PRESSES_PER_PERSON:
        async with asyncio.timeout(30):
            message = await inbox.get()
        payload = press_for(user, harness.dms[user], message)
        if payload is None:  # the opening's welcome and privacy note, which ask nothing
            continue
        acks.append(await harness.press(url, payload))
        presses += 1
    async with asyncio.timeout(30):
        await inbox.get()  # the message after the last press, as the bot's thanks
    return PRESSES_PER_PERSON


async def person_on_minimal(harness: Harness, url: str, user: str, sample: dict[str, Any], acks: list[float]) -> int:
    for _ in range(PRESSES_PER_PERSON):
        payload = press_for(user, "D0BENCH", sample)
        assert payload is not None
        acks.append(await harness.press(url, payload))
    return PRESSES_PER_PERSON


@dataclass
class Result:
    """One app's presses, summed over its rounds."""

    name: str
    processes: dict[str, int] = field(default_factory=dict)  # role -> pid, whose CPU time is counted per press
    presses: int = 0
    seconds: float = 0.0
    acks: list[float] = field(default_factory=list)
    cpu: dict[str, float | None] = field(default_factory=dict)  # CPU seconds by role over the rounds
    loads: list[float] = field(default_factory=list)  # the machine's 1-minute load average after each round

    @property
    def rate(self) -> float:
        return self.presses / self.seconds

    @property
    def load(self) -> float:
        return statistics.mean(self.loads)

    def cpu_ms(self, role: str) -> float | None:
        """CPU milliseconds per press of one process."""
        spent = self.cpu.get(role)
        return None if spent is None else spent / self.presses * 1000

    def percentile(self, share: float) -> float:
        return statistics.quantiles(self.acks, n=100, method="inclusive")[round(share * 100) - 1] * 1000


async def play_round(result: Result, label: str, users: int, play: Any,
                     marked: Callable[[], Awaitable[int]] | None = None) -> None:
    """One round: `users` people at once, each playing `play` once. With `marked` (how many questions the app has
    marked answered so far), the clock stops only once every question pressed in the round is marked too: the bot
    marks the answered question while it posts the next one, so a person may see the next before the last edit is
    done."""
    cpu_before = {role: cpu_seconds(pid) for role, pid in result.processes.items()}
    marked_before = await marked() if marked else 0
    started = time.perf_counter()
    done = sum(await asyncio.gather(*(play(f"U{label}{n:03d}", result.acks) for n in range(users))))
    async with asyncio.timeout(30):
        while marked and await marked() < marked_before + done:
            await asyncio.sleep(0.001)
    result.seconds += time.perf_counter() - started
    result.presses += done
    for role, pid in result.processes.items():
        before, after, spent = cpu_before[role], cpu_seconds(pid), result.cpu.get(role, 0.0)
        result.cpu[role] = None if before is None or after is None or spent is None else spent + after - before
    result.loads.append(os.getloadavg()[0])


def cpu_seconds(pid: int) -> float | None:
    """User and system CPU time of a process so far (Linux /proc), to see where a press's time goes."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def service_alone(users: int, database_url: str | None) -> tuple[float, float]:
    """The core service on its own (no Slack, no HTTP, one caller): events per second, and CPU milliseconds per
    event, for the same survey and presses."""
    from bot.app import build
    from bot.channels.port import Address
    from bot.config import Settings
    from bot.engine import conversation as engine

    with tempfile.TemporaryDirectory(prefix="slack-bench-service-") as folder:
        env = {"SURVEYBOT_DATA_DIR": folder, "SURVEYBOT_PEPPER": "bench-pepper-" + "x" * 40}
        if database_url:
            env["DATABASE_URL"] = database_url
        app = build(Settings.from_env(env))
        events, started, cpu = 0, time.perf_counter(), time.process_time()
        for n in range(users):
            address = Address("bench", "T0BENCH", f"U0ALONE{n:04d}")
            outcome = app.service.begin(address, SURVEY, event_key=f"start-{n}")
            while outcome.open:
                prompt = [e for e in outcome.effects if isinstance(e, engine.Ask)][-1].prompt
                event: engine.Event = (engine.Reply("1, 2", turn=prompt.turn) if prompt.multiple else
                                       engine.Pick(prompt.turn, 0) if prompt.options else engine.Skip(prompt.turn))
                outcome = app.service.handle(address, event, event_key=f"{n}-{events}")
                events += 1
        took, cpu = time.perf_counter() - started, time.process_time() - cpu
        app.engine.dispose()
    return events / took, cpu / events * 1000


def completed_responses(data_dir: Path, database_url: str | None) -> int:
    from sqlalchemy import create_engine, text

    engine = create_engine(database_url or f"sqlite:///{data_dir / 'surveybot.db'}")
    try:
        with engine.connect() as connection:
            return int(connection.execute(text("SELECT count(*) FROM response WHERE survey_id = :s AND completed"),
                                          {"s": SURVEY}).scalar_one())
    finally:
        engine.dispose()


async def run(users: int, rounds: int, database_url: str | None) -> None:
    from bot.services.surveyfiles import SurveyCatalogue, builtin_survey_dir

    thanks = SurveyCatalogue.from_dirs([builtin_survey_dir()]).latest(SURVEY).thanks.strip().splitlines()[0]
    processes: list[subprocess.Popen[str]] = []
    with tempfile.TemporaryDirectory(prefix="slack-bench-") as folder:
        data_dir = Path(folder)
        try:
            fake, fake_url = start_fake()
            processes.append(fake)
            bot_port, minimal_port, fair_port = free_port(), free_port(), free_port()
            sample_file = data_dir / "sample-question.json"
            processes.append(start_bot(f"{fake_url}/api/", bot_port, data_dir, database_url))
            processes.append(start_minimal(f"{fake_url}/api/", minimal_port))
            processes.append(start_fair(f"{fake_url}/api/", fair_port, sample_file))
            bot_url = f"http://127.0.0.1:{bot_port}/slack/events"
            minimal_url = f"http://127.0.0.1:{minimal_port}/slack/events"
            fair_url = f"http://127.0.0.1:{fair_port}/slack/events"
            connector = aiohttp.TCPConnector(limit=2 * users + 10)
            async with aiohttp.ClientSession(connector=connector) as session:
                await wait_until_up(session, f"http://127.0.0.1:{bot_port}/healthz", processes[1])
                await wait_until_up(session, f"http://127.0.0.1:{minimal_port}/healthz", processes[2])
                await wait_until_up(session, f"http://127.0.0.1:{fair_port}/healthz", processes[3])
                harness = Harness(session, fake_url)
                follower = asyncio.create_task(harness.follow())
                sample: dict[str, Any] = {}

                async def on_bot(user: str, acks: list[float]) -> int:
                    return await person_on_bot(harness, bot_url, user, thanks, acks)

                async def on_minimal(user: str, acks: list[float]) -> int:
                    return await person_on_minimal(harness, minimal_url, user, sample, acks)

                async def on_fair(user: str, acks: list[float]) -> int:
                    return await person_on_fair(harness, fair_url, user, acks)

                await play_round(Result("warm"), "WARMBOT", 5, on_bot)  # Bolt's auth.test, pools, the database
                sample.update(harness.sample)  # a real question, so every app gets payloads of the same size
                sample_file.write_text(json.dumps([*harness.opening[:-1], sample]))  # the opening, then a question
                await play_round(Result("warm"), "WARMMIN", 5, on_minimal)
                await play_round(Result("warm"), "WARMFAIR", 5, on_fair, harness.marked)
                watched = {"driver": os.getpid(), "fake Slack": fake.pid}
                minimal = Result("minimal Bolt app (ack only)", {"app": processes[2].pid, **watched})
                fair = Result("minimal Bolt app (2 calls)", {"app": processes[3].pid, **watched})
                bot = Result("surveybot (all the work)", {"app": processes[1].pid, **watched})
                for round_number in range(rounds):  # taking turns, so all see the machine's load alike
                    await play_round(minimal, f"MIN{round_number:02d}", users, on_minimal)
                    await play_round(fair, f"FAIR{round_number:02d}", users, on_fair, harness.marked)
                    await play_round(bot, f"BOT{round_number:02d}", users, on_bot, harness.marked)
                follower.cancel()
            stored = completed_responses(data_dir, database_url)
        finally:
            for process in reversed(processes):
                process.terminate()
            for process in processes:
                process.wait(10)
    report(users, rounds, minimal, fair, bot, stored, database_url, service_alone(users, database_url))


def report(users: int, rounds: int, minimal: Result, fair: Result, bot: Result, stored: int,
           database_url: str | None, service: tuple[float, float]) -> None:
    print(f"\nSlack HTTP mode, {users} people at once, {rounds} rounds "
          f"({'PostgreSQL' if database_url else 'SQLite'}; {os.cpu_count()} CPUs)")
    roles = ("app", "fake Slack", "driver")
    print(f"{'':30}{'presses':>8}{'per second':>12}{'p50 ack ms':>12}{'p95 ack ms':>12}{'load':>6}   CPU ms/press: "
          + "".join(f"{role:>11}" for role in (*roles, "all three")))
    for result in (minimal, fair, bot):
        cpu = [result.cpu_ms(role) for role in roles]
        total = None if None in cpu else sum(c for c in cpu if c is not None)
        print(f"{result.name:30}{result.presses:>8}{result.rate:>12.1f}{result.percentile(0.5):>12.1f}"
              f"{result.percentile(0.95):>12.1f}{result.load:>6.1f}{'':17}"
              + "".join(f"{'?':>11}" if c is None else f"{c:>11.2f}" for c in (*cpu, total)))
    print(f"{'the service alone (no Slack)':30}{'':8}{service[0]:>12.1f}{'':47}{service[1]:>11.2f}")
    print(f"ratio surveybot / minimal with the two calls (the fair baseline): {bot.rate / fair.rate:.2f} "
          f"(target >= 0.5); surveybot / ack only (for information): {bot.rate / minimal.rate:.2f}; "
          f"surveybot p95 time-to-ack {bot.percentile(0.95):.1f} ms (Slack allows 3000)")
    print(f"completed responses stored: {stored} (people: {users * rounds + 5}; more if the database was not empty)")
    print("The apps take turns, a round each. load: the machine's 1-minute load average after their rounds (mean); "
          "CPU: each process's user and system time over the app's rounds, per press")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--users", type=int, default=50)
    parser.add_argument("--rounds", type=int, default=4)
    parser.add_argument("--database-url", help="e.g. postgresql+psycopg://postgres@127.0.0.1:5432/bench (default: "
                                               "SQLite in a temporary folder)")
    parser.add_argument("--serve-minimal", type=int, metavar="PORT", help=argparse.SUPPRESS)
    parser.add_argument("--serve-fair", type=int, metavar="PORT", help=argparse.SUPPRESS)
    parser.add_argument("--api-url", help=argparse.SUPPRESS)
    parser.add_argument("--sample-file", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve_minimal:
        asyncio.run(serve_minimal(args.serve_minimal, args.api_url))
        return
    if args.serve_fair:
        asyncio.run(serve_fair(args.serve_fair, args.api_url, args.sample_file))
        return
    asyncio.run(run(args.users, args.rounds, args.database_url))


if __name__ == "__main__":
    main()
