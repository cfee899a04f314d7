"""The web chat over plain HTTP: our own wiring (build -> make_channels -> serve) on 127.0.0.1, and an aiohttp
client playing the page's script (JSON events to /s/CODE/api) or a browser without JavaScript (forms to /s/CODE)."""

from __future__ import annotations

import asyncio
import csv
import io
import ipaddress
import logging
import re
import sqlite3
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from xml.etree import ElementTree

import aiohttp
import pytest
import segno
from hypothesis import given
from hypothesis import strategies as st
from markupsafe import escape  # the escaping the templates use (autoescape), so its entities match
from sqlalchemy import text

from bot.app import App, build, make_channels, serve
from bot.channels import web_words as words
from bot.channels.poster import qr_path
from bot.channels.web import COOKIE, CSP, Limits, WebChannel, client_of
from bot.config import Settings
from bot.engine import messages as msg
from bot.engine.survey import Kind
from bot.reporting import export
from bot.reporting.tally import count_round
from bot.server import HttpServer

PEPPER = "a-test-pepper-that-is-long-enough-to-use-0123456789"
TEMPLATES = ("policy-awareness", "you-said", "wood-partner-survey")
SECRET_WORDS = "my-very-own-words-4471"
UNHURRIED = Limits(person_rate=1000, person_burst=1000, client_rate=1000, client_burst=1000)


@dataclass
class Bot:
    app: App
    web: WebChannel
    base: str


@asynccontextmanager
async def running(data: Path) -> AsyncIterator[Bot]:
    """The bot as `surveybot run` wires it with no tokens, on a free port; stopped cleanly afterwards."""
    env = {"SURVEYBOT_DATA_DIR": str(data), "SURVEYBOT_PEPPER": PEPPER, "SURVEYBOT_LOG_LEVEL": "DEBUG"}
    app = await asyncio.to_thread(build, Settings.from_env(env))
    channels = make_channels(app)
    (web,) = [c for c in channels if isinstance(c, WebChannel)]
    web.set_limits(UNHURRIED)  # scripted people answer instantly; the rate-limit test sets its own
    server = HttpServer("127.0.0.1", 0)
    stop = asyncio.Event()
    ready = asyncio.Event()
    task = asyncio.create_task(serve(app, channels, stop, server, ready=lambda _: ready.set()))
    try:
        await asyncio.wait_for(ready.wait(), 10)
        yield Bot(app, web, server.base_url)
    finally:
        stop.set()
        await asyncio.wait_for(task, 10)
        app.engine.dispose()


def client(jar: aiohttp.CookieJar | None = None) -> aiohttp.ClientSession:
    """A browser's cookie store; `unsafe` lets it keep cookies from an address like 127.0.0.1."""
    return aiohttp.ClientSession(cookie_jar=jar if jar is not None else aiohttp.CookieJar(unsafe=True))


@dataclass
class Respondent:
    """Plays the page's script: posts events as JSON and remembers the question waiting."""

    session: aiohttp.ClientSession
    url: str
    waiting: dict[str, Any] | None = None
    said: list[str] = field(default_factory=list)
    notices: list[str] = field(default_factory=list)
    finished: bool = False

    async def send(self, event: dict[str, Any]) -> dict[str, Any]:
        async with self.session.post(f"{self.url}/api", json=event) as response:
            assert response.status == 200, await response.text()
            body = await response.json()
        for effect in body["effects"]:
            if effect["type"] in ("ask", "update"):
                self.waiting = effect
            elif effect["type"] == "say":
                self.said.append(effect["text"])
            elif effect["type"] == "notice":
                self.notices.append(effect["text"])
            elif effect["type"] == "finish":
                self.finished = True
                self.waiting = None
        return body

    async def answer(self, words_to_type: str = "1") -> dict[str, Any]:
        """What a cooperative person does: the first option, the first tick then Done, or typing."""
        assert self.waiting is not None
        prompt, turn = self.waiting["prompt"], self.waiting["turn"]
        if prompt["kind"] == "multi":
            return await self.send({"type": "ticks", "turn": turn, "indexes": [0]})
        if prompt["options"]:
            return await self.send({"type": "pick", "turn": turn, "index": 0})
        typed = words_to_type if prompt["kind"] == "text" else "1"
        return await self.send({"type": "reply", "turn": turn, "text": typed})


async def complete(person: Respondent, typed: str = "1") -> int:
    """Open, agree, and answer until the thanks; returns how many questions were answered."""
    await person.send({"type": "open"})
    await person.answer()  # the consent question: "Yes, let's start"
    answered = 0
    while person.waiting is not None:
        await person.answer(typed)
        answered += 1
    return answered


def count(app: App, sql: str) -> int:
    with app.engine.connect() as connection:
        return int(connection.execute(text(sql)).scalar_one())


def cookie_header(response: aiohttp.ClientResponse) -> str:
    headers = response.headers.getall("Set-Cookie", [])
    assert len(headers) == 1, headers
    return headers[0]


@pytest.mark.parametrize("code", TEMPLATES)
async def test_a_respondent_completes_each_template_through_the_api(tmp_path: Path, code: str) -> None:
    async with running(tmp_path / "data") as bot, client() as session:
        person = Respondent(session, f"{bot.base}/s/{code}")
        survey = bot.app.catalogue.latest(code)
        answered = await complete(person)
        assert answered >= len([q for q in survey.questions if q.ask_if is None])
        assert person.said[-1].strip() == survey.thanks.strip()
        assert any(words.HOW_TO_STOP in said for said in person.said)  # the notice says how /delete works here
        assert count(bot.app, "SELECT count(*) FROM response WHERE completed") == 1
        again = await person.send({"type": "open"})
        assert [e["text"] for e in again["effects"] if e["type"] == "say"] == [msg.ALREADY_FINISHED]
        assert again["open"] is False


async def test_the_page_has_a_strict_policy_and_nothing_from_elsewhere(tmp_path: Path) -> None:
    async with running(tmp_path / "data") as bot, client() as session:
        async with session.get(f"{bot.base}/s/you-said") as response:
            assert response.status == 200
            html = await response.text()
            headers = response.headers
        assert headers["Content-Security-Policy"] == CSP
        assert "unsafe-inline" not in CSP and "default-src 'none'" in CSP and "frame-ancestors 'none'" in CSP
        assert headers["Cache-Control"] == "no-store" and headers["Referrer-Policy"] == "no-referrer"
        assert headers["X-Content-Type-Options"] == "nosniff"
        assert "Set-Cookie" not in headers  # merely looking at the page stores nothing
        # nothing inline: no script blocks, style attributes or event handlers
        assert "<script>" not in html and " style=" not in html and not re.search(r"\son[a-z]+=", html)
        addresses = re.findall(r'(?:src|href|action)="([^"]*)"', html)
        assert addresses and all(a.startswith(("/", "#")) and not a.startswith("//") for a in addresses), addresses
        for asset in re.findall(r'(?:src|href)="(/web/[^"]+)"', html):
            async with session.get(f"{bot.base}{asset}") as response:
                assert response.status == 200 and "immutable" in response.headers["Cache-Control"]
                body = await response.text()
                body = body.replace('xmlns="http://www.w3.org/2000/svg"', "")  # a name, never fetched
                assert "http://" not in body and "https://" not in body


async def test_unknown_codes_get_a_friendly_page_and_never_a_traceback(tmp_path: Path) -> None:
    async with running(tmp_path / "data") as bot, client() as session:
        for path in ("/s/no-such-survey", "/s/Policy-Awareness", "/s/you%20said", "/s/%2e%2epolicy",
                     "/s/" + "x" * 300, "/s/no-such-survey/qr.svg"):
            async with session.get(f"{bot.base}{path}") as response:
                assert response.status == 404, path
                html = await response.text()
                assert escape(words.NOT_FOUND_TITLE) in html and "Traceback" not in html
                assert response.headers["Content-Security-Policy"] == CSP
        async with session.post(f"{bot.base}/s/no-such-survey/api", json={"type": "open"}) as response:
            assert response.status == 404 and (await response.json())["error"] == words.NOT_FOUND
        async with session.get(f"{bot.base}/web/secrets.txt") as response:
            assert response.status == 404


async def test_the_resume_cookie_is_http_only_strict_and_scoped_to_the_link(tmp_path: Path) -> None:
    async with running(tmp_path / "data") as bot, client() as session:
        async with session.post(f"{bot.base}/s/you-said/api", json={"type": "open"}) as response:
            cookie = cookie_header(response)
        assert re.match(rf"^{COOKIE}=[A-Za-z0-9_-]{{43}};", cookie), cookie
        attributes = {part.strip().split("=")[0].lower(): part.strip() for part in cookie.split(";")[1:]}
        assert attributes["path"] == "Path=/s/you-said"
        assert attributes["samesite"] == "SameSite=Strict" and "httponly" in attributes
        assert "secure" not in attributes and "domain" not in attributes and "expires" not in attributes
        assert int(attributes["max-age"].split("=")[1]) == (30 + 30) * 86_400
        # behind an https proxy the cookie is Secure
        async with aiohttp.ClientSession() as fresh, fresh.post(
                f"{bot.base}/s/you-said/api", json={"type": "open"}, headers={"X-Forwarded-Proto": "https"}) as resp:
            assert "Secure" in cookie_header(resp).split("; ")


async def test_malformed_json_and_events_get_a_short_400(tmp_path: Path) -> None:
    async with running(tmp_path / "data") as bot, client() as session:
        url = f"{bot.base}/s/you-said/api"
        await Respondent(session, f"{bot.base}/s/you-said").send({"type": "open"})
        bad: list[tuple[bytes | str, str]] = [
            (b"{not json", "application/json"),
            (b"\xff\xfe\x00", "application/json"),
            (b"[1, 2]", "application/json"),
            (b"null", "application/json"),
            (b'{"type": "launch"}', "application/json"),
            (b'{"type": "pick", "turn": "x", "index": 0}', "application/json"),
            (b'{"type": "pick", "turn": true, "index": 0}', "application/json"),
            (b'{"type": "pick", "turn": 2, "index": -1}', "application/json"),
            (b'{"type": "pick", "turn": 99999999999, "index": 0}', "application/json"),
            (b'{"type": "reply", "turn": 2, "text": 5}', "application/json"),
            (b'{"type": "ticks", "turn": 2, "indexes": "1,2"}', "application/json"),
        ]
        for body, kind in bad:
            async with session.post(url, data=body, headers={"Content-Type": kind}) as response:
                assert response.status == 400, body
                error = (await response.json())["error"]
                assert 0 < len(error) < 80 and "Traceback" not in error
        async with session.post(url, data=b'{"type": "open"}', headers={"Content-Type": "text/plain"}) as response:
            assert response.status == 415
        async with session.post(f"{bot.base}/s/you-said", data={"do": "pick:x", "turn": "1"}) as response:
            assert response.status == 400 and escape(words.BAD_REQUEST) in await response.text()
        assert count(bot.app, "SELECT count(*) FROM answer") == 0


async def test_oversized_bodies_are_refused_before_they_are_read(tmp_path: Path) -> None:
    async with running(tmp_path / "data") as bot, client() as session:
        url = f"{bot.base}/s/you-said/api"
        huge = {"type": "reply", "turn": 1, "text": "x" * 40_000}
        async with session.post(url, json=huge) as response:
            assert response.status == 413 and (await response.json())["error"] == words.TOO_BIG

        async def chunks() -> AsyncIterator[bytes]:  # no Content-Length: the limit still holds
            yield b'{"type": "reply", "turn": 1, "text": "'
            for _ in range(40):
                yield b"y" * 1024
            yield b'"}'

        async with session.post(url, data=chunks(), headers={"Content-Type": "application/json"}) as response:
            assert response.status == 413
        async with session.post(f"{bot.base}/s/you-said", data={"text": "z" * 40_000}) as response:
            assert response.status == 413 and words.TOO_BIG in await response.text()


async def test_each_person_and_each_client_is_rate_limited_with_retry_after(tmp_path: Path) -> None:
    async with running(tmp_path / "data") as bot, client() as one, client() as two:
        bot.web.set_limits(Limits(person_rate=0.5, person_burst=3, client_rate=100, client_burst=100))
        first = Respondent(one, f"{bot.base}/s/you-said")
        await first.send({"type": "open"})
        statuses = []
        for _ in range(4):
            async with one.post(f"{bot.base}/s/you-said/api", json={"type": "open"}) as response:
                statuses.append(response.status)
                if response.status == 429:
                    assert int(response.headers["Retry-After"]) >= 1
                    assert (await response.json())["error"] == words.SLOW_DOWN
        assert statuses[:2] == [200, 200] and statuses[-1] == 429
        await Respondent(two, f"{bot.base}/s/you-said").send({"type": "open"})  # someone else is not held up

        bot.web.set_limits(Limits(person_rate=100, person_burst=100, client_rate=0.2, client_burst=2))
        statuses = []
        for _ in range(3):  # new visitors with no cookie each time, all from one address: its bucket stops them
            async with client() as fresh, fresh.post(f"{bot.base}/s/you-said/api", json={"type": "open"}) as resp:
                statuses.append(resp.status)
                retry = resp.headers.get("Retry-After")
        assert statuses == [200, 200, 429] and retry is not None and int(retry) >= 4
        async with from_address("127.0.0.2") as elsewhere, elsewhere.post(
                f"{bot.base}/s/you-said/api", json={"type": "open"}) as response:
            assert response.status == 200  # another client has its own bucket


def from_address(address: str) -> aiohttp.ClientSession:
    """A browser on another machine: its connections come from `address` (any of 127.0.0.0/8 on loopback)."""
    return aiohttp.ClientSession(connector=aiohttp.TCPConnector(local_addr=(address, 0)),
                                 cookie_jar=aiohttp.CookieJar(unsafe=True))


async def flood(url: str, session: aiohttp.ClientSession, per_second: int, seconds: float,
                headers: dict[str, str] | None = None) -> list[int]:
    """Cookie-less opens at `per_second`, as a script would send them; the statuses it got."""
    statuses: list[int] = []

    async def one(index: int) -> None:
        session.cookie_jar.clear()
        sent = {**(headers or {}), **({"X-Forwarded-For": f"198.51.100.{index % 250}"}
                                      if headers is None else {})}
        async with session.post(f"{url}/api", json={"type": "open"}, headers=sent) as response:
            statuses.append(response.status)

    tasks = []
    for index in range(int(per_second * seconds)):
        tasks.append(asyncio.create_task(one(index)))
        await asyncio.sleep(1 / per_second)
    await asyncio.gather(*tasks)
    return statuses


async def complete_while(person: Respondent, flooding: asyncio.Task[list[int]]) -> list[int]:
    """A real respondent answers the whole survey, at a person's pace, while the flood goes on."""
    await person.send({"type": "open"})
    await person.answer()
    while person.waiting is not None:
        await asyncio.sleep(0.15)  # quicker than a person, slower than the limit
        await person.answer()
    assert not flooding.done(), "the respondent should finish during the flood"
    return await flooding


async def test_one_client_flooding_a_link_never_holds_up_a_real_respondent(tmp_path: Path) -> None:
    """40 cookie-less opens a second from one address: that address is refused, a real respondent elsewhere on the
    same link never is (every send asserts 200)."""
    async with running(tmp_path / "data") as bot, from_address("127.0.0.2") as flooder, \
            from_address("127.0.0.3") as real:
        bot.web.set_limits(Limits(person_rate=10, person_burst=20, client_rate=10, client_burst=10))
        url = f"{bot.base}/s/policy-awareness"
        flooding = asyncio.create_task(flood(url, flooder, per_second=40, seconds=5, headers={}))
        statuses = await complete_while(Respondent(real, url), flooding)
        assert statuses.count(429) > len(statuses) / 2 and statuses.count(200) >= 10
        assert count(bot.app, "SELECT count(*) FROM response WHERE completed") == 1


async def test_behind_a_trusted_proxy_each_forwarded_address_is_a_client(tmp_path: Path) -> None:
    """Behind a proxy every request comes from the proxy's address: with SURVEYBOT_TRUST_PROXY the address it
    forwards (the last in X-Forwarded-For) is the client. Without the setting the header is ignored, so a flooder
    cannot dodge its limit by making addresses up."""
    async with running(tmp_path / "data") as bot, client() as flooder, client() as real:
        bot.web.set_limits(Limits(person_rate=10, person_burst=20, client_rate=10, client_burst=10))
        url = f"{bot.base}/s/policy-awareness"
        bot.web.trust_proxy = True
        forged = {"X-Forwarded-For": "10.9.9.9, 203.0.113.7"}  # the first is the client's claim; never used
        flooding = asyncio.create_task(flood(url, flooder, per_second=40, seconds=5, headers=forged))
        person = Respondent(real, url)
        real.headers["X-Forwarded-For"] = "10.9.9.9, 192.0.2.44"
        statuses = await complete_while(person, flooding)
        assert statuses.count(429) > len(statuses) / 2

        bot.web.trust_proxy = False  # a made-up address on each request changes nothing now
        bot.web.set_limits(Limits(person_rate=10, person_burst=20, client_rate=10, client_burst=10))
        statuses = await flood(url, flooder, per_second=40, seconds=2)
        assert statuses.count(429) > len(statuses) / 2


@given(st.one_of(st.none(), st.text(max_size=60), st.lists(st.ip_addresses().map(str), max_size=4).map(", ".join)),
       st.one_of(st.none(), st.ip_addresses().map(str), st.text(max_size=20)))
def test_a_client_is_only_ever_an_address_it_could_not_make_up(forwarded: str | None, remote: str | None) -> None:
    """Whatever a client sends in X-Forwarded-For, only the last entry (the trusted proxy's) can count, and nothing
    makes the parsing fail."""
    found = client_of(remote, forwarded)
    last = (forwarded or "").rsplit(",", 1)[-1].strip()
    assert found in (client_of(None, last), client_of(remote), "unknown")
    assert client_of(remote) == client_of(remote, None)
    if forwarded and "," in forwarded:
        assert client_of(remote, forwarded) == client_of(remote, last)
    if "." in found and "/" not in found:
        assert ipaddress.ip_address(found).version == 4
    if "/" in found:
        assert ipaddress.ip_network(found).prefixlen == 64


PER_PERSON = ("contact", "participation", "conversation", "response", "answer")


def rows(app: App) -> dict[str, int]:
    return {table: count(app, f"SELECT count(*) FROM {table}") for table in PER_PERSON}


async def test_opening_a_link_stores_nothing_until_the_person_agrees(tmp_path: Path) -> None:
    """Anyone can open the link as often as they like: only a yes to the consent question stores a row."""
    none = dict.fromkeys(PER_PERSON, 0)
    async with running(tmp_path / "data") as bot:
        url = f"{bot.base}/s/you-said"
        for _ in range(20):  # cookie-less opens, through the script and without it
            async with client() as fresh, fresh.post(f"{url}/api", json={"type": "open"}) as response:
                assert response.status == 200 and (await response.json())["open"]
            async with client() as fresh, fresh.post(url, data={"do": "open"}) as response:
                assert response.status == 200 and msg.CONSENT_QUESTION in await response.text()
        assert rows(bot.app) == none
        async with client() as session:  # open, look again, answer something else, say no, stop: still nothing
            person = Respondent(session, url)
            await person.send({"type": "open"})
            await person.send({"type": "resume"})
            assert person.waiting is not None and person.waiting["prompt"]["kind"] == "consent"
            turn = person.waiting["turn"]
            await person.send({"type": "reply", "turn": turn, "text": "what is this?"})
            assert msg.YES_OR_NO in person.said
            declined = await person.send({"type": "pick", "turn": turn, "index": 1})
            assert declined["open"] is False and msg.DECLINED in person.said
            await person.send({"type": "open"})
            stopped = await person.send({"type": "stop"})
            assert stopped["open"] is False
        assert rows(bot.app) == none
        async with client() as session:  # a yes stores the person's start, once
            person = Respondent(session, url)
            await person.send({"type": "open"})
            await person.answer()
            assert person.waiting is not None and person.waiting["prompt"]["number"] == 1
            assert rows(bot.app) == {**none, "contact": 1, "participation": 1, "conversation": 1}
            while person.waiting is not None:
                await person.answer()
        assert count(bot.app, "SELECT count(*) FROM response WHERE completed") == 1
        assert rows(bot.app)["contact"] == 1 and rows(bot.app)["conversation"] == 0


async def test_stale_turns_and_double_clicks_record_nothing(tmp_path: Path) -> None:
    async with running(tmp_path / "data") as bot, client() as session:
        person = Respondent(session, f"{bot.base}/s/policy-awareness")
        await person.send({"type": "open"})
        await person.answer()
        assert person.waiting is not None
        question = person.waiting
        await person.answer()
        waiting = person.waiting
        assert waiting is not None
        recorded = count(bot.app, "SELECT count(*) FROM answer")
        audited = count(bot.app, "SELECT count(*) FROM audit_record")
        for index in (0, 1):  # the same button again, and another button on the same old question (an old tab)
            body = await person.send({"type": "pick", "turn": question["turn"], "index": index})
            assert [e["type"] for e in body["effects"]] == ["notice", "ask"]  # and the question waiting now
            assert body["effects"][0]["text"] == msg.ALREADY_ANSWERED
            assert body["effects"][1]["prompt"]["question_id"] == waiting["prompt"]["question_id"]
        await person.send({"type": "reply", "turn": question["turn"], "text": "Police"})
        assert count(bot.app, "SELECT count(*) FROM answer") == recorded == 1
        assert count(bot.app, "SELECT count(*) FROM audit_record") == audited


async def test_a_person_resumes_on_the_same_device_after_a_restart(tmp_path: Path) -> None:
    data = tmp_path / "data"
    jar = aiohttp.CookieJar(unsafe=True)
    async with running(data) as bot, client(jar) as session:
        person = Respondent(session, f"{bot.base}/s/policy-awareness")
        await person.send({"type": "open"})
        for _ in range(3):
            await person.answer()
        assert person.waiting is not None and person.waiting["prompt"]["number"] == 3
        port = bot.base
    async with running(data) as bot, client(jar) as session:  # a new process, maybe on another port
        assert len(jar) == 1
        if bot.base != port:  # the cookie belongs to the host, not the port: carry it over as a browser would
            cookie = next(iter(jar))
            jar.update_cookies({COOKIE: cookie.value}, aiohttp.client.URL(f"{bot.base}/s/policy-awareness"))
        person = Respondent(session, f"{bot.base}/s/policy-awareness")
        body = await person.send({"type": "open"})
        assert body["effects"][0]["text"] == words.WELCOME_BACK
        assert person.waiting is not None and person.waiting["prompt"]["number"] == 3
        while person.waiting is not None:
            await person.answer()
        assert count(bot.app, "SELECT count(*) FROM response WHERE completed") == 1
        assert count(bot.app, "SELECT count(*) FROM response") == 1


async def test_no_cookie_token_or_typed_answer_reaches_the_database_or_the_logs(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    async with running(tmp_path / "data") as bot, client() as session:
        person = Respondent(session, f"{bot.base}/s/you-said")
        await complete(person, typed=SECRET_WORDS)
        await person.send({"type": "delete"})
        tokens = [cookie.value for cookie in session.cookie_jar]
        bot.web.set_limits(Limits(person_rate=0.01, person_burst=1, client_rate=100, client_burst=100))
        for expected in (200, 429):  # refusals are logged too: still without the token
            async with session.post(f"{bot.base}/s/you-said/api", json={"type": "open"}) as response:
                assert response.status == expected
        async with session.post(f"{bot.base}/s/you-said/api", data=b"{", headers={
                "Content-Type": "application/json"}) as response:
            assert response.status in (400, 429)
    assert len(tokens) == 1 and len(tokens[0]) == 43
    dump = "\n".join(sqlite3.connect(tmp_path / "data" / "surveybot.db").iterdump())
    assert tokens[0] not in dump
    assert SECRET_WORDS in dump  # the typed answer is stored, as an answer: the check above can fail
    assert "asked a visitor to slow down" in caplog.text
    assert tokens[0] not in caplog.text and SECRET_WORDS not in caplog.text


async def test_delete_asks_first_then_erases_and_forgets_the_cookie(tmp_path: Path) -> None:
    async with running(tmp_path / "data") as bot, client() as session:
        person = Respondent(session, f"{bot.base}/s/you-said")
        await complete(person)
        assert count(bot.app, "SELECT count(*) FROM answer") > 0
        asked = await person.send({"type": "delete"})
        assert [e["type"] for e in asked["effects"]] == ["confirm"]
        assert escape(words.DELETE_SURE) in asked["effects"][0]["html"]
        assert count(bot.app, "SELECT count(*) FROM answer") > 0  # nothing happens before Yes
        async with session.post(f"{bot.base}/s/you-said/api", json={"type": "delete-sure"}) as response:
            body = await response.json()
            cookie = cookie_header(response)
        assert body["effects"][0]["text"].startswith("Done. Your answers to")
        assert "Max-Age=0" in cookie and "Path=/s/you-said" in cookie
        assert len(session.cookie_jar) == 0
        assert count(bot.app, "SELECT count(*) FROM answer") == 0


async def test_a_typed_slash_command_works_as_the_notices_say(tmp_path: Path) -> None:
    async with running(tmp_path / "data") as bot, client() as session:
        person = Respondent(session, f"{bot.base}/s/you-said")
        await person.send({"type": "open"})
        await person.answer()
        while person.waiting is not None and person.waiting["prompt"]["kind"] != "text":
            await person.send({"type": "skip", "turn": person.waiting["turn"]})
        assert person.waiting is not None
        stopped = await person.send({"type": "reply", "turn": person.waiting["turn"], "text": " /stop "})
        (paused,) = [e for e in stopped["effects"] if e["type"] == "say"]
        assert paused["text"] == words.PAUSED and 'value="resume"' in paused["html"]
        resumed = await person.send({"type": "resume"})
        assert resumed["open"] and resumed["effects"][-1]["prompt"]["kind"] == "text"
        helped = await person.send({"type": "reply", "turn": resumed["effects"][-1]["turn"], "text": "/help"})
        assert helped["effects"][0]["text"] == words.HELP and helped["effects"][-1]["prompt"]["kind"] == "text"
        assert count(bot.app, "SELECT count(*) FROM answer WHERE value LIKE '%stop%'") == 0


async def test_without_javascript_the_forms_post_and_pages_come_back(tmp_path: Path) -> None:
    async with running(tmp_path / "data") as bot, client() as session:
        url = f"{bot.base}/s/you-said"
        async with session.get(url) as response:
            assert 'name="do" value="open"' in await response.text()
        async with session.post(url, data={"do": "open"}) as response:
            page = await response.text()
        turn = re.findall(r'name="turn" value="(\d+)"', page)[-1]
        assert msg.CONSENT_QUESTION in page
        async with session.post(url, data={"do": "pick:0", "turn": turn}) as response:
            page = await response.text()
        assert escape(words.YOU_SAID.format(answer=msg.CONSENT_YES)) in page
        assert "Question 1 of" in page
        first = re.findall(r'name="turn" value="(\d+)"', page)[-1]
        async with session.post(url, data={"do": "pick:2", "turn": first}) as response:
            assert "Question 2 of" in await response.text()
        async with session.post(url, data={"do": "pick:2", "turn": first}) as response:  # the browser resubmits
            page = await response.text()
        assert msg.ALREADY_ANSWERED in page and "Question 2 of" in page  # a note, and the question waiting now
        assert count(bot.app, "SELECT count(*) FROM answer") == 1
        async with session.post(url, data={"do": "done", "turn": re.findall(r'name="turn" value="(\d+)"', page)[-1],
                                           "tick": ["0", "2"]}) as response:
            page = await response.text()
        assert "Question 2 of" in page or "Question 3 of" in page


async def test_posts_from_another_site_are_refused(tmp_path: Path) -> None:
    async with running(tmp_path / "data") as bot, client() as session:
        for headers in ({"Origin": "https://elsewhere.example"}, {"Sec-Fetch-Site": "cross-site"}):
            async with session.post(f"{bot.base}/s/you-said/api", json={"type": "open"}, headers=headers) as resp:
                assert resp.status == 403 and "Set-Cookie" not in resp.headers
            async with session.post(f"{bot.base}/s/you-said", data={"do": "open"}, headers=headers) as resp:
                assert resp.status == 403
        assert count(bot.app, "SELECT count(*) FROM conversation") == 0
        bot.web.public_url = "https://surveys.example.org"  # behind a proxy that does not pass Host on
        async with session.post(f"{bot.base}/s/you-said/api", json={"type": "open"},
                                headers={"Origin": "https://surveys.example.org"}) as response:
            assert response.status == 200


async def test_the_qr_poster_encodes_the_link(tmp_path: Path) -> None:
    async with running(tmp_path / "data") as bot, client() as session, session.get(
            f"{bot.base}/s/you-said/qr.svg") as response:
        assert response.status == 200 and response.content_type == "image/svg+xml"
        svg = await response.text()
    link = f"{bot.base}/s/you-said"
    root = ElementTree.fromstring(svg)
    drawn = next(p.get("d") for p in root.iter("{http://www.w3.org/2000/svg}path"))
    assert link in svg and drawn == qr_path(link)[0]
    assert qr_path(link)[1] == len(segno.make(link, error="m").matrix)
    assert qr_path(link)[0] != qr_path(f"{link}x")[0]


async def test_back_cannot_change_a_knowledge_check_once_its_answer_was_shown(tmp_path: Path) -> None:
    """A practitioner answers a check wrongly and is told the answer: Back passes over it, saying so, its old buttons
    change nothing, and the export and the report's counts hold the first answer."""
    async with running(tmp_path / "data") as bot, client() as session:
        survey = bot.app.catalogue.latest("policy-awareness")
        check = next(q for q in survey.questions if q.kind is Kind.KNOWLEDGE)
        wrong, right = check.choices[0], check.choices.index(check.correct or "")
        assert wrong != check.correct
        person = Respondent(session, f"{bot.base}/s/policy-awareness")
        await person.send({"type": "open"})
        await person.answer()  # consent
        asked: list[str] = []
        while person.waiting is not None and person.waiting["prompt"]["question_id"] != check.id:
            asked.append(person.waiting["prompt"]["question_id"])
            await person.answer()
        assert person.waiting is not None
        check_turn = person.waiting["turn"]
        await person.answer()  # the first option: wrong
        assert person.said[-1].startswith("Not quite.")
        following = person.waiting
        assert following is not None and following["prompt"]["can_go_back"]

        body = await person.send({"type": "back", "turn": following["turn"]})
        assert [e["text"] for e in body["effects"] if e["type"] == "say"] == [msg.PASSED_OVER]
        assert person.waiting is not None and person.waiting["prompt"]["question_id"] == asked[-1]
        body = await person.send({"type": "pick", "turn": check_turn, "index": right})  # the check's old button
        assert body["effects"][0] == {"type": "notice", "text": msg.ALREADY_ANSWERED}
        await person.answer()  # the reopened question again: the check is stepped over, not asked again
        assert person.waiting is not None and person.waiting["prompt"]["question_id"] == following["prompt"][
            "question_id"]
        while person.waiting is not None:
            await person.answer()
        assert person.finished

        versions = bot.app.published_versions("policy-awareness")
        out = io.StringIO()
        assert export.write_csv(bot.app.store, "policy-awareness", export.columns(versions), out) == 1
        (row,) = csv.DictReader(io.StringIO(out.getvalue()))
        assert row[check.id] == wrong
        assert count(bot.app, f"SELECT count(*) FROM answer WHERE question_id = '{check.id}'") == 1
        tally = count_round(bot.app.store, "policy-awareness", 1, versions, b"a-report-key")
        assert dict(tally.questions[check.id].counts) == {wrong: 1}  # what "percentage correct" is taken from


def test_trusting_the_proxy_is_a_setting_checked_and_documented() -> None:
    from bot.config import SettingsError

    assert Settings.from_env({}).trust_proxy is False
    assert Settings.from_env({"SURVEYBOT_TRUST_PROXY": "TRUE"}).trust_proxy is True
    with pytest.raises(SettingsError, match=r"^SURVEYBOT_TRUST_PROXY should be `true`"):
        Settings.from_env({"SURVEYBOT_TRUST_PROXY": "yes please"})
    assert "SURVEYBOT_TRUST_PROXY=false" in (Path(__file__).parent.parent / "deploy" / ".env.example").read_text()
