"""Benchmark: `surveybot contacts import` of a large CSV file, time and peak memory.

Issue 19 found 1,000,000 rows took over 170 s and 766 MB, because the file was read whole and every row became an ORM
object before anything was written. The import now streams the file and writes it a batch at a time in one
transaction (still all or nothing). Target: under 60 s and 200 MB for a million rows. The whole command is timed, in
a fresh process as a user runs it, and its peak RSS read from the kernel (getrusage of the child).

Run from the repository root:  .venv/bin/python bench/contacts_import.py [--rows 1000000] [--database-url URL]
"""

from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def write_file(path: Path, rows: int) -> None:
    """Telegram and Slack contacts with a tag or two each, as a partnership's export of its staff list might be."""
    tags = ("police", "health;frontline", "education", "childrens-social-care;managers")
    with path.open("w", encoding="utf-8") as handle:
        handle.write("who,tags\n")
        for n in range(rows):
            who = f"telegram:5550001:{100_000_000 + n}" if n % 3 else f"slack:T0PARTNER:U{n:09d}"
            handle.write(f"{who},{tags[n % len(tags)]}\n")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--database-url", help="default: SQLite in a temporary folder")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="surveybot-contacts-") as folder:
        csv_file = Path(folder) / "people.csv"
        write_file(csv_file, args.rows)
        env = {k: v for k, v in os.environ.items() if not k.startswith(("SURVEYBOT_", "DATABASE_URL"))}
        env.update({"SURVEYBOT_DATA_DIR": folder, "SURVEYBOT_PEPPER": "bench-pepper-" + "x" * 40})
        if args.database_url:
            env["DATABASE_URL"] = args.database_url
        command = [sys.executable, "-m", "bot.cli"]
        subprocess.run([*command, "db", "upgrade"], env=env, cwd=ROOT, check=True, capture_output=True)
        began = time.perf_counter()
        done = subprocess.run([*command, "contacts", "import", str(csv_file)], env=env, cwd=ROOT, text=True,
                              capture_output=True)
        seconds = time.perf_counter() - began
        peak_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024  # KB on Linux
        if done.returncode != 0:
            sys.exit(f"the import failed: {done.stderr.strip()}")
        print(done.stdout.strip())
        print(f"{args.rows:,} rows ({csv_file.stat().st_size / 1e6:.0f} MB of CSV): {seconds:.1f} s, "
              f"peak RSS {peak_mb:.0f} MB (targets: 60 s, 200 MB)")


if __name__ == "__main__":
    main()
