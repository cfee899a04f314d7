"""Slack's form-encoded request bodies, read faster than the standard library reads them.

Every button press reaches us as `payload=<the interaction's JSON, percent-encoded>`: a press on a question of ten
choices is about 3 KB with some 500 escapes. Bolt reads such a body with urllib.parse.parse_qsl, whose decoding is
pure Python, one escape at a time: about a quarter of a millisecond a press, the single largest piece of our own
share of a press on the event loop (BENCHMARKS.md, "6 December, late"). `unquote_form` gives the same text through
the interpreter's C codecs, six times faster, and hands anything it cannot decode exactly as parse_qsl would (a stray
"%", bytes that are not UTF-8, text that is not ASCII) back to parse_qsl.

`bolt_request` is slack_bolt's aiohttp adapter's `to_bolt_request` with that one change: Bolt is given the decoded
JSON (which it reads with json.loads, as it reads any JSON body) and keeps the body as it came for its signature
check. No third-party decoder is used: yarl's is C too, but private API.
"""

from __future__ import annotations

from collections.abc import Mapping
from urllib.parse import unquote_plus

from aiohttp import web
from slack_bolt.request.async_request import AsyncBoltRequest

PAYLOAD = "payload="


def unquote_form(value: str) -> str:
    """One form value decoded as urllib.parse.unquote_plus decodes it ("+" is a space, "%XX" a UTF-8 byte), for
    every input. Each "%" becomes a "\\x" escape for the unicode_escape codec (backslashes already there are
    doubled first), which yields the bytes as Latin-1 characters, turned back into bytes and read as UTF-8. Where
    that fails or would differ (a "%" without two hex digits, not ASCII, not UTF-8), unquote_plus does it."""
    if "%" not in value or not value.isascii():
        return unquote_plus(value)
    escaped = value.replace("+", " ").replace("\\", "\\\\").replace("%", "\\x")
    try:
        return escaped.encode("ascii").decode("unicode_escape").encode("latin-1").decode("utf-8")
    except UnicodeError:  # "%" without two hex digits after it, or bytes that are not UTF-8
        return unquote_plus(value)


async def bolt_request(request: web.Request) -> AsyncBoltRequest:
    """The request for Bolt, as slack_bolt.adapter.aiohttp.to_bolt_request makes it, but an interaction's payload
    decoded by `unquote_form` (`for_bolt`)."""
    return for_bolt(await request.text(), request.query_string, request.headers)


def for_bolt(raw: str, query: str, headers: Mapping[str, str]) -> AsyncBoltRequest:
    """A body as it came, for Bolt: an interaction's payload given to Bolt decoded (Bolt reads a body that starts
    with "{" as JSON, which is exactly what its parse_qsl would have found), anything else as it came. Bolt checks
    the signature of the body exactly as it came (`raw_body`)."""
    body = raw
    if raw.startswith(PAYLOAD) and "&" not in raw:  # an interaction: its one field
        decoded = unquote_form(raw[len(PAYLOAD):])
        if decoded.startswith("{"):
            body = decoded
    bolt = AsyncBoltRequest(body=body, query=query, headers=headers)  # type: ignore[arg-type]
    bolt.raw_body = raw
    return bolt
