"""Email contacts: `email:name@example.org` in the `who` column of `contacts import`, checked, sealed and never shown.

The parser reads what an operator pastes from a spreadsheet, so it is fuzzed: whatever it is given, it either returns
an email Address that reads back the same or says in one line what is wrong."""

from __future__ import annotations

import json
import string
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.domain.address import Address
from bot.services.roles import parse_who, show_who

from .test_cli import surveybot


@pytest.mark.parametrize(("typed", "address"), [
    ("email:kim@example.org", Address("email", "example.org", "kim")),
    ("EMAIL:Kim.Lee@Example.ORG", Address("email", "example.org", "kim.lee")),
    ("email: sam+surveys@school.sch.uk ", Address("email", "school.sch.uk", "sam+surveys")),
    ("email:o'neill@xn--bcher-kva.example", Address("email", "xn--bcher-kva.example", "o'neill")),
])
def test_an_email_contact_is_read_in_lower_case_and_shown_back(typed: str, address: Address) -> None:
    assert parse_who(typed) == address
    assert show_who(address) == f"email:{address.user}@{address.workspace}"
    assert parse_who(show_who(address)) == address


@pytest.mark.parametrize(("typed", "needle"), [
    ("email:", "should look like"),
    ("email:kim", "looks like name@example.org"),
    ("email:kim@", "looks like name@example.org"),
    ("email:@example.org", "looks like name@example.org"),
    ("email:kim@localhost", "not an email domain"),
    ("email:kim@example.o", "not an email domain"),
    ("email:kim@-bad.org", "not an email domain"),
    ("email:kim..lee@example.org", "not the name part"),
    ("email:.kim@example.org", "not the name part"),
    ("email:k im@example.org", "not the name part"),
    ("email:kim@exa:mple.org", "no `:`"),
    ("email:kím@example.org", "plain letters"),
    ("email:" + "k" * 65 + "@example.org", "not the name part"),
])
def test_a_wrong_email_gets_one_line_naming_it(typed: str, needle: str) -> None:
    with pytest.raises(ValueError, match=needle) as caught:
        parse_who(typed)
    assert "\n" not in str(caught.value)


ATOM = string.ascii_letters + string.digits + "!#$%&'*+/=?^_`{|}~-"
local_parts = st.lists(st.text(ATOM, min_size=1, max_size=10), min_size=1, max_size=3).map(".".join).filter(
    lambda s: len(s) <= 64)
labels = st.from_regex(r"[a-z0-9]([a-z0-9-]{0,8}[a-z0-9])?", fullmatch=True)
domains = st.tuples(st.lists(labels, min_size=1, max_size=3), st.from_regex(r"[a-z]{2,6}", fullmatch=True)).map(
    lambda parts: ".".join([*parts[0], parts[1]]))


@given(local_parts, domains)
def test_every_ordinary_address_is_taken_and_reads_back(local: str, domain: str) -> None:
    address = parse_who(f"email:{local}@{domain}")
    assert address == Address("email", domain.lower(), local.lower())
    assert parse_who(show_who(address)) == address


@given(st.text(max_size=300))
def test_anything_typed_is_an_email_address_or_one_line_of_reason(text: str) -> None:
    try:
        address = parse_who(f"email:{text}")
    except ValueError as exc:
        message = str(exc)
        assert "\n" not in message and len(message) < 400
        return
    assert address.channel == "email" and address.user and "." in address.workspace
    assert f"{address.user}@{address.workspace}" == text.strip().lower()


def test_email_contacts_are_imported_sealed_and_never_listed(tmp_path: Path) -> None:
    people = tmp_path / "people.csv"
    people.write_text("who,tags\nemail:kim.lee@example.org,health\nemail:Kim.Lee@example.org,police\n"
                      "email:sam@school.sch.uk,education\n")
    result = surveybot(tmp_path, "contacts", "import", str(people))
    assert result.returncode == 0 and "2 new" in result.stdout, result.stderr
    listed = surveybot(tmp_path, "contacts", "list", "--json")
    contacts = json.loads(listed.stdout)
    assert sorted(c["channel"] for c in contacts) == ["email", "email"]
    assert sorted(c["tags"] for c in contacts) == [["education"], ["health", "police"]]  # one person, both tags
    database = (tmp_path / "data" / "surveybot.db").read_bytes()
    for secret in ("kim.lee", "example.org", "school.sch.uk", "sam@"):
        assert secret not in listed.stdout + result.stdout + result.stderr
        assert secret.encode() not in database  # sealed, like every address


def test_one_bad_email_line_names_file_and_line_and_imports_nothing(tmp_path: Path) -> None:
    people = tmp_path / "people.csv"
    people.write_text("who,tags\nemail:kim@example.org,health\nemail:sam@school,education\n")
    result = surveybot(tmp_path, "contacts", "import", str(people))
    errors = [line for line in result.stderr.splitlines() if line.startswith("surveybot: ")]
    assert result.returncode == 1 and len(errors) == 1 and f"{people}:3: WHO `email:sam@school`" in errors[0]
    assert "0 contact(s)" in surveybot(tmp_path, "contacts", "list").stdout
