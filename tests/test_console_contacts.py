"""The console's Contacts section over real HTTP (issue 22): a CSV imported by upload exactly as `surveybot contacts
import` does it (all or nothing, a bad line named by file:line), the list by channel, tag and opt-out without a
platform id, email address or name anywhere, tags changed and audited, and the scrutineer refused and audited. On
SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import tempfile
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import text

from bot.services import contact_book
from bot.services.roles import Role

from .conftest import Clock
from .consolekit import Browser, RunningConsole, running_console
from .consolekit import chromium as consolekit_chromium
from .stored import audited

BOT = "5550001112"
TYPED = ("846213579", "priya.shah", "school-a.example.org", "T0ABCDEF1", "U0XYZ9876", "jo.bloggs", "bad.example.org",
         "771100442")
GOOD = (f"who,tags\n"
        f"telegram:{BOT}:846213579,year9;school-a\n"
        "email:Priya.Shah@school-a.example.org,year9\n"
        "slack:T0ABCDEF1:U0XYZ9876,staff\n"
        f"telegram:{BOT}:771100442,\n")
BAD = ("who,tags\n"
       f"telegram:{BOT}:846213579,year9\n"
       "email:jo.bloggs@@bad.example.org,year9\n"
       "email:priya.shah@school-a.example.org,year10\n")


@pytest.fixture
def uploads(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Where the server writes an upload for the import (tempfile's folder, in this process): empty again after."""
    folder = tmp_path / "uploads"
    folder.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(folder))
    return folder


@pytest.fixture
async def site(tmp_path: Path, database_url: str, clock: Clock, uploads: Path) -> AsyncIterator[RunningConsole]:
    async with running_console(tmp_path / "data", database_url, clock) as started:
        yield started


@pytest.fixture
async def admin(site: RunningConsole) -> AsyncIterator[Browser]:
    browser = await site.signed_in("console:ada", Role.ADMIN)
    yield browser
    await browser.close()


def upload(content: bytes | str, name: str = "people.csv") -> aiohttp.FormData:
    form = aiohttp.FormData()
    form.add_field("file", content.encode() if isinstance(content, str) else content, filename=name,
                   content_type="text/csv")
    return form



def contacts_stored(site: RunningConsole) -> int:
    with site.app.engine.connect() as connection:
        return int(connection.execute(text("SELECT count(*) FROM contact")).scalar_one())


def left_of_uploads(uploads: Path) -> list[Path]:
    """The upload copies still in the temporary folder (Jinja2 keeps its compiled templates there too, by design)."""
    return [path for path in uploads.iterdir() if path.name.startswith("surveybot-contacts-")]


def no_address_in(page: str) -> None:
    lowered = page.lower()
    for typed in TYPED:
        assert typed.lower() not in lowered, f"{typed} is on the page"


async def test_an_upload_is_imported_as_the_command_does_and_no_address_is_ever_shown(
        site: RunningConsole, admin: Browser, uploads: Path) -> None:
    page = await admin.get("/admin/contacts")
    assert "There are no contacts yet" in page and 'enctype="multipart/form-data"' in page
    response = await admin.post("/admin/contacts/import", upload(GOOD))
    assert response.headers["Location"] == "/admin/contacts?done=imported&rows=4&new=4"
    assert left_of_uploads(uploads) == []  # the owner-only copy is gone
    assert audited(site.app, "contacts.imported") == [{"rows": 4, "new": 4}]
    assert contacts_stored(site) == 4

    pages = [await admin.get("/admin/contacts?done=imported&rows=4&new=4")]
    assert "Imported 4 contact(s): 4 new, 0 updated." in pages[0]
    assert "4 contacts." in pages[0] and "0 opted out" in pages[0]
    for label in ("Telegram", "Email", "Slack"):
        assert f"<td>{label}</td>" in pages[0]
    assert 'href="/admin/contacts?tag=year9">year9</a></td><td class="number">2</td>' in pages[0]
    assert 'href="/admin/contacts?tag=staff">staff</a></td><td class="number">1</td>' in pages[0]
    for number in range(1, 5):
        assert f'<a href="/admin/contacts/{number}">Contact {number}</a>' in pages[0]
        pages.append(await admin.get(f"/admin/contacts/{number}"))
    pages.append(await admin.get("/admin/contacts?tag=year9"))
    assert "Contacts tagged year9" in pages[-1] and "Contact 3<" not in pages[-1]
    for shown in pages:
        no_address_in(shown)

    # The same file again: nobody new, the tags kept (as the command line would say).
    await admin.post("/admin/contacts/import", upload(GOOD, "again.csv"), on="/admin/contacts")
    page = await admin.get("/admin/contacts?done=imported&rows=4&new=0")
    assert "Imported 4 contact(s): 0 new, 4 updated." in page and contacts_stored(site) == 4


async def test_one_bad_line_is_named_by_file_and_line_and_nothing_is_imported(
        site: RunningConsole, admin: Browser, uploads: Path) -> None:
    await admin.get("/admin/contacts")
    await admin.post("/admin/contacts/import", upload(BAD, "Year 9 list.csv"), status=400)
    page = admin.last
    assert "Nothing was imported" in page
    assert "Year 9 list.csv:3: the who: the value is not the name part of an email address" in page
    assert "surveybot-contacts" not in page and "contacts.csv" not in page  # never the temporary file
    no_address_in(page)
    assert contacts_stored(site) == 0 and audited(site.app, "contacts.imported") == []
    assert left_of_uploads(uploads) == []

    await admin.post("/admin/contacts/import", upload("who,tags\n" + f"telegram:{BOT}:846213579,Year 9!\n"),
                     on="/admin/contacts", status=400)
    assert "people.csv:2: tags: the value is not a tag (lower case letters, digits, - and _)" in admin.last
    await admin.post("/admin/contacts/import", upload("name,tags\n"), on="/admin/contacts", status=400)
    assert "people.csv:1: the first line should name the columns: who,tags" in admin.last
    await admin.post("/admin/contacts/import", upload(b"who,tags\n\xff\xfe,x\n"), on="/admin/contacts", status=400)
    assert "people.csv:2: not UTF-8 text (save the file as CSV UTF-8)" in admin.last
    await admin.post("/admin/contacts/import", upload("who,tags\nemail:a`b@example.org,`x`\n"), on="/admin/contacts",
                     status=400)
    assert "people.csv:2: this line could not be used" in admin.last and "a`b" not in admin.last
    form = aiohttp.FormData()
    form.add_field("file", b"", filename="", content_type="application/octet-stream")
    await admin.post("/admin/contacts/import", form, on="/admin/contacts", status=400)
    assert "Contacts file: choose a CSV file to import." in admin.last
    big = "who,tags\n" + "".join(f"telegram:{BOT}:{100000 + n},year9\n" for n in range(40_000))  # 1.3 MB
    await admin.post("/admin/contacts/import", upload(big), on="/admin/contacts", status=413)
    assert "more than the console takes at once (1 MB)" in admin.last
    assert contacts_stored(site) == 0 and left_of_uploads(uploads) == []


async def test_tags_change_on_one_contact_and_the_change_is_audited(site: RunningConsole, admin: Browser) -> None:
    await admin.get("/admin/contacts")
    await admin.post("/admin/contacts/import", upload(GOOD))
    page = await admin.get("/admin/contacts/1")
    assert "year9, school-a" in page and 'name="add"' in page and 'for="remove"' in page
    response = await admin.post("/admin/contacts/1/tags", {"add": "year10, School-B", "remove": "year9"})
    assert response.headers["Location"] == "/admin/contacts/1?done=tagged"
    page = await admin.get("/admin/contacts/1?done=tagged")
    assert "Tags saved." in page and "school-a, school-b, year10" in page
    assert audited(site.app, "contact.tagged") == [{"contact": 1, "add": ["year10", "school-b"], "remove": ["year9"]}]
    assert contact_book.list_contacts(site.app, "year9")[0]["id"] == 2

    await admin.post("/admin/contacts/1/tags", {"add": "priya.shah@school-a.example.org", "remove": "staff"},
                     status=400)
    assert "Tags to add: the value is not a tag" in admin.last and 'value="staff"' in admin.last
    assert 'href="#add"' in admin.last and admin.last.count('aria-invalid="true"') == 1
    no_address_in(admin.last)
    await admin.post("/admin/contacts/1/tags", {"add": "", "remove": ""}, on="/admin/contacts/1", status=400)
    assert "type a tag to add, or one to remove" in admin.last
    await admin.post("/admin/contacts/99/tags", {"add": "x"}, on="/admin/contacts/1", status=404)
    await admin.get("/admin/contacts/99", status=404)
    assert len(audited(site.app, "contact.tagged")) == 1


async def test_a_scrutineer_is_refused_contacts_and_the_refusal_is_audited(site: RunningConsole) -> None:
    scrutineer = await site.signed_in("console:sam", Role.SCRUTINEER)
    try:
        home = await scrutineer.get("/admin")
        assert 'href="/admin/contacts"' not in home
        await scrutineer.get("/admin/contacts", status=403)
        assert "Not for your role" in scrutineer.last
        await scrutineer.get("/admin/contacts/1", status=403)
        await scrutineer.post("/admin/contacts/import", upload(GOOD), on="/admin", status=403)
        await scrutineer.post("/admin/contacts/1/tags", {"add": "x"}, on="/admin", status=403)
    finally:
        await scrutineer.close()
    refused = audited(site.app, "console.refused")
    assert [(r["page"], r["needs"]) for r in refused] == [
        ("/admin/contacts", "change contacts"), ("/admin/contacts/{contact}", "change contacts"),
        ("/admin/contacts/import", "change contacts"), ("/admin/contacts/{contact}/tags", "change contacts")]
    assert all(len(r["who"]) >= 16 and "sam" not in r["who"] for r in refused)
    assert contacts_stored(site) == 0


async def test_paging_and_opt_outs(site: RunningConsole, admin: Browser) -> None:
    rows = "".join(f"telegram:{BOT}:{100000 + n},{'odd' if n % 2 else 'even'}\n" for n in range(230))
    await admin.get("/admin/contacts")
    await admin.post("/admin/contacts/import", upload("who,tags\n" + rows))
    with site.app.engine.begin() as connection:  # as /stop or an email's unsubscribe link would
        chosen = [row[0] for tags, many in (('["odd"]', 2), ('["even"]', 1)) for row in connection.execute(
            text("SELECT id FROM contact WHERE tags = :tags ORDER BY id LIMIT :many"), {"tags": tags, "many": many})]
        connection.execute(text("UPDATE contact SET opted_out = :yes WHERE id IN (:a, :b, :c)"),
                           {"yes": True, "a": chosen[0], "b": chosen[1], "c": chosen[2]})
    page = await admin.get("/admin/contacts")
    assert "230 contacts." in page and "3 opted out" in page and "Page 1 of 3 (230 contacts)" in page
    assert 'href="/admin/contacts?tag=even">even</a></td><td class="number">115</td><td class="number">1</td>' in page
    assert 'href="/admin/contacts?tag=odd">odd</a></td><td class="number">115</td><td class="number">2</td>' in page
    assert "yes: they asked to hear no more" in await admin.get(f"/admin/contacts/{chosen[0]}")
    page = await admin.get("/admin/contacts?page=2&tag=odd")
    assert "Page 2 of 2 (115 contacts)" in page and "Previous page" in page and "Next page" not in page
    await admin.get("/admin/contacts?page=4", status=404)
    await admin.get("/admin/contacts?page=x", status=400)
    await admin.get("/admin/contacts?tag=%3Cb%3E", status=400)


# --- whatever bytes are uploaded, the answer is a page, never a failure -------------------------------------------

LINES = st.lists(st.one_of(
    st.just(f"telegram:{BOT}:846213579,year9"), st.just("email:priya.shah@school-a.example.org,"),
    st.text(max_size=40), st.from_regex(r"[a-z]{1,8}:[^,\n]{0,20},[a-z0-9;, ]{0,12}", fullmatch=True)), max_size=6)
BYTES = st.one_of(st.binary(max_size=400),
                  LINES.map(lambda lines: "\n".join(["who,tags", *lines]).encode("utf-8", "surrogatepass")),
                  st.tuples(st.sampled_from([b"who,tags\n", b"\xef\xbb\xbfwho,tags\r\n", b"tags,who\n"]),
                            st.binary(max_size=200)).map(b"".join))


@settings(max_examples=60, suppress_health_check=[HealthCheck.function_scoped_fixture], deadline=None)
@given(content=BYTES, name=st.one_of(st.text(st.characters(exclude_categories=("Cc", "Cs")), max_size=30),
                                     st.sampled_from(["%0A%22x.csv", "..\\..\\a.csv", "%ZZ%", "/etc/passwd"])))
async def test_any_uploaded_bytes_get_a_page_never_a_failure(admin: Browser, uploads: Path, content: bytes,
                                                            name: str) -> None:
    form = aiohttp.FormData()
    form.add_field("file", content, filename=name or "x.csv", content_type="text/csv")
    page = await admin.get("/admin/contacts")
    form.add_field("csrf", admin.csrf(page))
    async with admin.session.post(f"{admin.base}/admin/contacts/import", data=form,
                                  allow_redirects=False) as response:
        body = await response.text()
        assert response.status in (303, 400), (response.status, body[:500])
    assert "surveybot-contacts" not in body and "Something went wrong" not in body
    assert left_of_uploads(uploads) == []


# --- in Chromium, by keyboard alone, at phone size; axe on every page of the three sections -------------------------

async def test_contacts_import_by_keyboard_in_chromium_and_axe_finds_nothing(
        site: RunningConsole, tmp_path: Path) -> None:
    from .test_console_safeguarding import young_person_discloses
    from .test_web_browser import ARTIFACTS, PHONE, axe, focused, tab_to

    good, bad = tmp_path / "people.csv", tmp_path / "broken.csv"
    good.write_text(GOOD)
    bad.write_text(BAD)
    for role in (Role.ADMIN, Role.SAFEGUARDING_LEAD):
        site.grant(role, "console:ada")
    await young_person_discloses(site)

    async with consolekit_chromium() as chromium:
        # bypass_csp only lets the test inject axe-core; the same pages are then loaded under the CSP below
        context = await chromium.new_context(viewport=PHONE, bypass_csp=True)
        context.set_default_timeout(10_000)
        page = await context.new_page()
        problems: list[str] = []
        page.on("console", lambda message: problems.append(message.text) if message.type == "error" else None)
        page.on("pageerror", lambda error: problems.append(str(error)))
        # listening from the start turns on Playwright's interception of file pickers before one is opened
        # (expect_file_chooser turns it on only as the key is pressed, and sometimes misses the picker)
        choosers: asyncio.Queue[Any] = asyncio.Queue()
        page.on("filechooser", choosers.put_nowait)
        found: dict[str, list[str]] = {}

        async def check(name: str) -> None:
            found[name] = await axe(page)
            width = await page.evaluate("() => document.documentElement.scrollWidth")
            assert width <= PHONE["width"], f"{name} is {width}px wide"
            no_address_in(await page.content())

        async def press(wanted: Any) -> None:
            await tab_to(page, wanted, limit=60)
            async with page.expect_navigation():
                await page.keyboard.press("Enter")

        await page.goto(f"{site.base}/admin/signin/{site.link('console:ada')}")
        await press(lambda now: now["text"] == "Sign in")
        await press(lambda now: now["tag"] == "a" and now["text"] == "Contacts")
        assert await page.get_by_role("heading", name="Contacts", level=1).is_visible()
        await check("contacts, empty")

        async def choose(path: Path) -> None:
            await tab_to(page, lambda now: now["id"] == "file", limit=60)
            await page.keyboard.press("Space")  # opens the file picker, which the test answers
            chooser = await asyncio.wait_for(choosers.get(), 10)
            await chooser.set_files(str(path))

        await choose(bad)
        await press(lambda now: now["text"] == "Import contacts")
        assert await page.get_by_text("broken.csv:3: the who: the value is not the name part").is_visible()
        await check("contacts, a bad line")
        assert contacts_stored(site) == 0

        await choose(good)
        await press(lambda now: now["text"] == "Import contacts")
        assert await page.get_by_text("Imported 4 contact(s): 4 new, 0 updated.").is_visible()
        ARTIFACTS.mkdir(exist_ok=True)
        await page.screenshot(path=str(ARTIFACTS / "console-contacts-390x844.png"), full_page=True)
        await check("contacts, imported")

        await press(lambda now: now["tag"] == "a" and now["text"] == "Contact 1")
        await tab_to(page, lambda now: now["id"] == "add")
        await page.keyboard.type("year10")
        async with page.expect_navigation():
            await page.keyboard.press("Enter")  # Enter in a field sends its form
        assert await page.get_by_text("Tags saved.").is_visible()
        await check("a contact")
        assert (await focused(page))["tag"] in ("body", "main", "a")

        await page.goto(f"{site.base}/admin/safeguarding")
        await check("safeguarding, an alert waiting")
        await press(lambda now: now["text"] == "Acknowledge")
        assert await page.get_by_text("Every alert is acknowledged.").is_visible()
        await check("safeguarding, acknowledged")

        await page.goto(f"{site.base}/admin/audit")
        assert await page.get_by_text("Verified.").is_visible()
        await check("audit")
        strict = await chromium.new_context(viewport=PHONE, storage_state=await context.storage_state())
        await context.close()
        page = await strict.new_page()  # under the real CSP, no page breaks it (no inline script or style)
        page.on("console", lambda message: problems.append(message.text) if message.type == "error" else None)
        for path in ("/admin/contacts", "/admin/contacts/1", "/admin/safeguarding", "/admin/audit"):
            await page.goto(f"{site.base}{path}")
            assert await page.locator("h1").is_visible()
        await strict.close()
    assert {name: issues for name, issues in found.items() if issues} == {}
    # the bad import's 400 and the browser's own favicon request are expected; a CSP violation or script error is not
    assert [p for p in problems if not p.startswith("Failed to load resource")] == [], problems
