"""Benchmark of the Teams channel: answers a second through /api/messages, side by side with two minimal Agents SDK
bots, on one harness.

    .venv/bin/python bench/teams.py [--database sqlite|postgresql] [--users 50] [--rounds 4]

The baselines. The fair one is a minimal bot that makes, per message, the two Bot Connector calls a survey step
makes, and nothing else: it redraws the card it sent last to the conversation (update_activity, a small Adaptive
Card with the answer and no buttons) and sends a new small card with buttons (send_activity); no storage, no survey.
The echo bot, kept for information, answers each message with one message saying it back: it says what the SDK, the
token validation and the harness cost, and makes half the calls. Both are the same Microsoft 365 Agents SDK set up as
the channel sets it up (AgentApplication, CloudAdapter, the MSAL connection manager, JwtTokenValidator with the same
settings), mounted the same way on the bot's own HttpServer.

Four processes, all on 127.0.0.1:

- this one: the fake Teams (tests/fakes/teams_api.py: the Bot Connector, and the token issuers behind their HTTPS
  proxy) and `--users` people at once. Every activity carries a token signed by the fake issuer, as Teams' service
  signs them (one token for the run, as the service reuses its token: the bots validate it every time all the same);
- surveybot, built and served by the composition root as `surveybot run` does (bot.app: build, make_channels, serve),
  with the Teams channel on the fake and its pacing to Teams' limits switched off (this measures the bot's capacity,
  not Teams' limits, as the Telegram and Slack benches do);
- the two baselines.

For surveybot, each person takes the whole policy-awareness survey through tests/fakes/teams_respondent.py: `/start`,
then every question answered as Teams delivers it (a button press, ticks and Done, or typed words in the card's box
or as a message), each after the bot posted the question before. An answer counts once the bot has answered the
HTTP request, which it does after the answer is stored and its replies (the answered card updated, the next question
posted) have gone to the fake; the round's clock stops when everyone has had the thanks and no question card is left
with its buttons. On the fair baseline each person says `/start` (it sends the first card), then presses a button on
the card it sent last, ANSWERS_EACH times, each press once the card before came; on the echo bot each person sends
ANSWERS_EACH messages, each after the echo of the one before. Each baseline makes its calls before it answers the
HTTP request. The three take turns, a round of `--users` people each, so all meet the (shared) machine's load alike.

Not a test: it prints answers a second for each, the ratio to the fair baseline (target at least 0.5) and to the
echo bot, p50/p95 time to the HTTP reply, the Bot Connector requests each answer cost (the `/start`'s included), CPU
milliseconds per answer of each process and the machine's load average, checks that every person's response was
stored as completed, and exits 0.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from bench.slack_bench import cpu_seconds, wait_until_up  # noqa: E402
from tests.conftest import bench_database, drop_postgres  # noqa: E402
from tests.fakes.teams_api import FakeTeams, Message, Payload, TeamsUser  # noqa: E402
from tests.fakes.teams_respondent import Respondent  # noqa: E402
from tests.processes import free_port  # noqa: E402

SURVEY = "policy-awareness"
ANSWERS_EACH = 12  # the survey's consent and its eleven questions: what a person on surveybot sends at most
PEPPER = "bench-pepper-" + "x" * 40
FAIR_PRESS = "next"  # the data of the fair baseline's buttons


# --- the three bots, each served in its own process ------------------------------------------------------------------

async def serve_surveybot(port: int, data_dir: Path, database_url: str) -> None:
    """surveybot as `surveybot run` wires it, with the Teams channel's pacing switched off, until SIGTERM."""
    from bot.app import build, make_channels, serve
    from bot.channels.pacing import Pacer
    from bot.config import Settings

    env = {**os.environ, "SURVEYBOT_PORT": str(port), "SURVEYBOT_DATA_DIR": str(data_dir), "DATABASE_URL": database_url,
           "SURVEYBOT_PEPPER": PEPPER, "SURVEYBOT_LOG_LEVEL": "WARNING"}
    app = await asyncio.to_thread(build, Settings.from_env(env))
    channels = make_channels(app)
    for channel in channels:
        renderer = getattr(channel, "renderer", None)
        if renderer is not None:
            renderer.pacer = Pacer(overall=10**6, per_chat=10**6)
    await serve(app, channels)  # stops on SIGTERM
    app.engine.dispose()


async def serve_baseline(port: int, kind: str) -> None:
    """A baseline: the Agents SDK set up as the channel sets it up (the same validator, adapter, application and
    connection manager), mounted the same way on the bot's own HttpServer, whose only work is `kind`'s handler."""
    from microsoft_agents.activity import ActivityTypes
    from microsoft_agents.hosting.aiohttp import CloudAdapter
    from microsoft_agents.hosting.core import AgentApplication, ApplicationOptions, JwtTokenValidator, TurnState

    from bot.channels.teams.channel import NoStorage, app_connections
    from bot.server import HttpServer

    app_id = os.environ["SURVEYBOT_TEAMS_APP_ID"]
    config, connections = app_connections(app_id, os.environ["SURVEYBOT_TEAMS_APP_PASSWORD"],
                                          os.environ["SURVEYBOT_TEAMS_TENANT_ID"])
    validator = JwtTokenValidator(config)
    adapter = CloudAdapter(connection_manager=connections)
    agent = AgentApplication[TurnState](
        ApplicationOptions(bot_app_id=app_id, storage=NoStorage(), start_typing_timer=False),
        connection_manager=connections)
    agent.add_route(lambda context: context.activity.type == ActivityTypes.message, BASELINES[kind]())

    async def endpoint(request: aiohttp.web.Request) -> aiohttp.web.StreamResponse:
        scheme, _, token = request.headers.get("Authorization", "").partition(" ")
        if scheme.lower() != "bearer":
            return aiohttp.web.Response(status=401)
        try:
            request["claims_identity"] = await validator.validate_token(token.strip())
        except Exception:  # any refusal is a 401, as the channel answers
            return aiohttp.web.Response(status=401)
        return await adapter.process(request, agent) or aiohttp.web.Response(status=202)

    server = HttpServer("127.0.0.1", port)
    server.add_route("POST", "/api/messages", endpoint)
    await server.start()
    try:
        await asyncio.Event().wait()
    finally:
        await server.stop()


Handler = Callable[[Any, Any], Awaitable[None]]  # an AgentApplication route: (TurnContext, TurnState)


def echo_handler() -> Handler:
    """The echo bot: each message said back, in one message."""

    async def echo(context: Any, _state: Any) -> None:
        await context.send_activity(f"You said: {context.activity.text or ''}")

    return echo


def fair_handler() -> Handler:
    """The fair baseline: per message, the two Bot Connector calls a survey step makes and nothing else. The card it
    sent last to the conversation is redrawn with the answer and no buttons (update_activity), then a new card with
    buttons is sent (send_activity), one after the other as the channel's renderer does. Where its last card is, is
    kept in memory (as the channel keeps its recent questions); the first message of a conversation has no card to
    update. The cards are small ones made with the channel's own card helpers and sent as the renderer sends them."""
    from bot.channels.teams.cards import action_set, card, submit, words
    from bot.channels.teams.render import message

    last: dict[str, str] = {}  # conversation -> the id of the card sent last

    async def step(context: Any, _state: Any) -> None:
        conversation = context.activity.conversation.id
        if conversation in last:
            answered = message("Question", card([words("Question"), words("You answered: Yes", subtle=True)]))
            answered.id = last[conversation]
            await context.update_activity(answered)
        question = card([words("Question"), action_set([submit("Yes", FAIR_PRESS), submit("No", FAIR_PRESS)])])
        sent = await context.send_activity(message("Question", question))
        last[conversation] = str(sent.id)

    return step


BASELINES: dict[str, Callable[[], Handler]] = {"echo": echo_handler, "fair": fair_handler}


# --- processes -------------------------------------------------------------------------------------------------------

def start(mode: list[str], teams: FakeTeams) -> subprocess.Popen[str]:
    env = {**os.environ, **teams.environment(), **teams.settings()}
    return subprocess.Popen([sys.executable, __file__, *mode], cwd=REPO, env=env, text=True)


# --- the harness -----------------------------------------------------------------------------------------------------

class BenchTeams(FakeTeams):
    """The fake Teams, posting every activity through one connection pool with one token (as Teams' service reuses
    its token), and timing each post to its HTTP reply: minting a token and opening a session per activity, as the
    tests may, would make this process the bottleneck for both bots."""

    def __init__(self, folder: Path, session: aiohttp.ClientSession) -> None:
        super().__init__(folder)
        self.session = session
        self.token = ""
        self.replies: list[float] = []  # seconds from each post to its reply, this round
        self.sent: Counter[str] = Counter()  # activities posted, by person

    async def __aenter__(self) -> BenchTeams:
        await super().__aenter__()
        return self

    async def post(self, activity: Payload, *, token: str | None = None, url: str | None = None) -> tuple[int, str]:
        if not self.token:
            self.token = self.identity.mint(service_url=self.connector.url)
        started = time.perf_counter()
        async with self.session.post(url or self.bot_url, json=activity,
                                     headers={"Authorization": f"Bearer {token or self.token}"}) as response:
            text = await response.text()
        self.replies.append(time.perf_counter() - started)
        self.sent[activity["from"]["id"]] += 1
        return response.status, text


@dataclass
class Result:
    """One bot's answers, summed over its rounds."""

    name: str
    processes: dict[str, int] = field(default_factory=dict)  # role -> pid, whose CPU time is counted per answer
    answers: int = 0
    seconds: float = 0.0
    calls: int = 0  # requests the bot made to the Bot Connector
    replies: list[float] = field(default_factory=list)
    cpu: dict[str, float] = field(default_factory=dict)
    loads: list[float] = field(default_factory=list)

    @property
    def rate(self) -> float:
        return self.answers / self.seconds

    def percentile(self, share: float) -> float:
        return statistics.quantiles(self.replies, n=100, method="inclusive")[round(share * 100) - 1] * 1000

    def cpu_ms(self, role: str) -> float:
        return self.cpu.get(role, 0.0) / self.answers * 1000


async def play_round(teams: BenchTeams, result: Result, users: int,
                     play: Callable[[int], Awaitable[int]], settled: Callable[[], bool]) -> None:
    """`users` people at once, each playing once; the clock stops when all are done and `settled` holds."""
    before = {role: cpu_seconds(pid) for role, pid in result.processes.items()}
    teams.replies = []
    calls = len(teams.connector.calls)
    started = time.perf_counter()
    done = sum(await asyncio.gather(*(play(n) for n in range(users))))
    await teams.connector.wait_for(settled, timeout=30)
    result.seconds += time.perf_counter() - started
    result.answers += done
    result.calls += len(teams.connector.calls) - calls
    result.replies.extend(teams.replies)
    for role, pid in result.processes.items():
        after, earlier = cpu_seconds(pid), before[role]
        if after is not None and earlier is not None:
            result.cpu[role] = result.cpu.get(role, 0.0) + after - earlier
    result.loads.append(os.getloadavg()[0])


def completed_responses(database_url: str) -> int:
    from sqlalchemy import create_engine, text

    engine = create_engine(database_url)
    try:
        with engine.connect() as connection:
            return int(connection.execute(text("SELECT count(*) FROM response WHERE survey_id = :s AND completed"),
                                          {"s": SURVEY}).scalar_one())
    finally:
        engine.dispose()


async def run(users: int, rounds: int, database: str) -> None:
    from bot.services.surveyfiles import SurveyCatalogue, builtin_survey_dir

    thanks = SurveyCatalogue.from_dirs([builtin_survey_dir()]).latest(SURVEY).thanks
    processes: list[subprocess.Popen[str]] = []
    with tempfile.TemporaryDirectory(prefix="teams-bench-") as folder:
        data_dir = Path(folder)
        database_url, to_drop = bench_database(database, data_dir)
        try:
            connector = aiohttp.TCPConnector(limit=2 * users + 10)
            async with aiohttp.ClientSession(connector=connector) as session, \
                    BenchTeams(data_dir / "fake", session) as teams:
                bot_port, echo_port, fair_port = free_port(), free_port(), free_port()
                processes.append(start(["--serve-bot", str(bot_port), "--data", str(data_dir),
                                        "--database-url", database_url], teams))
                processes.append(start(["--serve-baseline", "echo", str(echo_port)], teams))
                processes.append(start(["--serve-baseline", "fair", str(fair_port)], teams))
                for process, port in zip(processes, (bot_port, echo_port, fair_port), strict=True):
                    await wait_until_up(session, f"http://127.0.0.1:{port}/healthz", process)
                teams.bot_url = f"http://127.0.0.1:{bot_port}/api/messages"
                people: list[TeamsUser] = []

                async def on_bot(n: int) -> int:
                    person = teams.person(name=f"Bench Person {n}")
                    people.append(person)
                    await Respondent(person, seed=n).complete(SURVEY, thanks)
                    return teams.sent[person.user] - 1  # every activity but the /start

                def on_baseline(port: int, answer: Callable[[TeamsUser, Message | None, int], Payload],
                                first: str | None = None) -> Callable[[int], Awaitable[int]]:
                    """People on a baseline: `first` said if given, then ANSWERS_EACH activities, each made by
                    `answer` from the bot's last message, and each sent once the bot's reply to the one before came."""
                    url = f"http://127.0.0.1:{port}/api/messages"

                    async def play(n: int) -> int:
                        person = teams.person(name=f"Bench Person {n}")

                        async def exchange(activity: Payload) -> Message:
                            status, _ = await teams.post(activity, url=url)
                            assert status in (200, 202), status
                            return await person.next_message()

                        last = await exchange(person.message(first)) if first else None
                        for number in range(ANSWERS_EACH):
                            last = await exchange(answer(person, last, number))
                        return ANSWERS_EACH

                    return play

                def press(person: TeamsUser, last: Message | None, _number: int) -> Payload:
                    assert last is not None, "the fair baseline's first card"
                    return person.submit(last, FAIR_PRESS)

                on_echo = on_baseline(echo_port, lambda person, _last, number: person.message(f"answer {number}"))
                on_fair = on_baseline(fair_port, press, first=f"/start {SURVEY}")

                def bot_settled() -> bool:
                    return not any(m.question for p in people for m in teams.connector.posted(p.conversation))

                def nothing() -> bool:  # a baseline's calls are all made before it answers the HTTP request
                    return True

                watched = {"driver and fake": os.getpid()}
                await play_round(teams, Result("warm"), 5, on_bot, bot_settled)
                await play_round(teams, Result("warm"), 5, on_echo, nothing)
                await play_round(teams, Result("warm"), 5, on_fair, nothing)
                echo = Result("minimal bot: echo (info)", {"bot": processes[1].pid, **watched})
                fair = Result("minimal bot: 2 calls (fair)", {"bot": processes[2].pid, **watched})
                bot = Result("surveybot (all the work)", {"bot": processes[0].pid, **watched})
                for _ in range(rounds):  # taking turns, so all three see the machine's load alike
                    await play_round(teams, echo, users, on_echo, nothing)
                    await play_round(teams, fair, users, on_fair, nothing)
                    people.clear()
                    await play_round(teams, bot, users, on_bot, bot_settled)
                failed = [c for c in teams.connector.calls if c.status >= 400]
            stored = completed_responses(database_url)
        finally:
            for process in reversed(processes):
                process.terminate()
            for process in processes:
                process.wait(20)
            if to_drop:
                drop_postgres(to_drop)
    report(users, rounds, database, (echo, fair, bot), stored, len(failed))


def report(users: int, rounds: int, database: str, results: tuple[Result, Result, Result], stored: int,
           failed: int) -> None:
    echo, fair, bot = results
    print(f"\nTeams /api/messages, {users} people at once, {rounds} rounds ({database}; {os.cpu_count()} CPUs)")
    roles = ("bot", "driver and fake")
    print(f"{'':30}{'answers':>8}{'per second':>12}{'p50 ms':>9}{'p95 ms':>9}{'load':>6}{'calls/answer':>14}"
          "   CPU ms/answer:" + "".join(f"{role:>17}" for role in roles))
    for result in results:
        print(f"{result.name:30}{result.answers:>8}{result.rate:>12.1f}{result.percentile(0.5):>9.1f}"
              f"{result.percentile(0.95):>9.1f}{statistics.mean(result.loads):>6.1f}"
              f"{result.calls / result.answers:>14.2f}{'':15}"
              + "".join(f"{result.cpu_ms(role):>17.2f}" for role in roles))
    print(f"ratio surveybot / the two-call bot (the fair baseline): {bot.rate / fair.rate:.2f} (target >= 0.5); "
          f"surveybot / the echo bot (for information): {bot.rate / echo.rate:.2f}; "
          f"bot CPU per answer, the two-call bot's / surveybot's: {fair.cpu_ms('bot') / bot.cpu_ms('bot'):.2f}, "
          f"the echo bot's / surveybot's: {echo.cpu_ms('bot') / bot.cpu_ms('bot'):.2f}")
    print(f"completed responses stored: {stored} (people: {users * rounds + 5}); Bot Connector calls refused: {failed}")
    print("The bots take turns, a round each. load: the machine's 1-minute load average after their rounds (mean); "
          "calls/answer: requests to the Bot Connector (posts and card updates); CPU: each process's user and system "
          "time over the bot's rounds, per answer")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database", choices=("sqlite", "postgresql"), default="sqlite")
    parser.add_argument("--users", type=int, default=50)
    parser.add_argument("--rounds", type=int, default=4)
    parser.add_argument("--serve-bot", type=int, metavar="PORT", help=argparse.SUPPRESS)
    parser.add_argument("--serve-baseline", nargs=2, metavar=("KIND", "PORT"), help=argparse.SUPPRESS)
    parser.add_argument("--data", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--database-url", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve_bot:
        asyncio.run(serve_surveybot(args.serve_bot, args.data, args.database_url))
    elif args.serve_baseline:
        kind, port = args.serve_baseline
        asyncio.run(serve_baseline(int(port), kind))
    else:
        asyncio.run(run(args.users, args.rounds, args.database))


if __name__ == "__main__":
    main()
