"""Who may do what, in one place: the business unit's admins, the independent scrutineer, the safeguarding lead,
the youth participation lead (approves "we did" replies, bot.services.yousaid).

A role is granted to a person on a channel (`surveybot roles grant admin telegram:123456789` on the server) and
stored under the keyed contact lookup (bot.services.privacy.Keys.contact_lookup), with the address sealed so `roles
list`
can show who without the database holding a platform id. Grants and revocations are audited, with a keyed
fingerprint of the person, never the id.

Chat admin commands (a later issue) call `require` or `require_to` before doing anything; the CLI on the server is
the operator's, who already holds the database and the pepper, so it is not asked for a role.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum

from bot.domain.address import Address
from bot.services.privacy import Keys
from storage import evidence
from storage import roles as grants_table
from storage.unit_of_work import Store, UnitOfWork


class Role(StrEnum):
    ADMIN = "admin"  # the business unit: writes and schedules surveys, manages contacts, reads, exports
    SCRUTINEER = "scrutineer"  # reads and exports results and evidence; cannot change surveys or contacts
    SAFEGUARDING_LEAD = "safeguarding-lead"  # receives safeguarding alerts
    YOUTH_LEAD = "youth-participation-lead"  # approves "we did" replies before young people see them


class Action(StrEnum):
    CHANGE_SURVEYS = "change surveys and schedules"
    CHANGE_CONTACTS = "change contacts"
    READ_RESULTS = "read results"
    EXPORT = "export results and evidence"
    RECEIVE_ALERTS = "receive safeguarding alerts"
    WRITE_YOUTH_REPLIES = "theme young people's feedback and write and send “we did” replies"
    APPROVE_YOUTH_REPLIES = "approve “we did” replies"


PERMISSIONS: dict[Role, frozenset[Action]] = {
    Role.ADMIN: frozenset({Action.CHANGE_SURVEYS, Action.CHANGE_CONTACTS, Action.READ_RESULTS, Action.EXPORT,
                           Action.WRITE_YOUTH_REPLIES}),
    Role.SCRUTINEER: frozenset({Action.READ_RESULTS, Action.EXPORT}),
    Role.SAFEGUARDING_LEAD: frozenset({Action.RECEIVE_ALERTS}),
    Role.YOUTH_LEAD: frozenset({Action.APPROVE_YOUTH_REPLIES}),
}


class Forbidden(Exception):
    """The person does not hold the role an action needs; the message names the role, never the person."""


@dataclass(frozen=True)
class Grant:
    role: Role
    address: Address
    granted_on: date


class Roles:
    def __init__(self, store: Store, keys: Keys, clock: Callable[[], datetime]) -> None:
        self.store = store
        self.keys = keys
        self.clock = clock

    def grant(self, role: Role, address: Address) -> bool:
        """Give someone a role; False when they already had it."""
        today = self.clock().date()
        with self.store.unit() as uow:
            added = grants_table.grant(uow, role.value, self.keys.contact_lookup(address), self.keys.seal(address),
                                       today)
            if added:
                uow.audit("role.granted", {"role": role.value, "who": self._who(address)}, today)
        return added

    def revoke(self, role: Role, address: Address) -> bool:
        """Take a role away; False when they did not have it."""
        today = self.clock().date()
        with self.store.unit() as uow:
            removed = grants_table.revoke(uow, role.value, self.keys.contact_lookup(address))
            if removed:
                uow.audit("role.revoked", {"role": role.value, "who": self._who(address)}, today)
        return removed

    def grants(self, role: Role | None = None) -> list[Grant]:
        with self.store.unit() as uow:
            rows = grants_table.grants(uow, role.value if role else None)
        return [Grant(Role(row.role), self.keys.unseal(row.address), row.granted_on) for row in rows]

    def holders(self, role: Role) -> list[Address]:
        """Everyone holding a role (e.g. the safeguarding leads an alert goes to)."""
        return [grant.address for grant in self.grants(role)]

    def has_role(self, role: Role, address: Address) -> bool:
        with self.store.unit() as uow:
            return grants_table.has(uow, role.value, self.keys.contact_lookup(address))

    def require(self, role: Role, address: Address) -> None:
        if not self.has_role(role, address):
            raise Forbidden(f"this needs the {role.value} role")

    def may(self, action: Action, address: Address) -> bool:
        return any(action in PERMISSIONS[role] and self.has_role(role, address) for role in Role)

    def require_to(self, action: Action, address: Address) -> None:
        if not self.may(action, address):
            allowed = " or ".join(r.value for r in Role if action in PERMISSIONS[r])
            raise Forbidden(f"to {action.value} you need the {allowed} role")

    def audit_refusal(self, uow: UnitOfWork, action: str, subject: dict[str, object], address: Address,
                      today: date, *, kind: tuple[str, ...]) -> None:
        """Audit a refused command. Anyone can message the bot, so strangers must not be able to grow the evidence
        chain at will: the refusal of someone who holds no role at all is audited at most once per `kind` (the
        subject's fields named) a day, marked `first_of_the_day`, as refused webhooks are (SurveyService.refused).
        Someone who holds a role but not this one is audited every time: that is worth a second look."""
        lookup = self.keys.contact_lookup(address)
        if any(grants_table.has(uow, role.value, lookup) for role in Role):
            uow.audit(action, subject, today)
            return
        key = {name: subject.get(name) for name in kind}
        if any({name: seen.get(name) for name in kind} == key
               for seen in evidence.audited_today(uow, action, today) if seen.get("first_of_the_day")):
            return
        uow.audit(action, {**subject, "first_of_the_day": True}, today)

    def _who(self, address: Address) -> str:
        return self.keys.audit(b"role|" + address.identity())


MAX_WHO = 200  # longer than any real platform identity; a longer WHO is a pasted mistake, not a person
_NUMBER = re.compile(r"[1-9][0-9]{0,15}", re.ASCII)  # Telegram ids: positive, at most 52 bits (16 digits)
_TELEGRAM_MAX = 2**52
_SLACK_TEAM = re.compile(r"[TE][A-Z0-9]{1,20}", re.ASCII)  # a workspace (T...) or an Enterprise Grid org (E...)
_SLACK_USER = re.compile(r"[UW][A-Z0-9]{1,20}", re.ASCII)
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._@-]{0,63}", re.ASCII)
_SHAPE = ("telegram:USER_ID, slack:TEAM_ID:USER_ID, teams:TENANT_ID:OBJECT_ID, email:NAME@EXAMPLE.ORG or "
          "console:NAME")
_GUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")
# An email address as people actually have them (RFC 5321's dot-atom, ASCII): what a partnership's list holds.
# Quoted local parts and IP literals are legal but never a practitioner's address, so they are refused, not guessed at.
_LOCAL = re.compile(r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*", re.ASCII)
_LABEL = re.compile(r"[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?", re.ASCII)
_TOP = re.compile(r"[A-Za-z]{2,63}|xn--[A-Za-z0-9-]{1,59}", re.ASCII)


def _shown(text: str) -> str:
    """The typed WHO for an error message, cut short so a pasted megabyte does not flood the terminal."""
    text = "".join(c if c.isprintable() else "?" for c in text)
    return text if len(text) <= 40 else text[:40] + "…"


def _telegram(parts: list[str], bot_id: str | None) -> Address:
    """`telegram:USER_ID` (the bot's id from its token) or `telegram:BOT_ID:USER_ID`; both numbers."""
    user = parts[-1]
    bot = parts[0] if len(parts) == 2 else bot_id
    for what, value in (("user id", user), ("bot id", bot)):
        if value is None:
            raise ValueError("write telegram:BOT_ID:USER_ID, or set TELEGRAM_BOT_TOKEN so the bot's "
                             "id is known")
        if not (_NUMBER.fullmatch(value) and int(value) < _TELEGRAM_MAX):
            hint = (": Telegram lets a bot message only people who opened it, by their number, never an @username; "
                    "share the link https://t.me/<bot>?start=CODE instead, and whoever opens it becomes a contact"
                    ) if value.startswith("@") else ""
            raise ValueError(f"a Telegram {what} is a whole number such as 123456789{hint}")
    assert bot is not None
    return Address("telegram", bot, user)


def _slack(parts: list[str], _bot_id: str | None) -> Address:
    """`slack:TEAM_ID:USER_ID`, as Slack shows them (T0123ABCD, U0123ABCD)."""
    if len(parts) == 1:
        raise ValueError("it needs its workspace too, like slack:TEAM_ID:USER_ID")
    team, user = parts
    if not _SLACK_TEAM.fullmatch(team):
        raise ValueError("a Slack workspace id looks like T0123ABCD")
    if not _SLACK_USER.fullmatch(user):
        raise ValueError("a Slack member id looks like U0123ABCD (their profile, ⋮, Copy member ID)")
    return Address("slack", team, user)


def _teams(parts: list[str], _bot_id: str | None) -> Address:
    """`teams:TENANT_ID:OBJECT_ID`: the organisation's directory (tenant) ID and the person's Object ID, both as
    Entra ID shows them. For roles only: Teams lets the bot write to someone only once it has seen them (the app
    installed, or a message), so a Teams contact comes from there, never from a list."""
    if len(parts) == 1:
        raise ValueError("it needs the tenant too, like teams:TENANT_ID:OBJECT_ID")
    tenant, user = parts
    if not (_GUID.fullmatch(tenant) and _GUID.fullmatch(user)):
        raise ValueError("the tenant and the person are Entra ID GUIDs: the directory (tenant) ID, then the "
                         "person's Object ID (Entra ID, Users, their profile)")
    return Address("teams", tenant.lower(), user.lower())


def _console(parts: list[str], _bot_id: str | None) -> Address:
    """`console:NAME`: someone at this server's terminal (`surveybot chat`), by a short name."""
    workspace, name = ("local", parts[0]) if len(parts) == 1 else (parts[0], parts[1])
    if not (_NAME.fullmatch(workspace) and _NAME.fullmatch(name)):
        raise ValueError("a console name is up to 64 letters, digits, '.', '_', '@' or '-'")
    return Address("console", workspace, name)


def _email(parts: list[str], _bot_id: str | None) -> Address:
    """`email:name@example.org`. Kept in lower case, so the same person twice in a list is one contact; the
    address is Address("email", domain, name), sealed like every other address."""
    if len(parts) != 1:
        raise ValueError("an email address has no `:` in it, like email:name@example.org")
    typed = parts[0].strip()
    if not typed.isascii():
        raise ValueError("write the address in plain letters, as an email program shows it (name@example.org)")
    local, at, domain = typed.rpartition("@")
    if not at or not local or not domain:
        raise ValueError("an email address looks like name@example.org")
    if len(local) > 64 or len(domain) > 253 or not _LOCAL.fullmatch(local):
        raise ValueError(f"`{_shown(local)}` is not the name part of an email address (before the @)")
    labels = domain.split(".")
    if len(labels) < 2 or not all(_LABEL.fullmatch(label) for label in labels) or not _TOP.fullmatch(labels[-1]):
        raise ValueError(f"`{_shown(domain)}` is not an email domain such as example.org")
    return Address("email", domain.lower(), local.lower())


# One parser per channel.
PARSERS: dict[str, Callable[[list[str], str | None], Address]] = {
    "telegram": _telegram, "slack": _slack, "teams": _teams, "email": _email, "console": _console}


def parse_who(text: str, telegram_bot_id: str | None = None) -> Address:
    """A person as the operator types them: `slack:TEAM:USER`, `telegram:USER` (the bot's id taken from its token)
    or `telegram:BOT_ID:USER`, `teams:TENANT:OBJECT_ID`, `console:NAME`. The one place a typed identity is read
    (`roles grant`, `--as`, the `who` column of `contacts import`), checked per platform so nothing unusable is
    stored. Raises ValueError with a one-line reason."""
    typed = text.strip()
    if len(typed) > MAX_WHO:
        raise ValueError(f"WHO `{_shown(typed)}` is {len(typed):,} characters long; a real one is under {MAX_WHO}")
    channel, _, rest = typed.partition(":")
    parts = rest.split(":")
    if not rest or len(parts) > 2 or channel.lower() not in PARSERS:
        known = ", ".join(PARSERS)
        reason = f" (`{_shown(channel)}` is not one of {known})" if rest and channel.lower() not in PARSERS else ""
        raise ValueError(f"WHO `{_shown(typed)}` should look like {_SHAPE}{reason}")
    try:
        return PARSERS[channel.lower()](parts, telegram_bot_id)
    except ValueError as exc:  # each parser says what is wrong; the WHO is shown here, once, cut short
        raise ValueError(f"WHO `{_shown(typed)}`: {exc}") from None


def show_who(address: Address) -> str:
    if address.channel == "email":
        return f"email:{address.user}@{address.workspace}"
    return f"{address.channel}:{address.workspace}:{address.user}"
