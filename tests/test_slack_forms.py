"""Slack's form bodies read by bot.channels.slack.forms: the same text as the standard library's parse_qsl (which Bolt
uses) for every input, only faster, and Bolt still given the body as it came for its signature check."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import quote_plus, unquote_plus, urlencode

from hypothesis import given, settings
from hypothesis import strategies as st
from slack_bolt.request.internals import parse_body

from bot.channels.slack.forms import for_bolt, unquote_form

FORM = "application/x-www-form-urlencoded"
# what a hostile or broken body may hold: escapes good and bad, backslashes and "\x", pluses, non-ASCII, UTF-8 bytes
# that do not make a character
PIECES = st.sampled_from(["%", "%2", "%41", "%4g", "%C3%A9", "%C3", "%E2%9C%93", "%FF", "%5C", "%25", "\\", "\\x41",
                          "x", "+", "&", "=", "{", "}", '"', "é", "✓", "\x00", " ", "payload="])
HOSTILE = st.lists(st.one_of(PIECES, st.text(max_size=4)), max_size=30).map("".join)
# the same, ASCII only: what takes the fast way
ASCII = st.lists(st.one_of(PIECES.filter(str.isascii), st.text(st.characters(max_codepoint=127), max_size=4)),
                 max_size=30).map("".join)
JSON_VALUES = st.recursive(st.none() | st.booleans() | st.integers() | st.text(),
                           lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
                           max_leaves=20)


@given(st.text())
def test_an_encoded_value_comes_back_as_it_was(text: str) -> None:
    encoded = quote_plus(text)
    assert unquote_form(encoded) == text == unquote_plus(encoded)


@given(st.one_of(HOSTILE, ASCII))
@settings(max_examples=500)
def test_any_value_reads_as_the_standard_library_reads_it(value: str) -> None:
    assert unquote_form(value) == unquote_plus(value)


def request_of(body: str) -> Any:
    return for_bolt(body, "", {"Content-Type": FORM})


def outcome(read: Any) -> tuple[str, Any]:
    try:
        return "read", read()
    except Exception as exc:  # both ways must fail alike on a body that is not a Slack payload
        return "failed", type(exc).__name__


@given(st.dictionaries(st.text(), JSON_VALUES, max_size=6))
@settings(max_examples=200)
def test_bolt_gets_the_payload_parse_qsl_would_give_and_the_body_as_it_came(payload: dict[str, Any]) -> None:
    body = urlencode({"payload": json.dumps(payload, ensure_ascii=False)})
    request = request_of(body)
    assert request.body == parse_body(body, FORM) == payload
    assert request.raw_body == body  # what Bolt checks the signature of


@given(HOSTILE)
@settings(max_examples=300)
def test_any_body_gives_bolt_what_its_own_adapter_would(body: str) -> None:
    ours = outcome(lambda: request_of(body).body)
    theirs = outcome(lambda: parse_body(body, FORM))
    if theirs[0] == "read":
        assert ours == theirs
    else:  # Bolt's own reading fails (JSON that is not JSON): ours fails too, and the channel answers 400
        assert ours[0] == "failed"
