"""The web chat in a real browser: Debian's Chromium, headless, driven by Playwright for Python (never a browser that
Playwright downloads). A scripted person completes surveys by clicking and by keyboard alone, axe-core checks the
accessibility of every kind of screen, and a phone-width screenshot is kept in test-artifacts/.

On a machine without Chromium these tests are skipped, saying why; in CI (CI=true) they fail instead, because
.ci/run installs Chromium and axe-core and they must run there.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from bot.channels import web_words as words
from bot.engine import messages as msg
from bot.services import notices

from .test_web import TEMPLATES, Bot, count, running

REPO = Path(__file__).parent.parent
CHROMIUM = Path("/usr/bin/chromium")
AXE = Path(__file__).parent / "web" / "node_modules" / "axe-core" / "axe.min.js"
ARTIFACTS = REPO / "test-artifacts"
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]
PHONE = {"width": 390, "height": 844}
TYPED = "More places to go after school"


def need(present: bool, reason: str) -> None:
    """Skip with the reason on a newcomer's laptop; fail in CI, where .ci/run must have installed it."""
    if present:
        return
    if os.environ.get("CI"):
        pytest.fail(f"{reason}; CI installs it in .ci/run, so this should not happen there")
    pytest.skip(reason)


@pytest.fixture
async def browser() -> AsyncIterator[Any]:
    need(CHROMIUM.exists(), "Chromium is not installed at /usr/bin/chromium (sudo apt-get install chromium)")
    try:
        from playwright.async_api import async_playwright
    except ImportError:
        need(False, "Playwright for Python is not installed (pip install -e '.[test]')")
    async with async_playwright() as playwright:
        chromium = await playwright.chromium.launch(executable_path=str(CHROMIUM), args=FLAGS)
        try:
            yield chromium
        finally:
            await chromium.close()


@pytest.fixture
async def bot(tmp_path: Path) -> AsyncIterator[Bot]:
    async with running(tmp_path / "data") as started:
        yield started


async def open_page(browser: Any, url: str, **options: Any) -> tuple[Any, list[str]]:
    """A fresh phone-sized page on `url`, and the list its console errors (a CSP violation among them) go to."""
    context = await browser.new_context(viewport=PHONE, **options)
    context.set_default_timeout(10_000)
    page = await context.new_page()
    problems: list[str] = []
    page.on("console", lambda message: problems.append(message.text) if message.type == "error" else None)
    page.on("pageerror", lambda error: problems.append(str(error)))
    await page.goto(url)
    await page.locator(".question form").wait_for()
    return page, problems


async def live_turn(page: Any) -> str | None:
    """The turn of the one question that can be answered now, or None once there is none."""
    forms = page.locator("#chat .question form")
    if await forms.count() == 0:
        return None
    assert await forms.count() == 1, "only the newest question keeps its controls"
    return str(await forms.first.locator('input[name="turn"]').input_value())


async def wait_answered(page: Any, turn: str) -> None:
    await page.locator(f'.question.answered[data-turn="{turn}"]').wait_for()


async def answer_by_clicking(page: Any) -> str:
    """What a cooperative person does with a mouse or a finger: the first option, the first tick then Done, or
    typing a few words and Send."""
    turn = await live_turn(page)
    assert turn is not None
    form = page.locator(f'.question[data-turn="{turn}"] form')
    if await form.locator('input[type="checkbox"]').count():
        await form.locator("label.tick").first.click()
        await form.get_by_role("button", name=words.DONE).click()
    elif await form.locator("textarea, input[type='text']").count():
        field = form.locator("textarea, input[type='text']")
        await field.fill(TYPED if await form.locator("textarea").count() else "3")
        await form.get_by_role("button", name=words.SEND).click()
    else:
        await form.locator('button[value^="pick:"]').first.click()
    await wait_answered(page, turn)
    return turn


async def focused(page: Any) -> dict[str, Any]:
    return dict(await page.evaluate("""() => {
        const el = document.activeElement;
        return {tag: el.tagName.toLowerCase(), id: el.id, type: el.type || "", value: el.value || "",
                text: (el.textContent || "").trim(), inQuestion: !!el.closest(".question form")};
    }"""))


async def tab_to(page: Any, wanted: Any, limit: int = 40) -> dict[str, Any]:
    """Press Tab until the focused element is the one wanted; fails if it is never reached."""
    for _ in range(limit):
        await page.keyboard.press("Tab")
        now = await focused(page)
        if wanted(now):
            return now
    raise AssertionError("Tab never reached the control wanted")


async def settle(page: Any) -> None:
    """Wait for messages to finish fading in and the page to stop scrolling, as a person would see it."""
    await page.evaluate("""async () => {
        await Promise.all(document.getAnimations().map(a => a.finished));
        let last = -1;
        while (window.scrollY !== last) {
            last = window.scrollY;
            await new Promise(done => setTimeout(done, 100));
        }
    }""")


async def axe(page: Any) -> list[str]:
    """The serious and critical accessibility problems axe-core finds on the page as it is now."""
    await settle(page)  # no half-faded text
    if not await page.evaluate("() => typeof window.axe !== 'undefined'"):
        await page.add_script_tag(path=str(AXE))
    results = await page.evaluate("""async () => {
        const found = await axe.run(document, {resultTypes: ["violations"]});
        return found.violations.map(v => ({id: v.id, impact: v.impact, nodes: v.nodes.map(n => n.target.join(" "))}));
    }""")
    return [f"{v['id']} ({v['impact']}): {v['nodes']}" for v in results if v["impact"] in ("serious", "critical")]


async def small_targets(page: Any) -> list[str]:
    """Visible controls smaller than 44 x 44 CSS pixels."""
    return list(await page.evaluate("""() => Array.from(document.querySelectorAll(
            "button, label.tick, textarea, input[type=text]"))
        .filter(el => el.offsetParent !== null)
        .map(el => [el.textContent.trim() || el.tagName, el.getBoundingClientRect()])
        .filter(([, box]) => box.width < 44 || box.height < 44)
        .map(([name, box]) => `${name}: ${Math.round(box.width)}x${Math.round(box.height)}`)"""))


async def test_a_person_completes_a_survey_by_clicking(browser: Any, bot: Bot) -> None:
    survey = bot.app.catalogue.latest("you-said")
    page, problems = await open_page(browser, f"{bot.base}/s/you-said")
    assert await page.get_by_text(notices.YOUNG_PEOPLE_SUMMARY.splitlines()[0]).is_visible()  # the notice first
    await answer_by_clicking(page)  # "Yes, let's start"
    ARTIFACTS.mkdir(exist_ok=True)
    await settle(page)
    await page.screenshot(path=str(ARTIFACTS / "web-question-390x844.png"))
    answered = 0
    while await live_turn(page) is not None:
        if answered == 2:  # the multiple-choice question, at phone width
            await settle(page)
            await page.screenshot(path=str(ARTIFACTS / "web-ticks-390x844.png"))
        await answer_by_clicking(page)
        answered += 1
    assert answered == len(survey.questions)
    assert await page.locator("#chat").get_by_text(survey.thanks.strip().splitlines()[0]).is_visible()
    assert await page.locator("#stop").is_hidden()  # nothing left to stop
    assert count(bot.app, "SELECT count(*) FROM response WHERE completed") == 1
    assert count(bot.app, f"SELECT count(*) FROM answer WHERE value LIKE '%{TYPED}%'") == 1
    assert problems == []  # no script errors and no Content-Security-Policy violations


async def test_a_person_completes_a_survey_with_the_keyboard_alone(browser: Any, bot: Bot) -> None:
    page, problems = await open_page(browser, f"{bot.base}/s/{TEMPLATES[0]}")
    first = await tab_to(page, lambda f: f["tag"] == "a")
    assert first["text"] == words.SKIP_TO_CHAT  # the first stop is the way past the header
    turn = await live_turn(page)
    await tab_to(page, lambda f: f["inQuestion"] and f["value"] == "pick:0")
    await page.keyboard.press("Enter")
    steps = 0
    while True:
        assert turn is not None
        await wait_answered(page, turn)
        turn = await live_turn(page)
        if turn is None:
            break
        now = await focused(page)
        assert now["tag"] == "h2" and now["id"] == f"q{turn}", now  # focus moves to the new question
        form = page.locator(f'.question[data-turn="{turn}"] form')
        if await form.locator('input[type="checkbox"]').count():
            await tab_to(page, lambda f: f["type"] == "checkbox")
            await page.keyboard.press("Space")
            await tab_to(page, lambda f: f["value"] == "done")
        elif await form.locator("textarea, input[type='text']").count():
            await tab_to(page, lambda f: f["tag"] in ("textarea", "input") and f["type"] != "checkbox")
            await page.keyboard.type("3")
            await tab_to(page, lambda f: f["value"] == "send")
        else:
            await tab_to(page, lambda f: f["inQuestion"] and f["value"] == "pick:0")
        await page.keyboard.press("Enter")
        steps += 1
    assert steps >= 8
    thanks = bot.app.catalogue.latest(TEMPLATES[0]).thanks.splitlines()[0]
    assert await page.locator("#chat").get_by_text(thanks).is_visible()
    assert count(bot.app, "SELECT count(*) FROM response WHERE completed") == 1
    assert problems == []


async def test_no_serious_accessibility_problems_on_any_kind_of_screen(browser: Any, bot: Bot) -> None:
    need(AXE.exists(), "axe-core is not installed (npm install --prefix tests/web)")
    # bypass_csp only lets the test inject axe-core; the page itself never needs it (the other tests check that)
    page, _ = await open_page(browser, f"{bot.base}/s/you-said", bypass_csp=True)
    seen: dict[str, list[str]] = {}
    kinds: set[str] = set()
    while True:
        turn = await live_turn(page)
        screen = "finished" if turn is None else await page.locator(
            f'.question[data-turn="{turn}"]').evaluate("""card => card.querySelector("input[type=checkbox]")
                ? "ticks" : card.querySelector("textarea") ? "typed"
                : card.querySelector("progress") ? "buttons" : "consent" """)
        if screen not in kinds:
            kinds.add(screen)
            seen[f"{screen}: axe"] = await axe(page)
            seen[f"{screen}: small targets"] = await small_targets(page)
        if turn is None:
            break
        back = page.locator(f'.question[data-turn="{turn}"] button[value="back"]')
        if "back" not in kinds and await back.count():  # going back shows the answer given before
            await back.click()
            await page.locator(".question form .previous").wait_for()
            kinds.add("back")
            seen["back: axe"] = await axe(page)
            continue
        await answer_by_clicking(page)
    await page.locator("#delete").click()
    await page.get_by_role("button", name=words.DELETE_YES).wait_for()
    seen["delete: axe"] = await axe(page)
    assert kinds == {"consent", "buttons", "back", "ticks", "typed", "finished"}
    assert {name: found for name, found in seen.items() if found} == {}


async def test_a_gentle_reask_is_read_out_and_leaves_focus_where_it_was(browser: Any, bot: Bot) -> None:
    page, problems = await open_page(browser, f"{bot.base}/s/policy-awareness")
    for _ in range(4):  # agree, agency, role, and Yes to "did you know the policy?"
        await answer_by_clicking(page)
    turn = await live_turn(page)
    form = page.locator(f'.question[data-turn="{turn}"] form')
    assert await form.locator('input[type="checkbox"]').count() > 0
    await form.get_by_role("button", name=words.DONE).focus()
    await page.keyboard.press("Enter")  # Done with nothing ticked
    await page.wait_for_function("text => document.getElementById('announce').textContent.includes(text)",
                                 arg=msg.CHOOSE_AT_LEAST_ONE)
    assert (await focused(page))["value"] == "done"  # still on Done: the question is still there to answer
    assert await live_turn(page) == turn
    assert problems == []


async def test_motion_follows_the_reduced_motion_setting(browser: Any, bot: Bot) -> None:
    page, _ = await open_page(browser, f"{bot.base}/s/you-said")
    first = page.locator(".msg").first
    assert await first.evaluate("el => getComputedStyle(el).animationName") == "arrive"
    await page.emulate_media(reduced_motion="reduce")
    assert await first.evaluate("el => getComputedStyle(el).animationName") == "none"


async def test_without_javascript_the_forms_still_take_answers(browser: Any, bot: Bot) -> None:
    context = await browser.new_context(viewport=PHONE, java_script_enabled=False)
    context.set_default_timeout(10_000)
    page = await context.new_page()
    await page.goto(f"{bot.base}/s/you-said")
    assert await page.locator("noscript .note").inner_text() == words.NO_SCRIPT
    await page.get_by_role("button", name=words.START).click()
    await page.get_by_role("button", name=msg.CONSENT_YES).click()
    await page.get_by_role("button", name="4").click()
    await page.locator("#chat").get_by_text("Question 2 of").wait_for()
    await page.get_by_role("button", name=words.SKIP).click()
    await page.locator("#chat").get_by_text("Question 3 of").wait_for()
    assert count(bot.app, "SELECT count(*) FROM answer") == 2


async def test_the_safeguarding_check_in_a_browser(browser: Any, bot: Bot) -> None:
    """A disclosure typed in the free-text box: the gentle check appears with big buttons, is accessible, and "I'd
    like some help" then "Yes, please" asks for a contact in a labelled box; then the survey carries on."""
    need(AXE.exists(), "axe-core is not installed (npm install --prefix tests/web)")

    class Lead:  # the lead's Slack channel or Telegram group, as the alert route sees it
        def __init__(self) -> None:
            self.alerts: list[str] = []

        async def post_alert(self, target: str, text: str, ack_label: str, ack_data: str) -> bool:
            self.alerts.append(text)
            return True

    lead = Lead()
    bot.app.service.alerts.add(lead, "lead")
    page, problems = await open_page(browser, f"{bot.base}/s/you-said", bypass_csp=True)
    while True:
        turn = await live_turn(page)
        assert turn is not None
        form = page.locator(f'.question[data-turn="{turn}"] form')
        if await form.locator("textarea").count():
            break
        await answer_by_clicking(page)
    await form.locator("textarea").fill("my step dad keeps hurtin me")
    await form.get_by_role("button", name=words.SEND).click()
    await page.get_by_role("button", name=msg.CARE_OK).wait_for()
    assert await page.locator("#chat").get_by_text("Childline: call 0800 1111").is_visible()
    assert await live_turn(page) is None  # the next question waits until they choose
    assert await axe(page) == [] and await small_targets(page) == []
    ARTIFACTS.mkdir(exist_ok=True)
    await page.screenshot(path=str(ARTIFACTS / "web-check-390x844.png"))
    await page.get_by_role("button", name=msg.CARE_HELP).click()
    await page.get_by_role("button", name=msg.CARE_YES).click()
    box = page.get_by_label(words.CARE_CONTACT_LABEL)
    await box.fill("my aunt, 07700 900123")
    assert await axe(page) == []
    await page.get_by_role("button", name=msg.CARE_SEND).click()
    await page.locator("#chat").get_by_text("Thank you. We have told").wait_for()
    assert await live_turn(page) is not None  # carried on to the next question
    assert count(bot.app, "SELECT count(*) FROM answer WHERE value LIKE '%hurtin%' OR value LIKE '%07700%'") == 0
    assert "abuse" in lead.alerts[0] and "07700 900123" in lead.alerts[1]
    assert problems == []


def wide_report() -> str:
    """The practitioner survey's report for 400 made-up answers: its tables by agency and role band have up to ten
    columns with long option names, the widest the shipped surveys make."""
    import random
    from datetime import date

    from bot.reporting import html
    from bot.reporting.figures import build_wave
    from bot.reporting.report import Report
    from bot.reporting.tally import add, new_tally
    from bot.services.policy import Thresholds
    from bot.services.surveyfiles import builtin_survey_dir, load_survey_file
    from storage.results import RoundFacts

    survey = load_survey_file(builtin_survey_dir() / "policy-awareness.yaml")
    tally = new_tally(survey.id, 1, [survey])
    rng = random.Random(4)
    for n in range(400):
        answers: dict[str, Any] = {"agency": rng.choice(survey.question("agency").options()),
                                   "role_band": rng.choice(survey.question("role_band").options()),
                                   "aware": rng.choice(["Yes", "Yes", "No"]), "confidence": rng.randint(1, 5)}
        if answers["aware"] == "Yes":
            answers["heard_how"] = rng.sample(survey.question("heard_how").options(), rng.randint(1, 3))
            answers["used"] = rng.choice(survey.question("used").options())
        add(tally, answers, lambda column, n=n: n)
    wave = build_wave(tally, survey, RoundFacts(None, None, None, None, 400, 400, 450, 400), Thresholds(5, 10),
                      locked=True)
    return html.render(Report(wave, date(2026, 3, 3), (1,)))


OVERFLOW = """() => {
  const right = document.querySelector('main').getBoundingClientRect().right + 1;
  return [...document.querySelectorAll('table')]
    .filter(t => t.getBoundingClientRect().right > right
                 || t.parentElement.scrollWidth > t.parentElement.clientWidth + 1)
    .map(t => t.rows[0].innerText.slice(0, 60));
}"""


async def test_the_reports_widest_tables_fit_a_1280_screen_and_an_a4_page(browser: Any, tmp_path: Path) -> None:
    page_file = tmp_path / "report.html"
    page_file.write_text(wide_report(), encoding="utf-8")
    page = await browser.new_page(viewport={"width": 1280, "height": 900})
    await page.goto(page_file.as_uri())
    wide = "[...document.querySelectorAll('table')].filter(t => t.rows[0].cells.length >= 7).length"
    assert await page.evaluate(wide) >= 10
    assert await page.evaluate(OVERFLOW) == []
    assert await page.evaluate("document.documentElement.scrollWidth") <= 1280
    await page.emulate_media(media="print")
    await page.set_viewport_size({"width": 688, "height": 1000})  # A4 less the 14 mm margins: 182 mm
    assert await page.evaluate(OVERFLOW) == []
    assert await page.evaluate("document.documentElement.scrollWidth") <= 688
    pdf = await page.pdf(format="A4", prefer_css_page_size=True)
    assert pdf.startswith(b"%PDF")
    await page.close()
