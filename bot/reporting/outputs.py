"""The export, the report and the evidence pack written to files, each audited: the use cases behind `surveybot
export`, `surveybot report` and `surveybot evidence-pack` (bot/cli/reporting.py parses and prints).

Every mistake ends in one `ReportingError` line naming the option or argument; files are written beside their
target and moved into place at the end, so a failure leaves no half file. Long runs show a progress line on
standard error when it is a terminal (bot.reporting.progress).

`export` runs on the light composition (bot.reading: no service, no ORM), so it is typed against `Source`, which
both that and the full start satisfy; what `report` and `evidence-pack` need beyond it is imported when they run.
"""

from __future__ import annotations

import hashlib
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Protocol, TextIO

from bot.config import Settings, SettingsError
from bot.engine.survey import Survey
from bot.reporting import export
from bot.reporting.progress import Progress
from bot.reporting.verify_pack import Pack, Unreadable, check
from bot.services.campaigns import current_wave, rules_of
from bot.services.surveyfiles import SurveyCatalogue
from storage import results
from storage.files import create_owner_only
from storage.sql import Units

if TYPE_CHECKING:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    from bot.reporting.delivery import ReportingParts
    from bot.reporting.pack import PackMade
    from bot.reporting.report import Report


class ReportingError(Exception):
    """A command was given something it cannot use; the message names the option or argument."""


class Source(Protocol):
    """What an export reads: the store, the loaded surveys, the published versions and a clock (bot.reading's
    `Reader`, or the full start's `App`)."""

    @property
    def store(self) -> Units: ...

    @property
    def catalogue(self) -> SurveyCatalogue: ...

    def published_versions(self, survey_id: str) -> list[Survey]: ...


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


def published(source: Source, survey_id: str) -> list[Survey]:
    versions = source.published_versions(survey_id)
    if not versions:
        raise ReportingError(f"no survey `{survey_id}` has been published; known surveys: "
                             f"{', '.join(source.catalogue.ids())}")
    return versions


def _check_wave(source: Source, survey_id: str, wave: int | None) -> None:
    if wave is None:
        return
    with source.store.unit() as uow:
        known = results.waves(uow, survey_id)
    if wave not in known:
        listed = ", ".join(map(str, known)) or "none yet"
        raise ReportingError(f"--wave: `{survey_id}` has no wave {wave} (it has {listed})")


def export_survey(source: Source, clock: Callable[[], datetime], survey_id: str, fmt: str, wave: int | None,
                  out: str) -> int:
    """Every completed response of a survey (one wave, or all) to `out`, with its codebook beside it (or on the
    second sheet), audited with both files' fingerprints. Returns how many responses were written."""
    versions = published(source, survey_id)
    _check_wave(source, survey_id, wave)
    if fmt == "xlsx" and out == "-":
        raise ReportingError("--out: an XLSX file can't go to standard output; name a file")
    header = export.columns(versions)
    watching = sys.stderr.isatty()  # the total is only for the progress line: no count query otherwise
    progress = Progress("exporting", export.count(source.store, survey_id, wave) if watching else None)
    today = clock().date()
    codebook_sha256 = None
    if fmt == "xlsx":
        target = Path(out)
        if target.is_dir():
            raise ReportingError(f"--out {out} is a folder; name a file")
        partial = target.with_name(f".{target.name}.partial")
        try:
            create_owner_only(partial)
            count = export.write_xlsx(source.store, survey_id, header, versions, partial, today, wave, progress)
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
            count = writer(source.store, survey_id, header, written, wave, progress)
            written.flush()
        sha256 = written.sha256()
        if out != "-":
            with output(str(export.codebook_path(Path(out), fmt))) as handle:
                book = export.Fingerprinted(handle)
                (export.write_codebook_csv if fmt == "csv" else export.write_codebook_json)(versions, book)
                book.flush()
            codebook_sha256 = book.sha256()
    progress.finish()
    export.record(source.store, survey_id, fmt, count, sha256, today, wave=wave, codebook_sha256=codebook_sha256)
    return count


def report(parts: ReportingParts, survey_id: str, wave: int | None, other: int | None, out: str) -> Report:
    """The HTML report of a wave (compared with `other`, if given) written to `out`, audited with its fingerprint."""
    from bot.reporting import html
    from bot.reporting.report import ReportRequestError, make_report

    versions = published(parts, survey_id)
    today = parts.service.clock().date()
    try:
        made = make_report(parts.store, parts.policy, versions, survey_id, wave, other,
                           parts.keys.secret("report-comments").encode(), today, sys.stderr)
    except ReportRequestError as exc:
        raise ReportingError(str(exc)) from None
    text = html.render(made)
    with output(out) as handle:
        handle.write(text)
    subject = {"survey": survey_id, "wave": made.current.wave, "sha256": hashlib.sha256(text.encode()).hexdigest()}
    if made.comparison is not None:
        subject["compared_with"] = made.comparison.before.wave
    with parts.store.unit() as uow:
        uow.audit("report", subject, today)
    return made


def campaign_round(parts: ReportingParts, code: str, wave: int | None) -> tuple[str, int | None]:
    """A campaign's code stands for its survey and its current wave (or the wave asked for); a survey id is itself."""
    if parts.catalogue.has(code):
        return code, wave
    from storage import campaigns

    with parts.store.unit() as uow:
        campaign = campaigns.by_code(uow, code)
    if campaign is None:
        return code, wave
    now = parts.service.clock()
    return campaign.survey_id, wave or current_wave(rules_of(campaign, now.tzinfo or UTC), now)


@dataclass(frozen=True)
class PackTarget:
    """What an evidence pack will hold, checked before anything is signed or written."""

    survey_id: str
    wave: int | None
    versions: list[Survey]
    out: Path


def pack_target(parts: ReportingParts, code: str, wave: int | None, out: Path) -> PackTarget:
    survey_id, wave = campaign_round(parts, code, wave)
    versions = published(parts, survey_id)
    if out.is_dir():
        raise ReportingError(f"--out {out} is a folder; name the zip file to write")
    if not out.parent.is_dir():
        raise ReportingError(f"--out: the folder {out.parent} does not exist")
    return PackTarget(survey_id, wave, versions, out)


def signing(settings: Settings) -> tuple[Ed25519PrivateKey, str | None]:
    """The installation's signing key, and a note to show when it was made just now."""
    from bot.reporting.signing import signing_key

    try:
        return signing_key(settings)
    except SettingsError as exc:
        raise ReportingError(str(exc)) from None


def evidence_pack(parts: ReportingParts, target: PackTarget, key: Ed25519PrivateKey) -> PackMade:
    """The signed evidence pack (survey text, exports, report, method, audit chain head), audited by pack.build."""
    from bot.reporting import pack
    from bot.reporting.report import ReportRequestError

    try:
        return pack.build(parts.store, parts.policy, parts.keys, target.versions, target.survey_id, target.wave,
                          target.out, parts.service.clock().date(), key, sys.stderr)
    except (ReportRequestError, pack.PackError) as exc:
        raise ReportingError(str(exc)) from None


@dataclass(frozen=True)
class Verdict:
    """A pack's check: the problems found (none: intact), the facts it states, who signed it, and this
    installation's own key's fingerprint (None without one)."""

    problems: list[str]
    facts: list[str]
    signer: str | None
    ours: str | None


def verify(settings: Settings, path: Path, expected: str | None) -> Verdict:
    """The same checks as the pack's own verify_pack.py, then who signed it. Anyone can sign a pack with a key of
    their own and it verifies against that key, so the caller passes it only when its key is this installation's or
    the one `expected` names."""
    from bot.reporting.signing import KEY_FILE, fingerprint, signing_key

    try:
        problems, facts = check(Pack(path), expected)
    except Unreadable as exc:
        raise ReportingError(f"PACK: {exc}") from None
    if problems:
        return Verdict(problems, facts, None, None)
    signer = next(f for f in facts if f.startswith("public key")).split(": ", 1)[1]
    ours = None
    if settings.signing_key or (settings.data_dir / KEY_FILE).exists():
        try:
            ours = fingerprint(signing_key(settings)[0].public_key())
        except SettingsError as exc:
            raise ReportingError(str(exc)) from None
    return Verdict(problems, facts, signer, ours)
