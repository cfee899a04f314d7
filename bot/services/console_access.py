"""Who may use the web console, and how they get in, without a password we would have to keep.

A person who holds a role (bot.services.roles) is given a one-time sign-in link: asked for in their chat (`/signin`),
by email, or printed on the server (`surveybot console link WHO`). The link works once, for ten minutes; using it
starts a session of its own (a new random token, so a session can never be fixed in advance by someone else), which
ends after eight idle hours or at sign-out. Only keyed hashes of both tokens are stored (storage.console_passes).

What a signed-in person may do is decided on every request from the roles they hold at that moment, so taking a role
away takes effect at once. Sign-ins, sign-outs and refused links are audited with a keyed fingerprint of the person,
never their address.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from bot.domain.address import Address
from bot.services.privacy import Keys
from bot.services.roles import PERMISSIONS, Action, Forbidden, Role, Roles
from storage import console_passes as passes
from storage import roles as grants_table
from storage.unit_of_work import Store

LINK_LIFE = timedelta(minutes=10)
IDLE = timedelta(hours=8)
LINKS_PER_PERSON = 3  # in any ten minutes: enough to ask again after a typo, too few to flood anyone's inbox
TOUCH_EVERY = timedelta(minutes=1)  # a session's last use is written at most this often, not on every click
TOKEN_BYTES = 32


class TooMany(Exception):
    """Too many sign-in links asked for in ten minutes; the message says when to try again."""


@dataclass(frozen=True)
class Person:
    """Someone signed in: their address (held in memory only), the roles they hold now, and their session's token."""

    address: Address
    roles: frozenset[Role]
    token: str

    def may(self, action: Action) -> bool:
        return any(action in PERMISSIONS[role] for role in self.roles)


class ConsoleAccess:
    def __init__(self, store: Store, keys: Keys, clock: Callable[[], datetime]) -> None:
        self.store = store
        self.keys = keys
        self.clock = clock

    def _now(self) -> datetime:
        return self.clock().astimezone(UTC)

    def digest(self, token: str) -> str:
        return self.keys.audit(b"console-pass|" + token.encode("utf-8", "replace"))

    def who(self, address: Address) -> str:
        """The person's fingerprint in the audit chain (the same as role grants use)."""
        return self.keys.audit(b"role|" + address.identity())

    def roles_of(self, address: Address) -> frozenset[Role]:
        lookup = self.keys.contact_lookup(address)
        with self.store.unit() as uow:
            return frozenset(role for role in Role if grants_table.has(uow, role.value, lookup))

    def link_for(self, address: Address, via: str) -> str:
        """A new one-time sign-in token for a role holder. Forbidden for anyone else (audited, at most once a day per
        channel for strangers); TooMany past LINKS_PER_PERSON in ten minutes."""
        now = self._now()
        lookup = self.keys.contact_lookup(address)
        with self.store.unit() as uow:
            held = [role for role in Role if grants_table.has(uow, role.value, lookup)]
            if not held:
                Roles(self.store, self.keys, self.clock).audit_refusal(
                    uow, "console.refused", {"step": "link", "channel": address.channel}, address, now.date(),
                    kind=("step", "channel"))
                refusal: Forbidden | None = Forbidden("the console is for people who hold a role (admin, scrutineer, "
                                                      "safeguarding lead or youth participation lead)")
            else:
                refusal = None
                if passes.made_since(uow, lookup, passes.LINK, now - LINK_LIFE) >= LINKS_PER_PERSON:
                    raise TooMany("you have asked for several sign-in links just now; use the newest, or ask again "
                                  "in ten minutes")
                token = secrets.token_urlsafe(TOKEN_BYTES)
                passes.add(uow, self.digest(token), passes.LINK, lookup, self.keys.seal(address), now)
                uow.audit("console.link", {"who": self.who(address), "via": via}, now.date())
        if refusal is not None:
            raise refusal
        return token

    def sign_in(self, token: str) -> Person | None:
        """Use a sign-in link: None when it is unknown, used already or older than ten minutes. Otherwise the link
        is spent and a fresh session begins, whatever session the browser had before."""
        now = self._now()
        with self.store.unit() as uow:
            link = passes.take(uow, self.digest(token), passes.LINK)
            if link is None or _utc(link.made_at) < now - LINK_LIFE:
                return None
            address = self.keys.unseal(link.address)
            held = frozenset(role for role in Role if grants_table.has(uow, role.value, link.lookup))
            if not held:  # the role was taken away since the link was made
                return None
            session = secrets.token_urlsafe(TOKEN_BYTES)
            passes.add(uow, self.digest(session), passes.SESSION, link.lookup, link.address, now)
            uow.audit("console.signin", {"who": self.who(address)}, now.date())
        return Person(address, held, session)

    def person(self, session: str) -> Person | None:
        """Who a session belongs to, with the roles they hold now; None when unknown, idle too long, or they hold
        no role any more. Each use keeps it alive for another eight hours."""
        now = self._now()
        digest = self.digest(session)
        with self.store.unit() as uow:
            found = passes.find(uow, digest, passes.SESSION)
            if found is None:
                return None
            if _utc(found.seen_at) < now - IDLE:
                passes.take(uow, digest, passes.SESSION)
                return None
            held = frozenset(role for role in Role if grants_table.has(uow, role.value, found.lookup))
            if not held:
                passes.take(uow, digest, passes.SESSION)
                return None
            if now - _utc(found.seen_at) >= TOUCH_EVERY:
                passes.touch(uow, digest, now)
            address = self.keys.unseal(found.address)
        return Person(address, held, session)

    def sign_out(self, session: str) -> None:
        now = self._now()
        with self.store.unit() as uow:
            found = passes.take(uow, self.digest(session), passes.SESSION)
            if found is not None:
                uow.audit("console.signout", {"who": self.who(self.keys.unseal(found.address))}, now.date())

    def csrf(self, session: str) -> str:
        """The token every form of this session carries: tied to the session, useless with any other."""
        return self.keys.audit(b"console-csrf|" + session.encode())

    def refused(self, person: Person, page: str, action: Action) -> None:
        """Audit a signed-in person asking for a page their roles do not allow."""
        today = self._now().date()
        with self.store.unit() as uow:
            uow.audit("console.refused", {"who": self.who(person.address), "page": page, "needs": action.value},
                      today)

    def purge(self) -> int:
        now = self._now()
        with self.store.unit() as uow:
            return passes.purge(uow, now - LINK_LIFE, now - IDLE)


def _utc(moment: datetime) -> datetime:
    """SQLite hands back a stored time without its zone; every time here is stored in UTC."""
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)
