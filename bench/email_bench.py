"""Email invitations at a configured rate (issue 21): 10,000 invitations from one real `surveybot run` to a local SMTP
sink (aiosmtpd on 127.0.0.1) at SURVEYBOT_SMTP_RATE=30, first undisturbed, then killed with SIGKILL mid-send.

Checked: the undisturbed run keeps at least 0.95 of the configured rate with 0 duplicates and nobody missed; the run
under kills misses nobody and repeats at most one invitation per kill. The harness is tests/email_crashes.py;
tests/test_email.py runs a short version (150 contacts, 2 kills) in CI.

Run from the repository root:  .venv/bin/python bench/email_bench.py [--contacts 10000] [--rate 30] [--kills 5]
    [--seed 20261206] [--database sqlite|postgresql]        (--kills 0: the undisturbed run only)
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import tempfile
from pathlib import Path

# Not named email.py: a script's folder comes first on the path, and a bench/email.py stood in for the standard
# library's `email` in every bench script (bench/crash.py stopped at its first import that way).
REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from tests.conftest import bench_database, drop_postgres  # noqa: E402
from tests.email_crashes import EmailRun, invitations_under_crashes  # noqa: E402


async def one(kind: str, contacts: int, rate: float, kills: int, seed: int) -> EmailRun:
    with tempfile.TemporaryDirectory() as folder:
        url, drop = bench_database(kind, Path(folder))
        try:
            return await invitations_under_crashes(Path(folder), url, contacts, rate, kills, seed, timeout=7200)
        finally:
            if drop:
                drop_postgres(drop)


def line(name: str, run: EmailRun, rate: float) -> str:
    return (f"{name}: {run.received:,} emails to {run.contacts:,} people in {run.seconds:.0f} s; {run.kills} kill(s); "
            f"missing {run.missing}; duplicates {run.duplicates}; steady rate {run.rate:.2f}/s "
            f"({run.rate / rate:.3f} of {rate:g}); leases moved on {run.leases_moved_on}")


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--contacts", type=int, default=10_000)
    parser.add_argument("--rate", type=float, default=30.0)
    parser.add_argument("--kills", type=int, default=5)
    parser.add_argument("--seed", type=int, default=20261206)
    parser.add_argument("--database", choices=("sqlite", "postgresql"), default="sqlite")
    args = parser.parse_args()
    print(f"email invitations: {args.contacts:,} at {args.rate:g}/s, {args.database}, {os.cpu_count()} CPU(s)",
          flush=True)
    steady = await one(args.database, args.contacts, args.rate, 0, args.seed)
    print(line("undisturbed", steady, args.rate), flush=True)
    crashed = await one(args.database, args.contacts, args.rate, args.kills, args.seed) if args.kills else None
    if crashed is not None:
        print(line("under SIGKILL", crashed, args.rate), flush=True)
    failures = []
    if steady.rate < 0.95 * args.rate:
        failures.append(f"rate {steady.rate:.2f}/s is under 0.95 of {args.rate:g}")
    if steady.duplicates or steady.missing:
        failures.append(f"undisturbed: {steady.duplicates} duplicate(s), {steady.missing} missing")
    if crashed is not None and (crashed.missing or crashed.duplicates > crashed.kills):
        failures.append(f"under SIGKILL: {crashed.missing} missing, {crashed.duplicates} duplicate(s) for "
                        f"{crashed.kills} kill(s)")
    print("PASS" if not failures else "FAIL: " + "; ".join(failures))
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    asyncio.run(main())
