"""Benchmark: a campaign broadcast to 10,000 contacts through `surveybot run`, against a fake Telegram that enforces
30 messages/s overall and 1/s per chat (answering 429 beyond them); then the same with a kill -9 half way and a restart.

Prints the achieved rate against the allowed rate (target at least 0.95), the number of 429s (target 0), and for the
crash run the duplicates (target at most one per crash) and missing invitations (target 0).

Run from the repository root:  .venv/bin/python bench/broadcast.py [--contacts 10000] [--skip-crash]
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from datetime import UTC, datetime, timedelta
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from bot.app import build  # noqa: E402
from bot.channels.port import Address  # noqa: E402
from bot.config import Settings  # noqa: E402
from storage.models import Campaign, Contact  # noqa: E402

ALLOWED = 30.0
BOT_ID = "123456789"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def start_fake() -> tuple[subprocess.Popen[str], str]:
    fake = subprocess.Popen([sys.executable, "-m", "tests.fakes.telegram_api", "--port", "0", "--enforce-limits"],
                            cwd=REPO, stdout=subprocess.PIPE, text=True)
    assert fake.stdout is not None
    return fake, fake.stdout.readline().strip()


def state(base_url: str) -> dict[str, object]:
    with urllib.request.urlopen(f"{base_url}/_fake/state", timeout=30) as response:
        return json.loads(response.read())


def prepare(env: dict[str, str], contacts: int) -> None:
    """10,000 sealed contacts and a campaign that is already open, written straight into the database."""
    app = build(Settings.from_env(env))
    today = datetime.now(UTC).date()
    with app.store.unit() as uow:
        rows = []
        for user in range(1, contacts + 1):
            address = Address("telegram", BOT_ID, str(10_000_000 + user))
            rows.append(Contact(channel="telegram", lookup=app.keys.contact_lookup(address),
                                address=app.keys.seal(address), tags='["all"]', joined_on=today))
        uow.session.add_all(rows)
        now = datetime.now(UTC)
        uow.session.add(Campaign(code="bench", survey_id="policy-awareness", version=1, tags="[]",
                                 opens_at=now - timedelta(minutes=1), closes_at=now + timedelta(days=7),
                                 reminders="[]", quiet_from=0, quiet_until=0, created_on=today))
    app.engine.dispose()


def start_bot(env: dict[str, str]) -> subprocess.Popen[bytes]:
    return subprocess.Popen([sys.executable, "-m", "bot.cli", "run"], cwd=REPO, env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def delivered(base_url: str) -> tuple[int, dict[str, list[float]], int]:
    current = state(base_url)
    sent_at: dict[str, list[float]] = current["sent_at"]  # type: ignore[assignment]
    return sum(len(t) for t in sent_at.values()), sent_at, int(current["throttled"])  # type: ignore[arg-type]


def run(contacts: int, crash: bool) -> dict[str, float | int]:
    fake, base_url = start_fake()
    with tempfile.TemporaryDirectory() as folder:
        env = {**os.environ, "SURVEYBOT_DATA_DIR": folder, "SURVEYBOT_PEPPER": secrets.token_urlsafe(32),
               "SURVEYBOT_PORT": str(free_port()), "TELEGRAM_BOT_TOKEN": f"{BOT_ID}:FAKE-telegram-token",
               "TELEGRAM_API_URL": base_url, "SURVEYBOT_LOG_LEVEL": "WARNING"}
        env.pop("DATABASE_URL", None)
        prepare(env, contacts)
        bot = start_bot(env)
        crashes = 0
        try:
            deadline = time.monotonic() + contacts / 10 + 120
            while time.monotonic() < deadline:
                time.sleep(2)
                count, _, _ = delivered(base_url)
                if crash and not crashes and count >= contacts // 2:
                    bot.send_signal(signal.SIGKILL)  # mid-broadcast, no warning
                    bot.wait()
                    crashes += 1
                    bot = start_bot(env)
                if len({chat for chat, t in delivered(base_url)[1].items() if t}) >= contacts:
                    break
        finally:
            bot.send_signal(signal.SIGTERM)
            bot.wait(30)
        count, sent_at, throttled = delivered(base_url)
        fake.terminate()
        fake.wait(10)
    times = sorted(t for ts in sent_at.values() for t in ts)
    reached = sum(1 for t in sent_at.values() if t)
    elapsed = times[-1] - times[0] if len(times) > 1 else 0.0
    rate = (len(times) - 1) / elapsed if elapsed else 0.0
    return {"sent": count, "reached": reached, "missing": contacts - reached, "duplicates": count - reached,
            "throttled": throttled, "seconds": round(elapsed, 1), "rate": round(rate, 2),
            "ratio": round(rate / ALLOWED, 3), "crashes": crashes}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--contacts", type=int, default=10_000)
    parser.add_argument("--skip-crash", action="store_true")
    args = parser.parse_args()
    print(f"Broadcast to {args.contacts} contacts, fake Telegram enforcing {ALLOWED:.0f}/s overall and 1/s per chat, "
          f"{os.cpu_count()} CPU(s)")
    print(f"{'run':<18} {'sent':>7} {'missing':>8} {'dupes':>6} {'429s':>5} {'seconds':>8} {'msg/s':>7} {'ratio':>6}")
    runs = [("steady", False)] + ([] if args.skip_crash else [("kill -9 half way", True)])
    for label, crash in runs:
        r = run(args.contacts, crash)
        print(f"{label:<18} {r['sent']:>7} {r['missing']:>8} {r['duplicates']:>6} {r['throttled']:>5} "
              f"{r['seconds']:>8} {r['rate']:>7} {r['ratio']:>6}", flush=True)


if __name__ == "__main__":
    main()
