"""`surveybot export`, `report`, `evidence-pack` and `keys signing-new` through the real entry point: a scrutineer's
walk from export to a verified pack, the audit records each leaves, and one clear line for every bad argument."""

from __future__ import annotations

import hashlib
import json
import os
import sqlite3
import stat
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from . import dataset
from .conftest import PEPPER
from .test_privacy_cli import Cli

REPO = Path(__file__).parent.parent
SAMPLE_ONLY = {"SURVEYBOT_PEPPER": PEPPER.decode(), "SURVEYBOT_SURVEYS_DIR": str(REPO / "tests" / "surveys")}


@pytest.fixture
def surveybot(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> Cli:
    """The CLI in this process, over a copy of the two-wave dataset in its data folder."""
    dataset.store_copy(tmp_path / "data").engine.dispose()
    return Cli(tmp_path, monkeypatch, capsys)


def audit(tmp_path: Path, action: str) -> list[dict[str, object]]:
    with sqlite3.connect(tmp_path / "data" / "surveybot.db") as database:
        rows = database.execute("SELECT subject FROM audit_record WHERE action = ? ORDER BY seq", (action,))
        return [json.loads(subject) for (subject,) in rows]


def test_from_export_to_a_verified_evidence_pack(tmp_path: Path, surveybot: Cli) -> None:
    exported = surveybot("export", "sample", "--format", "xlsx", "--wave", "2", "--out", "wave2.xlsx", **SAMPLE_ONLY)
    assert exported.returncode == 0, exported.stderr
    assert exported.stderr.strip().endswith("Exported 20 completed response(s) of `sample` wave 2 to wave2.xlsx, "
                                            "with its codebook on the second sheet.")
    everything = surveybot("export", "sample", "--out", "all.csv", **SAMPLE_ONLY)
    assert everything.returncode == 0 and (tmp_path / "all.csv.codebook.csv").exists()
    assert len((tmp_path / "all.csv").read_text().splitlines()) == 41
    records = audit(tmp_path, "export")
    assert [(r["format"], r["rows"], r.get("wave")) for r in records] == [("xlsx", 20, 2), ("csv", 40, None)]
    assert records[0]["sha256"] == hashlib.sha256((tmp_path / "wave2.xlsx").read_bytes()).hexdigest()
    assert records[1]["codebook_sha256"] == hashlib.sha256((tmp_path / "all.csv.codebook.csv").read_bytes()
                                                           ).hexdigest()

    reported = surveybot("report", "sample", "--compare", "1", "--out", "report.html", **SAMPLE_ONLY)
    assert reported.returncode == 0, reported.stderr
    assert "Wrote the report of `sample` wave 2 compared with wave 1 to report.html." in reported.stderr
    page = (tmp_path / "report.html").read_text()
    assert "“Yes” to “Did you know the policy?” rose from 40% to 75% (a significant change)." in page
    (record,) = audit(tmp_path, "report")
    assert record == {"survey": "sample", "wave": 2, "compared_with": 1,
                      "sha256": hashlib.sha256(page.encode()).hexdigest()}

    made = surveybot("keys", "signing-new", **SAMPLE_ONLY)
    setting = next(line for line in made.stdout.splitlines() if line.startswith("SURVEYBOT_SIGNING_KEY="))
    printed = made.stdout.rsplit("Fingerprint, to publish so people can check packs: ", 1)[1].strip()
    key = {"SURVEYBOT_SIGNING_KEY": setting.split("=", 1)[1]}
    packed = surveybot("evidence-pack", "sample", "--out", "pack.zip", **SAMPLE_ONLY, **key)
    assert packed.returncode == 0, packed.stderr
    assert packed.stdout.startswith("Wrote the evidence pack of `sample` to pack.zip: 10 files, 20 completed")
    assert f"the key whose fingerprint is {printed}" in packed.stdout
    (pack_record,) = audit(tmp_path, "evidence.pack")
    assert pack_record["wave"] == 2 and pack_record["files"] == 10

    checked = surveybot("evidence-pack", "verify", "pack.zip", "--fingerprint", printed, **SAMPLE_ONLY, **key)
    assert checked.returncode == 0, checked.stderr
    assert checked.stdout.startswith("all 10 files match, signature valid, audit chain head ")
    assert checked.stdout.splitlines()[-1] == f"It was signed with this installation's signing key (fingerprint " \
                                              f"{printed})."

    with zipfile.ZipFile(tmp_path / "pack.zip") as old, zipfile.ZipFile(tmp_path / "bad.zip", "w") as new:
        for name in old.namelist():
            data = old.read(name)
            new.writestr(name, data.replace(b"40%", b"60%") if name == "report.html" else data)
    refused = surveybot("evidence-pack", "verify", "bad.zip", **SAMPLE_ONLY)
    assert refused.returncode == 1
    assert refused.stderr.splitlines()[0].startswith("surveybot: the pack FAILED its check: MISMATCH: report.html "
                                                     "has changed since the pack was signed")
    assert setting.split("=", 1)[1] not in packed.stdout + packed.stderr + checked.stdout + refused.stderr


def test_verify_passes_only_a_pack_signed_by_this_installation_or_the_key_named(tmp_path: Path,
                                                                               surveybot: Cli) -> None:
    ours = surveybot("keys", "signing-new", **SAMPLE_ONLY).stdout
    theirs = surveybot("keys", "signing-new", **SAMPLE_ONLY).stdout

    def setting(made: str) -> dict[str, str]:
        line = next(line for line in made.splitlines() if line.startswith("SURVEYBOT_SIGNING_KEY="))
        return {"SURVEYBOT_SIGNING_KEY": line.split("=", 1)[1]}

    their_print = theirs.rsplit("check packs: ", 1)[1].strip()
    our_print = ours.rsplit("check packs: ", 1)[1].strip()
    assert surveybot("evidence-pack", "sample", "--out", "theirs.zip", **SAMPLE_ONLY, **setting(theirs)
                     ).returncode == 0
    refused = surveybot("evidence-pack", "verify", "theirs.zip", **SAMPLE_ONLY, **setting(ours))
    assert refused.returncode == 1, refused.stdout
    (line,) = [line for line in refused.stderr.splitlines() if line.startswith("surveybot: ")]
    assert f"signed by a key that is not this installation's (fingerprint {their_print}; this installation's " \
           f"is {our_print})" in line and "--fingerprint" in line
    named = surveybot("evidence-pack", "verify", "theirs.zip", "--fingerprint", their_print, **SAMPLE_ONLY,
                      **setting(ours))
    assert named.returncode == 0, named.stderr
    assert named.stdout.splitlines()[-1] == (f"It was signed with the key you named (fingerprint {their_print}), "
                                             "not this installation's.")
    wrong = surveybot("evidence-pack", "verify", "theirs.zip", "--fingerprint", our_print, **SAMPLE_ONLY,
                      **setting(ours))
    assert wrong.returncode == 1 and "public-key.pem is not the expected key" in wrong.stderr
    keyless = surveybot("evidence-pack", "verify", "theirs.zip", **SAMPLE_ONLY)  # no key here at all
    assert keyless.returncode == 1 and "this installation has no signing key to compare" in keyless.stderr
    assert not (tmp_path / "data" / "signing-key.pem").exists()  # checking never makes a key


@pytest.mark.parametrize(("args", "env", "message"), [
    (("export", "sample", "--wave", "9", "--out", "x.csv"), {}, "--wave: `sample` has no wave 9 (it has 1, 2)"),
    (("export", "sample", "--format", "xlsx", "--out", "-"), {}, "--out: an XLSX file can't go to standard output"),
    (("export", "sample", "--out", "data"), {}, "--out data is a folder; name a file"),
    (("report", "sample", "--compare", "2", "--out", "r.html"), {}, "--compare: wave 2 is the report's own wave"),
    (("report", "sample", "--wave", "3", "--out", "r.html"), {}, "--wave: `sample` has no wave 3 (it has 1, 2)"),
    (("report", "nothing", "--out", "r.html"), {}, "no survey `nothing` has been published"),
    (("evidence-pack", "sample"), {}, "--out: name the zip file to write"),
    (("evidence-pack", "sample", "extra", "--out", "p.zip"), {}, "evidence-pack takes one SURVEY_ID"),
    (("evidence-pack", "verify", "nothing.zip"), {}, "PACK: nothing.zip: no such file or folder"),
    (("evidence-pack", "sample", "--out", "p.zip"), {"SURVEYBOT_SIGNING_KEY": "not-a-key-at-all"},
     "SURVEYBOT_SIGNING_KEY is not an Ed25519 private key"),
    (("evidence-pack", "sample", "--out", "p.zip"), {"SURVEYBOT_ENV": "production"},
     "SURVEYBOT_SIGNING_KEY is not set; production needs a signing key"),
])
def test_bad_input_gets_one_clear_line(surveybot: Cli, tmp_path: Path, args: tuple[str, ...], env: dict[str, str],
                                       message: str) -> None:
    result = surveybot(*args, **SAMPLE_ONLY, **env)
    assert result.returncode == 1
    lines = [line for line in result.stderr.splitlines() if line.startswith("surveybot: ")]
    assert len(lines) == 1 and message in lines[0], result.stderr
    assert "Traceback" not in result.stderr and "not-a-key-at-all" not in result.stderr + result.stdout
    assert not list(tmp_path.glob("*.partial")) and not (tmp_path / "p.zip").exists()


def test_the_installed_command_makes_a_development_key_and_a_pack(tmp_path: Path) -> None:
    dataset.store_copy(tmp_path / "data").engine.dispose()
    environment = {k: v for k, v in os.environ.items() if not k.startswith(("SURVEYBOT_", "DATABASE_URL"))}
    environment.update({"SURVEYBOT_DATA_DIR": str(tmp_path / "data"), **SAMPLE_ONLY})
    result = subprocess.run([sys.executable, "-m", "bot.cli", "evidence-pack", "sample", "--wave", "1", "--out",
                             "pack.zip"], cwd=tmp_path, capture_output=True, text=True, env=environment, timeout=120)
    assert result.returncode == 0, result.stderr
    assert "Created a signing key for evidence packs at" in result.stderr
    key_file = tmp_path / "data" / "signing-key.pem"
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    with zipfile.ZipFile(tmp_path / "pack.zip") as archive:
        assert "exports/sample-wave1.csv" in archive.namelist()
        assert json.loads(archive.read("manifest.json"))["wave"] == 1


# What a read-only export must never load: the chat platforms' SDKs, the metrics, the scheduler, Alembic, and the
# survey service with its ORM (bot.reading says why). A CSV export does not need xlsxwriter either.
HEAVY = ("aiogram", "aiohttp", "slack_bolt", "slack_sdk", "prometheus_client", "apscheduler", "alembic", "sqlmodel",
         "pydantic", "sqlalchemy.orm", "storage.models", "storage.unit_of_work", "bot.services.service", "bot.app",
         "bot.channels.telegram", "bot.channels.slack", "bot.channels.web", "bot.services.scheduling", "xlsxwriter")


def test_export_loads_neither_the_service_nor_the_orm_nor_any_channel(tmp_path: Path) -> None:
    dataset.store_copy(tmp_path / "data").engine.dispose()
    environment = {k: v for k, v in os.environ.items() if not k.startswith(("SURVEYBOT_", "DATABASE_URL"))}
    environment.update({"SURVEYBOT_DATA_DIR": str(tmp_path / "data"), **SAMPLE_ONLY})
    code = ("import json, sys; from bot import cli; status = cli.main(sys.argv[1:]); "
            "print(json.dumps(sorted(sys.modules))); sys.exit(status)")
    result = subprocess.run([sys.executable, "-c", code, "export", "sample", "--out", "all.csv"], cwd=tmp_path,
                            capture_output=True, text=True, env=environment, timeout=120)
    assert result.returncode == 0, result.stderr
    loaded = set(json.loads(result.stdout))
    assert "bot.reading" in loaded and "storage.sql" in loaded
    assert sorted(m for m in loaded if m.split(".")[0] in HEAVY or m in HEAVY) == []
    assert len((tmp_path / "all.csv").read_text().splitlines()) == 41
    (record,) = audit(tmp_path, "export")
    assert record["rows"] == 40 and record["sha256"] == hashlib.sha256((tmp_path / "all.csv").read_bytes()
                                                                       ).hexdigest()


def test_export_still_migrates_and_publishes_first(tmp_path: Path, surveybot: Cli) -> None:
    # A new survey version on disk is published (and audited) before the export reads the published versions, as
    # every command's start does; in a new data folder, the schema is made first.
    surveys = tmp_path / "surveys"
    surveys.mkdir()
    source = (REPO / "tests" / "surveys" / "sample.yaml").read_text()
    (surveys / "sample.yaml").write_text(source)
    (surveys / "sample-v2.yaml").write_text(source.replace("version: 1", "version: 2").replace(
        "text: Anything else?", "text: Anything else at all?"))
    env = {**SAMPLE_ONLY, "SURVEYBOT_SURVEYS_DIR": str(surveys)}
    published = audit(tmp_path, "survey.new")
    exported = surveybot("export", "sample", "--out", "all.csv", **env)
    assert exported.returncode == 0, exported.stderr
    assert audit(tmp_path, "survey.new") == [*published, {"survey": "sample", "version": 2}]
    codebook = (tmp_path / "all.csv.codebook.csv").read_text()
    assert "Anything else at all?" in codebook and "Anything else?" in codebook
    assert len((tmp_path / "all.csv").read_text().splitlines()) == 41

    (surveys / "sample-v2.yaml").unlink()  # version 1 is the newest on disk again, and now changed after answers
    (surveys / "sample.yaml").write_text(source.replace("text: Anything else?", "text: Changed after answers?"))
    frozen = surveybot("export", "sample", "--out", "again.csv", **env)
    assert frozen.returncode == 1 and "has already collected answers, so its wording is frozen" in frozen.stderr
    assert not (tmp_path / "again.csv").exists()

    fresh = tmp_path / "fresh"
    made = surveybot("export", "sample", "--out", "none.csv", **SAMPLE_ONLY, SURVEYBOT_DATA_DIR=str(fresh))
    assert made.returncode == 0, made.stderr
    assert "Exported 0 completed response(s) of `sample`" in made.stderr
    assert (fresh / "surveybot.db").exists() and (tmp_path / "none.csv").read_text().startswith("survey_id,")
