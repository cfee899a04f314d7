"""One invitation or reminder as an email: plain text and HTML alternatives from bot/templates/email/, and the headers
that let a mail program offer unsubscribing in one click (RFC 2369 List-Unsubscribe, RFC 8058 List-Unsubscribe-Post).
Pure: no I/O, so what a recipient sees is tested on its own.

No tracking of any kind: no pixel, no image, no font or style from elsewhere, no redirect; the only links are the
person's own survey link and their unsubscribe link, both on SURVEYBOT_PUBLIC_URL.
"""

from __future__ import annotations

import email.utils
from dataclasses import dataclass
from datetime import date, datetime
from email.headerregistry import Address as MailAddress
from email.message import EmailMessage
from email.utils import parseaddr

from bot import templates
from bot.channels.email import words
from bot.domain.address import Address


@dataclass(frozen=True)
class Letter:
    """Everything one email says. `lead` is the campaign's own message (the invitation or the reminder)."""

    to: Address
    sender: str  # the From header, as SURVEYBOT_MAIL_FROM gives it
    lead: str
    title: str
    minutes: int
    closes: date
    link: str
    stop_link: str
    reminder: bool = False


def mailbox(address: Address) -> str:
    """The email address an email Address stands for (bot.services.roles reads `email:name@example.org` into
    Address("email", domain, name))."""
    return f"{address.user}@{address.workspace}"


def sender_name(sender: str) -> str:
    """Who sends, as the footer names them: the From header's name, else its address."""
    name, address = email.utils.parseaddr(sender)
    return name or address


def closing(day: date) -> str:
    return f"{day:%A} {day.day} {day:%B}"


def build(letter: Letter, now: datetime, message_id: str | None = None) -> EmailMessage:
    """The email, ready to send at `now`."""
    closes = closing(letter.closes)
    values = {
        "words": words,
        "subject": (words.SUBJECT_REMINDER if letter.reminder else words.SUBJECT).format(title=letter.title),
        "title": letter.title,
        "lead": letter.lead,
        "how_long": (words.HOW_LONG.format(minutes=letter.minutes, closes=closes) if letter.minutes > 1
                     else words.HOW_LONG_ONE.format(closes=closes)),
        "privacy": words.PRIVACY,
        "why": words.WHY.format(sender=sender_name(letter.sender)),
        "link": letter.link,
        "stop_link": letter.stop_link,
    }
    message = EmailMessage()
    message["Subject"] = values["subject"]
    message["From"] = letter.sender
    user, domain = letter.to.user, letter.to.workspace
    message["To"] = MailAddress(addr_spec=f"{user}@{domain}")
    message["Date"] = email.utils.format_datetime(now)
    sender_domain = email.utils.parseaddr(letter.sender)[1].rpartition("@")[2] or "localhost"
    message["Message-ID"] = message_id or email.utils.make_msgid(domain=sender_domain)
    message["List-Unsubscribe"] = f"<{letter.stop_link}>"
    message["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    message["Auto-Submitted"] = "auto-generated"  # no out-of-office replies, please
    message.set_content(templates.render("email/invitation.txt", **values))
    message.add_alternative(templates.render("email/invitation.html", **values), subtype="html")
    return message


def sign_in_message(sender: str, to: str, link: str, now: datetime) -> EmailMessage:
    """The web console's sign-in link (bot.console), asked for on its front page: plain text, one link, nothing else.
    Transactional, so no unsubscribe header: it goes only to someone who just asked for it."""
    message = EmailMessage()
    message["Subject"] = "Your sign-in link for the surveybot console"
    message["From"] = sender
    message["To"] = to
    message["Date"] = email.utils.format_datetime(now)
    message["Message-ID"] = email.utils.make_msgid(domain=parseaddr(sender)[1].rpartition("@")[2] or None)
    message["Auto-Submitted"] = "auto-generated"
    message.set_content(
        "Hello,\n\n"
        "Someone (we hope you) asked to sign in to the surveybot console with this address. Open this link and "
        "press Sign in:\n\n"
        f"{link}\n\n"
        "It works once, for ten minutes. If you did not ask for it, you can ignore this email: nobody can sign in "
        "without the link.\n")
    return message
