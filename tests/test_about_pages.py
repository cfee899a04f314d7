"""The privacy and terms pages (/privacy, /terms) the Teams app's About page links to, served by the bot itself as
`surveybot run` wires it: in real Chromium on a 390x844 phone (nothing wider than the screen, every link reached by
the keyboard, axe clean), what they say from the settings, and the manifest's links answering with them."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.app import App, build, make_channels
from bot.channels.about import contact_link
from bot.channels.teams import manifest as teams
from bot.config import Settings, SettingsError
from tests.live_bot import serving

from . import test_web_browser
from .test_web_browser import ARTIFACTS, AXE, PHONE, axe, need, settle

browser = test_web_browser.browser  # the same real Chromium fixture
PEPPER = "test-pepper-" + "a" * 40
APP_ID = "0b5e3c1a-7d2f-4e8b-9a61-2c4d5e6f7a80"
PAGES = {"privacy": "How we look after your answers", "terms": "Terms of use"}


@asynccontextmanager
async def running(tmp_path: Path, **settings: str) -> AsyncIterator[tuple[App, str]]:
    env = {"SURVEYBOT_DATA_DIR": str(tmp_path / "data"), "SURVEYBOT_PEPPER": PEPPER, **settings}
    app = build(Settings.from_env(env))
    async with serving(app, make_channels(app)) as server:
        yield app, server.base_url


async def fetch(url: str) -> tuple[int, str, dict[str, str]]:
    async with aiohttp.ClientSession() as session, session.get(url) as response:
        return response.status, await response.text(), dict(response.headers)


async def test_the_manifest_links_answer_with_the_two_pages(tmp_path: Path) -> None:
    async with running(tmp_path) as (_app, base):
        made = teams.manifest(teams.Details(APP_ID, base, "127.0.0.1", "1.0.0", "Surveybot"))
        links = {"privacy": made["developer"]["privacyUrl"], "terms": made["developer"]["termsOfUseUrl"]}
        for name, url in links.items():
            status, html, headers = await fetch(url)
            assert status == 200, url
            assert f"<h1>{PAGES[name]}</h1>" in html
            assert headers["Content-Security-Policy"].startswith("default-src 'none'")
            assert "Set-Cookie" not in headers, "looking at a page sets no cookie"


async def test_the_pages_say_the_real_numbers_and_the_partnership_from_settings(tmp_path: Path) -> None:
    named = {"SURVEYBOT_PARTNERSHIP_NAME": "Anytown <Safeguarding> Partnership",
             "SURVEYBOT_PRIVACY_CONTACT": "dpo@anytown.example.org", "SURVEYBOT_KEY_DAYS": "45",
             "SURVEYBOT_TEXT_DAYS": "60", "SURVEYBOT_MIN_GROUP": "7"}
    async with running(tmp_path, **named) as (_app, base):
        _, privacy, _ = await fetch(f"{base}/privacy")
        _, terms, _ = await fetch(f"{base}/terms")
    assert "Anytown &lt;Safeguarding&gt; Partnership runs these surveys" in privacy, "the name, escaped"
    assert "destroyed 45 days after the round closes" in privacy
    assert "deleted 60 days after the survey closes" in privacy
    assert "fewer than 7 people" in privacy
    assert "/stop all" in privacy and "Delete my answers" in privacy
    for html in (privacy, terms):
        assert '<a href="mailto:dpo@anytown.example.org">dpo@anytown.example.org</a>' in html
        assert 'href="tel:999"' in html and 'href="tel:08001111"' in html
    async with running(tmp_path / "plain") as (_app, base):
        _, privacy, _ = await fetch(f"{base}/privacy")
    assert "The safeguarding children partnership that sent you the survey runs it" in privacy
    assert "destroyed 30 days after" in privacy, "the default key days"
    assert "ask the partnership that sent you the survey" in privacy, "no contact set: neutral words"


@pytest.mark.parametrize("name", sorted(PAGES))
async def test_each_page_fits_a_phone_works_by_keyboard_and_passes_axe(browser: Any, tmp_path: Path,
                                                                       name: str) -> None:
    need(AXE.exists(), "axe-core is not installed (npm ci --prefix tests/web)")
    async with running(tmp_path, SURVEYBOT_PRIVACY_CONTACT="https://anytown.example.org/contact") as (_app, base):
        context = await browser.new_context(viewport=PHONE)
        page = await context.new_page()
        problems: list[str] = []
        page.on("console", lambda message: problems.append(message.text) if message.type == "error" else None)
        await page.goto(f"{base}/{name}")
        await settle(page)
        wider = await page.evaluate("""() => Array.from(document.querySelectorAll("body *"))
            .filter(el => el.getBoundingClientRect().right > window.innerWidth + 1
                          || el.scrollWidth > el.clientWidth + 1)
            .map(el => el.tagName + " " + el.textContent.slice(0, 40))""")
        assert wider == [], "nothing wider than the screen"
        assert await page.evaluate("() => document.documentElement.scrollWidth") <= PHONE["width"]
        links = set(await page.evaluate("() => Array.from(document.links).map(a => a.getAttribute('href'))"))
        assert {"#main", "/privacy" if name == "terms" else "/terms", "tel:999",
                "https://anytown.example.org/contact"} <= links
        reached: set[str] = set()
        for _ in range(len(links) + 2):
            await page.keyboard.press("Tab")
            reached.add(await page.evaluate("() => document.activeElement.getAttribute('href') || ''"))
        assert links <= reached, "every link is reached with Tab alone"
        assert problems == [], "no Content-Security-Policy violation"
        ARTIFACTS.mkdir(exist_ok=True)
        await page.screenshot(path=str(ARTIFACTS / f"about-{name}-390x844.png"), full_page=True)
        await context.close()
        checking = await browser.new_context(viewport=PHONE, bypass_csp=True)  # only so axe-core can be injected
        page = await checking.new_page()
        await page.goto(f"{base}/{name}")
        assert await axe(page) == []
        await checking.close()


@pytest.mark.parametrize(("setting", "value"), [("SURVEYBOT_PARTNERSHIP_NAME", "x" * 101),
                                                ("SURVEYBOT_PRIVACY_CONTACT", "line one\u2028line two"),
                                                ("SURVEYBOT_PRIVACY_CONTACT", "y" * 201)])
def test_a_bad_name_or_contact_is_one_line_naming_the_setting(setting: str, value: str) -> None:
    with pytest.raises(SettingsError) as caught:
        Settings.from_env({setting: value})
    assert str(caught.value).startswith(setting) and "\n" not in str(caught.value)


@given(st.text(max_size=80))
def test_a_contact_link_is_only_ever_mail_a_web_page_or_a_call(contact: str) -> None:
    link = contact_link(contact)
    assert link is None or link.startswith(("mailto:", "https://", "tel:"))
    if link is not None:
        assert not any(c in link for c in ' "<>\n'), "nothing that could break out of the attribute or the scheme"


def test_contact_links_for_the_usual_kinds() -> None:
    assert contact_link("dpo@anytown.example.org") == "mailto:dpo@anytown.example.org"
    assert contact_link("https://anytown.example.org/privacy") == "https://anytown.example.org/privacy"
    assert contact_link("01632 960 123") == "tel:01632960123"
    assert contact_link("the business unit, Anytown council") is None
    assert contact_link("javascript:alert(1)") is None
