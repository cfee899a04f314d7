"""The SMTP client, set up once for everything that talks to the mail server: the email channel
(bot.channels.email.channel) sends through it and `surveybot doctor` checks the server with it, so both connect,
secure and log in the same way.
"""

from __future__ import annotations

import contextlib
import ssl

import aiosmtplib

from bot.config import SmtpServer

TIMEOUT = 30.0  # seconds for any one SMTP command; a server slower than this is treated as unreachable for now


def smtp_client(server: SmtpServer, timeout: float = TIMEOUT) -> aiosmtplib.SMTP:
    """A client for the server: TLS from the start (smtps://), or STARTTLS, required unless the server is on this
    machine (a local relay or a test sink may offer none). The server's certificate is always checked, against the
    system's certificate authorities or, when SURVEYBOT_SMTP_CA_FILE is set, against that file's alone."""
    context = ssl.create_default_context(cafile=server.ca_file)
    if server.implicit_tls:
        return aiosmtplib.SMTP(hostname=server.host, port=server.port, use_tls=True, tls_context=context,
                               timeout=timeout)
    return aiosmtplib.SMTP(hostname=server.host, port=server.port, use_tls=False,
                           start_tls=None if server.local else True, tls_context=context, timeout=timeout)


async def check_server(server: SmtpServer) -> str:
    """Connect, say hello, secure and log in, then leave: what `surveybot doctor` asks. Returns what the server said
    in a few words, or raises aiosmtplib.SMTPException / OSError."""
    client = smtp_client(server, timeout=10.0)
    await client.connect()
    try:
        if server.user and server.password:
            await client.login(server.user, server.password)
        secured = "TLS" if server.implicit_tls else "STARTTLS" if client.get_transport_info("sslcontext") else "no TLS"
        return f"{server.host}:{server.port} answered ({secured}{', logged in' if server.user else ''})"
    finally:
        with contextlib.suppress(Exception):
            await client.quit()
