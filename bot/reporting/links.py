"""Reports and exports asked for in a chat, handed over as a short-lived download link instead of a file upload
(Microsoft Teams: a bot can upload a file only through OneDrive, a third party we do not send results to).

The link is signed, not stored: it names the request (kind, survey, wave, comparison), the keyed fingerprint of who
asked (the one their role grant and every export are audited with, never an id) and when it stops working, with an
HMAC under a key derived from the pepper. Any process of the deployment can therefore check it, behind a load
balancer, with nothing written when it is made. The file is built only when the link is used: the role is checked
again then (a role taken away in the meantime stops the link), and the delivery is audited exactly as a file sent in
Telegram or Slack (bot.reporting.delivery.deliverable), `via` the requester's channel.

A link that is altered, forged, made for another survey or out of date is refused before anything is built or
audited. Until it expires a link is a bearer token, like the file it stands for: it lasts LINK_MINUTES.
"""

from __future__ import annotations

import base64
import binascii
import hmac
import json
import logging
import re
from dataclasses import dataclass

from bot.config import SettingsError
from bot.domain.address import Address
from bot.reporting.delivery import (
    CONTENT_TYPES,
    KINDS,
    Deliverable,
    ReportingParts,
    Request,
    RequestError,
    check,
    deliverable,
    fingerprint,
    parse_request,
    refused,
)
from bot.reporting.signing import signing_key
from bot.services.roles import Forbidden, Roles

log = logging.getLogger(__name__)
LINK_MINUTES = 10
TOKEN_LIMIT = 600  # characters; a real token is about 250
_SURVEY = re.compile(r"[a-z0-9][a-z0-9_-]{0,62}")  # as bot.services.surveyreader.SURVEY_ID
_WHO = re.compile(r"[0-9a-f]{64}")
_PART = re.compile(r"[A-Za-z0-9_-]+")
_FIELDS = {"k", "s", "w", "c", "e", "f"}
LARGEST = 10**9  # waves are below this
LATEST = 2**40  # seconds since 1970: far beyond any link's expiry

BROKEN = ("This download link isn't right: part of it may be missing. Please copy the whole link, or ask for the "
          "file again in Teams.")
EXPIRED = (f"This download link has expired: links work for {LINK_MINUTES} minutes. Please ask for the file again "
           "in Teams.")
NO_ROLE = ("This link was made for someone who can no longer download results. If you need to, ask your surveybot "
           "administrator for the scrutineer role.")
WHAT = {"report": "the HTML report", "csv": "the CSV export", "xlsx": "the Excel (xlsx) export",
        "json": "the JSON export", "evidence": "the signed evidence pack"}


class LinkRefused(Exception):
    """The link cannot be used; `status` is the HTTP status, the message what to tell the person."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


@dataclass(frozen=True)
class Ticket:
    """What a link names: the request, who asked (keyed fingerprint) and its last second (seconds since 1970)."""

    request: Request
    who: str
    expires: int

    def pack(self) -> bytes:
        r = self.request
        return json.dumps({"k": r.kind, "s": r.survey_id, "w": r.wave, "c": r.compare, "e": self.expires,
                           "f": self.who}, separators=(",", ":"), sort_keys=True).encode()


@dataclass(frozen=True)
class Offer:
    """A link to hand to the requester: its token (the channel makes the URL) and what it is, in words."""

    token: str
    what: str
    minutes: int = LINK_MINUTES


def describe(request: Request) -> str:
    """The request in words: "the CSV export of sample, wave 1"."""
    wave = f", wave {request.wave}" if request.wave is not None else ""
    compare = f", compared with wave {request.compare}" if request.compare is not None else ""
    return f"{WHAT[request.kind]} of {request.survey_id}{wave}{compare}"


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def _unb64(text: str) -> bytes | None:
    """The bytes of a part, only in the one spelling `_b64` gives them: base64 ignores a last character's unused
    bits, so "…B", "…C" and "…D" can decode alike, and a link changed that way must be refused like any other."""
    if not _PART.fullmatch(text) or len(text) % 4 == 1:
        return None
    try:
        decoded = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (binascii.Error, ValueError):
        return None
    return decoded if _b64(decoded) == text else None


def _number(value: object, least: int, most: int = LARGEST) -> bool:
    return type(value) is int and least <= value < most


def parse(token: str) -> tuple[Ticket, bytes, bytes] | None:
    """A token's ticket, the bytes it signs and its signature; None for anything that is not a well-formed token
    (never raises: tokens come from outside). The signature is checked by `Links.read`."""
    if not isinstance(token, str) or len(token) > TOKEN_LIMIT or token.count(".") != 1:
        return None
    payload_text, signature_text = token.split(".")
    payload, signature = _unb64(payload_text), _unb64(signature_text)
    if payload is None or signature is None or len(signature) != 32:
        return None
    try:
        found = json.loads(payload.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError):
        return None
    if not isinstance(found, dict) or set(found) != _FIELDS:
        return None
    kind, survey, wave, compare, expires, who = (found[k] for k in ("k", "s", "w", "c", "e", "f"))
    if not (kind in KINDS and isinstance(survey, str) and _SURVEY.fullmatch(survey)
            and (wave is None or _number(wave, 1)) and (compare is None or (_number(compare, 1) and kind == "report"))
            and _number(expires, 0, LATEST) and isinstance(who, str) and _WHO.fullmatch(who)):
        return None
    ticket = Ticket(Request(kind, survey, wave, compare), who, expires)
    if ticket.pack() != payload:  # one spelling per ticket: what was signed is exactly what is read
        return None
    return ticket, payload, signature


class Links:
    """Makes and checks the tokens, with the key for this purpose and the service's clock."""

    def __init__(self, app: ReportingParts) -> None:
        self.app = app
        self._key = bytes.fromhex(app.keys.secret("report-download-link"))

    def _sign(self, payload: bytes) -> bytes:
        return hmac.digest(self._key, payload, "sha256")

    def _now(self) -> int:
        return int(self.app.service.clock().timestamp())

    def issue(self, requester: Address, request: Request) -> str:
        ticket = Ticket(request, fingerprint(self.app, requester), self._now() + LINK_MINUTES * 60)
        payload = ticket.pack()
        return f"{_b64(payload)}.{_b64(self._sign(payload))}"

    def read(self, token: str) -> Ticket:
        """The ticket of a genuine, current link; raises LinkRefused for any other (logged by kind only)."""
        parsed = parse(token)
        if parsed is None or not hmac.compare_digest(self._sign(parsed[1]), parsed[2]):
            log.info("refused a download link: not one of ours")
            raise LinkRefused(403, BROKEN)
        ticket = parsed[0]
        if self._now() > ticket.expires:
            log.info("refused a download link: expired")
            raise LinkRefused(410, EXPIRED)
        return ticket


def offer(app: ReportingParts, requester: Address, text: str) -> Offer | str:
    """What a channel that hands out links does with a typed /report, /export or /evidence: a link to the file, or
    what to say instead (the same words, refusals and audit as bot.reporting.delivery.respond). Nothing is built
    yet. Runs on the service's database thread."""
    try:
        request = parse_request(text)
        check(app, requester, request)
        if request.kind == "evidence":
            signing_key(app.settings)
    except Forbidden as exc:
        return refused(app, requester, request, exc)
    except RequestError as exc:
        return str(exc)
    except SettingsError:  # no signing key, or one that cannot be read
        return "Evidence packs can't be signed yet: the server has no signing key set up."
    return Offer(Links(app).issue(requester, request), describe(request))


def look(app: ReportingParts, token: str) -> str:
    """What a genuine, current link is for, in words (for the page before the download); nothing built or audited.
    Raises LinkRefused."""
    return describe(Links(app).read(token).request)


def fetch(app: ReportingParts, token: str) -> tuple[Deliverable, str]:
    """The file a genuine, current link names (and its content type), built now for the person it was made for if
    they still hold the role, and audited as delivered. Raises LinkRefused. Runs on the service's database thread."""
    ticket = Links(app).read(token)
    holder = _holder(app, ticket.who)
    if holder is None:
        log.info("refused a download link: its requester no longer holds a role")
        raise LinkRefused(403, NO_ROLE)
    try:
        return deliverable(app, holder, ticket.request), CONTENT_TYPES[ticket.request.kind]
    except Forbidden:
        log.info("refused a download link: its requester may no longer export")
        raise LinkRefused(403, NO_ROLE) from None
    except RequestError as exc:
        raise LinkRefused(409, str(exc)) from None


def _holder(app: ReportingParts, who: str) -> Address | None:
    """The person with a role whose keyed fingerprint is `who` (roles are few: each grant's sealed address is
    opened and fingerprinted)."""
    for grant in Roles(app.store, app.keys, app.service.clock).grants():
        if hmac.compare_digest(fingerprint(app, grant.address), who):
            return grant.address
    return None
