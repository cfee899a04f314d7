#!/usr/bin/env python3
"""Check a surveybot evidence pack: every file is exactly as it was signed, and the signature is valid.

Needs Python 3.9 or newer and the `cryptography` package (`pip install cryptography`); nothing from surveybot. It
ships inside every pack, so a scrutineer can check one on their own computer:

    python3 verify_pack.py pack.zip                  # a pack as received
    python3 verify_pack.py unzipped-folder           # or the folder it was unzipped into
    python3 verify_pack.py pack.zip --fingerprint "ab12 cd34 ..."   # and check the key is the partnership's

What it checks:
1. manifest.json is signed, with Ed25519, by the key in public-key.pem (signature in manifest.sig).
2. Every file the manifest lists is there and has the SHA-256 the manifest gives, and no other file is there: in a
   zip, no name twice and no folder entries either.
3. The key's fingerprint is printed, to compare with the one the partnership publishes (or checked, with
   --fingerprint). A pack signed by someone else's key verifies against that key, so this comparison is what
   shows the pack came from the partnership.

Exit status 0 when everything matches; 1 naming each file that does not (or a bad signature); 2 when the pack
cannot be read at all.
"""

from __future__ import annotations

import argparse
import base64
import binascii
import hashlib
import json
import sys
import zipfile
from pathlib import Path

MANIFEST, SIGNATURE, PUBLIC_KEY = "manifest.json", "manifest.sig", "public-key.pem"
FORMAT = "surveybot-evidence-pack/1"


class Unreadable(Exception):
    """The pack cannot be read at all: not a zip or folder, or its manifest is missing or not JSON."""


class Pack:
    """The files of a pack, from a zip file or from the folder it was unzipped into."""

    def __init__(self, location: Path) -> None:
        self.location = location
        self._zip: zipfile.ZipFile | None = None
        self.problems: list[str] = []  # what is wrong with the container itself, whatever the manifest says
        if location.is_dir():
            self._names = sorted(p.relative_to(location).as_posix() for p in location.rglob("*") if p.is_file()
                                 and "__pycache__" not in p.parts)
        elif location.is_file():
            try:
                self._zip = zipfile.ZipFile(location)
            except (zipfile.BadZipFile, OSError) as exc:
                raise Unreadable(f"{location} is not a readable zip file ({exc})") from None
            self._names = sorted(n for n in self._zip.namelist() if not n.endswith("/"))
            self.problems = _container_problems(self._zip.namelist())
        else:
            raise Unreadable(f"{location}: no such file or folder")

    def names(self) -> list[str]:
        return list(self._names)

    def read(self, name: str) -> bytes:
        """The file's bytes; raises KeyError when it is not in the pack, ValueError when it cannot be read."""
        if name not in self._names:
            raise KeyError(name)
        if self._zip is None:
            return (self.location / name).read_bytes()
        try:
            return self._zip.read(name)
        except (zipfile.BadZipFile, OSError, EOFError) as exc:  # a damaged entry (e.g. a bad CRC)
            raise ValueError(f"{name} is damaged in the zip ({exc})") from None


def _container_problems(entries: list[str]) -> list[str]:
    """A zip may hold two entries of one name: this checker reads one copy while an unzip tool shows the other, so
    a forged file could ride along with the signed ones. Only one entry per file, and no folder entries, are
    accepted."""
    problems = []
    seen: dict[str, int] = {}
    for name in entries:
        seen[name] = seen.get(name, 0) + 1
    for name, times in sorted(seen.items()):
        if name.endswith("/"):
            problems.append(f"UNEXPECTED: {name} is a folder entry; a pack holds only the files its manifest lists")
        elif times > 1:
            problems.append(f"DUPLICATE: {name} is in the zip {times} times, so an unzip tool may show a copy "
                            "that was not checked")
    return problems


def fingerprint(public_key: object) -> str:
    from cryptography.hazmat.primitives import serialization

    raw = public_key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)  # type: ignore[attr-defined]
    digest = hashlib.sha256(raw).hexdigest()
    return " ".join(digest[i:i + 4] for i in range(0, len(digest), 4))


def check(pack: Pack, expected_fingerprint: str | None = None) -> tuple[list[str], list[str]]:
    """Returns (problems, facts). No problems means the pack is intact and validly signed."""
    from cryptography.exceptions import InvalidSignature
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

    problems: list[str] = list(pack.problems)
    facts: list[str] = []
    try:
        manifest_bytes = pack.read(MANIFEST)
    except KeyError:
        raise Unreadable(f"{pack.location} has no {MANIFEST}: it is not a surveybot evidence pack") from None
    except ValueError as exc:
        raise Unreadable(str(exc)) from None
    try:
        manifest = json.loads(manifest_bytes)
        listed = {entry["path"]: entry["sha256"] for entry in manifest["files"]}
    except (ValueError, KeyError, TypeError):
        manifest, listed = {}, {}
        problems.append(f"{MANIFEST} is not a readable manifest: it was changed")

    key: Ed25519PublicKey | None = None
    try:
        loaded = serialization.load_pem_public_key(pack.read(PUBLIC_KEY))
        if isinstance(loaded, Ed25519PublicKey):
            key = loaded
        else:
            problems.append(f"{PUBLIC_KEY} is not an Ed25519 public key")
    except KeyError:
        problems.append(f"{PUBLIC_KEY} is missing, so the signature cannot be checked")
    except ValueError:
        problems.append(f"{PUBLIC_KEY} is not a readable public key: it was changed")
    if key is not None:
        found = fingerprint(key)
        facts.append(f"public key fingerprint: {found}")
        if expected_fingerprint is not None and _plain(expected_fingerprint) != _plain(found):
            problems.append(f"{PUBLIC_KEY} is not the expected key: its fingerprint is {found}, not "
                            f"{expected_fingerprint.strip()}")
        if isinstance(manifest, dict) and manifest.get("public_key_fingerprint") not in (None, found):
            problems.append(f"{MANIFEST} names a different key than {PUBLIC_KEY}")
        try:
            signature = base64.b64decode(pack.read(SIGNATURE).strip(), validate=True)
            key.verify(signature, manifest_bytes)
            facts.append("signature valid")
        except KeyError:
            problems.append(f"{SIGNATURE} is missing: the pack is not signed")
        except (InvalidSignature, ValueError, binascii.Error):
            problems.append(f"signature INVALID: {MANIFEST} was not signed by this key, or {MANIFEST} or "
                            f"{SIGNATURE} was changed")

    matched = 0
    for path, digest in sorted(listed.items()):
        try:
            actual = hashlib.sha256(pack.read(path)).hexdigest()
        except KeyError:
            problems.append(f"MISSING: {path} is listed in the manifest but not in the pack")
            continue
        except ValueError as exc:
            problems.append(f"DAMAGED: {exc}")
            continue
        if actual != digest:
            problems.append(f"MISMATCH: {path} has changed since the pack was signed (SHA-256 {actual}, "
                            f"signed {digest})")
        else:
            matched += 1
    for name in pack.names():
        if name not in listed and name not in (MANIFEST, SIGNATURE):
            problems.append(f"UNEXPECTED: {name} is in the pack but not in the manifest")
    if listed:
        facts.insert(0, f"all {matched} files match" if matched == len(listed) else
                     f"{matched} of {len(listed)} files match")
    head = manifest.get("audit_chain_head") if isinstance(manifest, dict) else None
    if isinstance(head, dict) and "hash" in head:
        facts.append(f"audit chain head {head['hash']} (record {head.get('seq')} of {head.get('records')})")
    if isinstance(manifest, dict) and manifest.get("format") not in (None, FORMAT):
        problems.append(f"{MANIFEST} is in an unknown format ({manifest.get('format')})")
    return problems, facts


def _plain(text: str) -> str:
    return "".join(text.split()).lower().removeprefix("sha256:")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Check a surveybot evidence pack: files, hashes and signature.")
    parser.add_argument("pack", nargs="?", help="the pack (.zip) or its unzipped folder (default: this folder)")
    parser.add_argument("--fingerprint", help="the key fingerprint the partnership published, to check against")
    args = parser.parse_args(argv)
    location = Path(args.pack) if args.pack else Path(__file__).resolve().parent
    try:
        import cryptography  # noqa: F401
    except ImportError:
        print("verify_pack: this needs the `cryptography` package: pip install cryptography", file=sys.stderr)
        return 2
    try:
        problems, facts = check(Pack(location), args.fingerprint)
    except Unreadable as exc:
        print(f"verify_pack: {exc}", file=sys.stderr)
        return 2
    if problems:
        for problem in problems:
            print(f"verify_pack: {problem}", file=sys.stderr)
        print(f"verify_pack: the pack FAILED its check ({len(problems)} problem(s)); do not rely on it.",
              file=sys.stderr)
        return 1
    print(", ".join(f for f in facts if not f.startswith("public key")))
    print(next(f for f in facts if f.startswith("public key")) + " (compare it with the one your partnership "
          "publishes)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
