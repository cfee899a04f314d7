"""Soak benchmark: N minutes (default 10) at a target of 200 answers a second across Telegram, Slack and the web chat,
with the bot's memory (RSS) and every answer's latency sampled. Not a test; run it by hand.

    .venv/bin/python bench/soak.py [--minutes 10] [--rate 200] [--database sqlite|postgresql] [--people 40]

Four processes besides this one, all on 127.0.0.1: the fake Telegram Bot API (as bench/telegram_webhook.py runs it),
the fake Slack Web API (as bench/slack_bench.py runs it), and the bot itself: the real wiring (bot.app build,
make_channels, serve) with all three channels on one HTTP server, started by this script's --serve-bot mode so that,
as in bench/telegram_webhook.py, Telegram's pacing (30 messages a second) and the web chat's per-link rate limit are
switched off: this measures the bot's capacity, not the platforms' limits.

This process plays `--people` respondents per channel at once. Each one takes a survey from the start, answer after
answer, then starts again as a new person; before each answer it takes a slot from its channel's pacer, which hands
out `--rate`/3 slots a second, so the offered load is the target unless the bot falls behind. An answer's latency is:

* Telegram: the webhook's HTTP response (the bot answers it only after the answer is stored and the replies sent);
* Slack: from the signed button press to the bot's next message in the person's DM (the ack comes first; the work
  follows in a task);
* web chat: the JSON API's HTTP response (the service commits before it answers).

It prints a line a minute (answers a second per channel, RSS) and then p50/p95/p99 latency per channel, the achieved
rate against the target, the bot's RSS at the start (after a 15 s warm-up) and end, its growth per minute, and the
stored answers against the answers sent.

Memory over time (`--memory-every MINUTES`, default 5): the RSS at each mark, and how much it grew over the last half
of the run, the figure that says whether memory has levelled off. The bot runs with glibc's malloc settings as the
deployment files set them (DEPLOYED_MALLOC); `--glibc-defaults` runs it without them. With `--tracemalloc` the bot
also traces Python's allocations (tracemalloc, `--trace-frames` frames each) and, at each mark, writes the traced
total and the ten allocation sites that grew most since its first mark; they are printed with the RSS. Tracing slows
the bot (two to three times the CPU per answer), so leave it off when the rate is what you are measuring. With
`--trim` the bot asks the C
allocator to hand back what is free (glibc's malloc_trim) at each mark and reports its RSS before and after: memory
that comes back was no longer in use, only kept by the allocator.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import ctypes
import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import tracemalloc
from collections import defaultdict
from dataclasses import dataclass, field
from itertools import count
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import aiohttp

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "bench"))

import slack_bench  # noqa: E402
import telegram_webhook  # noqa: E402

from tests.fakes.slack_api import slash_command_fields  # noqa: E402

CHANNELS = ("telegram", "slack", "web")
TELEGRAM_SURVEY, WEB_SURVEY = "policy-awareness", "you-said"
WARM_UP = 15.0  # seconds before the first memory figure counts
# As deploy/Dockerfile and deploy/surveybot.service run the bot: glibc's thresholds fixed where they start, so freed
# memory goes back to the system (with them rising, as they do by default, RSS kept growing; BENCHMARKS.md)
DEPLOYED_MALLOC = {"MALLOC_MMAP_THRESHOLD_": "131072", "MALLOC_TRIM_THRESHOLD_": "131072"}
TOP_SITES = 10  # allocation sites printed at each memory mark


# --- the bot, in its own process ---------------------------------------------------------------------------------

async def serve_bot() -> None:
    """`surveybot run` as bot.app wires it (settings from the environment), without pacing or web rate limits."""
    marks = os.environ.get("SOAK_MARKS_FILE")
    if os.environ.get("SOAK_TRACE_FRAMES"):
        tracemalloc.start(int(os.environ["SOAK_TRACE_FRAMES"]))
    from bot import logs
    from bot.app import build, make_channels, serve
    from bot.channels.pacing import Pacer
    from bot.channels.web import Limits, WebChannel
    from bot.config import Settings

    settings = Settings.from_env(os.environ)
    logs.configure(settings)
    app = await asyncio.to_thread(build, settings)
    channels = make_channels(app)
    for channel in channels:
        if isinstance(channel, WebChannel):
            channel.set_limits(Limits(person_rate=10**6, person_burst=10**6, client_rate=10**6, client_burst=10**6))
        elif hasattr(channel, "pacer"):
            channel.pacer = Pacer(overall=10**6, per_chat=10**6)  # type: ignore[attr-defined]
    marking = None
    if marks:
        marking = asyncio.create_task(memory_marks_in_bot(Path(marks), float(os.environ["SOAK_MARKS_EVERY"]),
                                                          bool(os.environ.get("SOAK_TRIM"))))
    await serve(app, channels)  # until SIGTERM
    if marking is not None:
        marking.cancel()


async def memory_marks_in_bot(path: Path, every: float, trim: bool) -> None:
    """In the bot: every `every` seconds, one JSON line: when tracing, the traced total and the sites that grew most
    since the first mark (taken after the warm-up), so what keeps growing stands out from what filled once; when
    trimming, the RSS before and after glibc's malloc_trim."""
    ignored = [tracemalloc.Filter(False, tracemalloc.__file__), tracemalloc.Filter(False, "<unknown>"),
               tracemalloc.Filter(False, "<frozen importlib._bootstrap*>")]
    libc = ctypes.CDLL("libc.so.6") if trim else None
    started = time.perf_counter()
    await asyncio.sleep(WARM_UP)
    tracing = tracemalloc.is_tracing()
    first = (await asyncio.to_thread(tracemalloc.take_snapshot)).filter_traces(ignored) if tracing else None
    while True:
        await asyncio.sleep(every)
        line: dict[str, Any] = {"t": round(time.perf_counter() - started)}
        if first is not None:
            snapshot = (await asyncio.to_thread(tracemalloc.take_snapshot)).filter_traces(ignored)
            grown = snapshot.compare_to(first, "traceback" if tracemalloc.get_traceback_limit() > 1 else "lineno")
            line["top"] = [{"where": " <- ".join(f"{Path(f.filename).name}:{f.lineno}" for f in stat.traceback),
                            "kb": round(stat.size_diff / 1024, 1), "count": stat.count_diff}
                           for stat in grown[:TOP_SITES]]
            line["traced_mb"] = round(tracemalloc.get_traced_memory()[0] / 2**20, 2)
        if libc is not None:
            line["before_trim_mb"] = rss_mb(os.getpid())
            libc.malloc_trim(0)
            line["after_trim_mb"] = rss_mb(os.getpid())
        with path.open("a") as out:
            out.write(json.dumps(line) + "\n")


def start_bot(port: int, data: Path, database_url: str, telegram_fake: telegram_webhook.RemoteFake,
              slack_api: str, trace: dict[str, str] | None = None) -> subprocess.Popen[str]:
    """The bot, with `trace` (the memory marks' settings, and DEPLOYED_MALLOC unless told otherwise) added to the
    environment."""
    env = {**os.environ, "SURVEYBOT_PORT": str(port), "SURVEYBOT_DATA_DIR": str(data), "DATABASE_URL": database_url,
           "SURVEYBOT_PEPPER": "soak-pepper-" + "x" * 40, "SURVEYBOT_LOG_LEVEL": "WARNING",
           "TELEGRAM_BOT_TOKEN": telegram_fake.token, "TELEGRAM_API_URL": telegram_fake.base_url,
           "TELEGRAM_WEBHOOK_URL": f"http://127.0.0.1:{port}/telegram/webhook",
           "TELEGRAM_WEBHOOK_SECRET": telegram_webhook.SECRET,
           "SLACK_BOT_TOKEN": slack_bench.TOKEN, "SLACK_SIGNING_SECRET": slack_bench.SECRET, "SLACK_API_URL": slack_api,
           "SLACK_EDITS_PER_MINUTE": "1000000"}  # the fake enforces no limits: as in bench/slack_bench.py
    env.pop("SLACK_APP_TOKEN", None)
    env.update(trace or {})
    return subprocess.Popen([sys.executable, __file__, "--serve-bot"], cwd=data, env=env, text=True)


def rss_mb(pid: int) -> float | None:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        return None
    return None


# --- load --------------------------------------------------------------------------------------------------------

class Pacer:
    """Hands out `rate` slots a second, evenly; a backlog of at most one second, so a slow spell is not followed by
    a burst."""

    def __init__(self, rate: float) -> None:
        self.gap = 1 / rate
        self.next = time.perf_counter()
        self.lock = asyncio.Lock()

    async def slot(self) -> None:
        async with self.lock:
            now = time.perf_counter()
            self.next = max(self.next + self.gap, now - 1.0)
            wait = self.next - now
        if wait > 0:
            await asyncio.sleep(wait)


@dataclass
class Figures:
    latencies: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    errors: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    per_minute: list[dict[str, int]] = field(default_factory=list)
    rss: list[tuple[float, float]] = field(default_factory=list)
    cpu_seconds: float | None = None  # the bot process's CPU time over the load

    def answered(self, channel: str, seconds: float) -> None:
        self.latencies[channel].append(seconds)


@dataclass
class Run:
    session: aiohttp.ClientSession
    bot_url: str
    until: float
    figures: Figures
    pacers: dict[str, Pacer]
    telegram_reply_url: str  # where the fake Bot API takes a webhook reply's method (as bench/telegram_webhook.py)
    users: count = field(default_factory=lambda: count(1))

    def going(self) -> bool:
        return time.perf_counter() < self.until


async def telegram_person(run: Run, questions: int) -> None:
    """Take the policy-awareness survey by typing "1" (valid for every question), again and again as new people."""
    url, headers = f"{run.bot_url}/telegram/webhook", {"X-Telegram-Bot-Api-Secret-Token": telegram_webhook.SECRET}
    ids = count(next(run.users) * 1000)
    while run.going():
        user = 500_000_000 + next(run.users)
        for number in range(questions + 2):  # /start, the consent, every question
            if number:
                await run.pacers["telegram"].slot()
            if not run.going():
                return
            began = time.perf_counter()
            text = f"/start {TELEGRAM_SURVEY}" if number == 0 else "1"
            async with run.session.post(url, json=telegram_webhook.update(next(ids), user, text),
                                        headers=headers) as response:
                reply, kind = await response.read(), response.headers.get("Content-Type", "")
                ok = response.status == 200
            if not ok:
                run.figures.errors["telegram"] += 1
                continue
            if number:
                run.figures.answered("telegram", time.perf_counter() - began)
            if kind.startswith("multipart/"):  # a method in the webhook reply: Telegram would carry it out
                async with run.session.post(run.telegram_reply_url, data=reply,
                                            headers={"Content-Type": kind}) as done:
                    if done.status != 200:
                        run.figures.errors["telegram"] += 1


async def slack_person(run: Run, harness: slack_bench.Harness, thanks: str) -> None:
    """Take the you-said survey with button presses (bench/slack_bench.py's press_for), again and again."""
    url = f"{run.bot_url}/slack/events"
    while run.going():
        user = f"U0SOAK{next(run.users):06d}"
        fields = slash_command_fields(user, text=f"start {WEB_SURVEY}", channel_id="C0SOAK")
        status, _ = await harness.post(url, urlencode(fields), "application/x-www-form-urlencoded")
        if status != 200:
            run.figures.errors["slack"] += 1
            continue
        inbox, pressed = harness.inbox[user], None
        while True:
            try:
                message = await asyncio.wait_for(inbox.get(), 30)
            except TimeoutError:
                run.figures.errors["slack"] += 1
                break
            if pressed is not None:
                run.figures.answered("slack", time.perf_counter() - pressed)
                pressed = None
            if thanks in message.get("text", "") or not run.going():
                break
            payload = slack_bench.press_for(user, harness.dms.get(user, "D0UNKNOWN"), message)
            if payload is None:
                continue
            await run.pacers["slack"].slot()
            pressed = time.perf_counter()
            status, _ = await harness.post(url, urlencode({"payload": json.dumps(payload)}),
                                           "application/x-www-form-urlencoded")
            if status != 200:
                run.figures.errors["slack"] += 1
                pressed = None


async def web_person(run: Run) -> None:
    """Take the you-said survey through the web chat's JSON API (as tests/test_web.py's Respondent), again and
    again, each time with a new cookie: the first option, the first tick, or a typed word."""
    url = f"{run.bot_url}/s/{WEB_SURVEY}/api"
    while run.going():
        async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True),
                                         connector=run.session.connector, connector_owner=False) as person:
            event: dict[str, Any] = {"type": "open"}
            while True:
                if event["type"] != "open":
                    await run.pacers["web"].slot()
                if not run.going():
                    return
                began = time.perf_counter()
                async with person.post(url, json=event) as response:
                    body = await response.json() if response.status == 200 else None
                if body is None:
                    run.figures.errors["web"] += 1
                    break
                if event["type"] != "open":
                    run.figures.answered("web", time.perf_counter() - began)
                waiting = [e for e in body["effects"] if e["type"] in ("ask", "update")]
                if not body.get("open") or not waiting:
                    break
                prompt, turn = waiting[-1]["prompt"], waiting[-1]["turn"]
                if prompt["kind"] == "multi":
                    event = {"type": "ticks", "turn": turn, "indexes": [0]}
                elif prompt["options"]:
                    event = {"type": "pick", "turn": turn, "index": 0}
                else:
                    event = {"type": "reply", "turn": turn, "text": "More places to meet"}


async def sample(run: Run, pid: int, started: float) -> None:
    """Every 5 s: the bot's RSS; every minute: a line of answers a second per channel."""
    last_minute, counted = started, {c: 0 for c in CHANNELS}
    while run.going():
        await asyncio.sleep(5)
        now = time.perf_counter()
        rss = rss_mb(pid)
        if rss is not None:
            run.figures.rss.append((now - started, rss))
        if now - last_minute >= 60:
            done = {c: len(run.figures.latencies[c]) for c in CHANNELS}
            rates = {c: (done[c] - counted[c]) / (now - last_minute) for c in CHANNELS}
            run.figures.per_minute.append({c: done[c] - counted[c] for c in CHANNELS})
            print(f"  minute {len(run.figures.per_minute):>2}: " + ", ".join(f"{c} {rates[c]:6.1f}/s" for c in
                  CHANNELS) + f", total {sum(rates.values()):6.1f}/s, RSS {rss or 0:.0f} MB", flush=True)
            last_minute, counted = now, done


def stored(database_url: str) -> dict[str, int]:
    from sqlalchemy import create_engine, text

    engine = create_engine(database_url)
    try:
        with engine.connect() as connection:
            return {channel: int(number) for channel, number in connection.execute(text(
                "SELECT r.channel, count(*) FROM answer a JOIN response r ON r.id = a.response_id GROUP BY r.channel"))}
    finally:
        engine.dispose()


async def soak(minutes: float, rate: float, people: int, database_url: str, data: Path,
               trace: dict[str, str] | None = None) -> tuple[Figures, float]:
    from bot.services.surveyfiles import SurveyCatalogue, builtin_survey_dir

    catalogue = SurveyCatalogue.from_dirs([builtin_survey_dir()])
    thanks = catalogue.latest(WEB_SURVEY).thanks.strip().splitlines()[0]
    questions = len(catalogue.latest(TELEGRAM_SURVEY).questions)
    processes: list[subprocess.Popen[str]] = []
    telegram_fake = telegram_webhook.RemoteFake()
    try:
        slack_fake, slack_url = slack_bench.start_fake()
        processes.append(slack_fake)
        port = slack_bench.free_port()
        bot = start_bot(port, data, database_url, telegram_fake, f"{slack_url}/api/", trace)
        processes.append(bot)
        bot_url = f"http://127.0.0.1:{port}"
        connector = aiohttp.TCPConnector(limit=4 * people + 20)
        async with aiohttp.ClientSession(connector=connector) as session:
            await slack_bench.wait_until_up(session, f"{bot_url}/healthz", bot)
            harness = slack_bench.Harness(session, slack_url)
            follower = asyncio.create_task(harness.follow())
            figures = Figures()
            started = time.perf_counter()
            run = Run(session, bot_url, started + minutes * 60, figures, {c: Pacer(rate / 3) for c in CHANNELS},
                      f"{telegram_fake.base_url}/_fake/webhook_reply")
            print(f"soak: {minutes:g} min at {rate:g} answers/s, {people} people per channel, load average "
                  f"{os.getloadavg()[0]:.2f}, "
                  f"{'PostgreSQL' if database_url.startswith('postgresql') else 'SQLite'}, bot pid {bot.pid}",
                  flush=True)
            cpu_before = slack_bench.cpu_seconds(bot.pid)
            people_tasks = [*(telegram_person(run, questions) for _ in range(people)),
                            *(slack_person(run, harness, thanks) for _ in range(people)),
                            *(web_person(run) for _ in range(people))]
            await asyncio.gather(sample(run, bot.pid, started), *people_tasks)
            seconds = time.perf_counter() - started
            cpu_after = slack_bench.cpu_seconds(bot.pid)
            if cpu_before is not None and cpu_after is not None:
                figures.cpu_seconds = cpu_after - cpu_before
            follower.cancel()
        bot.send_signal(signal.SIGTERM)
        bot.wait(30)
    finally:
        for process in reversed(processes):
            if process.poll() is None:
                process.terminate()
        for process in processes:
            with contextlib.suppress(subprocess.TimeoutExpired):
                process.wait(10)
        telegram_fake.close()
    return figures, seconds


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))] * 1000 if ordered else float("nan")


def report(figures: Figures, seconds: float, rate: float, kept: dict[str, int]) -> None:
    print(f"\n{'':10}{'answers':>9}{'per second':>12}{'p50 ms':>9}{'p95 ms':>9}{'p99 ms':>9}{'errors':>8}"
          f"{'stored':>9}")
    total = 0
    for channel in CHANNELS:
        lat = figures.latencies[channel]
        total += len(lat)
        print(f"{channel:10}{len(lat):>9}{len(lat) / seconds:>12.1f}{percentile(lat, 0.5):>9.1f}"
              f"{percentile(lat, 0.95):>9.1f}{percentile(lat, 0.99):>9.1f}{figures.errors[channel]:>8}"
              f"{kept.get(channel, 0):>9}")
    every = [x for c in CHANNELS for x in figures.latencies[c]]
    print(f"{'all':10}{total:>9}{total / seconds:>12.1f}{percentile(every, 0.5):>9.1f}{percentile(every, 0.95):>9.1f}"
          f"{percentile(every, 0.99):>9.1f}")
    print(f"achieved {total / seconds:.1f} answers/s of a target of {rate:g}: ratio {total / seconds / rate:.2f}")
    if figures.cpu_seconds is not None and total:
        print(f"bot CPU: {figures.cpu_seconds / total * 1000:.1f} ms per answer; the bot process used "
              f"{figures.cpu_seconds / seconds:.0%} of one CPU (below 100%: it waited on the machine or the database)")
    warm = [(t, r) for t, r in figures.rss if t >= WARM_UP]
    if len(warm) >= 2:
        (t0, r0), (t1, r1) = warm[0], warm[-1]
        slope = statistics.linear_regression([t for t, _ in warm], [r for _, r in warm]).slope * 60 if len(
            warm) > 2 else (r1 - r0) / (t1 - t0) * 60
        print(f"bot RSS: {r0:.0f} MB at {t0:.0f} s, {r1:.0f} MB at {t1:.0f} s, peak {max(r for _, r in warm):.0f} MB;"
              f" growth {r1 - r0:+.1f} MB ({slope:+.2f} MB/min by least squares)")
        half = min(warm, key=lambda sample: abs(sample[0] - t1 / 2))
        print(f"bot RSS over the last half: {half[1]:.1f} MB at {half[0]:.0f} s, {r1:.1f} MB at {t1:.0f} s; "
              f"growth {r1 - half[1]:+.1f} MB")
    print("stored: answers in the database by channel; each person's consent is an answer here but stores nothing, "
          "so stored < answers")


def memory_marks(figures: Figures, every: float, traced: Path | None) -> None:
    """The RSS at every mark (the 5 s sample nearest it) and what the bot wrote at each mark: the traced total and
    the sites that grew most since its first mark (--tracemalloc), its RSS around malloc_trim (--trim)."""
    print(f"\nmemory every {every:g} min (RSS: the bot process; traced: Python's allocations, when --tracemalloc)")
    marks = {}
    if traced is not None and traced.exists():
        marks = {round(line["t"] / 60 / every): line for line in map(json.loads, traced.read_text().splitlines())}
    end = figures.rss[-1][0] if figures.rss else 0.0
    for mark in range(1, int(end / 60 / every) + 1):
        t, rss = min(figures.rss, key=lambda sample: abs(sample[0] - mark * every * 60))
        line = marks.get(mark)
        print(f"  {t / 60:5.1f} min: RSS {rss:6.1f} MB" + (f", traced {line['traced_mb']:6.2f} MB" if line and
                                                          "traced_mb" in line else "")
              + (f", malloc_trim: {line['before_trim_mb']:.1f} -> {line['after_trim_mb']:.1f} MB" if line and
                 "after_trim_mb" in line else ""))
        for site in (line or {}).get("top", []):
            print(f"      {site['kb']:+9.1f} KB {site['count']:+8d} blocks  {site['where']}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--minutes", type=float, default=10)
    parser.add_argument("--rate", type=float, default=200, help="target answers a second, split evenly by channel")
    parser.add_argument("--people", type=int, default=40, help="respondents at once, per channel")
    parser.add_argument("--database", choices=("sqlite", "postgresql"), default="sqlite")
    parser.add_argument("--memory-every", type=float, default=5, metavar="MINUTES",
                        help="print the RSS (and, with --tracemalloc, the growing allocation sites) this often")
    parser.add_argument("--tracemalloc", action="store_true", help="trace the bot's allocations (slows it)")
    parser.add_argument("--trace-frames", type=int, default=1, help="frames kept per traced allocation")
    parser.add_argument("--trim", action="store_true", help="at each mark, malloc_trim in the bot (what comes back "
                                                            "was free, kept by the allocator)")
    parser.add_argument("--glibc-defaults", action="store_true",
                        help="run the bot without the deployment's malloc settings (its memory then keeps growing)")
    parser.add_argument("--serve-bot", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve_bot:
        asyncio.run(serve_bot())
        return
    with tempfile.TemporaryDirectory(prefix="soak-") as folder:
        database_url = f"sqlite:///{folder}/soak.db"
        if args.database == "postgresql":
            made = telegram_webhook.postgres_database()
            if made is None:
                raise SystemExit("soak: no PostgreSQL server reachable at 127.0.0.1:5432")
            database_url = made
        traced = Path(folder) / "memory.jsonl" if args.tracemalloc or args.trim else None
        trace = None if traced is None else {"SOAK_MARKS_FILE": str(traced), "SOAK_MARKS_EVERY":
                                             str(args.memory_every * 60)}
        if trace is not None and args.tracemalloc:
            trace["SOAK_TRACE_FRAMES"] = str(args.trace_frames)
        if trace is not None and args.trim:
            trace["SOAK_TRIM"] = "1"
        if not args.glibc_defaults:
            trace = {**(trace or {}), **DEPLOYED_MALLOC}
        try:
            figures, seconds = asyncio.run(soak(args.minutes, args.rate, args.people, database_url, Path(folder),
                                                trace))
            kept = stored(database_url)
            print(f"\nmachine: {os.cpu_count()} CPUs; {seconds:.0f} s of load; load average at the end "
                  + ", ".join(f"{x:.2f}" for x in os.getloadavg()))
            report(figures, seconds, args.rate, kept)
            memory_marks(figures, args.memory_every, traced)
        finally:
            if args.database == "postgresql":
                with contextlib.suppress(Exception):
                    telegram_webhook.drop_database(database_url)


if __name__ == "__main__":
    main()
