"""The console's Safeguarding section over real HTTP (issue 22): an alert raised by a young person typing a disclosure
in the web chat appears for the safeguarding lead, with nothing of the words; Acknowledge there is the chat button's
own use case and audit record; anyone without the safeguarding-lead role is refused and audited. On SQLite and
PostgreSQL."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from bot.services.audit import verify
from bot.services.roles import Role

from .conftest import Clock
from .consolekit import RunningConsole, running_console
from .stored import audited

DISCLOSURE = "my step dad keeps hurtin me and i dont want 2 go home xq7"
TODAY = Clock().now.date()  # the injected clock's day (tests/conftest.py)
SHOWN = f"{TODAY.day} {TODAY:%B %Y}"  # as the page shows it


@pytest.fixture
async def site(tmp_path: Path, database_url: str, clock: Clock) -> AsyncIterator[RunningConsole]:
    async with running_console(tmp_path / "data", database_url, clock) as started:
        yield started



async def young_person_discloses(site: RunningConsole, words: str = DISCLOSURE) -> list[dict[str, Any]]:
    """A young person opens the web chat's young people's survey and types a disclosure instead of answering."""
    url = f"{site.base}/s/you-said/api"
    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as session:
        async with session.post(url, json={"type": "open"}) as response:
            assert response.status == 200, await response.text()
            asked = next(e for e in (await response.json())["effects"] if e["type"] == "ask")
        async with session.post(url, json={"type": "reply", "turn": asked["turn"], "text": words}) as response:
            assert response.status == 200, await response.text()
            effects: list[dict[str, Any]] = (await response.json())["effects"]
    assert any(e["type"] == "check" for e in effects)  # the gentle check: "Are you OK?"
    return effects


async def test_the_lead_sees_an_alert_from_the_web_chat_and_acknowledges_it(site: RunningConsole) -> None:
    lead = await site.signed_in("console:lee", Role.SAFEGUARDING_LEAD)
    try:
        page = await lead.get("/admin/safeguarding")
        assert "No alert has been raised." in page and "Alerts are not reaching a chat" in page
        await young_person_discloses(site)
        (raised,) = audited(site.app, "safeguarding.alert")
        ref = raised["alert"]
        assert raised == {"alert": ref, "category": "abuse", "consent": False}

        page = await lead.get("/admin/safeguarding")
        assert f"<code>{ref}</code>" in page and "<td>abuse</td>" in page and f"<td>{SHOWN}</td>" in page
        assert f'name="alert" value="{ref}"' in page and f'aria-label="Acknowledge alert {ref}"' in page
        assert "1 waiting to be acknowledged, of 1 raised." in page
        for trace in ("hurtin", "step dad", "xq7"):
            assert trace not in page

        response = await lead.post("/admin/safeguarding/acknowledge", {"alert": ref})
        assert response.headers["Location"] == f"/admin/safeguarding?done=acknowledged&alert={ref}"
        page = await lead.get(response.headers["Location"])
        assert f"Alert {ref} is acknowledged." in page and 'name="alert"' not in page
        assert re.search(rf"<code>{ref}</code>.*?<td>\s*{SHOWN}\s*</td>\s*</tr>", page, re.S)
        assert "Every alert is acknowledged." in page
        assert audited(site.app, "safeguarding.acknowledged") == [{"alert": ref}]

        # The same form again (a second tab, or Back then send): nothing more is recorded.
        response = await lead.post("/admin/safeguarding/acknowledge", {"alert": ref}, on="/admin/safeguarding")
        page = await lead.get(response.headers["Location"])
        assert "That alert is not known, or it was acknowledged already." in page
        await lead.post("/admin/safeguarding/acknowledge", {"alert": "not-a-ref<b>"}, on="/admin/safeguarding",
                        status=400)
        await lead.post("/admin/safeguarding/acknowledge", {"alert": "0123456789ab"}, on="/admin/safeguarding")
        assert lead.last == "" and audited(site.app, "safeguarding.acknowledged") == [{"alert": ref}]
    finally:
        await lead.close()

    admin = await site.signed_in("console:ada", Role.ADMIN)  # the audit page shows the acknowledgement
    try:
        page = await admin.get("/admin/audit")
        assert "Verified." in page
        assert re.search(rf"safeguarding\.acknowledged</td>.*?alert:</span> <span class=\"audit-text\">{ref}<", page,
                         re.S)
    finally:
        await admin.close()
    assert verify(site.app.store, site.app.keys).ok


async def test_an_admin_without_the_lead_role_is_refused_and_audited(site: RunningConsole) -> None:
    await young_person_discloses(site)
    (raised,) = audited(site.app, "safeguarding.alert")
    admin = await site.signed_in("console:ada", Role.ADMIN, Role.SCRUTINEER)
    try:
        home = await admin.get("/admin")
        assert 'href="/admin/safeguarding"' not in home
        page = await admin.get("/admin/safeguarding", status=403)
        assert "Not for your role" in page and "safeguarding-lead" in page and raised["alert"] not in page
        await admin.post("/admin/safeguarding/acknowledge", {"alert": raised["alert"]}, on="/admin", status=403)
    finally:
        await admin.close()
    refused = audited(site.app, "console.refused")
    assert [(r["page"], r["needs"]) for r in refused] == [
        ("/admin/safeguarding", "receive safeguarding alerts"),
        ("/admin/safeguarding/acknowledge", "receive safeguarding alerts")]
    assert audited(site.app, "safeguarding.acknowledged") == []


async def test_grouped_and_named_alerts_follow_the_chat_buttons_rules(site: RunningConsole) -> None:
    """A grouped message's acknowledgement covers the anonymous alerts it carried; a young person's yes after their
    alert was acknowledged is news, so it waits for a new press, which the console's button makes."""
    with site.app.store.unit() as uow:  # the records the service writes (bot.services.care)
        for ref, consent in (("aaaaaaaaaaa1", False), ("bbbbbbbbbbb2", False), ("ccccccccccc3", False)):
            uow.audit("safeguarding.alert", {"alert": ref, "category": "self-harm", "consent": consent}, TODAY)
        uow.audit("safeguarding.grouped", {"alert": "ddddddddddd4", "alerts": ["bbbbbbbbbbb2"]}, TODAY)
        uow.audit("safeguarding.acknowledged", {"alert": "ddddddddddd4"}, TODAY)
        uow.audit("safeguarding.acknowledged", {"alert": "ccccccccccc3"}, TODAY)
        uow.audit("safeguarding.alert", {"alert": "ccccccccccc3", "category": "self-harm", "consent": True}, TODAY)
    lead = await site.signed_in("console:lee", Role.SAFEGUARDING_LEAD)
    try:
        page = await lead.get("/admin/safeguarding")
        waiting = set(re.findall(r'name="alert" value="([0-9a-f]+)"', page))
        assert waiting == {"aaaaaaaaaaa1", "ccccccccccc3"}
        assert "sent in the grouped message <code>ddddddddddd4</code>" in page
        assert "2 waiting to be acknowledged, of 3 raised." in page
        assert page.index("ccccccccccc3") < page.index("bbbbbbbbbbb2") < page.index("aaaaaaaaaaa1")  # newest first
        await lead.post("/admin/safeguarding/acknowledge", {"alert": "ccccccccccc3"})
        page = await lead.get("/admin/safeguarding")
        assert set(re.findall(r'name="alert" value="([0-9a-f]+)"', page)) == {"aaaaaaaaaaa1"}
    finally:
        await lead.close()
    assert audited(site.app, "safeguarding.acknowledged")[-1] == {"alert": "ccccccccccc3", "named": True}
