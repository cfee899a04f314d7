"""Exports and reports at volume: 1,000,000 stored answers, against the sqlite3 command-line tool.

    .venv/bin/python bench/reports_bench.py                 # --answers 1000000 --report-answers 100000

What it does, in a temporary folder:

1. Makes a SQLite database with the real schema (the Alembic migrations) and fills it fast, with executemany in one
   transaction, not through the engine: the policy-awareness template's questions, about ten answers a response,
   until exactly --answers answers are stored (about a fifth of the responses with a comment, some starting with
   "=" so the formula neutralising is exercised).
2. CSV export, side by side in one run:
   * baseline: `sqlite3 -csv` dumping the same stored answers (one line per answer, joined with its response), or,
     when the sqlite3 tool is not installed, Python's sqlite3 module writing them with the csv module (said so in
     the output);
   * surveybot: the export itself, timed inside its process, and the whole `surveybot export` command, timed from
     outside (Python start-up and imports included).
3. Peak memory (ru_maxrss of the child process, from os.wait4) of `surveybot export` to CSV and to XLSX, and of a
   process that only starts the app, for comparison. Also the start-up of the export alone: opening what the export
   command starts from (bot.reading), which is lighter than the whole app.
4. Report generation for --report-answers answers (a second database): `make_report` and rendering, timed inside
   the process, and the whole `surveybot report` command.

Targets: CSV export within 2x of the baseline, exports under 200 MB of memory. Figures vary with the machine and
its load; run it twice and compare.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

SURVEY = "policy-awareness"
PEPPER = "benchmark-pepper-" + "x" * 40
AGENCIES = ["Police", "Health", "Children's social care", "Education", "Early help", "Voluntary or community sector",
            "Other agency"]
ROLES = ["Frontline practitioner", "Team or service manager", "Senior leader", "Other role"]
HEARD = ["Team meeting or briefing", "My manager or safeguarding lead", "Multi-agency training",
         "Email or newsletter", "Partnership website", "Induction"]
USED = ["Yes, more than once", "Yes, once", "No, but there was a time I needed to", "No, I have not needed to"]
FIRST = ["Write to their senior manager", "Talk directly with the professional who made the decision",
         "Report it to the partnership business unit", "Wait and see if things change"]
NEXT = ["Let it drop", "Take it to your manager or designated safeguarding lead",
        "Make a formal complaint to the other agency", "Ask the family to decide"]
RISK = ["Finish the escalation steps first", "Contact the police or children's social care straight away",
        "Wait for the next multi-agency meeting", "Email the other professional and wait for a reply"]
HELP = ["A short briefing or training session", "A one-page flowchart",
        "Examples of disagreements that were resolved well", "Clear contact details for each step",
        "Support from my manager or safeguarding lead"]
COMMENTS = ["The flowchart helped me a lot last month when we disagreed about a referral.",
            "=I think the timescales are too short for schools in the holidays",
            "More training for new starters please, especially on the second step.",
            "Not sure who to contact out of hours."]
BASELINE_SQL = ("SELECT r.survey_id, r.version, r.wave, r.completed_on, a.question_id, a.value FROM response r "
                f"JOIN answer a ON a.response_id = r.id WHERE r.survey_id = '{SURVEY}' AND r.completed = 1 "
                "ORDER BY r.id, a.id")


def answers_of(rng: random.Random) -> list[tuple[str, object]]:
    aware = rng.random() < 0.6
    chosen: list[tuple[str, object]] = [("agency", rng.choice(AGENCIES)), ("role_band", rng.choice(ROLES)),
                                        ("aware", "Yes" if aware else "No")]
    if aware:
        chosen += [("heard_how", sorted(rng.sample(HEARD, rng.randint(1, 3)))), ("used", rng.choice(USED))]
    chosen += [("confidence", rng.randint(1, 5)), ("first_step", rng.choice(FIRST)), ("next_step", rng.choice(NEXT)),
               ("immediate_risk", rng.choice(RISK)),
               ("would_help", sorted(rng.sample(HELP, rng.randint(1, 2))) if rng.random() < 0.7 else None)]
    if not aware or rng.random() < 0.2:
        chosen.append(("comments", rng.choice(COMMENTS) if rng.random() < 0.5 else None))
    return chosen


def fill(folder: Path, answers: int) -> tuple[int, int]:
    """A database of `answers` answers in `folder`/surveybot.db; returns (responses, answers)."""
    from storage import database

    engine = database.connect(f"sqlite:///{folder / 'surveybot.db'}")
    database.upgrade(engine)
    engine.dispose()
    rng = random.Random(20260302)
    connection = sqlite3.connect(folder / "surveybot.db")
    response_rows, answer_rows = [], []
    made = 0
    response_id = 0
    while made < answers:
        response_id += 1
        day = date(2026, 3, 2 + response_id % 20).isoformat()
        response_rows.append((response_id, f"{rng.getrandbits(256):064x}", SURVEY, 1, 1, "telegram", 1, day, day))
        for question, value in answers_of(rng)[:answers - made]:
            answer_rows.append((response_id, question, json.dumps(value, ensure_ascii=False), day))
            made += 1
    with connection:
        connection.execute("INSERT INTO survey_key (survey_id, wave, salt, created_on) VALUES (?, 1, ?, ?)",
                           (SURVEY, os.urandom(32), "2026-03-02"))
        connection.executemany("INSERT INTO response (id, respondent, survey_id, version, wave, channel, completed, "
                               "started_on, completed_on) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)", response_rows)
        connection.executemany("INSERT INTO answer (response_id, question_id, value, answered_on) "
                               "VALUES (?, ?, ?, ?)", answer_rows)
    connection.close()
    return response_id, made


def run(command: list[str], out: Path, env: dict[str, str]) -> tuple[float, float, float, str]:
    """Run a child process, its standard output to `out`; (wall seconds, CPU seconds, peak resident MB, output).

    The parent imports nothing heavy, so the peak the child inherits when it is forked stays small."""
    with out.open("wb") as handle:
        started = time.perf_counter()
        child = subprocess.Popen(command, stdout=handle, stderr=subprocess.PIPE, env=env, cwd=REPO)
        _, status, usage = os.wait4(child.pid, 0)
        seconds = time.perf_counter() - started
    errors = child.stderr.read().decode() if child.stderr else ""
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"{' '.join(command[:5])} failed: {errors}")
    printed = out.read_text(encoding="utf-8", errors="replace") if out.suffix == ".json" else ""
    return seconds, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024, printed


def child(mode: str, data: str, target: str, fmt: str) -> None:
    """Inside a child process: start the app, then time one export or report and print the figures as JSON."""
    if mode == "reader":  # what `surveybot export` starts from, and nothing else (imported here, not the app's)
        from bot.cli import publish_surveys
        from bot.config import Settings
        from bot.reading import open_reader

        open_reader(Settings.from_env({"SURVEYBOT_DATA_DIR": data, "SURVEYBOT_PEPPER": PEPPER,
                                       "SURVEYBOT_AUTO_MIGRATE": "false"}), publish_surveys)
        print(json.dumps({}))
        return
    from bot.app import build
    from bot.config import Settings
    from bot.reporting import export, html
    from bot.reporting.report import make_report

    if mode == "fill":
        started = time.perf_counter()
        responses, answers = fill(Path(data), int(target))
        print(json.dumps({"responses": responses, "answers": answers, "seconds": time.perf_counter() - started}))
        return
    app = build(Settings.from_env({"SURVEYBOT_DATA_DIR": data, "SURVEYBOT_PEPPER": PEPPER}), migrate=False)
    versions = app.published_versions(SURVEY)
    started, cpu = time.perf_counter(), time.process_time()
    rows = 0
    if mode == "export" and fmt == "xlsx":
        rows = export.write_xlsx(app.store, SURVEY, export.columns(versions), versions, Path(target), date.today())
    elif mode == "export":
        with open(target, "w", encoding="utf-8", newline="") as handle:
            rows = export.write_csv(app.store, SURVEY, export.columns(versions), handle)
    elif mode == "report":
        made = make_report(app.store, app.settings.privacy, versions, SURVEY, None, None, b"bench", date.today())
        Path(target).write_text(html.render(made), encoding="utf-8")
        rows = made.current.responses.completed.count or 0
    print(json.dumps({"seconds": time.perf_counter() - started, "cpu": time.process_time() - cpu, "rows": rows}))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--answers", type=int, default=1_000_000)
    parser.add_argument("--report-answers", type=int, default=100_000)
    parser.add_argument("--child", nargs=4, metavar=("MODE", "DATA", "TARGET", "FORMAT"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(*args.child)
        return
    home = Path(tempfile.mkdtemp(prefix="surveybot-reports-bench-"))
    try:
        bench(home, args.answers, args.report_answers)
    finally:
        shutil.rmtree(home, ignore_errors=True)


def bench(home: Path, answers: int, report_answers: int) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SURVEYBOT_", "DATABASE_URL"))}
    big, small = home / "big", home / "small"
    big.mkdir()
    small.mkdir()
    env.update({"SURVEYBOT_DATA_DIR": str(big), "SURVEYBOT_PEPPER": PEPPER, "SURVEYBOT_AUTO_MIGRATE": "false"})
    me = [sys.executable, str(Path(__file__).resolve())]
    filled = json.loads(run([*me, "--child", "fill", str(big), str(answers), "-"], home / "fill.json", env)[3])
    stored = filled["answers"]
    print(f"Stored {stored:,} answers in {filled['responses']:,} completed responses in {filled['seconds']:.1f} s "
          f"(SQLite {sqlite3.sqlite_version}, Python {platform.python_version()}, {os.cpu_count()} CPUs)")
    database = str(big / "surveybot.db")

    tool = shutil.which("sqlite3")
    if tool:
        baseline_name = "sqlite3 -csv (the sqlite3 tool)"
        baseline = [tool, "-csv", "-header", database, BASELINE_SQL]
    else:
        baseline_name = "Python sqlite3 + csv module (no sqlite3 tool installed)"
        code = ("import csv, sqlite3, sys; w = csv.writer(sys.stdout); c = sqlite3.connect(sys.argv[1]); "
                "[w.writerow(r) for r in c.execute(sys.argv[2])]")
        baseline = [sys.executable, "-c", code, database, BASELINE_SQL]
    base = run(baseline, home / "baseline.csv", env)
    lines = sum(1 for _ in (home / "baseline.csv").open(encoding="utf-8"))
    inner = run([*me, "--child", "export", str(big), str(home / "inner.csv"), "csv"], home / "inner.json", env)
    figures = json.loads(inner[3])
    whole_csv = run([sys.executable, "-m", "bot.cli", "export", SURVEY, "--format", "csv", "--out",
                     str(home / "export.csv")], home / "cli.out", env)
    whole_xlsx = run([sys.executable, "-m", "bot.cli", "export", SURVEY, "--format", "xlsx", "--out",
                      str(home / "export.xlsx")], home / "cli.out", env)
    idle = run([*me, "--child", "start", str(big), "-", "-"], home / "idle.json", env)
    reader = run([*me, "--child", "reader", str(big), "-", "-"], home / "reader.json", env)
    same = (home / "inner.csv").read_bytes() == (home / "export.csv").read_bytes()

    print()
    print(f"CSV export of {stored:,} answers ({figures['rows']:,} rows, one per response)")
    print(f"  {'':<52} {'wall s':>7} {'CPU s':>7} {'peak MB':>8} {'wall x':>7} {'CPU x':>7}")

    def line(name: str, wall: float, cpu: float, peak: float, compare: bool = True) -> None:
        ratios = f"{wall / base[0]:>7.2f} {cpu / base[1]:>7.2f}" if compare else ""
        print(f"  {name:<52} {wall:>7.2f} {cpu:>7.2f} {peak:>8.0f} {ratios}")

    line(baseline_name, *base[:3])
    print(f"  {'':<52} ({lines:,} lines: one per answer, joined with its response)")
    line("surveybot: the export itself, in its process", figures["seconds"], figures["cpu"], inner[2])
    line("surveybot export --format csv (whole command)", *whole_csv[:3])
    line("surveybot export --format xlsx (whole command)", *whole_xlsx[:3], compare=False)
    line("surveybot: starting the app and nothing else", *idle[:3], compare=False)
    line("surveybot: opening the export's reader, nothing else", *reader[:3], compare=False)
    print(f"  the command's CSV is byte for byte the in-process one: {same}")
    print(f"  targets: CSV within 2x of the baseline: the export {figures['seconds'] / base[0]:.2f}x wall, "
          f"{figures['cpu'] / base[1]:.2f}x CPU; the whole command {whole_csv[0] / base[0]:.2f}x wall. Memory under "
          f"200 MB: CSV {whole_csv[2]:.0f} MB, XLSX {whole_xlsx[2]:.0f} MB")

    env["SURVEYBOT_DATA_DIR"] = str(small)
    filled = json.loads(run([*me, "--child", "fill", str(small), str(report_answers), "-"], home / "fill.json",
                            env)[3])
    report = json.loads(run([*me, "--child", "report", str(small), str(home / "inner.html"), "-"],
                            home / "report.json", env)[3])
    whole = run([sys.executable, "-m", "bot.cli", "report", SURVEY, "--out", str(home / "report.html")],
                home / "cli.out", env)
    size = (home / "report.html").stat().st_size
    print()
    print(f"Report of {filled['answers']:,} answers ({filled['responses']:,} responses)")
    print(f"  make_report and render, in its process: {report['seconds']:.2f} s wall, {report['cpu']:.2f} s CPU; "
          f"the whole `surveybot report`: {whole[0]:.2f} s wall, peak {whole[2]:.0f} MB; HTML {size / 1024:.0f} KB")


if __name__ == "__main__":
    main()
