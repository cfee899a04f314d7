"""The console's frame over real HTTP: sign-in by a one-time link, sessions, and the checks every request passes
(issue 22, items 1 and 3), on SQLite and PostgreSQL. Chat sign-in (/signin, /survey signin) is at the end."""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import aiohttp
import pytest

from bot.console.site import COOKIE
from bot.domain.address import Address
from bot.services.roles import Role, Roles

from .conftest import Clock
from .consolekit import Browser, RunningConsole, running_console
from .fakes.slack_api import FakeSlack
from .fakes.telegram_api import FakeTelegram
from .stored import audited
from .test_slack_channel import TEAM_ID, fake, section_text  # noqa: F401 (fake: a fixture)
from .test_slack_channel import running_bot as running_slack
from .test_telegram import running as running_telegram

LINK = re.compile(r"https?://\S+/admin/signin/([A-Za-z0-9_-]+)")


@pytest.fixture
async def site(tmp_path: Path, database_url: str, clock: Clock) -> AsyncIterator[RunningConsole]:
    async with running_console(tmp_path / "data", database_url, clock) as started:
        yield started



def jar() -> aiohttp.ClientSession:
    return aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True))


async def test_a_role_holder_signs_in_with_a_link_and_sees_only_their_sections(site: RunningConsole) -> None:
    browser = await site.signed_in("console:sam", Role.SCRUTINEER)
    try:
        home = await browser.get("/admin")
        assert "You are signed in as scrutineer" in home
        assert 'href="/admin/results"' in home and 'href="/admin/audit"' in home
        assert 'href="/admin/contacts"' not in home and 'href="/admin/surveys"' not in home
        assert len(audited(site.app, "console.link")) == 1 and len(audited(site.app, "console.signin")) == 1
        assert "sam" not in json.dumps(audited(site.app, "console.signin")), "a fingerprint, never the name"
    finally:
        await browser.close()


async def test_opening_a_link_spends_nothing_until_sign_in_is_pressed(site: RunningConsole) -> None:
    site.grant(Role.ADMIN, "console:ana")
    token = site.link("console:ana")
    async with jar() as http:
        for _ in range(3):  # a link previewer or mail scanner fetching the link
            async with http.get(f"{site.base}/admin/signin/{token}") as page:
                assert page.status == 200 and 'name="token"' in await page.text()
        async with http.post(f"{site.base}/admin/signin", data={"token": token}, allow_redirects=False) as signed:
            assert signed.status == 303 and signed.headers["Location"] == "/admin"
            cookie = signed.headers["Set-Cookie"]
        assert "HttpOnly" in cookie and "SameSite=Strict" in cookie and "Path=/admin" in cookie
        assert "Secure" not in cookie, "plain http on this machine: a Secure cookie would never come back"


async def test_a_link_works_once_and_for_ten_minutes(site: RunningConsole, clock: Clock) -> None:
    site.grant(Role.ADMIN, "console:ana")
    used, late = site.link("console:ana"), site.link("console:ana")
    async with jar() as http:
        async with http.post(f"{site.base}/admin/signin", data={"token": used}, allow_redirects=False) as first:
            assert first.status == 303
        async with http.post(f"{site.base}/admin/signin", data={"token": used}, allow_redirects=False) as again:
            assert again.status == 410 and "expired" in await again.text()
        clock.now += timedelta(minutes=10, seconds=1)
        async with http.post(f"{site.base}/admin/signin", data={"token": late}, allow_redirects=False) as old:
            assert old.status == 410
        async with http.post(f"{site.base}/admin/signin", data={"token": "x" * 43}, allow_redirects=False) as made_up:
            assert made_up.status == 410


async def test_links_are_rate_limited_per_person_and_refused_to_strangers(site: RunningConsole) -> None:
    site.grant(Role.ADMIN, "console:ana")
    assert all(site.console.offer_link(Address("console", "local", "ana"), "test").startswith("Your sign-in link")
               for _ in range(3))
    assert "several sign-in links" in site.console.offer_link(Address("console", "local", "ana"), "test")
    stranger = site.console.offer_link(Address("console", "local", "eve"), "test")
    assert stranger.startswith("Sorry") and "/admin/signin/" not in stranger
    site.console.offer_link(Address("console", "local", "eve"), "test")
    assert [r.get("first_of_the_day") for r in audited(site.app, "console.refused")] == [True], "strangers: once a day"


async def test_guessing_links_is_slowed_down(site: RunningConsole) -> None:
    async with jar() as http:
        statuses = []
        for n in range(40):
            async with http.post(f"{site.base}/admin/signin", data={"token": f"guess{n:040d}"},
                                 allow_redirects=False) as response:
                statuses.append(response.status)
        assert statuses[0] == 410 and statuses[-1] == 429


async def test_a_session_fixed_in_advance_is_never_used(site: RunningConsole) -> None:
    """Session fixation: a cookie planted before sign-in is ignored, and sign-in issues a new random one."""
    site.grant(Role.ADMIN, "console:ana")
    planted = "planted-session-token-0123456789abcdef"
    async with jar() as http:
        http.cookie_jar.update_cookies({COOKIE: planted}, aiohttp.client.URL(site.base + "/admin"))
        async with http.post(f"{site.base}/admin/signin", data={"token": site.link("console:ana")},
                             allow_redirects=False) as signed:
            issued = signed.cookies[COOKIE].value
        assert issued != planted and len(issued) >= 40
    async with jar() as attacker:
        attacker.cookie_jar.update_cookies({COOKIE: planted}, aiohttp.client.URL(site.base + "/admin"))
        async with attacker.get(f"{site.base}/admin") as page:
            assert "Sign in to the console" in await page.text()


async def test_sessions_end_after_eight_idle_hours_at_sign_out_and_when_the_role_goes(
        site: RunningConsole, clock: Clock) -> None:
    idle = await site.signed_in("console:ana", Role.ADMIN)
    clock.now += timedelta(hours=7, minutes=59)
    assert "Welcome" in await idle.get("/admin")
    clock.now += timedelta(hours=7, minutes=59)  # used a moment ago: still alive
    assert "Welcome" in await idle.get("/admin")
    clock.now += timedelta(hours=8, minutes=1)
    assert "Sign in to the console" in await idle.get("/admin")
    await idle.close()

    leaving = await site.signed_in("console:ana")
    await leaving.get("/admin")
    await leaving.post("/admin/signout", {}, status=200)
    assert "Signed out" in leaving.last
    assert "Sign in to the console" in await leaving.get("/admin")
    await leaving.close()

    demoted = await site.signed_in("console:ana")
    assert "Welcome" in await demoted.get("/admin")
    Roles(site.app.store, site.app.keys, site.app.service.clock).revoke(Role.ADMIN, Address("console", "local", "ana"))
    assert "Sign in to the console" in await demoted.get("/admin")
    await demoted.close()
    assert len(audited(site.app, "console.signout")) == 1


async def test_every_page_has_a_strict_policy_and_no_third_party_asset(site: RunningConsole) -> None:
    browser = await site.signed_in("console:ana", Role.ADMIN)
    try:
        for path in ("/admin", "/admin/static/console.css", "/admin/nowhere-at-all"):
            async with browser.session.get(f"{site.base}{path}") as response:
                body = await response.text()
                policy = response.headers.get("Content-Security-Policy", "")
                assert "frame-ancestors 'none'" in policy and "default-src 'none'" in policy, path
                assert "unsafe-inline" not in policy and response.headers["X-Frame-Options"] == "DENY"
                assert response.headers["Cache-Control"] == "no-store" or path.endswith(".css")
                assert not re.search(r'(src|href)="(https?:)?//', body), "nothing loaded from elsewhere"
                assert "<script" not in body and "style=" not in body
    finally:
        await browser.close()


async def test_forms_need_this_sessions_token_and_our_own_origin(site: RunningConsole) -> None:
    ana = await site.signed_in("console:ana", Role.ADMIN)
    bea = await site.signed_in("console:bea", Role.ADMIN)
    try:
        await ana.get("/admin")
        async with ana.session.post(f"{site.base}/admin/signout", data={}) as missing:
            assert missing.status == 403
        bea_token = bea.csrf(await bea.get("/admin"))
        async with ana.session.post(f"{site.base}/admin/signout", data={"csrf": bea_token}) as foreign:
            assert foreign.status == 403, "another session's token does not pass"
        async with ana.session.post(f"{site.base}/admin/signout", data={"csrf": ana.csrf()},
                                    headers={"Origin": "https://evil.example"}) as cross:
            assert cross.status == 403
        async with ana.session.post(f"{site.base}/admin/signout", data={"csrf": ana.csrf()},
                                    headers={"Sec-Fetch-Site": "cross-site"}) as cross_site:
            assert cross_site.status == 403
        assert "Welcome" in await ana.get("/admin"), "none of those signed her out"
    finally:
        await ana.close()
        await bea.close()


async def test_the_cookie_is_secure_behind_an_https_address(tmp_path: Path, database_url: str, clock: Clock) -> None:
    async with running_console(tmp_path / "data", database_url, clock,
                               SURVEYBOT_PUBLIC_URL="https://surveys.example.org") as site:
        site.grant(Role.ADMIN, "console:ana")
        offered = site.console.offer_link(Address("console", "local", "ana"), "test")
        assert "https://surveys.example.org/admin/signin/" in offered
        token = LINK.search(offered)[1]  # type: ignore[index]
        async with jar() as http, http.post(f"{site.base}/admin/signin", data={"token": token},
                                            headers={"Origin": "https://surveys.example.org"},
                                            allow_redirects=False) as signed:
            assert signed.status == 303 and "Secure" in signed.headers["Set-Cookie"]


# --- asking for a link in chat ------------------------------------------------------------------------------------

async def follow(link: str) -> str:
    """Open a sign-in link as its owner would, press Sign in, and return the page the console shows."""
    base = link.split("/admin/", 1)[0]
    async with jar() as http:
        async with http.get(link) as confirm:
            assert confirm.status == 200
        token = link.rsplit("/", 1)[1]
        async with http.post(f"{base}/admin/signin", data={"token": token}) as home:
            return await home.text()


async def test_signin_in_telegram_gives_a_role_holder_a_working_link(tmp_path: Path, database_url: str) -> None:
    async with FakeTelegram() as telegram, running_telegram(telegram, tmp_path / "data",
                                                             DATABASE_URL=database_url) as app:
        assert app.engine.dialect.name == database_url.split(":")[0].split("+")[0]
        bot_id = telegram.token.split(":")[0]
        Roles(app.store, app.keys, app.service.clock).grant(Role.ADMIN, Address("telegram", bot_id, "41"))
        telegram.user_sends_text(42, "/signin")
        assert (await telegram.next_message(42))["text"].startswith("Sorry")
        telegram.user_sends_text(41, "/signin")
        reply = (await telegram.next_message(41))["text"]
        found = LINK.search(reply)
        assert found is not None, reply
        assert "Welcome" in await follow(found[0])


async def test_survey_signin_in_slack_gives_a_role_holder_a_working_link(fake: FakeSlack, tmp_path: Path,  # noqa: F811
                                                                         database_url: str) -> None:
    async with running_slack(fake, tmp_path, "http", database_url) as bot:
        app = bot.app
        assert app.engine.dialect.name == database_url.split(":")[0].split("+")[0]
        Roles(app.store, app.keys, app.service.clock).grant(Role.SCRUTINEER, Address("slack", TEAM_ID, "U0LEAD"))
        lead = bot.person("U0LEAD")
        assert (await lead.command("signin"))[0] == 200
        found = LINK.search(section_text(await lead.next_message()))
        assert found is not None
        assert "signed in as scrutineer" in await follow(found[0])


def test_browser_helper_reads_the_form_token() -> None:
    page = '<form><input type="hidden" name="csrf" value="abc123"></form>'
    assert Browser("", None).csrf(page) == "abc123"  # type: ignore[arg-type]


async def test_an_email_contact_with_a_role_gets_a_link_by_email_and_nobody_learns_who_may(
        tmp_path: Path, database_url: str, clock: Clock) -> None:
    from .fakes.smtp_server import FakeSmtp

    with FakeSmtp() as smtp:
        async with running_console(tmp_path / "data", database_url, clock,
                                   SURVEYBOT_SMTP_URL=smtp.url, SURVEYBOT_MAIL_FROM="surveys@lscp.example.org",
                                   SURVEYBOT_PUBLIC_URL="http://127.0.0.1:1") as site:
            site.grant(Role.ADMIN, "email:Officer@LSCP.example.org")
            async with jar() as http:
                async with http.get(f"{site.base}/admin") as front:
                    assert 'name="email"' in await front.text()
                answers = []
                for typed in ("officer@lscp.example.org", "stranger@lscp.example.org"):
                    async with http.post(f"{site.base}/admin/signin", data={"email": typed}) as sent:
                        answers.append((sent.status, await sent.text()))
                assert answers[0] == answers[1], "the same answer whether or not the address may sign in"
                async with http.post(f"{site.base}/admin/signin", data={"email": "not an address"}) as bad:
                    assert bad.status == 400
            await asyncio.to_thread(smtp.wait_for, 1)
            (letter,) = smtp.recorder.to("officer@lscp.example.org")
            assert smtp.recorder.to("stranger@lscp.example.org") == []
            token = LINK.search(letter.get_content())[1]  # type: ignore[index, union-attr]
            async with jar() as http, http.post(f"{site.base}/admin/signin", data={"token": token}) as home:
                assert "signed in as admin" in await home.text()
            assert not any("officer" in json.dumps(r) for r in audited(site.app, "console.link"))
