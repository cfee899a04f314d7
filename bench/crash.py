"""Crash safety under SIGKILL (issue 11, point 1), the full run: one real `surveybot run` in Telegram webhook mode
against the fake Bot API, killed with SIGKILL at 20 seeded random moments and restarted each time.

1. 50 people answer the three-question check survey while the bot is killed and restarted. Checked: no answer the
   bot acknowledged (by sending the next question or the thanks) is lost, none is stored twice, everyone finishes
   with exactly what they gave, and `surveybot audit verify` passes.
2. A campaign to 3,000 contacts is killed 20 times mid-send. Checked: everyone is invited at least once; duplicates
   are counted (at most one per kill: the message sent just before the kill, not yet marked, goes again when its
   60-second lease runs out, which this run waits for).

The harness is tests/crashes.py; tests/test_crash.py runs a short version (fewer people and kills) in CI.

Run from the repository root:  .venv/bin/python bench/crash.py [--respondents 50] [--kills 20] [--contacts 3000]
    [--seed 20261122] [--database sqlite|postgresql] [--skip-broadcast]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from tests.conftest import bench_database, drop_postgres  # noqa: E402
from tests.crashes import answers_under_crashes, broadcast_under_crashes  # noqa: E402


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--respondents", type=int, default=50)
    parser.add_argument("--kills", type=int, default=20)
    parser.add_argument("--contacts", type=int, default=3000)
    parser.add_argument("--seed", type=int, default=20261122)
    parser.add_argument("--database", choices=("sqlite", "postgresql"), default="sqlite")
    parser.add_argument("--skip-broadcast", action="store_true")
    args = parser.parse_args()
    print(f"surveybot under SIGKILL: {args.kills} kills, seed {args.seed}, {args.database}, {os.cpu_count()} CPU(s)",
          flush=True)
    with tempfile.TemporaryDirectory() as folder:
        url, drop = bench_database(args.database, Path(folder))
        try:
            run = await answers_under_crashes(Path(folder), url, args.respondents, args.kills, args.seed,
                                              timeout=3600, stall=6.0)
        finally:
            if drop:
                drop_postgres(drop)
    print(f"answers: {run.respondents} people, {run.kills} kills in {run.seconds:.0f} s; "
          f"restart to healthy median {statistics.median(run.restart_seconds):.1f} s")
    print(f"  acknowledged answers lost: {len(run.regressions)}; stored twice: {run.duplicates}; "
          f"stored {run.stored} (expected {run.respondents * 3}); wrong or unfinished: {len(run.wrong)}; "
          f"times people said /start again after a silence: {run.restarts_asked}")
    print(f"  {run.audit}")
    for problem in run.regressions + run.wrong:
        print(f"  PROBLEM {problem}")
    if args.skip_broadcast:
        return
    with tempfile.TemporaryDirectory() as folder:
        url, drop = bench_database(args.database, Path(folder))
        try:
            sent = await broadcast_under_crashes(Path(folder), url, args.contacts, args.kills, args.seed,
                                                 wait_for_leases=True, timeout=3600)
        finally:
            if drop:
                drop_postgres(drop)
    print(f"broadcast: {sent.contacts} contacts, {sent.kills} kills mid-send in {sent.seconds:.0f} s")
    print(f"  missing: {sent.missing}; duplicates: {sent.duplicates} (bound: one a kill, {sent.kills}); "
          f"messages sent {sent.sent}")
    print(f"  {sent.audit}")


if __name__ == "__main__":
    asyncio.run(main())
