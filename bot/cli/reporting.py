"""The scrutineer's commands: `surveybot export`, `surveybot report` and `surveybot evidence-pack` (and `verify`).

Kept apart from bot/cli/__init__.py, which only registers and dispatches them. Every mistake on the command line ends
in one
`ReportingError` line naming the option or argument; files are written beside their target and moved into place at
the end, so a failure leaves no half file. Exports, reports and packs are all audited. Long runs show a progress
line on standard error when it is a terminal (bot.reporting.progress).

`export` runs on the light composition (bot.reading: no service, no ORM); what `report` and `evidence-pack` need
beyond it is imported when they run, so an export does not wait for the modules of the others to load.
"""

from __future__ import annotations

import argparse
import hashlib
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

from bot.config import SettingsError
from bot.reporting import export
from bot.reporting.progress import Progress
from bot.reporting.verify_pack import Pack, Unreadable, check
from bot.services.campaigns import current_wave, rules_of
from storage import results
from storage.files import create_owner_only

if TYPE_CHECKING:
    from bot.app import App
    from bot.engine.survey import Survey
    from bot.reading import Reader


class ReportingError(Exception):
    """A command was given something it cannot use; the message names the option or argument."""


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


@contextmanager
def output(path: str) -> Iterator[TextIO]:
    """Write to a temporary file and move it into place at the end, so a failed export leaves no half file."""
    if path == "-":
        yield sys.stdout
        return
    target = Path(path)
    if target.is_dir():
        raise ReportingError(f"--out {path} is a folder; name a file")
    partial = target.with_name(f".{target.name}.partial")
    try:
        create_owner_only(partial)
        handle = partial.open("w", encoding="utf-8", newline="")
    except OSError as exc:
        raise ReportingError(f"cannot write {path}: {exc.strerror}") from None
    try:
        with handle:
            yield handle
        partial.replace(target)
    finally:
        partial.unlink(missing_ok=True)


def _published(app: App | Reader, survey_id: str) -> list[Survey]:
    versions = app.published_versions(survey_id)
    if not versions:
        raise ReportingError(f"no survey `{survey_id}` has been published; known surveys: "
                             f"{', '.join(app.catalogue.ids())}")
    return versions


def _check_wave(app: App | Reader, survey_id: str, wave: int | None) -> None:
    if wave is None:
        return
    with app.store.unit() as uow:
        known = results.waves(uow, survey_id)
    if wave not in known:
        listed = ", ".join(map(str, known)) or "none yet"
        raise ReportingError(f"--wave: `{survey_id}` has no wave {wave} (it has {listed})")


def export_survey(app: Reader, survey_id: str, fmt: str, wave: int | None, out: str) -> int:
    versions = _published(app, survey_id)
    _check_wave(app, survey_id, wave)
    if fmt == "xlsx" and out == "-":
        raise ReportingError("--out: an XLSX file can't go to standard output; name a file")
    header = export.columns(versions)
    watching = sys.stderr.isatty()  # the total is only for the progress line: no count query otherwise
    progress = Progress("exporting", export.count(app.store, survey_id, wave) if watching else None)
    today = app.clock().date()
    codebook_sha256 = None
    if fmt == "xlsx":
        target = Path(out)
        if target.is_dir():
            raise ReportingError(f"--out {out} is a folder; name a file")
        partial = target.with_name(f".{target.name}.partial")
        try:
            create_owner_only(partial)
            count = export.write_xlsx(app.store, survey_id, header, versions, partial, today, wave, progress)
            sha256 = hashlib.sha256(partial.read_bytes()).hexdigest()
            partial.replace(target)
        except OSError as exc:
            raise ReportingError(f"cannot write {out}: {exc.strerror}") from None
        finally:
            partial.unlink(missing_ok=True)
    else:
        writer = export.write_csv if fmt == "csv" else export.write_json
        with output(out) as handle:
            written = export.Fingerprinted(handle)
            count = writer(app.store, survey_id, header, written, wave, progress)
            written.flush()
        sha256 = written.sha256()
        if out != "-":
            with output(str(export.codebook_path(Path(out), fmt))) as handle:
                book = export.Fingerprinted(handle)
                (export.write_codebook_csv if fmt == "csv" else export.write_codebook_json)(versions, book)
                book.flush()
            codebook_sha256 = book.sha256()
    progress.finish()
    export.record(app.store, survey_id, fmt, count, sha256, today, wave=wave, codebook_sha256=codebook_sha256)
    if out != "-":
        which = f" wave {wave}" if wave is not None else ""
        where = ("with its codebook on the second sheet" if fmt == "xlsx" else
                 f"with its codebook in {export.codebook_path(Path(out), fmt)}")
        print(f"Exported {count} completed response(s) of `{survey_id}`{which} to {out}, {where}.", file=sys.stderr)
    return 0


def report(app: App, survey_id: str, wave: int | None, other: int | None, out: str) -> int:
    from bot.reporting import html
    from bot.reporting.report import ReportRequestError, make_report

    published = _published(app, survey_id)
    today = app.service.clock().date()
    try:
        made = make_report(app.store, app.settings.privacy, published, survey_id, wave, other,
                           app.keys.secret("report-comments").encode(), today, sys.stderr)
    except ReportRequestError as exc:
        raise ReportingError(str(exc)) from None
    text = html.render(made)
    with output(out) as handle:
        handle.write(text)
    chosen = made.current.wave
    subject = {"survey": survey_id, "wave": chosen, "sha256": hashlib.sha256(text.encode()).hexdigest()}
    if made.comparison is not None:
        subject["compared_with"] = made.comparison.before.wave
    with app.store.unit() as uow:
        uow.audit("report", subject, today)
    if out != "-":
        compared = f" compared with wave {made.comparison.before.wave}" if made.comparison else ""
        print(f"Wrote the report of `{survey_id}` wave {chosen}{compared} to {out}.", file=sys.stderr)
    return 0


def campaign_round(app: App, code: str, wave: int | None) -> tuple[str, int | None]:
    """A campaign's code stands for its survey and its current wave (or the wave asked for); a survey id is itself."""
    if app.catalogue.has(code):
        return code, wave
    from storage import campaigns

    with app.store.unit() as uow:
        campaign = campaigns.by_code(uow, code)
    if campaign is None:
        return code, wave
    now = app.service.clock()
    return campaign.survey_id, wave or current_wave(rules_of(campaign, now.tzinfo or UTC), now)


def evidence_pack(app: App, code: str, wave: int | None, out: Path) -> int:
    from bot.reporting import pack
    from bot.reporting.report import ReportRequestError
    from bot.reporting.signing import signing_key

    survey_id, wave = campaign_round(app, code, wave)
    published = _published(app, survey_id)
    if out.is_dir():
        raise ReportingError(f"--out {out} is a folder; name the zip file to write")
    if not out.parent.is_dir():
        raise ReportingError(f"--out: the folder {out.parent} does not exist")
    try:
        key, note = signing_key(app.settings)
    except SettingsError as exc:
        raise ReportingError(str(exc)) from None
    if note:
        print(note, file=sys.stderr)
    try:
        made = pack.build(app.store, app.settings.privacy, app.keys, published, survey_id, wave, out,
                          app.service.clock().date(), key, sys.stderr)
    except (ReportRequestError, pack.PackError) as exc:
        raise ReportingError(str(exc)) from None
    print(f"Wrote the evidence pack of `{survey_id}` to {out}: {made.files} files, {made.rows} completed "
          f"response(s), audit chain head {made.chain_head}.")
    print(f"Signed with the key whose fingerprint is {made.fingerprint}: publish it, so people can check packs "
          "against it.")
    return 0


def verify(app: App, path: Path, expected: str | None) -> int:
    """`surveybot evidence-pack verify PACK`: the same checks as the pack's own verify_pack.py, and then who signed
    it. Anyone can sign a pack with a key of their own and it verifies against that key, so the pack passes only
    when its key is this installation's or the one `--fingerprint` names."""
    from bot.reporting.signing import KEY_FILE, fingerprint, signing_key

    try:
        problems, facts = check(Pack(path), expected)
    except Unreadable as exc:
        raise ReportingError(f"PACK: {exc}") from None
    if problems:
        print(f"surveybot: the pack FAILED its check: {problems[0]}", file=sys.stderr)
        for problem in problems[1:]:
            print(f"  also: {problem}", file=sys.stderr)
        return 1
    signer = next(f for f in facts if f.startswith("public key")).split(": ", 1)[1]
    ours = None
    if app.settings.signing_key or (app.settings.data_dir / KEY_FILE).exists():
        try:
            ours = fingerprint(signing_key(app.settings)[0].public_key())
        except SettingsError as exc:
            raise ReportingError(str(exc)) from None
    print(", ".join(f for f in facts if not f.startswith("public key")))
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
