"""The operator's privacy and evidence commands on the server: status, keys, purge, audit, roles, console.

Kept apart from bot/cli/__init__.py (which only registers and dispatches them) so the command line stays a list of
verbs and the channels' commands do not collide with these. Every bad argument ends in one `AdminError` line naming
the field, and every change is audited by the use case it calls (bot.services.round_keys, retention, audit, roles).
"""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING

from bot.reporting.signing import signing_new
from bot.services import round_keys
from bot.services.audit import head, verify
from bot.services.notices import long_date
from bot.services.retention import purge
from bot.services.roles import Role, Roles, parse_who, show_who
from bot.services.round_keys import AdminError

if TYPE_CHECKING:
    from bot.app import App


def add_commands(commands: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    status = commands.add_parser("status", help="responses started and completed, by breakdown, suppressed")
    status.add_argument("survey_id")
    status.add_argument("--wave", type=int, help="one round only (default: every round of the survey)")

    keys = commands.add_parser("keys", help="survey round keys: list, set a close date, destroy")
    key_commands = keys.add_subparsers(dest="keys_command", required=True, metavar="ACTION")
    key_commands.add_parser("list", help="every round with its close date, deletion deadline and key state")
    close = key_commands.add_parser("close", help="set a round's last day of answers (retention counts from it)")
    close.add_argument("survey_id")
    close.add_argument("--on", required=True, dest="closes_on", help="the last day answers are taken, YYYY-MM-DD")
    close.add_argument("--wave", type=int)
    destroy = key_commands.add_parser("destroy", help="destroy a round's key now: its answers become unlinkable")
    destroy.add_argument("survey_id")
    destroy.add_argument("--wave", type=int)
    key_commands.add_parser("signing-new", help="print a new Ed25519 key pair for signing evidence packs")

    commands.add_parser("purge", help="delete what retention says is due: keys, raw free text, idle state")

    audit = commands.add_parser("audit", help="the hash-chained audit log")
    audit_commands = audit.add_subparsers(dest="audit_command", required=True, metavar="ACTION")
    check = audit_commands.add_parser("verify", help="recompute the chain and check every answer against it")
    check.add_argument("--head", help="a chain head noted earlier, which must still be in the chain")
    audit_commands.add_parser("head", help="print the newest link of the chain, to note somewhere safe")

    roles = commands.add_parser("roles", help="who is admin, scrutineer or safeguarding lead")
    role_commands = roles.add_subparsers(dest="roles_command", required=True, metavar="ACTION")
    for verb in ("grant", "revoke"):
        change = role_commands.add_parser(verb, help=f"{verb} a role: ROLE is one of {', '.join(Role)}")
        change.add_argument("role")
        change.add_argument("who", help="telegram:USER_ID, slack:TEAM_ID:USER_ID ...")
    listing = role_commands.add_parser("list", help="everyone holding a role")
    listing.add_argument("role", nargs="?")

    console = commands.add_parser("console", help="the web console at /admin: print a one-time sign-in link")
    console_commands = console.add_subparsers(dest="console_command", required=True, metavar="ACTION")
    link = console_commands.add_parser("link", help="a sign-in link for someone who holds a role (works once, for "
                                       "ten minutes)")
    link.add_argument("who", help="console:NAME, email:NAME@EXAMPLE.ORG, telegram:USER_ID, slack:TEAM_ID:USER_ID")


def run(app: App, args: argparse.Namespace) -> int:
    if args.command == "status":
        return status(app, args.survey_id, args.wave)
    if args.command == "keys":
        if args.keys_command == "list":
            return list_keys(app)
        if args.keys_command == "close":
            return close_round(app, args.survey_id, args.wave, args.closes_on)
        if args.keys_command == "signing-new":
            print(signing_new())
            return 0
        return destroy(app, args.survey_id, args.wave)
    if args.command == "purge":
        report = purge(app.store, app.settings.privacy, app.service.clock())
        print(f"Purged: {report.summary()}.")
        return 0
    if args.command == "audit":
        return audit(app, args.audit_command, args.head if args.audit_command == "verify" else None)
    if args.command == "console":
        return console_link(app, args.who)
    return roles(app, args.roles_command, args.role, getattr(args, "who", None))


# --- status and keys -------------------------------------------------------------------------------------------------

def status(app: App, survey_id: str, wave: int | None) -> int:
    shown = round_keys.status(app, survey_id, wave)
    if not shown:
        print(f"{survey_id}: no rounds yet (nobody has started it).")
    for lines in shown:
        print("\n".join(lines))
    return 0


def list_keys(app: App) -> int:
    policy = app.settings.privacy
    rows = round_keys.all_rounds(app)
    if not rows:
        print("No survey rounds yet.")
        return 0
    print(f"{'survey':<28} {'wave':>4}  {'created':<10}  {'closes':<10}  {'/delete until':<13}  key")
    for row in rows:
        closes = row.closes_on.isoformat() if row.closes_on else "-"
        until = policy.last_delete_day(row.closes_on).isoformat() if row.closes_on else "-"
        state = f"destroyed {row.destroyed_on.isoformat()}" if row.salt is None and row.destroyed_on else (
            "destroyed" if row.salt is None else "live")
        print(f"{row.survey_id:<28} {row.wave:>4}  {row.created_on.isoformat():<10}  {closes:<10}  {until:<13}  "
              f"{state}")
    return 0


def close_round(app: App, survey_id: str, wave: int | None, closes_on_text: str) -> int:
    chosen, closes_on = round_keys.close_round(app, survey_id, wave, closes_on_text)
    policy = app.settings.privacy
    print(f"`{survey_id}` wave {chosen} takes answers until {long_date(closes_on)}. /delete works until "
          f"{long_date(policy.last_delete_day(closes_on))}; `surveybot purge` destroys the key on "
          f"{long_date(policy.key_destroyed_on(closes_on))} and blanks raw free text on "
          f"{long_date(policy.text_blanked_on(closes_on))}.")
    return 0


def destroy(app: App, survey_id: str, wave: int | None) -> int:
    chosen, ended = round_keys.destroy(app, survey_id, wave)
    print(f"Destroyed the key of `{survey_id}` wave {chosen}: its answers can no longer be linked to anyone, and "
          f"its contacts were renumbered in a random order so no row order can pair them up either (docs/privacy.md "
          f"says what is left: the channel). {ended} open conversation(s) of it were ended.")
    return 0


# --- audit and roles -------------------------------------------------------------------------------------------------

def audit(app: App, action: str, expect_head: str | None) -> int:
    if action == "head":
        newest = head(app.store)
        print(f"audit chain head: record {newest.seq} of {newest.records}, {newest.hash}")
        return 0
    if expect_head is not None and (len(expect_head) != 64 or any(c not in "0123456789abcdef" for c in expect_head)):
        raise AdminError("--head should be a chain hash: 64 hexadecimal characters")
    verdict = verify(app.store, app.keys, expect_head)
    if verdict.ok:
        print(verdict.summary())
        return 0
    print(f"surveybot: {verdict.summary()}", file=sys.stderr)
    for problem in verdict.problems[1:]:
        print(f"  also: {problem}", file=sys.stderr)
    if verdict.found > len(verdict.problems):
        print(f"  ... and {verdict.found - len(verdict.problems)} more", file=sys.stderr)
    return 1


def roles(app: App, action: str, role_text: str | None, who: str | None) -> int:
    book = Roles(app.store, app.keys, app.service.clock)
    role = _role(role_text) if role_text is not None else None
    if action == "list":
        grants = book.grants(role)
        if not grants:
            print("Nobody holds a role." if role is None else f"Nobody is {role.value}.")
        for grant in grants:
            print(f"{grant.role.value:<18} {show_who(grant.address):<40} since {grant.granted_on.isoformat()}")
        return 0
    assert role is not None and who is not None
    token = app.settings.telegram_token
    try:
        address = parse_who(who, token.split(":", 1)[0] if token else None)
    except ValueError as exc:
        raise AdminError(str(exc)) from None
    if action == "grant":
        done = book.grant(role, address)
        print(f"{show_who(address)} is {role.value}" + ("." if done else " already."))
    else:
        done = book.revoke(role, address)
        print(f"{show_who(address)} is no longer {role.value}." if done else
              f"{show_who(address)} was not {role.value}.")
    return 0


def _role(text: str) -> Role:
    try:
        return Role(text.strip().lower().replace("_", "-"))
    except ValueError:
        raise AdminError(f"ROLE `{text}` should be one of {', '.join(Role)}") from None


# --- the web console -------------------------------------------------------------------------------------------------

def console_link(app: App, who: str) -> int:
    """Print a sign-in link for a role holder: the operator hands it on (or opens it on this machine)."""
    from bot.cli import base_url
    from bot.console.site import PREFIX
    from bot.services.console_access import ConsoleAccess, TooMany
    from bot.services.roles import Forbidden

    try:
        address = parse_who(who, app.bot_id)
    except ValueError as exc:
        raise AdminError(str(exc)) from None
    try:
        token = ConsoleAccess(app.store, app.keys, app.service.clock).link_for(address, "server")
    except Forbidden:
        raise AdminError(f"{show_who(address)} holds no role; grant one first, e.g. "
                         f"surveybot roles grant admin {who.strip()}") from None
    except TooMany as exc:
        raise AdminError(str(exc)) from None
    print(f"{base_url(app.settings).rstrip('/')}{PREFIX}/signin/{token}")
    print("It works once, for the next ten minutes. Open it in a browser and press Sign in.", file=sys.stderr)
    return 0
