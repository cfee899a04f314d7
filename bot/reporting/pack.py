"""Evidence packs: one zip a scrutineer can check without surveybot, holding everything behind a round's results.

Contents (README.txt in the pack says the same to its reader):

    survey/<id>-v<N>.yaml        the exact text of every survey version that collected answers in the round
    exports/<id>-wave<W>.csv     the completed responses (record-level, pseudonymous), its .codebook.csv, and .xlsx
    report.html                  the report (compared with the previous wave, when there is one)
    method.txt                   dates, audience size, response rate, thresholds, what was suppressed and why
    audit-chain-head.txt         the audit chain's newest link when the pack was made, after verifying the chain
    public-key.pem               the Ed25519 key that signed the manifest (compare its fingerprint with the
                                 partnership's published one)
    verify_pack.py               the checker: Python's standard library and `cryptography`, nothing else
    README.txt
    manifest.json, manifest.sig  SHA-256 of every file above, and the Ed25519 signature of manifest.json

The audit chain is verified first (bot.services.audit.verify), and a pack is refused if it fails: a pack vouches for the
chain head it quotes. Making a pack is itself audited (`evidence.pack`, with the manifest's SHA-256), after the head
is read, so the chain also records that the pack was made. The zip is deterministic for a given day: fixed entry
order and dates (no time of day), so the same data gives the same bytes.

A pack is per survey round (survey + wave). Campaigns (another branch) can map a campaign id onto survey + wave.
"""

from __future__ import annotations

import base64
import hashlib
import io
import json
import tempfile
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from importlib import resources
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from bot.engine.survey import Survey
from bot.reporting import export, html
from bot.reporting.method import method, render_text
from bot.reporting.progress import Progress, Terminal
from bot.reporting.report import make_report, pick_waves
from bot.reporting.signing import fingerprint, public_pem
from bot.reporting.verify_pack import FORMAT, MANIFEST, PUBLIC_KEY, SIGNATURE
from bot.services.audit import head, verify
from bot.services.policy import Policy
from bot.services.privacy import Keys
from storage import results
from storage.files import create_owner_only
from storage.unit_of_work import Store


class PackError(Exception):
    """A pack cannot be made (the audit chain fails its check, or the survey has nothing to pack)."""


@dataclass(frozen=True)
class PackMade:
    path: Path
    files: int
    rows: int
    fingerprint: str
    chain_head: str
    manifest_sha256: str


README = """surveybot evidence pack: {title} ({survey_id}), wave {wave}
Made on {made_on}.

What is in it
  survey/          the exact text of each survey version that collected answers, as published
  exports/         the completed responses: CSV with its codebook, and Excel (codebook on the second sheet).
                   These are record-level and pseudonymous: keep them under your DPIA's controls, never publish.
  report.html      the report, with charts; open it in any browser, print it to PDF
  method.txt       how the figures were made: dates, audience, response rate, thresholds, what was suppressed
  audit-chain-head.txt   the newest link of surveybot's audit chain when this pack was made
  public-key.pem   the key that signed this pack
  verify_pack.py   the checker
  manifest.json    the SHA-256 of every file; manifest.sig is its Ed25519 signature

How to check it (needs Python 3.9+ and `pip install cryptography`; not surveybot):
  python3 verify_pack.py {pack_name}
It prints "all N files match, signature valid, audit chain head ..." and the key's fingerprint, or names each
file that does not match and exits with a non-zero status. Compare the fingerprint with the one your partnership
publishes:
  {fingerprint}
Give it to verify_pack.py to compare for you: --fingerprint "{fingerprint}"

The chain head lets the partnership show later that no evidence was rewritten since: on the server,
  surveybot audit verify --head {chain_head}
must still pass.
"""


def build(store: Store, policy: Policy, keys: Keys, published: list[Survey], survey_id: str, wave: int | None,
          out: Path, today: date, signing: Ed25519PrivateKey, stream: Terminal | None = None) -> PackMade:
    """Make the pack at `out` (written beside it first, then moved into place) and audit it."""
    if not published:
        raise PackError(f"SURVEY: no survey `{survey_id}` has been published")
    chosen, _ = pick_waves(store, survey_id, wave, None)
    verdict = verify(store, keys)
    if not verdict.ok:
        raise PackError(f"no pack made, because the {verdict.summary()} (run `surveybot audit verify`)")
    chain = head(store)
    with store.unit() as uow:
        known = results.waves(uow, survey_id)
        answered = set(results.versions_answered(uow, survey_id, chosen))
    earlier = max((w for w in known if w < chosen), default=None)
    versions = [s for s in published if s.version in answered] or [max(published, key=lambda s: s.version)]
    base = f"{survey_id}-wave{chosen}"
    files: dict[str, bytes] = {}
    for survey in sorted(versions, key=lambda s: s.version):
        files[f"survey/{survey_id}-v{survey.version}.yaml"] = survey.source.encode()
    total = export.count(store, survey_id, chosen)
    header = export.columns(versions)
    with tempfile.TemporaryDirectory(prefix=".surveybot-pack-", dir=out.parent) as folder:
        csv_path, xlsx_path = Path(folder) / "export.csv", Path(folder) / "export.xlsx"
        progress = Progress("exporting CSV", total, stream)
        with csv_path.open("w", encoding="utf-8", newline="") as handle:
            rows = export.write_csv(store, survey_id, header, handle, chosen, progress)
        progress.finish()
        progress = Progress("exporting XLSX", total, stream)
        export.write_xlsx(store, survey_id, header, versions, xlsx_path, today, chosen, progress)
        progress.finish()
        files[f"exports/{base}.csv"] = csv_path.read_bytes()
        files[f"exports/{base}.xlsx"] = xlsx_path.read_bytes()
    codebook = _text(lambda handle: export.write_codebook_csv(versions, handle))
    files[f"exports/{base}.codebook.csv"] = codebook
    report = make_report(store, policy, versions, survey_id, chosen, earlier, keys.secret("report-comments").encode(),
                         today, stream)
    files["report.html"] = html.render(report).encode()
    title = f"Method note: {report.current.survey.title} ({survey_id}), wave {chosen}"
    files["method.txt"] = render_text(method(report), title).encode()
    files["audit-chain-head.txt"] = (
        f"audit chain head when this pack was made ({today.isoformat()}):\n"
        f"  record {chain.seq} of {chain.records}\n  hash {chain.hash}\n"
        f"The chain was verified first: {verdict.summary()}.\n"
        f"On the server, `surveybot audit verify --head {chain.hash}` must still pass later.\n").encode()
    public = signing.public_key()
    files[PUBLIC_KEY] = public_pem(public)
    files["verify_pack.py"] = resources.files("bot.reporting").joinpath("verify_pack.py").read_bytes()
    files["README.txt"] = README.format(title=report.current.survey.title, survey_id=survey_id, wave=chosen,
                                        made_on=today.isoformat(), pack_name=out.name,
                                        fingerprint=fingerprint(public), chain_head=chain.hash).encode()
    manifest = json.dumps({
        "format": FORMAT,
        "survey": survey_id,
        "wave": chosen,
        "versions": sorted(s.version for s in versions),
        "made_on": today.isoformat(),
        "rows": rows,
        "audit_chain_head": {"seq": chain.seq, "records": chain.records, "hash": chain.hash},
        "public_key_fingerprint": fingerprint(public),
        "files": [{"path": name, "sha256": hashlib.sha256(data).hexdigest(), "bytes": len(data)}
                  for name, data in sorted(files.items())],
    }, indent=2, ensure_ascii=False).encode() + b"\n"
    files[MANIFEST] = manifest
    files[SIGNATURE] = base64.b64encode(signing.sign(manifest)) + b"\n"
    _write_zip(out, files, today)
    digest = hashlib.sha256(manifest).hexdigest()
    with store.unit() as uow:
        uow.audit("evidence.pack", {"survey": survey_id, "wave": chosen, "rows": rows, "files": len(files) - 2,
                                    "manifest_sha256": digest, "chain_head": chain.hash}, today)
    return PackMade(out, len(files) - 2, rows, fingerprint(public), chain.hash, digest)


def _text(write: Callable[[io.StringIO], None]) -> bytes:
    buffer = io.StringIO(newline="")
    write(buffer)
    return buffer.getvalue().encode()


def _write_zip(out: Path, files: dict[str, bytes], today: date) -> None:
    partial = out.with_name(f".{out.name}.partial")
    try:
        create_owner_only(partial)
        with zipfile.ZipFile(partial, "w", compression=zipfile.ZIP_DEFLATED) as archive:
            for name in [n for n in files if n not in (MANIFEST, SIGNATURE)] + [MANIFEST, SIGNATURE]:
                info = zipfile.ZipInfo(name, date_time=(today.year, today.month, today.day, 0, 0, 0))
                info.compress_type = zipfile.ZIP_DEFLATED
                info.external_attr = 0o644 << 16
                archive.writestr(info, files[name])
        partial.replace(out)
    finally:
        partial.unlink(missing_ok=True)
