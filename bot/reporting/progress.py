"""A progress line on standard error for long exports and reports, shown only when someone is watching a terminal.

When standard error is a file, a pipe or a test's capture, it prints nothing at all, so logs and scripted runs stay
clean. It redraws at most a few times a second, so counting a million rows costs next to nothing.
"""

from __future__ import annotations

import sys
import time
from typing import Protocol


class Terminal(Protocol):
    def write(self, text: str, /) -> int: ...

    def flush(self) -> None: ...

    def isatty(self) -> bool: ...


class Progress:
    """`advance()` once per item; `finish()` at the end. Silent unless `stream` is a terminal."""

    EVERY = 512  # look at the clock once per this many items
    INTERVAL = 0.2  # seconds between redraws

    def __init__(self, what: str, total: int | None = None, stream: Terminal | None = None) -> None:
        self.what = what
        self.total = total
        self.stream = stream if stream is not None else sys.stderr
        self.active = bool(getattr(self.stream, "isatty", lambda: False)())
        self.done = 0
        self._last = 0.0
        self._drawn = False

    def advance(self, count: int = 1) -> None:
        self.done += count
        if self.active and self.done % self.EVERY < count:
            now = time.monotonic()
            if now - self._last >= self.INTERVAL:
                self._last = now
                self._draw()

    def finish(self) -> None:
        if self.active and self._drawn:
            self._draw()
            self.stream.write("\n")
            self.stream.flush()

    def _draw(self) -> None:
        if self.total:
            share = min(100, 100 * self.done // self.total)
            text = f"{self.what}: {self.done:,} of {self.total:,} ({share}%)"
        else:
            text = f"{self.what}: {self.done:,}"
        self.stream.write("\r" + text)
        self.stream.flush()
        self._drawn = True
