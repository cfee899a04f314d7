"""Benchmark: a campaign broadcast to 10,000 contacts through `surveybot run`, against a fake Telegram that enforces
30 messages/s overall and 1/s per chat (answering 429 beyond them); then the same with a kill -9 half way and a restart.

With `--channel slack` the contacts are Slack people and the fake is Slack's (tests/fakes/slack_api.py with
--enforce-limits): chat.postMessage at most 300 a minute across the workspace (Slack documents a workspace-wide limit
without a figure; the fake and the bot both take 300) and one a second per channel, conversations.open at Tier 3 (50
a minute), each answered 429 with Retry-After beyond it. The allowed rate is then 5 messages/s.

Prints the achieved rate against the allowed rate (target at least 0.95), the number of 429s (target 0), and for the
crash run the duplicates (target at most one per crash) and missing invitations (target 0).

Run from the repository root:  .venv/bin/python bench/broadcast.py [--contacts 10000] [--skip-crash]
                               [--channel telegram|slack]
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

ALLOWED = {"telegram": 30.0, "slack": 300 / 60}  # messages a second the fake allows
BOT_ID = "123456789"
SLACK_TEAM = "T0FAKE"  # the fake Slack's workspace


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def start_fake(channel: str) -> tuple[subprocess.Popen[str], str]:
    module = "tests.fakes.telegram_api" if channel == "telegram" else "tests.fakes.slack_api"
    fake = subprocess.Popen([sys.executable, "-m", module, "--port", "0", "--enforce-limits"],
                            cwd=REPO, stdout=subprocess.PIPE, text=True)
    assert fake.stdout is not None
    return fake, fake.stdout.readline().strip()


def state(base_url: str, path: str) -> dict[str, object]:
    with urllib.request.urlopen(f"{base_url}{path}", timeout=30) as response:
        return json.loads(response.read())


def address_of(channel: str, user: int) -> Address:
    if channel == "telegram":
        return Address("telegram", BOT_ID, str(10_000_000 + user))
    return Address("slack", SLACK_TEAM, f"U{10_000_000 + user}")


def prepare(env: dict[str, str], contacts: int, channel: str) -> None:
    """10,000 sealed contacts and a campaign that is already open, written straight into the database."""
    app = build(Settings.from_env(env))
    today = datetime.now(UTC).date()
    with app.store.unit() as uow:
        rows = []
        for user in range(1, contacts + 1):
            address = address_of(channel, user)
            rows.append(Contact(channel=channel, lookup=app.keys.contact_lookup(address),
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


def delivered(base_url: str, channel: str) -> tuple[int, dict[str, list[float]], int]:
    """Messages sent, when each chat got its messages, and the calls the fake refused with 429."""
    if channel == "telegram":
        current = state(base_url, "/_fake/state")
        sent_at: dict[str, list[float]] = current["sent_at"]  # type: ignore[assignment]
        return sum(len(t) for t in sent_at.values()), sent_at, int(current["throttled"])  # type: ignore[arg-type]
    current = state(base_url, "/_fake/sent")
    sent_at = {}
    for dm, at in current["posted"]:  # type: ignore[attr-defined]
        sent_at.setdefault(dm, []).append(at)
    return sum(len(t) for t in sent_at.values()), sent_at, int(current["throttled"])  # type: ignore[call-overload]


def opened(base_url: str, channel: str) -> int:
    """conversations.open calls the bot made (Slack), answered or refused."""
    return 0 if channel == "telegram" else int(state(base_url, "/_fake/sent")["calls"].get(  # type: ignore[attr-defined]
        "conversations.open", 0))


def run(contacts: int, crash: bool, channel: str) -> dict[str, float | int]:
    fake, base_url = start_fake(channel)
    with tempfile.TemporaryDirectory() as folder:
        env = {**os.environ, "SURVEYBOT_DATA_DIR": folder, "SURVEYBOT_PEPPER": secrets.token_urlsafe(32),
               "SURVEYBOT_PORT": str(free_port()), "SURVEYBOT_LOG_LEVEL": "WARNING"}
        if channel == "telegram":
            env.update({"TELEGRAM_BOT_TOKEN": f"{BOT_ID}:FAKE-telegram-token", "TELEGRAM_API_URL": base_url})
        else:
            env.update({"SLACK_BOT_TOKEN": "xoxb-bench", "SLACK_SIGNING_SECRET": "bench-signing-secret",
                        "SLACK_API_URL": f"{base_url}/api/"})
        for other in ("DATABASE_URL", "SLACK_APP_TOKEN", *(("TELEGRAM_BOT_TOKEN",) if channel == "slack" else
                                                           ("SLACK_BOT_TOKEN",))):
            env.pop(other, None)
        prepare(env, contacts, channel)
        bot = start_bot(env)
        crashes = 0
        try:
            deadline = time.monotonic() + contacts / ALLOWED[channel] * 3 + 120
            while time.monotonic() < deadline:
                time.sleep(2)
                count, _, _ = delivered(base_url, channel)
                if crash and not crashes and count >= contacts // 2:
                    bot.send_signal(signal.SIGKILL)  # mid-broadcast, no warning
                    bot.wait()
                    crashes += 1
                    bot = start_bot(env)
                if len({chat for chat, t in delivered(base_url, channel)[1].items() if t}) >= contacts:
                    break
        finally:
            bot.send_signal(signal.SIGTERM)
            bot.wait(30)
        count, sent_at, throttled = delivered(base_url, channel)
        opens = opened(base_url, channel)
        fake.terminate()
        fake.wait(10)
    times = sorted(t for ts in sent_at.values() for t in ts)
    reached = sum(1 for t in sent_at.values() if t)
    elapsed = times[-1] - times[0] if len(times) > 1 else 0.0
    rate = (len(times) - 1) / elapsed if elapsed else 0.0
    return {"sent": count, "reached": reached, "missing": contacts - reached, "duplicates": count - reached,
            "throttled": throttled, "seconds": round(elapsed, 1), "rate": round(rate, 2),
            "ratio": round(rate / ALLOWED[channel], 3), "crashes": crashes, "opens": opens}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--contacts", type=int, default=10_000)
    parser.add_argument("--skip-crash", action="store_true")
    parser.add_argument("--channel", choices=("telegram", "slack"), default="telegram")
    args = parser.parse_args()
    limits = {"telegram": "30/s overall and 1/s per chat",
              "slack": "chat.postMessage 300 a minute and 1/s per channel, conversations.open 50 a minute"}
    print(f"Broadcast to {args.contacts} contacts, fake {args.channel.title()} enforcing {limits[args.channel]}, "
          f"{os.cpu_count()} CPU(s), load average " + ", ".join(f"{x:.2f}" for x in os.getloadavg()))
    print(f"{'run':<18} {'sent':>7} {'missing':>8} {'dupes':>6} {'429s':>5} {'seconds':>8} {'msg/s':>7} {'ratio':>6}"
          f" {'opens':>6} {'load':>5}")
    runs = [("steady", False)] + ([] if args.skip_crash else [("kill -9 half way", True)])
    for label, crash in runs:
        r = run(args.contacts, crash, args.channel)
        print(f"{label:<18} {r['sent']:>7} {r['missing']:>8} {r['duplicates']:>6} {r['throttled']:>5} "
              f"{r['seconds']:>8} {r['rate']:>7} {r['ratio']:>6} {r['opens']:>6} {os.getloadavg()[0]:>5.2f}",
              flush=True)
    print(f"ratio: messages a second against the allowed {ALLOWED[args.channel]:g}/s (target at least 0.95); "
          "opens: conversations.open calls (Slack); load: the 1-minute load average at the run's end")


if __name__ == "__main__":
    main()
