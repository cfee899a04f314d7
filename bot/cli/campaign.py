"""The business unit's commands: `surveybot contacts import|list|tag` and `surveybot campaign create|list|show|open|
close|remind`. Human-friendly output, `--json` for scripts; every mistake is one line naming the field or file:line.

The running bot (`surveybot run`) does the sending: these commands only change the tables it reads, so a campaign
created here is picked up by the bot's next sweep (within 30 seconds).
"""

from __future__ import annotations

import argparse
import csv
import json
import re
import sys
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from bot.app import App
from bot.domain.address import Address
from bot.reporting.disclosure import Cell, percentage, suppress_counts
from bot.reporting.figures import NOT_RESPONDED, RESPONDED
from bot.reporting.status import COMPLETED, NOT_COMPLETED, round_status, suppress_parts
from bot.reporting.status import render as status_lines
from bot.services.broadcast import Broadcaster, last_day
from bot.services.campaigns import Rules, as_zone, current_wave, rules_of, steps, window
from bot.services.roles import parse_who
from storage import campaigns as store_campaigns
from storage import results, rounds
from storage.models import Campaign

CODE = re.compile(r"^[a-z0-9][a-z0-9_-]{0,59}$")
TAG = re.compile(r"^[a-z0-9][a-z0-9_-]{0,39}$")
CHANNELS = ("telegram", "slack", "email")


class CampaignError(Exception):
    """A campaign command was given something it cannot use; the message names the field."""


def add_commands(commands: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    contacts = commands.add_parser("contacts", help="the people campaigns can reach")
    contact_commands = contacts.add_subparsers(dest="contacts_command", required=True, metavar="ACTION")
    importing = contact_commands.add_parser("import", help="add contacts from a CSV file with columns who,tags")
    importing.add_argument("file", type=Path)
    slack = contact_commands.add_parser("import-slack", help="add a Slack channel's members as contacts")
    slack.add_argument("channel_id", help="the channel's id, like C0123ABCD (channel details, at the bottom)")
    slack.add_argument("--tags", default="", help="tags to give them, separated by commas")
    listing = contact_commands.add_parser("list", help="contacts with their tags (never their platform ids)")
    listing.add_argument("--tag")
    listing.add_argument("--json", action="store_true")
    tagging = contact_commands.add_parser("tag", help="add or remove tags on a contact")
    tagging.add_argument("contact_id", type=int)
    tagging.add_argument("--add", default="", help="tags to add, separated by commas")
    tagging.add_argument("--remove", default="", help="tags to remove, separated by commas")

    campaign = commands.add_parser("campaign", help="send a survey to an audience on a schedule")
    campaign_commands = campaign.add_subparsers(dest="campaign_command", required=True, metavar="ACTION")
    create = campaign_commands.add_parser("create", help="a new campaign (the running bot sends it)")
    create.add_argument("code", help="the campaign's code, used in links: lower case letters, digits, - and _")
    create.add_argument("--survey", required=True)
    create.add_argument("--opens", required=True, help="YYYY-MM-DD HH:MM (UK time)")
    create.add_argument("--closes", required=True, help="YYYY-MM-DD HH:MM (UK time)")
    create.add_argument("--tags", default="", help="audience: contacts with any of these tags (default: everyone)")
    create.add_argument("--channels", default="", help="telegram and/or slack (default: both)")
    create.add_argument("--reminders", default="3,7", help="days after opening, e.g. 3,7 (none: empty)")
    create.add_argument("--max-reminders", type=int, default=2)
    create.add_argument("--every-months", type=int, help="run again as a new wave every N months")
    create.add_argument("--quiet-hours", default="20-8", help="no sends from the first hour to the second (UK time); "
                        "default 20-8, `none` to allow any hour")
    create.add_argument("--json", action="store_true")
    for verb, text in (("list", "every campaign"), ("show", "a campaign's schedule and live status")):
        sub = campaign_commands.add_parser(verb, help=text)
        if verb == "show":
            sub.add_argument("code")
            sub.add_argument("--watch", action="store_true", help="refresh until everything planned is sent")
        sub.add_argument("--json", action="store_true")
    for verb, text in (("open", "open now rather than at the planned time"),
                       ("close", "stop now: no more messages, no more answers"),
                       ("remind", "send a reminder now to those who have not finished")):
        campaign_commands.add_parser(verb, help=text).add_argument("code")


def run(app: App, args: argparse.Namespace) -> int:
    if args.command == "contacts":
        if args.contacts_command == "import":
            return import_contacts(app, args.file)
        if args.contacts_command == "import-slack":
            return import_slack_channel(app, args.channel_id, _words(args.tags, "--tags"))
        if args.contacts_command == "list":
            return list_contacts(app, args.tag, args.json)
        return tag_contact(app, args.contact_id, _words(args.add, "--add"), _words(args.remove, "--remove"))
    verb = args.campaign_command
    if verb == "create":
        return create(app, args)
    if verb == "list":
        return list_campaigns(app, args.json)
    if verb == "show":
        return show(app, args.code, args.json, args.watch)
    if verb == "remind":
        planned, why = Broadcaster(app.store, app.keys, app.catalogue, app.service.clock).remind(
            find_campaign(app, args.code).code)
        print(f"Reminder planned for {planned} people (sent by the running bot)." if planned else
              f"No reminder planned: {why}.")
        return 0
    return open_now(app, args.code) if verb == "open" else close_now(app, args.code)


# --- contacts ---------------------------------------------------------------------------------------------------------

def _words(text: str, field: str) -> list[str]:
    words = [w.strip().lower() for w in re.split(r"[,;]", text) if w.strip()]
    for word in words:
        if not TAG.match(word):
            raise CampaignError(f"{field}: {_not_a_tag(word)}")
    return words


def _not_a_tag(word: str) -> str:
    """Why a word is not a tag, naming an invisible character (a NUL, a tab) rather than showing a look-alike."""
    odd = next((c for c in word if not c.isprintable()), None)
    shown = "".join(c if c.isprintable() else "?" for c in word[:40]) + ("…" if len(word) > 40 else "")
    if odd is not None:
        return f"`{shown}` is not a tag: it holds an invisible character (U+{ord(odd):04X}) where ? is shown"
    if len(word) > 40:
        return f"`{shown}` is not a tag: a tag is at most 40 characters"
    return f"`{shown}` is not a tag (lower case letters, digits, - and _)"


IMPORT_BATCH = 20_000  # contacts written at a time (a few MB); the file is streamed, never read whole
_NOT_UTF8 = re.compile("[\udc80-\udcff]")  # bytes that were not UTF-8, kept by errors="surrogateescape"
LONGEST_FIELD = 10_000  # characters; a who or tags field is a few dozen, so longer is a broken file


def import_contacts(app: App, path: Path) -> int:
    """All or nothing: rows are checked and stored as the file is read, in one transaction, so nothing is kept if
    any row is wrong. The file is streamed (a million rows need no more memory than a thousand)."""
    bot_id = (app.settings.telegram_token or "").split(":", 1)[0] or None
    today = app.service.clock().date()
    try:
        with path.open(encoding="utf-8-sig", errors="surrogateescape", newline="") as handle, \
                app.store.unit() as uow:
            rows = added = 0
            batch: list[tuple[str, str, str, list[str]]] = []
            for address, tags in _contact_rows(path, handle, bot_id):
                batch.append((app.keys.contact_lookup(address), address.channel, app.keys.seal(address), tags))
                rows += 1
                if len(batch) == IMPORT_BATCH:
                    added += store_campaigns.upsert_contacts(uow, batch, today)
                    batch.clear()
            if batch:
                added += store_campaigns.upsert_contacts(uow, batch, today)
            uow.audit("contacts.imported", {"rows": rows, "new": added}, today)
    except OSError as exc:
        raise CampaignError(f"{path}: cannot read it ({exc.strerror or type(exc).__name__})") from None
    print(f"Imported {rows} contact(s): {added} new, {rows - added} updated.")
    return 0


def _contact_rows(path: Path, lines: Iterable[str], bot_id: str | None) -> Iterator[tuple[Address, list[str]]]:
    """Each row of a contacts CSV as (address, tags), read lazily. Any bad row raises CampaignError
    naming file:line, which rolls back whatever the import stored before it."""
    limit = csv.field_size_limit(LONGEST_FIELD)  # the module's limit is process-wide: put it back afterwards
    reader = csv.reader(lines)
    try:
        header = [name.strip().lower() for name in next(reader, [])]
        if "who" not in header:
            raise CampaignError(f"{path}:1: the first line should name the columns: who,tags")
        who_at, tags_at = header.index("who"), header.index("tags") if "tags" in header else None
        tag_lists: dict[str, list[str]] = {}  # most rows repeat a few tag fields: check each once
        for row in reader:
            if not any(field.strip() for field in row):
                continue  # a blank line
            number = reader.line_num
            if _NOT_UTF8.search("".join(row)):
                raise CampaignError(f"{path}:{number}: not UTF-8 text (save the file as CSV UTF-8)")
            try:
                address = parse_who(row[who_at] if who_at < len(row) else "", bot_id)
                if address.channel not in CHANNELS:
                    raise ValueError(f"channel `{address.channel}` cannot be invited (telegram, slack or email)")
                field = row[tags_at] if tags_at is not None and tags_at < len(row) else ""
                tags = tag_lists.get(field)
                if tags is None:
                    tags = _words(field, "tags")
                    if len(tag_lists) < 1000:
                        tag_lists[field] = tags
            except (ValueError, CampaignError) as exc:
                raise CampaignError(f"{path}:{number}: {exc}") from None
            yield address, tags
    except csv.Error as exc:
        reason = (f"a field is longer than {LONGEST_FIELD:,} characters (a who or tags is a few dozen); is this the "
                  "right file?") if "field larger" in str(exc) else f"not a readable CSV row ({exc})"
        raise CampaignError(f"{path}:{reader.line_num}: {reason}") from None
    finally:
        csv.field_size_limit(limit)


def import_slack_channel(app: App, channel_id: str, tags: list[str]) -> int:
    """Every member of a Slack channel (but the app itself), through the Web API with the bot's token."""
    if not app.settings.slack_bot_token:
        raise CampaignError("SLACK_BOT_TOKEN is not set, so Slack cannot be asked who is in the channel")
    if not re.fullmatch(r"[CG][A-Z0-9]{2,20}", channel_id):
        raise CampaignError(f"channel `{channel_id}` should be a channel id like C0123ABCD")
    from slack_sdk import WebClient  # only this command talks to Slack; the others need not load it
    from slack_sdk.errors import SlackApiError

    client = WebClient(app.settings.slack_bot_token, base_url=app.settings.slack_api_url)
    try:
        me = client.auth_test()
        members: list[str] = []
        cursor = None
        while True:
            page = client.conversations_members(channel=channel_id, limit=500, cursor=cursor)
            members.extend(str(m) for m in page.get("members") or [])
            cursor = (page.get("response_metadata") or {}).get("next_cursor")
            if not cursor:
                break
    except SlackApiError as exc:
        raise CampaignError(f"Slack refused: {exc.response.get('error', 'unknown error')}") from None
    except OSError as exc:
        raise CampaignError(f"cannot reach Slack at {app.settings.slack_api_url}: {exc}") from None
    team, bot_user = str(me.get("team_id")), str(me.get("user_id"))
    added = sum(app.service.register(Address("slack", team, member), tuple(tags))
                for member in members if member != bot_user)
    with app.store.unit() as uow:
        uow.audit("contacts.imported", {"rows": len(members), "new": added, "from": "slack channel"},
                  app.service.clock().date())
    print(f"Imported {len(members) - (bot_user in members)} member(s) of {channel_id}: {added} new.")
    return 0


def list_contacts(app: App, tag: str | None, as_json: bool) -> int:
    with app.store.unit() as uow:
        rows: list[dict[str, Any]] = [
            {"id": c.id, "channel": c.channel, "tags": store_campaigns.tags_of(c), "opted_out": c.opted_out,
             "unreachable": c.unreachable, "joined_on": c.joined_on.isoformat()}
            for c in store_campaigns.contacts(uow, tag)]
    if as_json:
        print(json.dumps(rows, indent=2))
        return 0
    for row in rows:
        state = "opted out" if row["opted_out"] else "unreachable" if row["unreachable"] else "reachable"
        print(f"{row['id']:>6}  {row['channel']:<9} {state:<12} {', '.join(row['tags']) or '-'}")
    print(f"{len(rows)} contact(s).")
    return 0


def tag_contact(app: App, contact_id: int, add: list[str], remove: list[str]) -> int:
    with app.store.unit() as uow:
        row = store_campaigns.set_tags(uow, contact_id, add, remove)
        if row is None:
            raise CampaignError(f"no contact {contact_id} (see `surveybot contacts list`)")
        uow.audit("contact.tagged", {"contact": contact_id, "add": add, "remove": remove},
                  app.service.clock().date())
        tags = store_campaigns.tags_of(row)
    print(f"Contact {contact_id}: {', '.join(tags) or 'no tags'}.")
    return 0


# --- campaigns --------------------------------------------------------------------------------------------------------

def _quiet_hours(text: str) -> tuple[int, int]:
    if text.strip().lower() == "none":
        return 0, 0
    match = re.fullmatch(r"(\d{1,2})-(\d{1,2})", text.strip())
    if match is None or not all(0 <= int(h) <= 23 for h in match.groups()) or match[1] == match[2]:
        raise CampaignError(f"--quiet-hours `{text}` should be two different hours like 20-8, or none")
    return int(match[1]), int(match[2])


def _zone(app: App) -> ZoneInfo:
    return ZoneInfo(app.settings.timezone)


def _moment(app: App, text: str, field: str) -> datetime:
    try:
        naive = datetime.strptime(text.strip(), "%Y-%m-%d %H:%M")
    except ValueError:
        raise CampaignError(f"{field} `{text}` should look like 2026-12-01 09:00 (UK time)") from None
    return naive.replace(tzinfo=_zone(app))


def create(app: App, args: argparse.Namespace) -> int:
    if not CODE.match(args.code):
        raise CampaignError(f"code `{args.code}` may use only lower case letters, digits, - and _ (60 at most)")
    if not app.catalogue.has(args.survey):
        raise CampaignError(f"--survey: no survey `{args.survey}`; known surveys: {', '.join(app.catalogue.ids())}")
    if app.catalogue.has(args.code):
        raise CampaignError(f"code `{args.code}` is a survey id; choose another so links are not ambiguous")
    survey = app.catalogue.latest(args.survey)
    channels = _words(args.channels, "--channels")
    for channel in channels:
        if channel not in CHANNELS:
            raise CampaignError(f"--channels: `{channel}` should be telegram, slack or email")
    try:
        reminders = sorted({int(d) for d in args.reminders.split(",") if d.strip()})
    except ValueError:
        raise CampaignError(f"--reminders `{args.reminders}` should be whole days, like 3,7") from None
    if any(d < 1 for d in reminders) or args.max_reminders < 0:
        raise CampaignError("--reminders are days after opening (1 or more); --max-reminders 0 or more")
    if args.every_months is not None and not 1 <= args.every_months <= 60:
        raise CampaignError("--every-months should be from 1 to 60")
    quiet_from, quiet_until = _quiet_hours(args.quiet_hours)
    opens, closes = _moment(app, args.opens, "--opens"), _moment(app, args.closes, "--closes")
    try:
        Rules(opens, closes, tuple(reminders), args.max_reminders, args.every_months)
    except ValueError as exc:
        raise CampaignError(f"--closes: {exc}") from None
    if args.every_months and closes > opens + timedelta(days=28 * args.every_months):
        raise CampaignError("--closes: each wave must close before the next one opens")
    today = app.service.clock().date()
    with app.store.unit() as uow:
        if store_campaigns.by_code(uow, args.code) is not None:
            raise CampaignError(f"a campaign `{args.code}` exists already")
        row = Campaign(code=args.code, survey_id=survey.id, version=survey.version,
                       tags=json.dumps(_words(args.tags, "--tags")), channels=json.dumps(channels),
                       opens_at=opens.astimezone(UTC), closes_at=closes.astimezone(UTC),
                       reminders=json.dumps(reminders), max_reminders=args.max_reminders,
                       every_months=args.every_months, quiet_from=quiet_from, quiet_until=quiet_until,
                       created_on=today)
        uow.session.add(row)
        uow.session.flush()
        uow.audit("campaign.created", {"campaign": args.code, "survey": survey.id, "version": survey.version}, today)
    if args.json:
        print(json.dumps(describe(app, args.code), indent=2, default=str))
    else:
        print("\n".join(render(describe(app, args.code))))
    return 0


def find_campaign(app: App, code: str) -> Campaign:
    with app.store.unit() as uow:
        row = store_campaigns.by_code(uow, code)
    if row is None:
        raise CampaignError(f"no campaign `{code}` (see `surveybot campaign list`)")
    return row


def list_campaigns(app: App, as_json: bool) -> int:
    with app.store.unit() as uow:
        codes = [c.code for c in store_campaigns.all_campaigns(uow)]
    described = [describe(app, code) for code in codes]
    if as_json:
        print(json.dumps(described, indent=2, default=str))
        return 0
    for item in described:
        print(f"{item['code']:<24} {item['survey']:<22} {item['state']:<10} wave {item['wave'] or '-'}  "
              f"invited {item['invited']}, completed {item['completed']}")
    print(f"{len(described)} campaign(s).")
    return 0


def open_now(app: App, code: str) -> int:
    campaign = find_campaign(app, code)
    now = app.service.clock()
    if as_zone(campaign.opens_at, _zone(app)) <= now:
        print(f"`{code}` is already open.")
        return 0
    with app.store.unit() as uow:
        row = store_campaigns.by_code(uow, code)
        assert row is not None
        row.opens_at = now.astimezone(UTC)
        uow.session.add(row)
        uow.audit("campaign.opened", {"campaign": code}, now.date())
    print(f"`{code}` opens now; the running bot sends the invitations at its next sweep.")
    return 0


def close_now(app: App, code: str) -> int:
    print(close_campaign(app, code))
    return 0


def close_campaign(app: App, code: str) -> str:
    """Stop a campaign now: nothing more is sent and its current round takes no more answers."""
    campaign = find_campaign(app, code)
    now = app.service.clock()
    with app.store.unit() as uow:
        row = store_campaigns.by_code(uow, code)
        assert row is not None
        row.stopped = True
        uow.session.add(row)
        wave = current_wave(rules_of(row, _zone(app)), now)
        if wave is not None:
            closes_on = now.date() - timedelta(days=1)
            rounds.set_closes_on(uow, row.survey_id, wave, closes_on, now.date())
            uow.audit("round.closes", {"survey": row.survey_id, "wave": wave, "closes_on": closes_on.isoformat()},
                      now.date())
        uow.audit("campaign.closed", {"campaign": code, "wave": wave}, now.date())
    return f"`{campaign.code}` is closed: nothing more will be sent and no more answers are taken."


@dataclass(frozen=True)
class Line:
    label: str
    value: str


def describe(app: App, code: str) -> dict[str, Any]:
    """Everything `show` prints: schedule, messages planned and sent, and response, with small counts hidden."""
    now = app.service.clock()
    campaign = find_campaign(app, code)
    rules = rules_of(campaign, _zone(app))
    wave = current_wave(rules, now)
    shown_wave = wave or 1
    opens, closes = window(rules, shown_wave)
    if not app.catalogue.has(campaign.survey_id, campaign.version):
        raise CampaignError(f"campaign `{code}` uses {campaign.survey_id} version {campaign.version}, which is not "
                            "among the loaded surveys")
    survey = app.catalogue.get(campaign.survey_id, campaign.version)
    with app.store.unit() as uow:
        round_key = rounds.get(uow, campaign.survey_id, shown_wave)
        outbox = store_campaigns.outbox_counts(uow, campaign.id or 0, shown_wave)
        facts = results.round_facts(uow, campaign.survey_id, shown_wave)
        run = {(s.wave, s.step) for s in store_campaigns.steps_run(uow, campaign.id or 0)}
    # every count of people goes through the same suppression as `surveybot status` and the report, with the
    # round's locked k, so no line here undoes a number hidden in another
    if round_key is not None:
        status = round_status(app.store, app.settings.privacy, survey, round_key)[1]
        k, responses, by_breakdown = status.k, status.responses, status_lines(status)
    else:
        k = app.settings.privacy.thresholds(survey.audience, survey.min_group).group
        responses, by_breakdown = suppress_parts({COMPLETED: 0, NOT_COMPLETED: 0}, k), []
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
    }


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


def _sending(app: App, code: str) -> tuple[int, int]:
    """(waiting, planned) messages of the shown wave, for the sender's own progress bar (never printed to stdout)."""
    campaign = find_campaign(app, code)
    wave = current_wave(rules_of(campaign, _zone(app)), app.service.clock()) or 1
    with app.store.unit() as uow:
        counts = store_campaigns.outbox_counts(uow, campaign.id or 0, wave)
    return sum(n for (_, status), n in counts.items() if status == "pending"), sum(counts.values())


def show(app: App, code: str, as_json: bool, watch: bool) -> int:
    item = describe(app, code)
    print(json.dumps(item, indent=2, default=str) if as_json else "\n".join(render(item)))
    while watch and (sending := _sending(app, code))[0]:  # a progress bar while the running bot sends
        waiting, total = sending
        done = total - waiting
        print(f"\r[{'#' * (30 * done // max(total, 1)):<30}] {done}/{total} sent", end="", file=sys.stderr, flush=True)
        time.sleep(2)
    if watch:
        print(f"\rall {_sending(app, code)[1]} message(s) handled.{' ' * 30}", file=sys.stderr)
    return 0
