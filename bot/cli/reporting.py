"""The scrutineer's commands: `surveybot export`, `surveybot report` and `surveybot evidence-pack` (and `verify`).

Kept apart from bot/cli/__init__.py, which only registers and dispatches them. This module parses and prints; the
work (files written beside their target and moved into place, every output audited, one `ReportingError` line for
every mistake) is bot.reporting.outputs. `export` runs on the light composition (bot.reading: no service, no ORM).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from bot.reporting import export, outputs
from bot.reporting.outputs import ReportingError

if TYPE_CHECKING:
    from bot.app import App
    from bot.reading import Reader

def add_commands(commands: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    exp = commands.add_parser("export", help="export completed responses with a codebook, and no identifiers")
    exp.add_argument("survey_id")
    exp.add_argument("--format", choices=export.FORMATS, default="csv")
    exp.add_argument("--wave", type=int, help="one wave only (default: every wave, with a wave column)")
    exp.add_argument("--out", required=True, help="the file to write, or - for standard output (csv, json)")

    rep = commands.add_parser("report", help="an HTML report with charts, suppressed; optionally comparing waves")
    rep.add_argument("survey_id")
    rep.add_argument("--wave", type=int, help="the wave to report on (default: the latest)")
    rep.add_argument("--compare", type=int, metavar="WAVE", help="compare with this wave")
    rep.add_argument("--out", required=True, help="the HTML file to write, or - for standard output")

    ev = commands.add_parser("evidence-pack", help="a signed zip of survey text, exports, report and method; "
                                                   "or `evidence-pack verify PACK` to check one")
    ev.add_argument("target", nargs="+", metavar="SURVEY_ID | verify PACK")
    ev.add_argument("--wave", type=int, help="the wave to pack (default: the latest)")
    ev.add_argument("--out", help="the zip file to write")
    ev.add_argument("--fingerprint", help="verify: the fingerprint of the key that should have signed it, when "
                                          "that is not this installation's own key")


def run(app: App, args: argparse.Namespace) -> int:
    """`report` and `evidence-pack` (bot.cli runs `export` on a Reader: see export_survey)."""
    if args.command == "report":
        return report(app, args.survey_id, args.wave, args.compare, args.out)
    if args.target[0] == "verify" and len(args.target) == 2:
        return verify(app, Path(args.target[1]), args.fingerprint)
    if len(args.target) != 1:
        raise ReportingError("evidence-pack takes one SURVEY_ID (or `verify PACK`)")
    if not args.out:
        raise ReportingError("--out: name the zip file to write, for example --out pack.zip")
    return evidence_pack(app, args.target[0], args.wave, Path(args.out))


def export_survey(reader: Reader, survey_id: str, fmt: str, wave: int | None, out: str) -> int:
    count = outputs.export_survey(reader, reader.clock, survey_id, fmt, wave, out)
    if out != "-":
        which = f" wave {wave}" if wave is not None else ""
        where = ("with its codebook on the second sheet" if fmt == "xlsx" else
                 f"with its codebook in {export.codebook_path(Path(out), fmt)}")
        print(f"Exported {count} completed response(s) of `{survey_id}`{which} to {out}, {where}.", file=sys.stderr)
    return 0


def report(app: App, survey_id: str, wave: int | None, other: int | None, out: str) -> int:
    made = outputs.report(app, survey_id, wave, other, out)
    if out != "-":
        compared = f" compared with wave {made.comparison.before.wave}" if made.comparison else ""
        print(f"Wrote the report of `{survey_id}` wave {made.current.wave}{compared} to {out}.", file=sys.stderr)
    return 0


def evidence_pack(app: App, code: str, wave: int | None, out: Path) -> int:
    target = outputs.pack_target(app, code, wave, out)
    key, note = outputs.signing(app.settings)
    if note:
        print(note, file=sys.stderr)
    made = outputs.evidence_pack(app, target, key)
    print(f"Wrote the evidence pack of `{target.survey_id}` to {out}: {made.files} files, {made.rows} completed "
          f"response(s), audit chain head {made.chain_head}.")
    print(f"Signed with the key whose fingerprint is {made.fingerprint}: publish it, so people can check packs "
          "against it.")
    return 0


def verify(app: App, path: Path, expected: str | None) -> int:
    """`surveybot evidence-pack verify PACK`: the pack passes only when its key is this installation's or the one
    `--fingerprint` names (bot.reporting.outputs.verify says why)."""
    verdict = outputs.verify(app.settings, path, expected)
    if verdict.problems:
        print(f"surveybot: the pack FAILED its check: {verdict.problems[0]}", file=sys.stderr)
        for problem in verdict.problems[1:]:
            print(f"  also: {problem}", file=sys.stderr)
        return 1
    signer, ours = verdict.signer, verdict.ours
    print(", ".join(f for f in verdict.facts if not f.startswith("public key")))
    if signer == ours:
        print(f"It was signed with this installation's signing key (fingerprint {signer}).")
    elif expected is not None:  # check() has already refused a pack whose key is not the one given
        print(f"It was signed with the key you named (fingerprint {signer}), not this installation's.")
    else:
        mine = f"this installation's is {ours}" if ours else "this installation has no signing key to compare"
        print(f"surveybot: the pack is intact, but it was signed by a key that is not this installation's "
              f"(fingerprint {signer}; {mine}). If you trust that key, give --fingerprint with the fingerprint its "
              f"owner published.", file=sys.stderr)
        return 1
    return 0
