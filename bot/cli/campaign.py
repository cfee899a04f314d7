"""The business unit's commands: `surveybot contacts import|list|tag` and `surveybot campaign create|list|show|open|
close|remind`. Human-friendly output, `--json` for scripts; every mistake is one line naming the field or file:line.

The running bot (`surveybot run`) does the sending: these commands only change the tables it reads, so a campaign
created here is picked up by the bot's next sweep (within 30 seconds).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING

from bot.services import campaign_admin, contact_book
from bot.services.campaign_admin import describe, render
from bot.services.contact_book import CampaignError, parse_tags

if TYPE_CHECKING:
    from bot.app import App

def add_commands(commands: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    contacts = commands.add_parser("contacts", help="the people campaigns can reach")
    contact_commands = contacts.add_subparsers(dest="contacts_command", required=True, metavar="ACTION")
    importing = contact_commands.add_parser("import", help="add contacts from a CSV file with columns who,tags")
    importing.add_argument("file", type=Path)
    slack = contact_commands.add_parser("import-slack", help="add a Slack channel's members as contacts")
    slack.add_argument("channel_id", help="the channel's id, like C0123ABCD (channel details, at the bottom)")
    slack.add_argument("--tags", default="", help="tags to give them, separated by commas")
    teams = contact_commands.add_parser(
        "import-teams", help="add the members of a Microsoft Teams team the app was added to as contacts",
        description="Add every member of a team the Teams app was added to as a contact, with the tags given, "
        "ready to be invited by a campaign. Prints counts only. Running it again adds nobody twice.")
    teams.add_argument("team", help="the team's name (as it was when the app was added, or since), or its link "
                       "(Get link to team, in the team's menu)")
    teams.add_argument("--tag", action="append", required=True, dest="tag",
                       help="a tag to give them (repeat --tag for more)")
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
    create.add_argument("--channels", default="", help="telegram, slack and/or email (default: all three)")
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
            return import_slack_channel(app, args.channel_id, parse_tags(args.tags, "--tags"))
        if args.contacts_command == "import-teams":
            return import_teams(app, args.team, [t for text in args.tag for t in parse_tags(text, "--tag")])
        if args.contacts_command == "list":
            return list_contacts(app, args.tag, args.json)
        return tag_contact(app, args.contact_id, parse_tags(args.add, "--add"), parse_tags(args.remove, "--remove"))
    verb = args.campaign_command
    if verb == "create":
        return create(app, args)
    if verb == "list":
        return list_campaigns(app, args.json)
    if verb == "show":
        return show(app, args.code, args.json, args.watch)
    if verb == "remind":
        planned, why = campaign_admin.remind(app, args.code)
        print(f"Reminder planned for {planned} people (sent by the running bot)." if planned else
              f"No reminder planned: {why}.")
        return 0
    print(campaign_admin.open_now(app, args.code) if verb == "open" else campaign_admin.close_campaign(app, args.code))
    return 0


# --- contacts ---------------------------------------------------------------------------------------------------------

def import_contacts(app: App, path: Path) -> int:
    rows, added = contact_book.import_contacts(app, path)
    print(f"Imported {rows} contact(s): {added} new, {rows - added} updated.")
    return 0


def import_slack_channel(app: App, channel_id: str, tags: list[str]) -> int:
    joined, added = contact_book.import_slack_channel(app, channel_id, tags, app.settings.slack_bot_token,
                                                      app.settings.slack_api_url)
    print(f"Imported {joined} member(s) of {channel_id}: {added} new.")
    return 0


def import_teams(app: App, team: str, tags: list[str]) -> int:
    from bot.app import import_team

    if not tags:
        raise CampaignError("--tag: give at least one tag, so a campaign can invite the team's members")
    done, left_out = import_team(app, team, tags)
    print(f"Imported {done.added + done.known} member(s) of the team: {done.added} added, {done.known} already "
          f"known, {done.tagged} tagged {', '.join(tags)}." + (
              f" {left_out} left out (bots, or guests from another organisation)." if left_out else ""))
    return 0


def list_contacts(app: App, tag: str | None, as_json: bool) -> int:
    rows = contact_book.list_contacts(app, tag)
    if as_json:
        print(json.dumps(rows, indent=2))
        return 0
    for row in rows:
        state = "opted out" if row["opted_out"] else "unreachable" if row["unreachable"] else "reachable"
        print(f"{row['id']:>6}  {row['channel']:<9} {state:<12} {', '.join(row['tags']) or '-'}")
    print(f"{len(rows)} contact(s).")
    return 0


def tag_contact(app: App, contact_id: int, add: list[str], remove: list[str]) -> int:
    tags = contact_book.tag_contact(app, contact_id, add, remove)
    print(f"Contact {contact_id}: {', '.join(tags) or 'no tags'}.")
    return 0


# --- campaigns --------------------------------------------------------------------------------------------------------

def create(app: App, args: argparse.Namespace) -> int:
    campaign_admin.create(app, args.code, args.survey, args.opens, args.closes, args.tags, args.channels,
                          args.reminders, args.max_reminders, args.every_months, args.quiet_hours)
    if args.json:
        print(json.dumps(describe(app, args.code), indent=2, default=str))
    else:
        print("\n".join(render(describe(app, args.code))))
    return 0


def list_campaigns(app: App, as_json: bool) -> int:
    described = [describe(app, code) for code in campaign_admin.campaign_codes(app)]
    if as_json:
        print(json.dumps(described, indent=2, default=str))
        return 0
    for item in described:
        print(f"{item['code']:<24} {item['survey']:<22} {item['state']:<10} wave {item['wave'] or '-'}  "
              f"invited {item['invited']}, completed {item['completed']}")
    print(f"{len(described)} campaign(s).")
    return 0


def show(app: App, code: str, as_json: bool, watch: bool) -> int:
    item = describe(app, code)
    print(json.dumps(item, indent=2, default=str) if as_json else "\n".join(render(item)))
    while watch and (sending := campaign_admin.sending(app, code))[0]:  # a progress bar while the running bot sends
        waiting, total = sending
        done = total - waiting
        print(f"\r[{'#' * (30 * done // max(total, 1)):<30}] {done}/{total} sent", end="", file=sys.stderr, flush=True)
        time.sleep(2)
    if watch:
        print(f"\rall {campaign_admin.sending(app, code)[1]} message(s) handled.{' ' * 30}", file=sys.stderr)
    return 0
