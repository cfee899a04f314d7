"""Where a platform identity becomes pseudonymous: keyed pseudonyms, contact lookups and sealed addresses.

Rules (docs/privacy.md): a respondent's key is HMAC-SHA256(K_survey, identity) with
K_survey = HMAC-SHA256(pepper, "survey-key|" + survey id + "|" + wave + "|" + salt). The pepper is a secret setting,
never stored in the database; the salt is random, stored per survey round, and deleted when the round's key is
destroyed, after which nobody (not even with the pepper) can link a person to those answers. A plain hash of a
platform id would be reversible by trying every id, so none is ever used.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from bot.domain.address import Address

MIN_PEPPER_BYTES = 32


class Keys:
    """All keyed hashing and sealing, from the one secret pepper."""

    def __init__(self, pepper: bytes) -> None:
        if len(pepper) < MIN_PEPPER_BYTES:
            raise ValueError(f"the pepper must be at least {MIN_PEPPER_BYTES} bytes")
        self._pepper = pepper
        self._derived: dict[bytes, bytes] = {}
        self._seal = AESGCM(self._derive(b"address-seal"))

    def __repr__(self) -> str:
        return "Keys(…)"

    def _derive(self, label: bytes) -> bytes:
        """The key for one purpose. Kept once made: `contacts import` derives the same one for every row."""
        key = self._derived.get(label)
        if key is None:
            key = self._derived[label] = hmac.digest(self._pepper, label, "sha256")  # as hmac.new, quicker
        return key

    def _mac(self, label: bytes, message: bytes) -> str:
        return hmac.digest(self._derive(label), message, "sha256").hex()

    def respondent(self, address: Address, survey_id: str, wave: int, salt: bytes) -> str:
        """The pseudonym of one person in one survey round: stable for resuming and erasure, unlinkable elsewhere."""
        survey_key = hmac.new(
            self._pepper, b"survey-key|" + f"{survey_id}|{wave}|".encode() + salt, hashlib.sha256
        ).digest()
        return hmac.new(survey_key, address.identity(), hashlib.sha256).hexdigest()

    def session(self, address: Address) -> str:
        """Finds a person's open conversation; it lives only as long as the conversation does."""
        return self._mac(b"session", address.identity())

    def contact_lookup(self, address: Address) -> str:
        return self._mac(b"contact", address.identity())

    def event(self, channel: str, event_id: str) -> str:
        """A redelivered platform update is recognised by this, without storing the platform's own ids."""
        return self._mac(b"event", f"{channel}|{event_id}".encode())

    def team(self, tenant: str, kind: str, value: str) -> str:
        """Finds a Teams team the bot was added to, by its id or its name (`kind`), without storing either."""
        return self._mac(b"teams-team", f"{tenant}|{kind}|{value}".encode())

    def secret(self, label: str) -> str:
        """A stable secret for a purpose (e.g. Telegram's webhook token) when the settings do not give one."""
        return self._derive(f"secret|{label}".encode()).hex()

    def seal(self, address: Address) -> str:
        """Encrypt a contact's address so a database dump holds no platform ids. Its route (how to reach them, on
        Teams) follows a line break: no platform id holds one, and an address without a route seals as before."""
        nonce = os.urandom(12)
        plain = address.identity() + (b"\n" + address.route.encode() if address.route else b"")
        sealed = self._seal.encrypt(nonce, plain, b"contact-address")
        return base64.urlsafe_b64encode(nonce + sealed).decode()

    def unseal(self, sealed: str) -> Address:
        raw = base64.urlsafe_b64decode(sealed.encode())
        who, _, route = self._seal.decrypt(raw[:12], raw[12:], b"contact-address").decode().partition("\n")
        channel, workspace, user = who.split("|", 2)
        return Address(channel, workspace, user, route)

    def seal_reply(self, data: bytes) -> str:
        """Encrypt a pending reply (an address and the words still to send, bot.services.pending) for the moments it is
        stored; its own associated data, so a sealed contact address cannot pass for one, nor the reverse."""
        nonce = os.urandom(12)
        return base64.urlsafe_b64encode(nonce + self._seal.encrypt(nonce, data, b"pending-reply")).decode()

    def unseal_reply(self, sealed: str) -> bytes:
        raw = base64.urlsafe_b64decode(sealed.encode())
        return self._seal.decrypt(raw[:12], raw[12:], b"pending-reply")

    def audit(self, message: bytes) -> str:
        """Fingerprints of stored values for the audit chain: checkable by us, not guessable from a dump."""
        return self._mac(b"audit", message)


def new_pepper() -> str:
    return base64.urlsafe_b64encode(os.urandom(MIN_PEPPER_BYTES)).decode()


def decode_pepper(text: str) -> bytes:
    """A pepper setting is any string of at least 32 characters (a generated one is URL-safe base64)."""
    raw = text.strip().encode()
    if len(raw) < MIN_PEPPER_BYTES:
        raise ValueError(f"SURVEYBOT_PEPPER must be at least {MIN_PEPPER_BYTES} characters")
    return raw
