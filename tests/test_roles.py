"""Roles in one place: granted by channel user, stored under the keyed lookup, checked, audited."""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import text

from bot.channels.port import Address
from bot.services.audit import verify
from bot.services.privacy import Keys
from bot.services.roles import Action, Forbidden, Role, Roles, parse_who, show_who
from storage.unit_of_work import Store

from .conftest import PEPPER, Clock
from .test_service_storage import dump

LEAD = Address("telegram", "5550001", "123456789")
SCRUTINEER = Address("slack", "T0PARTNER", "U0SCRUTINY")


@pytest.fixture
def book(store: Store, clock: Clock) -> Roles:
    return Roles(store, Keys(PEPPER), clock)


def test_grant_check_and_revoke(book: Roles, store: Store) -> None:
    assert book.grant(Role.SAFEGUARDING_LEAD, LEAD)
    assert not book.grant(Role.SAFEGUARDING_LEAD, LEAD)  # already
    assert book.grant(Role.SCRUTINEER, SCRUTINEER)
    assert book.has_role(Role.SCRUTINEER, SCRUTINEER) and not book.has_role(Role.ADMIN, SCRUTINEER)
    assert book.holders(Role.SAFEGUARDING_LEAD) == [LEAD]
    book.require(Role.SCRUTINEER, SCRUTINEER)
    with pytest.raises(Forbidden, match="needs the admin role"):
        book.require(Role.ADMIN, SCRUTINEER)
    assert book.may(Action.EXPORT, SCRUTINEER) and not book.may(Action.CHANGE_SURVEYS, SCRUTINEER)
    with pytest.raises(Forbidden, match="you need the admin role"):
        book.require_to(Action.CHANGE_CONTACTS, SCRUTINEER)
    assert [(g.role, g.address) for g in book.grants()] == [(Role.SAFEGUARDING_LEAD, LEAD),
                                                            (Role.SCRUTINEER, SCRUTINEER)]
    assert book.revoke(Role.SCRUTINEER, SCRUTINEER) and not book.revoke(Role.SCRUTINEER, SCRUTINEER)
    assert not book.may(Action.READ_RESULTS, SCRUTINEER)
    with store.unit() as uow:
        audited = uow.session.execute(text("SELECT action, subject FROM audit_record ORDER BY seq")).all()
    assert [a for a, _ in audited] == ["role.granted", "role.granted", "role.revoked"]
    assert {json.loads(s)["role"] for _, s in audited} == {"safeguarding-lead", "scrutineer"}
    everything = dump(store)
    for secret in ("123456789", "5550001", "T0PARTNER", "U0SCRUTINY"):
        assert secret not in everything
    assert verify(store, Keys(PEPPER)).ok


@pytest.mark.parametrize(("typed", "bot_id", "address"), [
    ("telegram:123456789", "5550001", LEAD),
    ("telegram:5550001:123456789", None, LEAD),
    ("slack:T0PARTNER:U0SCRUTINY", None, SCRUTINEER),
    ("console:kim", None, Address("console", "local", "kim")),
])
def test_who_is_typed_as_channel_and_user(typed: str, bot_id: str | None, address: Address) -> None:
    assert parse_who(typed, bot_id) == address
    assert parse_who(show_who(address)) == address


@pytest.mark.parametrize(("typed", "message"), [
    ("telegram:123", "set TELEGRAM_BOT_TOKEN"),
    ("slack:U0SCRUTINY", "needs its workspace too"),
    ("123456789", "should look like"),
    ("slack:T1:U 2", "Slack member id"),
    ("telegram:abc", "Telegram user id is a whole number"),
    ("telegram:123:-5", "Telegram user id is a whole number"),
    ("telegram:123:12345678901234567890", "Telegram user id is a whole number"),  # 20 digits: no such id
    ("telegram:123:١٢٣", "Telegram user id is a whole number"),  # digits, but not ones Telegram uses
    ("telegram:abc:123", "Telegram bot id is a whole number"),
    ("telegram:@jo_smith", "never an @username"),
    ("slack:team:U0SCRUTINY", "Slack workspace id"),
    ("console:" + "k" * 100_000, "100,008 characters long"),
    ("console:kim\x00", "console name"),
    ("teams:kim@example.org", "needs the tenant too"),
    ("team:kim@example.org", "is not one of telegram, slack, teams, email, console"),
    ("teams:kim:example.org", "Entra ID GUIDs"),
    ("telegram:1:2:3", "should look like"),
])
def test_who_that_cannot_be_used_is_refused_with_a_reason(typed: str, message: str) -> None:
    with pytest.raises(ValueError, match=message) as refused:
        parse_who(typed)
    assert "\n" not in str(refused.value) and len(str(refused.value)) < 400  # one line, never the whole input


@given(st.text(max_size=300) | st.from_regex(r"(telegram|slack|console):[^:]{0,30}(:[^:]{0,30})?", fullmatch=True))
@settings(max_examples=400, deadline=None)
def test_any_typed_who_is_an_address_that_can_be_used_or_one_line_reason(typed: str) -> None:
    """Whatever is typed or pasted: either an address each of whose parts its platform could use (so nothing
    unusable is stored, granted or invited), or a ValueError of one short line."""
    try:
        address = parse_who(typed, "5550001")
    except ValueError as exc:
        assert "\n" not in str(exc) and len(str(exc)) < 400
        return
    assert address.channel in ("telegram", "slack", "console")
    assert all(part.isascii() and part.isprintable() and ":" not in part and "|" not in part
               for part in (address.workspace, address.user))
    if address.channel == "telegram":
        assert address.user.isdigit() and 0 < int(address.user) < 2**52
    assert parse_who(show_who(address)) == address


@given(st.integers(1, 2**52 - 1), st.integers(1, 2**52 - 1),
       st.from_regex(r"T[A-Z0-9]{1,20}", fullmatch=True), st.from_regex(r"[UW][A-Z0-9]{1,20}", fullmatch=True))
def test_every_real_id_is_taken(bot: int, user: int, team: str, member: str) -> None:
    assert parse_who(f"telegram:{bot}:{user}") == Address("telegram", str(bot), str(user))
    assert parse_who(f"telegram:{user}", str(bot)) == Address("telegram", str(bot), str(user))
    assert parse_who(f"slack:{team}:{member}") == Address("slack", team, member)
