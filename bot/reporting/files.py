"""Files made for people to read (exports, codebooks, reports, boards, evidence packs), created readable and writable
by their owner only.

They hold record-level answers or the evidence behind them, so another account on the server must not be able to
read them, whatever umask the command was started with. The mode is set when the file is created, before a byte
is written, and kept when the finished file is moved into place.
"""

from __future__ import annotations

import os
from pathlib import Path

OWNER_ONLY = 0o600


def create_owner_only(path: Path) -> None:
    """Create `path` empty (emptying it if it is there) with mode 0600; the caller then opens it to write."""
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, OWNER_ONLY)
    try:
        os.fchmod(descriptor, OWNER_ONLY)  # O_CREAT's mode is cut by the umask, and ignored for a file already there
    finally:
        os.close(descriptor)
