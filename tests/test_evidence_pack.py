"""Evidence packs: what is in one, the verifier shipped inside it (run in a subprocess that can import nothing but the
standard library and `cryptography`), and rejection after any byte of any file changes, a wrong signature, another
key, or a file added or taken away. A pack is refused when the audit chain fails its check."""

from __future__ import annotations

import base64
import hashlib
import json
import subprocess
import sys
import warnings
import zipfile
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from bot.channels.port import Address
from bot.engine.survey import Survey
from bot.reporting import pack
from bot.reporting.signing import fingerprint
from bot.services.audit import verify
from bot.services.policy import Policy
from bot.services.privacy import Keys
from bot.services.service import SurveyService
from storage.unit_of_work import Store

from . import dataset
from .conftest import PEPPER

KEY = Ed25519PrivateKey.from_private_bytes(bytes(range(32)))
OTHER_KEY = Ed25519PrivateKey.from_private_bytes(bytes(range(1, 33)))
MADE_ON = date(2026, 3, 10)
# Runs verify_pack.py as a scrutineer would, but refuses any import outside the standard library and cryptography
# (and what cryptography itself needs), so the check proves the verifier needs nothing from surveybot.
ISOLATED = r"""
import builtins, runpy, sys
allowed = set(sys.stdlib_module_names) | {"cryptography", "_cffi_backend", "cffi", "__main__"}
real_import = builtins.__import__
def guarded(name, globals=None, locals=None, fromlist=(), level=0):
    if level == 0 and name.split(".")[0] not in allowed:
        raise ImportError(f"verify_pack.py must not import {name}")
    return real_import(name, globals, locals, fromlist, level)
builtins.__import__ = guarded
script = sys.argv[1]
sys.argv = sys.argv[1:]
sys.path[0] = str(__import__("pathlib").Path(script).parent)
try:
    runpy.run_path(script, run_name="__main__")
except SystemExit as done:
    raise SystemExit(done.code)
"""


@pytest.fixture(scope="module")
def made(tmp_path_factory: pytest.TempPathFactory, sample: Survey) -> Iterator[tuple[Store, Path, pack.PackMade]]:
    folder = tmp_path_factory.mktemp("pack")
    store = dataset.store_copy(folder / "data")
    out = folder / "pack.zip"
    result = pack.build(store, Policy(), Keys(PEPPER), [sample], "sample", None, out, MADE_ON, KEY)
    yield store, out, result
    store.engine.dispose()


def shipped(trusted: Path, folder: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """The verify_pack.py shipped in the `trusted` pack, taken out and run on its own in Python's isolated mode.
    (A verifier is only as good as its own copy: the README tells people to compare the key, and a tampered
    pack's verify_pack.py is caught by a trusted one like any other file.)"""
    script = folder / "verify_pack.py"
    with zipfile.ZipFile(trusted) as archive:
        script.write_bytes(archive.read("verify_pack.py"))
    return subprocess.run([sys.executable, "-I", "-c", ISOLATED, str(script), *args], capture_output=True,
                          text=True, timeout=60, cwd=folder)


def rewrite(source: Path, target: Path, change: dict[str, bytes | None]) -> None:
    """A copy of the pack with some files replaced (bytes), removed (None) or added."""
    with zipfile.ZipFile(source) as old, zipfile.ZipFile(target, "w") as new:
        for name in old.namelist():
            if name in change:
                if change[name] is not None:
                    new.writestr(name, change[name])  # type: ignore[arg-type]
            else:
                new.writestr(name, old.read(name))
        for name, data in change.items():
            if name not in old.namelist() and data is not None:
                new.writestr(name, data)


def test_a_pack_holds_everything_and_its_own_verifier_passes(made: tuple[Store, Path, pack.PackMade],
                                                             tmp_path: Path) -> None:
    store, out, result = made
    with zipfile.ZipFile(out) as archive:
        names = archive.namelist()
        manifest = json.loads(archive.read("manifest.json"))
        method_note = archive.read("method.txt").decode()
        head_note = archive.read("audit-chain-head.txt").decode()
        readme = archive.read("README.txt").decode()
    assert names == ["survey/sample-v1.yaml", "exports/sample-wave2.csv", "exports/sample-wave2.xlsx",
                     "exports/sample-wave2.codebook.csv", "report.html", "method.txt", "audit-chain-head.txt",
                     "public-key.pem", "verify_pack.py", "README.txt", "manifest.json", "manifest.sig"]
    assert result.files == len(manifest["files"]) == 10 and result.rows == 20
    assert manifest["survey"] == "sample" and manifest["wave"] == 2 and manifest["made_on"] == "2026-03-10"
    assert manifest["public_key_fingerprint"] == fingerprint(KEY.public_key()) == result.fingerprint
    assert result.chain_head in head_note and "audit chain OK" in head_note
    assert f"--fingerprint \"{result.fingerprint}\"" in readme
    # the method note: dates, audience, thresholds, and the wave-1 group of 3 as "fewer than 5", never 3
    flat = " ".join(method_note.split())
    assert "completed on 9 March 2026" in flat and "Invited: not recorded" in flat
    assert "Thresholds for this round: groups of at least 5; written comments from at least 10 people" in flat
    assert "Completed responses by agency: “Health” shows “fewer than 5”" in flat
    assert "It compares wave 2 with wave 1" in flat
    checked = shipped(out, tmp_path, str(out))
    assert checked.returncode == 0, checked.stderr
    lines = checked.stdout.splitlines()
    assert lines[0] == (f"all 10 files match, signature valid, audit chain head {result.chain_head} "
                        f"(record {manifest['audit_chain_head']['seq']} of {manifest['audit_chain_head']['records']})")
    assert lines[1].startswith(f"public key fingerprint: {result.fingerprint}")
    # the pack was audited after the head it quotes, and the chain still holds that head
    assert verify(store, Keys(PEPPER), expect_head=result.chain_head).ok
    unzipped = tmp_path / "unzipped"
    with zipfile.ZipFile(out) as archive:
        archive.extractall(unzipped)
    in_folder = subprocess.run([sys.executable, "-I", "verify_pack.py", "--fingerprint", result.fingerprint],
                               capture_output=True, text=True, timeout=60, cwd=unzipped)
    assert in_folder.returncode == 0 and in_folder.stdout.startswith("all 10 files match"), in_folder.stderr


def test_the_same_data_on_the_same_day_gives_the_same_pack(made: tuple[Store, Path, pack.PackMade],
                                                          tmp_path: Path, sample: Survey) -> None:
    _, out, first = made
    store = dataset.store_copy(tmp_path / "data")
    again = pack.build(store, Policy(), Keys(PEPPER), [sample], "sample", None, tmp_path / "again.zip", MADE_ON, KEY)
    store.engine.dispose()
    with zipfile.ZipFile(out) as one, zipfile.ZipFile(tmp_path / "again.zip") as two:
        for name in one.namelist():
            if name not in ("manifest.json", "manifest.sig", "audit-chain-head.txt", "README.txt"):
                assert one.read(name) == two.read(name), name  # (the chain head moved on: the first pack's record)
    assert again.files == first.files


def test_any_changed_byte_of_any_file_is_caught_and_named(made: tuple[Store, Path, pack.PackMade],
                                                         tmp_path: Path) -> None:
    _, out, _ = made
    with zipfile.ZipFile(out) as archive:
        files = {name: archive.read(name) for name in archive.namelist()}
    for name, data in files.items():
        flipped = bytearray(data)
        flipped[len(flipped) // 2] ^= 0x01
        tampered = tmp_path / f"tampered-{name.replace('/', '_')}.zip"
        rewrite(out, tampered, {name: bytes(flipped)})
        result = shipped(out, tmp_path, str(tampered))
        assert result.returncode == 1, (name, result.stdout)
        first = result.stderr.splitlines()[0]
        if name in ("manifest.json", "manifest.sig", "public-key.pem"):
            assert "signature INVALID" in result.stderr or "public-key.pem" in first, (name, result.stderr)
        else:
            assert first == (f"verify_pack: MISMATCH: {name} has changed since the pack was signed (SHA-256 "
                             f"{hashlib.sha256(bytes(flipped)).hexdigest()}, signed "
                             f"{hashlib.sha256(data).hexdigest()})"), first
        assert result.stderr.splitlines()[-1].startswith("verify_pack: the pack FAILED its check")


def test_a_wrong_signature_another_key_and_added_or_missing_files_are_refused(
        made: tuple[Store, Path, pack.PackMade], tmp_path: Path) -> None:
    _, out, result = made
    with zipfile.ZipFile(out) as archive:
        manifest = archive.read("manifest.json")
    forged = tmp_path / "forged.zip"
    rewrite(out, forged, {"manifest.sig": base64.b64encode(OTHER_KEY.sign(manifest)) + b"\n"})
    checked = shipped(out, tmp_path, str(forged))
    assert checked.returncode == 1 and "signature INVALID: manifest.json was not signed by this key" in checked.stderr
    # someone re-signs everything with their own key: it verifies, but not as the partnership's key
    from bot.reporting.signing import public_pem

    resigned = tmp_path / "resigned.zip"
    rewrite(out, resigned, {"public-key.pem": public_pem(OTHER_KEY.public_key()),
                            "manifest.sig": base64.b64encode(OTHER_KEY.sign(manifest)) + b"\n"})
    checked = shipped(out, tmp_path, str(resigned), "--fingerprint", result.fingerprint)
    assert checked.returncode == 1 and "public-key.pem is not the expected key" in checked.stderr
    extra = tmp_path / "extra.zip"
    rewrite(out, extra, {"exports/more.csv": b"a,b\n"})
    checked = shipped(out, tmp_path, str(extra))
    assert checked.returncode == 1 and "UNEXPECTED: exports/more.csv is in the pack but not in the manifest" in \
        checked.stderr
    missing = tmp_path / "missing.zip"
    rewrite(out, missing, {"report.html": None})
    checked = shipped(out, tmp_path, str(missing))
    assert checked.returncode == 1 and "MISSING: report.html is listed in the manifest" in checked.stderr
    (tmp_path / "notes.txt").write_text("not a zip")
    checked = shipped(out, tmp_path, str(tmp_path / "notes.txt"))
    assert checked.returncode == 2 and "is not a readable zip file" in checked.stderr


def smuggled(source: Path, target: Path, first: dict[str, bytes], folders: tuple[str, ...] = ()) -> None:
    """A copy of the pack with extra entries written *before* the originals: a forged file under a name the pack
    already has (unzip extracts the first copy, Python's zipfile reads the last), and folder entries."""
    with zipfile.ZipFile(source) as old, zipfile.ZipFile(target, "w") as new, warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # zipfile warns of the duplicate name: that is the point
        for name in folders:
            new.writestr(zipfile.ZipInfo(name), b"")
        for name, data in first.items():
            new.writestr(name, data)
        for name in old.namelist():
            new.writestr(name, old.read(name))


def test_a_duplicated_name_or_a_folder_entry_is_refused(made: tuple[Store, Path, pack.PackMade],
                                                        tmp_path: Path) -> None:
    _, out, result = made
    forged = tmp_path / "forged.zip"
    smuggled(out, forged, {"report.html": b"<h1>Everyone is fine</h1>"})
    with zipfile.ZipFile(forged) as archive:
        assert [i.filename for i in archive.infolist()].count("report.html") == 2
    checked = shipped(out, tmp_path, str(forged), "--fingerprint", result.fingerprint)
    assert checked.returncode == 1, checked.stdout
    assert ("verify_pack: DUPLICATE: report.html is in the zip 2 times, so an unzip tool may show a copy that was "
            "not checked") in checked.stderr
    folder = tmp_path / "folder.zip"
    smuggled(out, folder, {}, folders=("exports/",))
    checked = shipped(out, tmp_path, str(folder), "--fingerprint", result.fingerprint)
    assert checked.returncode == 1 and "UNEXPECTED: exports/ is a folder entry" in checked.stderr
    assert shipped(out, tmp_path, str(out), "--fingerprint", result.fingerprint).returncode == 0


def test_no_pack_is_made_when_the_audit_chain_fails(service: SurveyService, store: Store, tmp_path: Path,
                                                    sample: Survey) -> None:
    dataset.answer(service, Address("telegram", dataset.WORKSPACE, "9"), 1, dataset.Person(agency=0, aware=False))
    with store.engine.begin() as connection:
        connection.exec_driver_sql("UPDATE answer SET value = '\"Health\"' WHERE question_id = 'agency'")
    with pytest.raises(pack.PackError, match=r"no pack made, because the audit check FAILED: answer \d+"):
        pack.build(store, Policy(), Keys(PEPPER), [sample], "sample", None, tmp_path / "pack.zip", MADE_ON, KEY)
    assert not (tmp_path / "pack.zip").exists() and not list(tmp_path.glob(".*"))
