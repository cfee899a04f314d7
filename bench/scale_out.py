"""Benchmark: the scale-out curve on PostgreSQL: answers a second through Telegram's webhook path with 1, 2 and 3 bot
processes behind a round-robin balancer, in one run.

The harness is bench/telegram_webhook.py's: the same driver (50 concurrent respondents answering the policy-awareness
survey, each update posted with the secret token, a method in the webhook's reply carried out as Telegram would), the
same fake Bot API in a process of its own, and surveybot started the same way (the composition root's start-up, with
pacing to Telegram's limits switched off, since this measures processing capacity). What is added:

- each bot runs in a process of its own, all on one PostgreSQL database, behind the round-robin balancer the
  scale-out test uses (tests/fakes/balancer.py), itself in a process of its own;
- each bot process is pinned to a CPU of its own where the machine has one (bot i on CPU i modulo the CPUs); the
  load generator (the fake Bot API, the balancer and the driver) is pinned to the CPUs no bot has, or shares them all
  when the bots have taken every CPU. PostgreSQL is not pinned: it serves other work on this machine too;
- every process's CPU time is read from /proc/<pid>/stat before and after each round (PostgreSQL's: the server
  processes serving this benchmark's database), so the CPU cost of an answer in each process shows even where the
  machine has too few CPUs to show scaling;
- the numbers of processes take turns, a round each, the order turning every round, so a burst of other work on the
  machine falls on all of them alike; every round starts its processes afresh on the database the earlier rounds left;
- at the end, every respondent has exactly one response holding exactly their answers: none lost, none stored twice
  by two processes.

With --per-process, the respondents are that many for each bot process (50, 100 and 150 for 1, 2 and 3), so each
process has as many answers in flight whatever their number, and its CPU cost of an answer can be compared alone.

Run from the repository root:  .venv/bin/python bench/scale_out.py [--respondents 50] [--passes 3] [--rounds 3]
                               [--processes 1,2,3] [--per-process]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # run as a script from anywhere

from bench.telegram_webhook import ANSWERS_EACH, RemoteFake, drive, surveybot  # noqa: E402
from tests.conftest import bench_database, drop_postgres  # noqa: E402

TICK = os.sysconf("SC_CLK_TCK")
STORED_EACH = ANSWERS_EACH - 1  # consent is not an answer


def cpu_seconds(pid: int) -> float:
    """User and system CPU time of a process, all its threads, from /proc/<pid>/stat (0 once it has gone)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return 0.0
    fields = stat[stat.rindex(")") + 2:].split()  # after "pid (comm) "; utime and stime are fields 14 and 15
    return (int(fields[11]) + int(fields[12])) / TICK


def pin(pid: int, cpus: set[int]) -> None:
    """Every thread of a running process onto `cpus`."""
    for thread in os.listdir(f"/proc/{pid}/task"):
        os.sched_setaffinity(int(thread), cpus)


def pinned_to(cpus: set[int]) -> dict[str, object]:
    """Popen arguments that start a process already on `cpus` (its threads inherit them)."""
    return {"preexec_fn": lambda: os.sched_setaffinity(0, cpus)}


def cpu_names(cpus: set[int]) -> str:
    return ("CPU " if len(cpus) == 1 else "CPUs ") + ",".join(str(c) for c in sorted(cpus))


def load_average() -> float:
    return float(Path("/proc/loadavg").read_text().split()[0])


@dataclass
class Placement:
    """Where each process of a round runs."""

    bots: list[set[int]]
    load: set[int]  # the fake Bot API, the balancer and the driver

    @classmethod
    def of(cls, processes: int, cpus: list[int]) -> Placement:
        bots = [{cpus[i % len(cpus)]} for i in range(processes)]
        free = set(cpus[processes:])
        return cls(bots, free or set(cpus))

    def describe(self) -> str:
        bots = ", ".join(f"bot{i + 1} on {cpu_names(c)}" for i, c in enumerate(self.bots))
        return f"{bots}; fake Bot API, balancer and driver on {cpu_names(self.load)}; PostgreSQL not pinned"


@dataclass
class Curve:
    """What the rounds with one number of processes measured, added up."""

    processes: int
    placement: Placement
    seconds: float = 0.0
    latencies: list[float] = field(default_factory=list)
    bot_cpu: list[float] = field(default_factory=list)  # per process
    forwarded: list[int] = field(default_factory=list)  # updates the balancer gave each process
    postgres_cpu: float = 0.0
    commits: int = 0  # transactions committed in the benchmark's database
    balancer_cpu: float = 0.0
    fake_cpu: float = 0.0
    driver_cpu: float = 0.0
    loads: list[float] = field(default_factory=list)
    rates: list[float] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.bot_cpu = [0.0] * self.processes
        self.forwarded = [0] * self.processes

    @property
    def answers(self) -> int:
        return len(self.latencies)

    @property
    def rate(self) -> float:
        return self.answers / self.seconds

    def per_answer(self, cpu: float) -> float:
        """CPU milliseconds per answer."""
        return cpu / self.answers * 1000

    def per_process(self) -> list[tuple[float, float]]:
        """Each bot process: its CPU ms per answer it took (its share of the updates), and how busy it kept its CPU."""
        total = sum(self.forwarded)
        return [(cpu / (self.answers * taken / total) * 1000 if taken else 0.0, cpu / self.seconds)
                for cpu, taken in zip(self.bot_cpu, self.forwarded, strict=True)]


class Round:
    """One round: N bot processes and the balancer started afresh, the driver run once, everything stopped."""

    def __init__(self, fake: RemoteFake, fake_pid: int, database_url: str, data: Path, placement: Placement) -> None:
        self.fake, self.fake_pid, self.database_url, self.data = fake, fake_pid, database_url, data
        self.placement = placement
        self.bots: list[subprocess.Popen[str]] = []
        self.balancer: subprocess.Popen[str] | None = None
        self.balancer_url = ""

    def start(self) -> str:
        """Start the bots and the balancer in front of them; the balancer's webhook URL."""
        pin(self.fake_pid, self.placement.load)
        for cpus in self.placement.bots:  # all at once, as a deployment's processes start
            self.bots.append(subprocess.Popen(
                [sys.executable, __file__, "--bot", "--fake-url", self.fake.base_url, "--database-url",
                 self.database_url, "--data", str(self.data)],
                cwd=ROOT, stdout=subprocess.PIPE, text=True, **pinned_to(cpus)))  # type: ignore[call-overload]
        urls = []
        for bot in self.bots:
            assert bot.stdout is not None
            line = bot.stdout.readline().strip()
            if not line:
                raise SystemExit(f"a bot process exited with {bot.wait(10)} before it was serving")
            urls.append(line.removesuffix("/telegram/webhook"))
        self.balancer = subprocess.Popen([sys.executable, "-m", "tests.fakes.balancer", "--port", "0", *urls],
                                         cwd=ROOT, stdout=subprocess.PIPE, text=True,
                                         **pinned_to(self.placement.load))  # type: ignore[call-overload]
        assert self.balancer.stdout is not None
        self.balancer_url = self.balancer.stdout.readline().strip()
        return f"{self.balancer_url}/telegram/webhook"

    def forwarded(self) -> list[int]:
        """How many updates the balancer gave each bot process."""
        with urllib.request.urlopen(f"{self.balancer_url}/_balancer/forwarded", timeout=30) as response:
            counts = json.loads(response.read())
        return [int(counts.get(f"bot{i + 1}", 0)) for i in range(len(self.bots))]

    def stop(self) -> None:
        for process in [*self.bots, *([self.balancer] if self.balancer else [])]:
            process.send_signal(signal.SIGTERM)
        for process in [*self.bots, *([self.balancer] if self.balancer else [])]:
            try:
                process.wait(30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(10)


def postgres_server(database_url: str) -> tuple[list[int], int]:
    """The server processes serving this benchmark's database (the bots' pooled connections), and the transactions
    committed in it so far: fewer commits an answer means the group commit shared more of them."""
    from sqlalchemy import create_engine, text

    engine = create_engine(database_url)
    try:
        with engine.connect() as connection:
            backends = [int(pid) for pid in connection.execute(text(
                "SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()"
            )).scalars()]
            commits = int(connection.execute(text(
                "SELECT xact_commit FROM pg_stat_database WHERE datname = current_database()")).scalar_one())
    finally:
        engine.dispose()
    return backends, commits


def run_round(curve: Curve | None, fake: RemoteFake, fake_pid: int, database_url: str, data: Path,
              placement: Placement, respondents: int, passes: int, first_user: int) -> int:
    """One round, added to `curve` (None: a warm-up, not counted); the number of answers sent."""
    round_ = Round(fake, fake_pid, database_url, data, placement)
    try:
        webhook = round_.start()
        assert round_.balancer is not None
        backends, commits = postgres_server(database_url)
        watched = {"bots": [bot.pid for bot in round_.bots], "balancer": [round_.balancer.pid],
                   "fake": [fake_pid]}
        before = {pid: cpu_seconds(pid) for pids in watched.values() for pid in pids}
        postgres_before = {pid: cpu_seconds(pid) for pid in backends}
        load = load_average()
        driver = subprocess.run(
            [sys.executable, __file__, "--drive", webhook, "--fake-url", fake.base_url, "--respondents",
             str(respondents), "--passes", str(passes), "--first-user", str(first_user)],
            cwd=ROOT, capture_output=True, text=True, check=False,
            **pinned_to(placement.load))  # type: ignore[call-overload]
        if driver.returncode != 0:
            raise SystemExit(f"the driver failed with {placement.describe()}:\n{driver.stderr[-3000:]}")
        after = {pid: cpu_seconds(pid) for pids in watched.values() for pid in pids}
        # backends opened during the round count from nothing; those of the round's start from where they were
        backends_after, commits_after = postgres_server(database_url)
        backends = sorted(set(backends) | set(backends_after))
        postgres = sum(cpu_seconds(pid) - postgres_before.get(pid, 0.0) for pid in backends)
        seconds, latencies, driver_cpu = json.loads(driver.stdout.strip().splitlines()[-1])
        if curve is not None:
            curve.seconds += seconds
            curve.latencies += latencies
            curve.rates.append(len(latencies) / seconds)
            curve.loads.append(load)
            for index, pid in enumerate(watched["bots"]):
                curve.bot_cpu[index] += after[pid] - before[pid]
            for index, taken in enumerate(round_.forwarded()):
                curve.forwarded[index] += taken
            curve.postgres_cpu += postgres
            curve.commits += commits_after - commits
            curve.balancer_cpu += after[round_.balancer.pid] - before[round_.balancer.pid]
            curve.fake_cpu += after[fake_pid] - before[fake_pid]
            curve.driver_cpu += driver_cpu
        return len(latencies)
    finally:
        round_.stop()


def check_stored(database_url: str, respondents: int, answered: int) -> None:
    """Every respondent has one response holding exactly their answers: none lost, none stored twice."""
    from sqlalchemy import create_engine, text

    engine = create_engine(database_url)
    try:
        with engine.connect() as connection:
            responses = int(connection.execute(text("SELECT count(*) FROM response")).scalar_one())
            stored = int(connection.execute(text("SELECT count(*) FROM answer")).scalar_one())
            uneven = int(connection.execute(text(
                "SELECT count(*) FROM (SELECT response_id FROM answer GROUP BY response_id "
                f"HAVING count(*) <> {STORED_EACH}) AS odd")).scalar_one())
    finally:
        engine.dispose()
    expected = answered // ANSWERS_EACH * STORED_EACH
    if (responses, stored, uneven) != (respondents, expected, 0):
        raise SystemExit(f"stored answers do not add up: {responses} responses for {respondents} respondents, "
                         f"{stored} answers for {expected}, {uneven} responses without exactly {STORED_EACH}")
    print(f"stored: {responses} responses for {respondents} respondents, {stored} answers for the {expected} sent "
          f"(none lost, none twice)")


def report(curves: list[Curve], people: str, passes: int, rounds: int, cpus: list[int]) -> None:
    base = curves[0]
    loads = [load for curve in curves for load in curve.loads]
    print(f"Scale-out on PostgreSQL: Telegram webhook path through a round-robin balancer, {people} ({passes} "
          f"passes a round), {rounds} round(s) each, taking turns, {len(cpus)} CPU(s)")
    print(f"load average (1 minute) as the rounds started: {min(loads):.1f} to {max(loads):.1f}")
    print("CPU ms/ans: CPU time per answer of the bots (all together), PostgreSQL's server processes, the balancer, "
          "the fake Bot API and the driver; commits/ans: transactions committed per answer")
    print(f"{'processes':>9} {'answers':>8} {'answers/s':>10} {'ratio':>6} {'p50 ms':>7} {'p95 ms':>7} "
          f"{'bots CPU ms/ans':>15} {'PG ms/ans':>9} {'commits/ans':>11} {'balancer':>8} {'fake':>6} {'driver':>6}  "
          "by round: answers/s")
    for curve in curves:
        ordered = sorted(curve.latencies)
        p50, p95 = statistics.median(ordered) * 1000, ordered[int(0.95 * (len(ordered) - 1))] * 1000
        print(f"{curve.processes:>9} {curve.answers:>8} {curve.rate:>10.1f} {curve.rate / base.rate:>6.2f} "
              f"{p50:>7.1f} {p95:>7.1f} {curve.per_answer(sum(curve.bot_cpu)):>15.2f} "
              f"{curve.per_answer(curve.postgres_cpu):>9.2f} {curve.commits / curve.answers:>11.2f} "
              f"{curve.per_answer(curve.balancer_cpu):>8.2f} "
              f"{curve.per_answer(curve.fake_cpu):>6.2f} {curve.per_answer(curve.driver_cpu):>6.2f}  "
              + " ".join(f"{rate:.0f}" for rate in curve.rates))
    print("Each bot process: CPU ms per answer it took, and the share of its CPU it kept busy")
    for curve in curves:
        each = "; ".join(f"bot{i + 1} {ms:.2f} ms, {busy:.0%}" for i, (ms, busy) in enumerate(curve.per_process()))
        print(f"{curve.processes:>9}  {each}  ({curve.placement.describe()})")


async def serve_one(args: argparse.Namespace) -> None:
    """A bot process: surveybot as bench/telegram_webhook.py starts it, until SIGTERM; prints its webhook's URL."""
    done = asyncio.Event()
    async with surveybot(RemoteFake(args.fake_url), args.database_url, Path(args.data)) as url:
        asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, done.set)
        print(url, flush=True)
        await done.wait()


async def drive_once(args: argparse.Namespace) -> None:
    """The driver's process: bench/telegram_webhook.py's driver, `passes` times over with new respondents each time
    (a round long enough that starting the processes is not most of it); its measures as one JSON line."""
    fake = RemoteFake(args.fake_url)
    seconds, latencies, cpu = 0.0, [], 0.0
    for number in range(args.passes):
        took, measured, used = await drive(args.drive, args.respondents, ANSWERS_EACH,
                                           args.first_user + number * args.respondents, fake.reply_url)
        seconds, latencies, cpu = seconds + took, latencies + measured, cpu + used
    print(json.dumps([seconds, latencies, cpu]))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--respondents", type=int, default=50)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--passes", type=int, default=3, help="the driver's runs through the respondents, a round")
    parser.add_argument("--processes", default="1,2,3", help="the numbers of bot processes to compare")
    parser.add_argument("--per-process", action="store_true", help="--respondents for each bot process")
    parser.add_argument("--bot", action="store_true", help=argparse.SUPPRESS)  # a bot process
    parser.add_argument("--drive", help=argparse.SUPPRESS)  # the driver's process, posting to this webhook
    parser.add_argument("--fake-url", help=argparse.SUPPRESS)
    parser.add_argument("--database-url", help=argparse.SUPPRESS)
    parser.add_argument("--data", help=argparse.SUPPRESS)
    parser.add_argument("--first-user", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    logging.basicConfig(level=logging.ERROR)
    if args.bot:
        asyncio.run(serve_one(args))
        return
    if args.drive:
        asyncio.run(drive_once(args))
        return
    try:
        counts = [int(n) for n in args.processes.split(",")]
    except ValueError:
        raise SystemExit(f"--processes should be numbers separated by commas, such as 1,2,3, not "
                         f"{args.processes}") from None
    if not counts or min(counts) < 1:
        raise SystemExit("--processes should name at least one number of processes, each 1 or more")
    most = args.respondents * (max(counts) if args.per_process else 1)
    if most * args.passes > 1_000:  # each round's people are the next thousand user ids
        raise SystemExit(f"{most} respondents times --passes {args.passes} should be 1000 at most")
    cpus = sorted(os.sched_getaffinity(0))
    fake = RemoteFake()
    assert fake.process is not None
    with tempfile.TemporaryDirectory() as folder:
        database_url, drop = bench_database("postgresql", Path(folder))
        try:
            curves = [Curve(n, Placement.of(n, cpus)) for n in counts]
            turn, people = 0, 0  # each round's respondents and update ids are new ones

            def one(curve: Curve, counted: bool = True) -> int:
                nonlocal turn, people
                turn += 1
                respondents = args.respondents * (curve.processes if args.per_process else 1)
                people += respondents * args.passes
                return run_round(curve if counted else None, fake, fake.process.pid, database_url, Path(folder),
                                 curve.placement, respondents, args.passes, 100_000 + 1_000 * turn)

            answered = one(curves[0], counted=False)  # not counted: the database is made, the caches warm
            started = time.monotonic()
            for number in range(args.rounds):
                shift = number % len(curves)
                for curve in curves[shift:] + curves[:shift]:
                    answered += one(curve)
            check_stored(database_url, people, answered)
        finally:
            fake.close()
            if drop is not None:
                drop_postgres(drop)
    report(curves, f"{args.respondents} concurrent respondents{' per bot process' if args.per_process else ''}",
           args.passes, args.rounds, cpus)
    print(f"({time.monotonic() - started:.0f} s in all)")


if __name__ == "__main__":
    main()
