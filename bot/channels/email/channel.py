"""The email channel: campaign invitations and reminders sent by SMTP (aiosmtplib), each with the person's own link
into the web chat (bot.channels.email.links serves it).

It implements `Inviting` only: the campaign outbox (bot.services.broadcast) leases one message at a time and calls
`invite`, exactly as for Telegram and Slack, so kill -9 loses nothing and repeats at most one email per crash. What a
person then types or presses arrives over HTTP through the web chat, so nothing is pushed afterwards (email is not in
bot.services.pending.PUSHED).

What the server says decides what happens: a 4xx ("try later", 421 "too busy") raises RateLimited, so the message is
given back and sent again after SURVEYBOT_SMTP_RETRY_SECONDS; a 5xx refusing the recipient or the message raises
Unreachable, so the contact is marked and never tried again; a refused sender (MAIL FROM) or a server that cannot be
reached is our problem, not theirs, and is retried the same way as a 4xx. Sends are paced to SURVEYBOT_SMTP_RATE a
second (bot.channels.pacing). One connection is kept open and made again after any error. Logs name the kind of
failure and the reply code, never an address.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from datetime import datetime
from email.message import EmailMessage
from email.utils import parseaddr
from typing import TYPE_CHECKING, Any

import aiosmtplib

from bot.channels.email.links import PersonalPages
from bot.channels.email.message import Letter, build, mailbox, sign_in_message
from bot.channels.pacing import Pacer
from bot.config import SmtpServer
from bot.domain.address import Address
from bot.domain.errors import ChannelError, RateLimited, Unreachable
from bot.domain.reaching import INVITATION, REMINDER, Kind
from bot.services.invitations import Issued, PersonalLinks
from bot.smtp import smtp_client

if TYPE_CHECKING:
    from bot.channels.web import WebChannel
    from bot.server import HttpServer

log = logging.getLogger(__name__)


class EmailChannel:
    name = "email"

    def __init__(self, links: PersonalLinks, call: Callable[..., Awaitable[Any]], server: SmtpServer, sender: str,
                 public_url: str, *, rate: float = 10.0, retry_seconds: float = 60.0,
                 clock: Callable[[], datetime], web: WebChannel | None = None) -> None:
        self.links = links
        self.call = call  # runs a use case on the service's database thread (SurveyService.call)
        self.server = server
        self.sender = sender
        self.envelope_from = parseaddr(sender)[1]
        self.public_url = public_url.rstrip("/")
        self.retry_seconds = retry_seconds
        self.clock = clock
        self.pacer = Pacer(overall=rate)
        self.pages = PersonalPages(links, call, web) if web is not None else None
        self._client: aiosmtplib.SMTP | None = None
        self._lock = asyncio.Lock()

    # --- lifecycle -----------------------------------------------------------------------------------------------
    async def start(self, server: HttpServer) -> None:
        if self.pages is not None:
            self.pages.add_routes(server)

    async def stop(self) -> None:
        async with self._lock:
            await self._drop()

    # --- Inviting ------------------------------------------------------------------------------------------------
    async def invite(self, address: Address, text: str, code: str, *, kind: Kind = INVITATION) -> None:
        """One invitation (or reminder: its own subject) to one person. Their links are stored before the email goes."""
        issued: Issued = await self.call(self.links.issue, address, code)
        letter = Letter(address, self.sender, self._lead(text), issued.title, issued.minutes, issued.closes,
                        f"{self.public_url}/i/{issued.token}", f"{self.public_url}/u/{issued.stop_token}",
                        reminder=kind == REMINDER)
        await self.pacer.wait(None)
        await self.send(build(letter, self.clock()), mailbox(address))

    async def sign_in_link(self, to: str, link: str) -> None:
        """The web console's one-time sign-in link, sent at once (not through the outbox: it is asked for now and
        lives ten minutes)."""
        await self.send(sign_in_message(self.sender, to, link, self.clock()), to)

    @staticmethod
    def _lead(text: str) -> str:
        """The campaign's own words, with the chat's "tap Start" said as an email would say it."""
        return text.replace("tap Start", "use the button below")

    async def send(self, message: EmailMessage, to: str) -> None:
        """Send one message on the kept connection, turning the server's answer into our errors."""
        async with self._lock:
            try:
                client = await self._connected()
                await client.send_message(message, sender=self.envelope_from, recipients=[to])
            except aiosmtplib.SMTPRecipientsRefused as exc:
                await self._drop()
                codes = [refused.code for refused in exc.recipients]
                self._refused(codes[0] if codes else 550, "recipient")
            except aiosmtplib.SMTPSenderRefused as exc:
                await self._drop()
                log.error("email: the SMTP server refused our sender (%d); check SURVEYBOT_MAIL_FROM", exc.code)
                raise RateLimited(self.retry_seconds) from None
            except aiosmtplib.SMTPResponseException as exc:
                await self._drop()
                self._refused(exc.code, "message")
            except (aiosmtplib.SMTPException, OSError) as exc:
                await self._drop()
                log.warning("email: cannot reach the SMTP server (%s); will try again", type(exc).__name__)
                raise RateLimited(self.retry_seconds) from None
            except asyncio.CancelledError:
                await self._drop()
                raise

    def _refused(self, code: int, what: str) -> None:
        if 400 <= code < 500:
            log.info("email: the SMTP server said try later (%d); will try again", code)
            raise RateLimited(self.retry_seconds)
        if 500 <= code < 600:
            log.info("email: the SMTP server refused the %s for good (%d); marked unreachable", what, code)
            raise Unreachable(f"refused ({code})")
        raise ChannelError(f"unexpected SMTP reply ({code})")

    async def _connected(self) -> aiosmtplib.SMTP:
        if self._client is not None and self._client.is_connected:
            return self._client
        client = smtp_client(self.server)
        await client.connect()
        if self.server.user and self.server.password:
            await client.login(self.server.user, self.server.password)
        self._client = client
        return client

    async def _drop(self) -> None:
        client, self._client = self._client, None
        if client is not None and client.is_connected:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(client.quit(), 5)
            client.close()
