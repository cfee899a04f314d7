"""A real SMTP server on 127.0.0.1 for the email channel's tests (aiosmtpd), recording what it is sent.

Scripted answers, as a real server gives them: `later[address] = n` answers the next n RCPT TOs for that address
with 421 (busy, try later); `refuse` answers 550 (no such mailbox) for good. It runs on its own thread (aiosmtpd's
Controller), so the test's event loop and the bot's client talk to it over a real socket. With a TLS context
(tests/fakes/certificates.py) it offers STARTTLS and refuses mail until the client has used it, or (`implicit`) speaks
TLS from the first byte, as an smtps:// server on port 465 does.
"""

from __future__ import annotations

import email
import email.policy
import functools
import logging
import ssl
import threading
import time
from dataclasses import dataclass, field
from email.message import EmailMessage
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session


@dataclass
class Received:
    sender: str
    recipients: list[str]
    raw: bytes

    @functools.cached_property
    def message(self) -> EmailMessage:
        """Parsed when a test first reads it, so a sink taking 30 emails a second spends nothing on parsing."""
        parsed = email.message_from_bytes(self.raw, policy=email.policy.default)
        assert isinstance(parsed, EmailMessage)
        return parsed


@dataclass
class Recorder:
    later: dict[str, int] = field(default_factory=dict)
    refuse: set[str] = field(default_factory=set)
    received: list[Received] = field(default_factory=list)
    arrived: list[float] = field(default_factory=list)  # time.monotonic() of each message, for rates
    answered: list[tuple[str, int]] = field(default_factory=list)  # (recipient, code) of every RCPT TO
    secured: list[bool] = field(default_factory=list)  # whether each message came over TLS
    lock: threading.Lock = field(default_factory=threading.Lock)

    async def handle_RCPT(self, server: SMTP, session: Session, envelope: Envelope, address: str,
                          options: list[str]) -> str:
        with self.lock:
            if self.later.get(address, 0) > 0:
                self.later[address] -= 1
                self.answered.append((address, 421))
                return "421 4.7.0 Too busy just now, please try again later"
            if address in self.refuse:
                self.answered.append((address, 550))
                return "550 5.1.1 No such mailbox here"
            self.answered.append((address, 250))
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        with self.lock:
            self.received.append(Received(str(envelope.mail_from), list(envelope.rcpt_tos),
                                          envelope.original_content or b""))
            self.secured.append(server.transport.get_extra_info("ssl_object") is not None)  # STARTTLS or smtps
            self.arrived.append(time.monotonic())
        return "250 Message accepted"

    def recipients(self) -> list[str]:
        with self.lock:
            return [who for r in self.received for who in r.recipients]

    def to(self, address: str) -> list[EmailMessage]:
        with self.lock:
            return [r.message for r in self.received if address in r.recipients]

    def count(self) -> int:
        with self.lock:
            return len(self.received)


class FakeSmtp:
    """`with FakeSmtp() as smtp:` a server at smtp.url until the block ends. Its own log (aiosmtpd's "mail.log",
    which quotes every command and line it receives) is quietened: it is the far side's log, not ours, and the tests
    that check our logs hold no address must not read it."""

    def __init__(self, port: int = 0, tls: ssl.SSLContext | None = None, implicit: bool = False) -> None:
        logging.getLogger("mail.log").setLevel(logging.WARNING)
        self.recorder = Recorder()
        self.implicit = implicit
        options: dict[str, Any] = {}
        if tls is not None and implicit:
            options = {"ssl_context": tls}
        elif tls is not None:
            options = {"tls_context": tls, "require_starttls": True}
        self.controller = Controller(self.recorder, hostname="127.0.0.1", port=port or _free_port(), **options)

    @property
    def url(self) -> str:
        return f"{'smtps' if self.implicit else 'smtp'}://127.0.0.1:{self.controller.port}"

    def __enter__(self) -> FakeSmtp:
        self.controller.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.controller.stop()

    def wait_for(self, count: int, timeout: float = 30.0) -> None:
        deadline = time.monotonic() + timeout
        while self.recorder.count() < count:
            if time.monotonic() > deadline:
                raise TimeoutError(f"{self.recorder.count()} of {count} emails arrived")
            time.sleep(0.05)


def _free_port() -> int:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])
