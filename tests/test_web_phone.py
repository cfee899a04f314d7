"""The web chat on a phone (390 x 844), in real Chromium: what a young person meets on the first screen, a typed
answer that is too long, the Get help button, the helplines as links, and one card per question. Each test keeps a
screenshot in test-artifacts/ so a person can look at the screen as it was."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from bot.channels import web_words as words
from bot.engine import messages as msg
from bot.services import notices

from . import test_web_browser
from .test_web import Bot, client, count, running
from .test_web_browser import (
    ARTIFACTS,
    AXE,
    answer_by_clicking,
    axe,
    live_turn,
    need,
    open_page,
    settle,
)

browser = test_web_browser.browser  # the same real Chromium fixture
LIMIT = 500  # the you-said survey's free-text question takes up to 500 characters


@pytest.fixture
async def bot(tmp_path: Path) -> AsyncIterator[Bot]:
    async with running(tmp_path / "data") as started:
        yield started


async def shot(page: Any, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    await settle(page)
    await page.screenshot(path=str(ARTIFACTS / name))


async def in_view(page: Any, selector: str) -> bool:
    """Whether the element is wholly on screen without scrolling, and not under the controls kept at the bottom."""
    return bool(await page.evaluate("""selector => {
        const box = document.querySelector(selector).getBoundingClientRect();
        const bar = document.querySelector("footer.bottom").getBoundingClientRect();
        return box.top >= 0 && box.left >= 0 && box.right <= window.innerWidth && box.bottom <= bar.top;
    }""", selector))


async def on_screen(page: Any, selector: str) -> bool:
    """Whether the element is wholly inside the phone's screen as it is scrolled now."""
    return bool(await page.evaluate("""selector => {
        const box = document.querySelector(selector).getBoundingClientRect();
        return box.top >= 0 && box.left >= 0 && box.right <= window.innerWidth && box.bottom <= window.innerHeight;
    }""", selector))


async def to_the_typed_question(page: Any) -> str:
    """Answer by clicking until the free-text question is waiting; its turn."""
    while True:
        turn = await live_turn(page)
        assert turn is not None
        if await page.locator(f'.question[data-turn="{turn}"] textarea').count():
            return turn
        await answer_by_clicking(page)


async def cards_per_turn(page: Any) -> dict[str, int]:
    return dict(await page.evaluate("""() => {
        const seen = {};
        document.querySelectorAll("#chat .question").forEach(card => {
            seen[card.dataset.turn] = (seen[card.dataset.turn] || 0) + 1;
        });
        return seen;
    }"""))


async def test_the_first_screen_shows_a_short_notice_and_the_start_button(browser: Any, bot: Bot) -> None:
    need(AXE.exists(), "axe-core is not installed (npm install --prefix tests/web)")
    page, problems = await open_page(browser, f"{bot.base}/s/you-said", bypass_csp=True)
    await settle(page)
    assert await page.evaluate("() => window.scrollY") == 0
    start = '.question form button[value="pick:0"]'
    assert await page.locator(start).inner_text() == msg.CONSENT_YES
    await shot(page, "phone-first-screen-390x844.png")
    assert await in_view(page, start), "the start button must be on the first screen, above the controls"
    for line in notices.YOUNG_PEOPLE_SUMMARY.splitlines():
        assert await page.get_by_text(line).is_visible()
    full = page.get_by_text("Keeping your answers private:")
    assert not await full.is_visible()  # the whole notice is folded away...
    assert await page.locator("h1").inner_text() == "You said – tell us what matters to you"
    for control in ("#get-help", "#stop", "#delete"):  # ...and help, stop and delete are in view, no typing needed
        assert await page.locator(control).is_visible() and await on_screen(page, control)
    assert await axe(page) == []
    await page.get_by_text(words.MORE_ABOUT_PRIVACY).click()  # one tap away
    assert await full.is_visible()
    assert await page.get_by_text(words.DELETE_HOW.split(" at ")[0], exact=False).first.is_visible()
    assert await page.get_by_text("Type /delete").count() == 0  # no box to type it in here
    await shot(page, "phone-full-notice-390x844.png")
    assert problems == []


async def test_a_long_answer_is_counted_stopped_at_the_limit_and_never_lost(browser: Any, bot: Bot) -> None:
    page, problems = await open_page(browser, f"{bot.base}/s/you-said")
    turn = await to_the_typed_question(page)
    await settle(page)
    for control in ("#get-help", "#stop", "#delete"):  # five questions down, the controls are still on screen
        assert await on_screen(page, control)
    card = page.locator(f'.question[data-turn="{turn}"]')
    assert "(optional)" in await card.locator("h2").inner_text()
    box = card.locator("textarea")
    counter = card.locator(".count")
    assert await counter.inner_text() == msg.UP_TO.format(limit=LIMIT)  # the limit shows before typing
    await box.focus()
    await page.keyboard.type("word " * 20)
    assert await counter.inner_text() == words.CHARACTERS_LEFT.format(left=LIMIT - 100)
    await box.fill("")
    await box.focus()
    await page.keyboard.insert_text("x" * (LIMIT + 80))  # a paste longer than the limit stops at it
    await page.keyboard.type("yz")
    assert len(await box.input_value()) == LIMIT
    assert await counter.inner_text() == words.AT_THE_LIMIT
    await shot(page, "phone-at-the-limit-390x844.png")

    # The server refuses what is too long even when the page's limit is got round (an old page, a changed one): the
    # words stay in the box, the reason comes first, and the question is drawn once, after it.
    long = "a" * (LIMIT + 20)
    await box.evaluate("(box, long) => { box.removeAttribute('maxlength'); box.value = long; }", long)
    await card.get_by_role("button", name=words.SEND).click()
    problem = msg.TOO_LONG.format(length=LIMIT + 20, limit=LIMIT)
    await page.locator("#chat").get_by_text(problem).wait_for()
    assert await cards_per_turn(page) == {t: 1 for t in await cards_per_turn(page)}
    assert await live_turn(page) == turn
    assert await page.locator(f'.question[data-turn="{turn}"] textarea').input_value() == long
    assert await page.locator(f'.question[data-turn="{turn}"] .count').inner_text() == words.OVER_THE_LIMIT.format(
        over=20)
    order = await page.evaluate("""text => {
        const said = Array.from(document.querySelectorAll("#chat .msg.bot")).find(m => m.textContent.includes(text));
        const card = document.querySelector("#chat .question form").closest(".question");
        return said.compareDocumentPosition(card) & Node.DOCUMENT_POSITION_FOLLOWING ? "reason first" : "card first";
    }""", problem)
    assert order == "reason first"
    await shot(page, "phone-too-long-390x844.png")

    await page.locator(f'.question[data-turn="{turn}"] textarea').fill("More places to go after school")
    await page.locator(f'.question[data-turn="{turn}"]').get_by_role("button", name=words.SEND).click()
    await page.locator(f'.question.answered[data-turn="{turn}"]').wait_for()
    assert set((await cards_per_turn(page)).values()) == {1}
    mine = page.locator(f'.question.answered[data-turn="{turn}"] + .msg.mine')
    assert "More places to go after school" in await mine.inner_text()  # the answer is under its own question
    assert count(bot.app, "SELECT count(*) FROM answer WHERE value LIKE '%places to go%'") == 1
    assert problems == []


async def test_get_help_shows_the_check_with_helplines_to_tap_and_says_back_the_choice(browser: Any,
                                                                                      bot: Bot) -> None:
    page, problems = await open_page(browser, f"{bot.base}/s/you-said")
    await answer_by_clicking(page)  # Yes, let's start
    turn = await live_turn(page)
    await page.locator("#get-help").click()
    await page.get_by_role("button", name=msg.CARE_OK).wait_for()
    assert await page.locator("#chat").get_by_text(msg.CARE_HELP_WORD, exact=True).is_visible()
    for href, words_shown in (("tel:08001111", "0800 1111"), ("tel:999", "999"),
                              ("sms:85258?&body=SHOUT", "text SHOUT to 85258")):
        link = page.locator(f'.check, .msg.bot >> a[href="{href}"]').last
        assert await link.inner_text() == words_shown
        assert await link.is_visible()
    await shot(page, "phone-get-help-390x844.png")
    await page.get_by_role("button", name=msg.CARE_OK).click()
    chosen = words.YOU_CHOSE.format(label=msg.CARE_OK)
    await page.locator("#chat").get_by_text(chosen).wait_for()  # the choice is said back
    assert await live_turn(page) not in (None, turn)  # the question is asked again, under a new turn
    assert count(bot.app, "SELECT count(*) FROM answer") == 0  # asking for help is not an answer
    assert problems == []


async def test_a_multiple_choice_answer_is_said_back_as_a_sentence(browser: Any, bot: Bot) -> None:
    page, problems = await open_page(browser, f"{bot.base}/s/you-said")
    while True:
        turn = await live_turn(page)
        assert turn is not None
        form = page.locator(f'.question[data-turn="{turn}"] form')
        if await form.locator('input[type="checkbox"]').count():
            break
        await answer_by_clicking(page)
    await form.locator("label.tick").nth(0).click()
    await form.locator("label.tick").nth(1).click()
    await form.locator("label.tick").last.click()  # Other, please say
    await form.get_by_role("button", name=words.DONE).click()
    said = page.locator(f'.question.answered[data-turn="{turn}"] + .msg.mine')
    await said.wait_for()
    assert await said.inner_text() == "You said: Feeling safe, My family and friends and something else"
    assert problems == []


async def test_without_javascript_a_refused_answer_comes_back_in_the_box(bot: Bot) -> None:
    async with client() as session:
        url = f"{bot.base}/s/you-said"
        async with session.post(url, data={"do": "open"}) as response:
            page = await response.text()
        async with session.post(url, data={"do": "pick:0", "turn": "1"}) as response:
            page = await response.text()
        turn = 2
        while 'name="text"' not in page:
            async with session.post(url, data={"do": "skip", "turn": str(turn)}) as response:
                page = await response.text()
            turn += 1
        assert f'maxlength="{LIMIT}"' in page
        long = "b" * (LIMIT + 1)
        async with session.post(url, data={"do": "send", "turn": str(turn), "text": long}) as response:
            assert response.status == 200
            page = await response.text()
        assert f">{long}</textarea>" in page
        assert page.count(f'data-turn="{turn}"') == 1
    assert count(bot.app, "SELECT count(*) FROM answer WHERE value LIKE 'bbb%'") == 0


def test_hover_colours_apply_only_where_a_pointer_can_hover() -> None:
    css = (Path(__file__).parent.parent / "bot" / "channels" / "webstatic" / "chat.css").read_text()
    start = css.index("@media (hover: hover) {")
    end = css.index("\n}\n", start)
    outside = css[:start] + css[end:]
    assert ":hover" not in outside
    assert css[start:end].count(":hover") >= 4


async def test_an_over_long_api_reply_keeps_the_question_once(bot: Bot) -> None:
    """The API's answer to a refused reply: the reason, then the same question (one card, same turn)."""
    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as session:
        api = f"{bot.base}/s/you-said/api"
        headers = {"Origin": bot.base}

        async def post(event: dict[str, Any]) -> dict[str, Any]:
            async with session.post(api, json=event, headers=headers) as response:
                assert response.status == 200
                return dict(await response.json())

        body = await post({"type": "open"})
        body = await post({"type": "pick", "turn": 1, "index": 0})
        turn = 2
        while not any(e.get("prompt", {}).get("kind") == "text" for e in body["effects"]):
            body = await post({"type": "skip", "turn": turn})
            turn += 1
        body = await post({"type": "reply", "turn": turn, "text": "c" * (LIMIT + 1)})
        kinds = [(e["type"], e.get("turn")) for e in body["effects"]]
        assert kinds == [("say", None), ("ask", turn)]
        assert f'maxlength="{LIMIT}"' in body["effects"][1]["html"]
