"""Scale-out on PostgreSQL: two and three real `surveybot run` processes behind a round-robin load balancer, in
Telegram webhook mode against the fake Bot API (harness: tests/processes.py, balancer: tests/fakes/balancer.py).

People answer in parallel, some tapping twice (the two taps reach different processes at once) and some updates are
delivered to two processes at the same moment; a campaign is opened while they answer and the invited contacts
answer too. Then: every answer is stored exactly once, every invitation is sent exactly once and by the one process
that schedules, the audit chain verifies, /metrics adds up across processes, and the logs (JSON) hold no user id,
name, handle, answer text or secret. With three processes, the scheduling process is killed with SIGKILL and
another takes over within the documented bound (SURVEYBOT_LEADER_RETRY_SECONDS) and sends the next campaign.
"""

from __future__ import annotations

import asyncio
import signal
import time
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import aiohttp
import pytest
from sqlalchemy import text

from bot.app import App, build
from bot.cli import parser
from bot.config import Settings
from bot.engine import messages as msg
from bot.services.audit import verify

from .conftest import drop_postgres, postgres_url
from .fakes.balancer import LoadBalancer
from .fakes.telegram_api import FakeTelegram
from .processes import (
    PEPPER,
    QUESTIONS,
    SECRET_TOKEN,
    SURVEY_ID,
    BotProcess,
    Respondent,
    bot_env,
    invitations,
    json_lines,
    metric_sum,
    stop_all,
    surveybot,
    thanks_count,
    wait_all_ready,
    wait_for_one_leader,
)

LONDON = ZoneInfo("Europe/London")
DB_PASSWORD = "db-password-not-to-be-logged-4471"
RETRY = 1  # SURVEYBOT_LEADER_RETRY_SECONDS in bot_env
TAKEOVER_SLACK = 5.0  # a loaded CI machine: scheduling jobs and HTTP polls run late, never by more than this


@pytest.fixture
def pg_url() -> Iterator[str]:
    url = postgres_url()
    if url is None:
        pytest.skip("no PostgreSQL server reachable: several processes need a shared PostgreSQL")
    try:
        # trust authentication ignores the password; it is here so the log test can look for it
        yield url.replace("postgres@", f"postgres:{DB_PASSWORD}@", 1)
    finally:
        drop_postgres(url)


def in_process_app(env: dict[str, str]) -> App:
    """The business unit's commands run in this process (the same code as the CLI), to keep the test quick."""
    return build(Settings.from_env(env), migrate=False)


def command(app: App, *argv: str) -> None:
    from bot.cli import campaign as campaign_commands

    assert campaign_commands.run(app, parser().parse_args(list(argv))) == 0


def count(app: App, sql: str) -> int:
    with app.engine.connect() as connection:
        return int(connection.execute(text(sql)).scalar() or 0)


def moment(at: datetime) -> str:
    return at.astimezone(LONDON).strftime("%Y-%m-%d %H:%M")


async def invited_contacts(fake: FakeTelegram, app: App, code: str, timeout: float = 30) -> int:
    """Wait until every invitation planned for `code` is marked sent; returns how many were planned."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        planned = count(app, f"SELECT count(*) FROM outbox o JOIN campaign c ON c.id = o.campaign_id "
                             f"WHERE c.code = '{code}' AND o.step = 'invite'")
        pending = count(app, f"SELECT count(*) FROM outbox o JOIN campaign c ON c.id = o.campaign_id "
                             f"WHERE c.code = '{code}' AND o.status = 'pending'")
        if planned and not pending:
            return planned
        await asyncio.sleep(0.1)
    raise AssertionError(f"the invitations of {code} were not all sent in {timeout}s")


async def take_invitation(person: Respondent, code: str) -> None:
    """An invited contact presses Start on the invitation and answers the survey."""
    fake = person.fake
    while True:
        message = await fake.next_message(person.user_id, timeout=30)
        if invitations_in(message, code):
            break
    fake.user_clicks(person.user_id, message, msg.START)
    consent = await person._wait_for(lambda m: m.get("text") == msg.CONSENT_QUESTION, 30)
    fake.user_clicks(person.user_id, consent, msg.CONSENT_YES)
    asked = 0
    while True:
        message = await person._wait_for(lambda m: m.get("text", "").startswith("(")
                                         or m.get("text", "").strip() == "Thank you, that is everything.", 30)
        if message.get("text", "").strip() == "Thank you, that is everything.":
            return
        asked += 1
        await person.answer(message, asked)


def invitations_in(message: dict, code: str) -> bool:
    rows = (message.get("reply_markup") or {}).get("inline_keyboard", [])
    return any(b.get("callback_data") == f"go:{code}" for row in rows for b in row)


async def scenario(tmp_path: Path, pg_url: str, processes: int, *, migrate_first: bool, kill_leader: bool) -> None:
    respondents, contacts_only = (12, 6) if processes == 2 else (15, 6)
    async with FakeTelegram(parallel_webhook=True) as fake:
        balancer = LoadBalancer([], duplicate_every=5)
        await balancer.start()
        env = bot_env(tmp_path, pg_url, fake, balancer.webhook_url,
                      SURVEYBOT_AUTO_MIGRATE="false" if migrate_first else "true")
        if migrate_first:  # as compose and the systemd unit do: migrate once, then start the processes
            upgraded = await asyncio.to_thread(surveybot, env, "db", "upgrade")
            assert upgraded.returncode == 0, upgraded.stderr
        bots = [BotProcess(f"bot{i + 1}", env, tmp_path) for i in range(processes)]
        balancer.backends = bots
        for bot in bots:  # all at once: on an empty database they also migrate at once (kill_leader's run)
            bot.start()
        app: App | None = None
        try:
            async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=30)) as http:
                await wait_all_ready(bots, http)
                first_leader, _ = await wait_for_one_leader(bots, http)
                app = await asyncio.to_thread(in_process_app, env)
                bot_id = fake.token.split(":")[0]
                people = [Respondent(fake, 7_310_000 + i, double_tap=i % 3 == 0) for i in range(respondents)]
                invitees = [Respondent(fake, 7_320_000 + i) for i in range(contacts_only)]
                csv = tmp_path / "people.csv"
                csv.write_text("who,tags\n" + "".join(f"telegram:{bot_id}:{p.user_id},staff\n" for p in invitees))
                now = datetime.now(LONDON)
                await asyncio.to_thread(command, app, "contacts", "import", str(csv))
                await asyncio.to_thread(command, app, "campaign", "create", "autumn", "--survey", SURVEY_ID,
                                        "--opens", moment(now + timedelta(days=1)), "--closes",
                                        moment(now + timedelta(days=8)), "--reminders", "", "--quiet-hours", "none")

                answering = [asyncio.create_task(p.take_survey()) for p in people]
                await asyncio.sleep(0.5)  # they are under way: open the campaign in the middle of it
                await asyncio.to_thread(command, app, "campaign", "open", "autumn")
                taking = [asyncio.create_task(take_invitation(p, "autumn")) for p in invitees]
                await asyncio.wait_for(asyncio.gather(*answering, *taking), 90)
                planned = await invited_contacts(fake, app, "autumn")

                everyone = people + invitees
                finished = len(everyone)
                assert count(app, "SELECT count(*) FROM response WHERE completed") == finished
                assert count(app, "SELECT count(*) FROM answer") == finished * QUESTIONS
                assert count(app, "SELECT count(*) FROM (SELECT response_id, question_id FROM answer GROUP BY "
                                  "response_id, question_id HAVING count(*) > 1) twice") == 0
                assert all(thanks_count(fake, p.user_id) == 1 for p in everyone), "each person finished once"
                # each invitation once: every contact planned got exactly one, and nobody got one unplanned
                assert planned >= contacts_only
                sent = {uid: invitations(fake, uid, "autumn") for uid in {p.user_id for p in everyone}}
                assert all(sent[p.user_id] == 1 for p in invitees)
                assert sum(sent.values()) == planned and set(sent.values()) <= {0, 1}
                assert count(app, "SELECT count(*) FROM outbox WHERE status <> 'sent'") == 0

                # /metrics, summed over the processes, agrees with the database; only the leader sent invitations
                answers = await metric_sum(bots, http, 'surveybot_answers_stored_total{channel="telegram"}')
                assert answers == finished * QUESTIONS
                sample = 'surveybot_broadcast_messages_total{channel="telegram",outcome="sent"}'
                assert (await first_leader.metrics(http))[sample] == planned
                assert await metric_sum(bots, http, sample) == planned
                assert await metric_sum(bots, http, 'surveybot_duplicate_events_total{channel="telegram"}') \
                    == balancer.duplicated > 0
                assert await metric_sum(bots, http, "surveybot_answer_seconds_count{channel=\"telegram\"}") > 0
                assert all(balancer.forwarded.get(b.name, 0) > 0 for b in bots), balancer.forwarded

                if kill_leader:
                    await kill_the_scheduler(fake, app, bots, first_leader, everyone, http)

                verdict = await asyncio.to_thread(verify, app.store, app.keys, None)
                assert verdict.ok, verdict.summary()
        finally:
            codes = await asyncio.to_thread(stop_all, bots)
            await balancer.close()
            if app is not None:
                app.engine.dispose()
        assert codes == [-signal.SIGKILL if bot.kills else 0 for bot in bots], "the others stop cleanly on SIGTERM"
        logs_hold_nothing_personal(bots, everyone)


async def kill_the_scheduler(fake: FakeTelegram, app: App, bots: list[BotProcess], leader: BotProcess,
                             everyone: list[Respondent], http: aiohttp.ClientSession) -> None:
    """SIGKILL the scheduling process; another takes over within the bound and sends the next campaign."""
    leader.kill()
    survivors = [b for b in bots if b is not leader]
    successor, waited = await wait_for_one_leader(survivors, http, timeout=RETRY + TAKEOVER_SLACK + 10)
    assert waited <= RETRY + TAKEOVER_SLACK, f"takeover took {waited:.1f}s; the bound is {RETRY}s"
    # the survivors still take answers behind the balancer, which skips the dead process
    late = [Respondent(fake, 7_330_000 + i) for i in range(4)]
    await asyncio.wait_for(asyncio.gather(*(p.take_survey() for p in late)), 60)
    now = datetime.now(LONDON)
    await asyncio.to_thread(command, app, "campaign", "create", "winter", "--survey", SURVEY_ID, "--opens",
                            moment(now - timedelta(minutes=1)), "--closes", moment(now + timedelta(days=8)),
                            "--reminders", "", "--quiet-hours", "none", "--tags", "staff")
    planned = await invited_contacts(fake, app, "winter")
    staff = [p for p in everyone if p.user_id >= 7_320_000]
    assert planned == len(staff)
    assert all(invitations(fake, p.user_id, "winter") == 1 for p in staff)
    sample = 'surveybot_broadcast_messages_total{channel="telegram",outcome="sent"}'
    assert (await successor.metrics(http)).get(sample, 0) == planned
    everyone.extend(late)


def logs_hold_nothing_personal(bots: list[BotProcess], people: list[Respondent]) -> None:
    """Every line is JSON; no user id, name, handle, typed answer or secret appears anywhere in any process's log."""
    combined = ""
    for bot in bots:
        text = bot.logs()
        assert text.strip(), f"{bot.name} logged nothing"
        lines = json_lines(text)
        assert all({"time", "level", "logger", "message"} <= set(line) for line in lines)
        combined += text
    assert "this process now schedules campaigns" in combined
    forbidden = [PEPPER, SECRET_TOKEN, DB_PASSWORD, "FAKE-telegram-token", "Alexandra", "zebra"]
    for person in people:
        forbidden += [str(person.user_id), f"handle{person.user_id}"]
    for value in forbidden:
        assert value not in combined, f"{value!r} reached the logs"


async def test_two_processes_share_answers_and_one_broadcast(tmp_path: Path, pg_url: str) -> None:
    await scenario(tmp_path, pg_url, 2, migrate_first=True, kill_leader=False)


async def test_three_processes_and_the_scheduler_killed_hands_over(tmp_path: Path, pg_url: str) -> None:
    await scenario(tmp_path, pg_url, 3, migrate_first=False, kill_leader=True)
