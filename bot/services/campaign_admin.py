"""Campaigns: create, open, close and remind now, and each one's schedule and live status with small counts hidden.

The use cases behind `surveybot campaign ...` (bot/cli/campaign.py parses and prints) and the campaign commands
typed in chat (bot.services.chat_admin). The running bot (`surveybot run`) does the sending: these only change the
tables it reads, so a campaign created here is picked up by the bot's next sweep (within 30 seconds).
"""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta
from typing import Any

from bot.services.broadcast import Broadcaster, last_day
from bot.services.campaigns import Rules, as_zone, current_wave, rules_of, steps, window
from bot.services.contact_book import CHANNELS, CampaignError, parse_tags
from bot.services.core import Core
from bot.services.disclosure import Cell, percentage, suppress_counts
from bot.services.round_status import (
    COMPLETED,
    NOT_COMPLETED,
    NOT_RESPONDED,
    RESPONDED,
    Breakdown,
    round_status,
    suppress_parts,
)
from bot.services.round_status import render as status_lines
from storage import campaigns as store_campaigns
from storage import results, rounds
from storage.models import Campaign

CODE = re.compile(r"^[a-z0-9][a-z0-9_-]{0,59}$")


def quiet_hours(text: str) -> tuple[int, int]:
    """`--quiet-hours`: (from, until) hours with no sends; `none` is (0, 0)."""
    if text.strip().lower() == "none":
        return 0, 0
    match = re.fullmatch(r"(\d{1,2})-(\d{1,2})", text.strip())
    if match is None or not all(0 <= int(h) <= 23 for h in match.groups()) or match[1] == match[2]:
        raise CampaignError(f"--quiet-hours `{text}` should be two different hours like 20-8, or none")
    return int(match[1]), int(match[2])


def moment(core: Core, text: str, field: str) -> datetime:
    """A time as typed (YYYY-MM-DD HH:MM), in the partnership's time zone."""
    try:
        naive = datetime.strptime(text.strip(), "%Y-%m-%d %H:%M")
    except ValueError:
        raise CampaignError(f"{field} `{text}` should look like 2026-12-01 09:00 (UK time)") from None
    return naive.replace(tzinfo=core.zone)


def create(core: Core, code: str, survey_id: str, opens_at: str, closes_at: str, tags: str = "",
           channels_text: str = "", reminders_text: str = "3,7", max_reminders: int = 2,
           every_months: int | None = None, quiet_text: str = "20-8") -> None:
    """A new campaign, checked field by field in the order the options are listed; the running bot sends it."""
    if not CODE.match(code):
        raise CampaignError(f"code `{code}` may use only lower case letters, digits, - and _ (60 at most)")
    if not core.catalogue.has(survey_id):
        raise CampaignError(f"--survey: no survey `{survey_id}`; known surveys: {', '.join(core.catalogue.ids())}")
    if core.catalogue.has(code):
        raise CampaignError(f"code `{code}` is a survey id; choose another so links are not ambiguous")
    survey = core.catalogue.latest(survey_id)
    channels = parse_tags(channels_text, "--channels")
    for channel in channels:
        if channel not in CHANNELS:
            raise CampaignError(f"--channels: `{channel}` should be telegram, slack, email or teams")
    try:
        reminders = sorted({int(d) for d in reminders_text.split(",") if d.strip()})
    except ValueError:
        raise CampaignError(f"--reminders `{reminders_text}` should be whole days, like 3,7") from None
    if any(d < 1 for d in reminders) or max_reminders < 0:
        raise CampaignError("--reminders are days after opening (1 or more); --max-reminders 0 or more")
    if every_months is not None and not 1 <= every_months <= 60:
        raise CampaignError("--every-months should be from 1 to 60")
    quiet_from, quiet_until = quiet_hours(quiet_text)
    opens, closes = moment(core, opens_at, "--opens"), moment(core, closes_at, "--closes")
    try:
        Rules(opens, closes, tuple(reminders), max_reminders, every_months)
    except ValueError as exc:
        raise CampaignError(f"--closes: {exc}") from None
    if every_months and closes > opens + timedelta(days=28 * every_months):
        raise CampaignError("--closes: each wave must close before the next one opens")
    today = core.service.clock().date()
    with core.store.unit() as uow:
        if store_campaigns.by_code(uow, code) is not None:
            raise CampaignError(f"a campaign `{code}` exists already")
        row = Campaign(code=code, survey_id=survey.id, version=survey.version,
                       tags=json.dumps(parse_tags(tags, "--tags")), channels=json.dumps(channels),
                       opens_at=opens.astimezone(UTC), closes_at=closes.astimezone(UTC),
                       reminders=json.dumps(reminders), max_reminders=max_reminders,
                       every_months=every_months, quiet_from=quiet_from, quiet_until=quiet_until,
                       created_on=today)
        uow.session.add(row)
        uow.session.flush()
        uow.audit("campaign.created", {"campaign": code, "survey": survey.id, "version": survey.version}, today)


def find_campaign(core: Core, code: str) -> Campaign:
    with core.store.unit() as uow:
        row = store_campaigns.by_code(uow, code)
    if row is None:
        raise CampaignError(f"no campaign `{code}` (see `surveybot campaign list`)")
    return row


def campaign_codes(core: Core) -> list[str]:
    """Every campaign's code, oldest first."""
    with core.store.unit() as uow:
        return [c.code for c in store_campaigns.all_campaigns(uow)]


def open_now(core: Core, code: str) -> str:
    """Open a campaign now rather than at its planned time; returns what to tell the person."""
    campaign = find_campaign(core, code)
    now = core.service.clock()
    if as_zone(campaign.opens_at, core.zone) <= now:
        return f"`{code}` is already open."
    with core.store.unit() as uow:
        row = store_campaigns.by_code(uow, code)
        assert row is not None
        row.opens_at = now.astimezone(UTC)
        uow.session.add(row)
        uow.audit("campaign.opened", {"campaign": code}, now.date())
    return f"`{code}` opens now; the running bot sends the invitations at its next sweep."


def close_campaign(core: Core, code: str) -> str:
    """Stop a campaign now: nothing more is sent and its current round takes no more answers."""
    campaign = find_campaign(core, code)
    now = core.service.clock()
    with core.store.unit() as uow:
        row = store_campaigns.by_code(uow, code)
        assert row is not None
        row.stopped = True
        uow.session.add(row)
        wave = current_wave(rules_of(row, core.zone), now)
        if wave is not None:
            closes_on = now.date() - timedelta(days=1)
            rounds.set_closes_on(uow, row.survey_id, wave, closes_on, now.date())
            uow.audit("round.closes", {"survey": row.survey_id, "wave": wave, "closes_on": closes_on.isoformat()},
                      now.date())
        uow.audit("campaign.closed", {"campaign": code, "wave": wave}, now.date())
    return f"`{campaign.code}` is closed: nothing more will be sent and no more answers are taken."


def describe(core: Core, code: str) -> dict[str, Any]:
    """Everything `show` prints: schedule, messages planned and sent, and response, with small counts hidden."""
    now = core.service.clock()
    campaign = find_campaign(core, code)
    rules = rules_of(campaign, core.zone)
    wave = current_wave(rules, now)
    shown_wave = wave or 1
    opens, closes = window(rules, shown_wave)
    if not core.catalogue.has(campaign.survey_id, campaign.version):
        raise CampaignError(f"campaign `{code}` uses {campaign.survey_id} version {campaign.version}, which is not "
                            "among the loaded surveys")
    survey = core.catalogue.get(campaign.survey_id, campaign.version)
    with core.store.unit() as uow:
        round_key = rounds.get(uow, campaign.survey_id, shown_wave)
        outbox = store_campaigns.outbox_counts(uow, campaign.id or 0, shown_wave)
        facts = results.round_facts(uow, campaign.survey_id, shown_wave)
        run = {(s.wave, s.step) for s in store_campaigns.steps_run(uow, campaign.id or 0)}
    # every count of people goes through the same suppression as `surveybot status` and the report, with the
    # round's locked k, so no line here undoes a number hidden in another
    if round_key is not None:
        status = round_status(core.store, core.policy, survey, round_key)[1]
        k, responses, by_breakdown = status.k, status.responses, status_lines(status)
        breakdowns = [_breakdown(b) for b in status.breakdowns]
    else:
        k = core.policy.thresholds(survey.audience, survey.min_group).group
        responses, by_breakdown = suppress_parts({COMPLETED: 0, NOT_COMPLETED: 0}, k), []
        breakdowns = []
    invitations = suppress_parts({RESPONDED: facts.invited_completed,
                                  NOT_RESPONDED: facts.invited - facts.invited_completed}, k)
    invited, responded = invitations.total, invitations.cells[RESPONDED]
    state = "closed" if campaign.stopped or (wave is not None and now >= closes and not campaign.every_months) else (
        "scheduled" if wave is None else "open" if now < closes else "between waves")
    schedule = [{"step": s.name, "due": s.due.isoformat(timespec="minutes"), "done": (s.wave, s.name) in run}
                for s in steps(rules, shown_wave)]
    rate = percentage(responded.count, invited.count)
    return {
        "code": campaign.code, "survey": f"{campaign.survey_id} v{campaign.version}", "state": state, "wave": wave,
        "opens": opens.isoformat(timespec="minutes"), "closes": closes.isoformat(timespec="minutes"),
        "last_day_of_answers": last_day(closes).date().isoformat(),
        "audience": {"tags": json.loads(campaign.tags) or "everyone", "channels": json.loads(campaign.channels)
                     or list(CHANNELS)},
        "schedule": schedule,
        "messages": {f"{step} {status}": _published(suppress_counts({"n": n}, k).cells["n"])  # people, too
                     for (step, status), n in sorted(outbox.items())},
        "pending": _published(suppress_counts({"n": sum(n for (_, status), n in outbox.items()
                                                         if status == "pending")}, k).cells["n"]),
        "invited": _published(invited),
        "started": _published(responses.total), "completed": _published(responses.cells[COMPLETED]),
        "response_rate": None if rate is None else round(rate, 1),
        "by_breakdown": by_breakdown,
        "breakdowns": breakdowns,
    }


def _breakdown(breakdown: Breakdown) -> dict[str, Any]:
    """One "completed by ..." table of `by_breakdown` as data (for the web console): each option's count or why it
    is not shown, and the total; `withheld` when the whole table is, as the text says."""
    if breakdown.counts is None:
        return {"name": breakdown.name, "withheld": True, "options": [], "total": None}
    return {"name": breakdown.name, "withheld": False,
            "options": [[option, _published(cell)] for option, cell in breakdown.counts.cells.items()],
            "total": _published(breakdown.counts.total)}


def _published(cell: Cell) -> int | str:
    """A suppressed count as `show` prints it: the number, or why it is not shown ("fewer than 10", "hidden")."""
    return cell.count if cell.count is not None else cell.shown()


def render(item: dict[str, Any]) -> list[str]:
    lines = [f"{item['code']}: {item['survey']}, {item['state']}" + (f", wave {item['wave']}" if item["wave"] else ""),
             f"  opens {item['opens']}, closes {item['closes']} (answers taken until {item['last_day_of_answers']})",
             f"  audience: {item['audience']['tags']} on {', '.join(item['audience']['channels'])}"]
    for step in item["schedule"]:
        lines.append(f"  {'✓' if step['done'] else '·'} {step['step']:<10} {step['due']}")
    rate = "not shown (too few)" if item["response_rate"] is None else f"{item['response_rate']}%"
    lines.append(f"  invited {item['invited']}, started {item['started']}, completed {item['completed']}, "
                 f"response rate {rate}")
    lines.extend(f"  {line}" for line in item["by_breakdown"])
    if item["pending"]:
        lines.append(f"  {item['pending']} message(s) waiting to be sent by the running bot")
    # Message counts are counts of people, suppressed like every other count: a hidden one is shown as it is.
    unreachable = [n for key, n in item["messages"].items() if key.endswith(" unreachable") and n]
    if unreachable:
        told = (str(sum(unreachable)) if all(isinstance(n, int) for n in unreachable)
                else str(unreachable[0]) if len(unreachable) == 1 else "some")
        lines.append(f"  {told} message(s) could not be delivered (the person blocked the bot, or their address "
                     "cannot be used): marked unreachable, never retried")
    return lines


def sending(core: Core, code: str) -> tuple[int, int]:
    """(waiting, planned) messages of the shown wave, for the sender's own progress bar (never printed to stdout)."""
    campaign = find_campaign(core, code)
    wave = current_wave(rules_of(campaign, core.zone), core.service.clock()) or 1
    with core.store.unit() as uow:
        counts = store_campaigns.outbox_counts(uow, campaign.id or 0, wave)
    return sum(n for (_, status), n in counts.items() if status == "pending"), sum(counts.values())


def remind(core: Core, code: str) -> tuple[int, str]:
    """Plan a reminder now to those invited who have not finished: (people planned, why none when 0)."""
    campaign = find_campaign(core, code)
    return Broadcaster(core.store, core.keys, core.catalogue, core.service.clock).remind(campaign.code)
