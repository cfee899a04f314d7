"""Files readable and writable by their owner only (mode 0600), whatever umask the process was started with.

Everything surveybot writes to disk for itself or for people is private: the SQLite database (SQLite gives its -wal
and -shm files the database's mode), the pepper and the signing key, and the exports, codebooks, reports, boards
and evidence packs that hold answers or the evidence behind them. Another account on the server must not read them.
One function makes them all, so the rule is written once. It lives in storage/, the lowest layer that touches the
disk, because storage never imports bot and the database file needs it too.

The mode is set on the open descriptor before a byte is written: O_CREAT's mode is cut by the umask (umask 0277
would leave 0400) and ignored for a file that is already there, so it is set again with fchmod.
"""

from __future__ import annotations

import os
from pathlib import Path

OWNER_ONLY = 0o600


def create_owner_only(path: Path, data: bytes = b"", *, exclusive: bool = False) -> None:
    """Create `path` with mode 0600, holding `data` (callers that stream open it again to write).

    Without `exclusive`, a file already there is emptied and made 0600 too (an export written over an old one).
    With it, a file already there raises FileExistsError and is left as it is: a key another process made first,
    or a database whose mode the operator chose."""
    flags = os.O_WRONLY | os.O_CREAT | (os.O_EXCL if exclusive else os.O_TRUNC)
    descriptor = os.open(path, flags, OWNER_ONLY)
    try:
        os.fchmod(descriptor, OWNER_ONLY)
        written = 0
        while written < len(data):
            written += os.write(descriptor, data[written:])
    finally:
        os.close(descriptor)
