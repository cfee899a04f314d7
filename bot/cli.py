"""`surveybot` commands. The only place that loads .env and reads the environment (through Settings).

Every failure a user can cause ends in a one-line message naming the file, line, field or setting, and a non-zero
exit; never a traceback.
"""

from __future__ import annotations

import argparse
import asyncio
import getpass
import logging
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from dotenv import load_dotenv

from bot import admin, campaign_commands, logs, yousaid_commands
from bot.app import App, build, make_channels, serve, survey_dirs
from bot.channels.console import ConsoleChannel
from bot.channels.port import Address
from bot.config import Settings, SettingsError
from bot.reporting import commands as reporting
from bot.surveyfiles import SurveyFileError, check_files
from bot.yousaid import YouSaidError
from storage import campaigns as store_campaigns
from storage import database

if TYPE_CHECKING:
    from bot.server import HttpServer

log = logging.getLogger(__name__)


class UsageError(Exception):
    """A command was given something it cannot use; the message says what."""


def parser() -> argparse.ArgumentParser:
    top = argparse.ArgumentParser(prog="surveybot", description="Chat surveys for safeguarding children partnerships.")
    commands = top.add_subparsers(dest="command", required=True, metavar="COMMAND")

    run = commands.add_parser("run", help="start the bot: the web chat, and Telegram or Slack when configured")
    run.add_argument("--survey", help="the survey whose web link to print (default: SURVEYBOT_DEFAULT_SURVEY)")

    surveys = commands.add_parser("surveys", help="check or list survey files")
    survey_commands = surveys.add_subparsers(dest="surveys_command", required=True, metavar="ACTION")
    check = survey_commands.add_parser("check", help="validate survey files; prints file:line: problem")
    check.add_argument("paths", nargs="*", type=Path, help="files or folders (default: the configured surveys)")
    survey_commands.add_parser("list", help="list the surveys the bot can run")

    chat = commands.add_parser("chat", help="take a survey in the terminal (reads one answer per line when piped)")
    chat.add_argument("survey_id")
    chat.add_argument("--respondent", help="who is answering (default: your login name); never stored as such")

    reporting.add_commands(commands)

    qr = commands.add_parser("qr", help="write a printable poster (SVG) with a QR code for a survey's web link")
    qr.add_argument("code", help="the link's code (today, a survey id)")
    qr.add_argument("--out", required=True, help="the SVG file to write, e.g. poster.svg")
    qr.add_argument("--base", help="the address people will open (default: SURVEYBOT_PUBLIC_URL, else this machine)")

    db = commands.add_parser("db", help="database schema")
    db_commands = db.add_subparsers(dest="db_command", required=True, metavar="ACTION")
    db_commands.add_parser("upgrade", help="apply migrations up to the newest schema")
    commands.add_parser("doctor", help="check this deployment's settings and connections; one line per problem")
    admin.add_commands(commands)
    campaign_commands.add_commands(commands)
    yousaid_commands.add_commands(commands)
    return top


def main(argv: Sequence[str] | None = None) -> int:
    load_dotenv(Path.cwd() / ".env", override=False)
    args = parser().parse_args(argv)
    try:
        settings = Settings.from_env(os.environ)
        logs.configure(settings)
        return dispatch(args, settings)
    except SurveyFileError as exc:
        for problem in exc.problems:
            print(problem, file=sys.stderr)
        return 1
    except (SettingsError, database.DatabaseError, UsageError, admin.AdminError,
            campaign_commands.CampaignError, reporting.ReportingError, YouSaidError) as exc:
        print(f"surveybot: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("\nsurveybot: stopped.", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return 1


def dispatch(args: argparse.Namespace, settings: Settings) -> int:
    if args.command == "surveys" and args.surveys_command == "check":
        return check_surveys(args.paths or list(survey_dirs(settings)), settings)
    if args.command == "doctor":
        from bot import doctor

        return doctor.report(settings, Path.cwd() / ".env", print)
    if args.command == "db":
        engine = database.connect(settings.database_url)
        database.upgrade(engine)
        print(f"Database {database.describe(settings.database_url)} is up to date.")
        return 0
    app = build(settings)
    for note in app.notes:
        print(note, file=sys.stderr)
    if args.command == "surveys":
        for survey in app.catalogue.all():
            print(f"{survey.id}  v{survey.version}  {survey.audience.value:<14} {survey.title}")
        return 0
    if args.command == "chat":
        return chat(app, args.survey_id, args.respondent)
    if args.command in reporting.COMMANDS:
        return reporting.run(app, args)
    if args.command == "run":
        return run(app, args.survey)
    if args.command == "qr":
        return poster(app, args.code, args.out, args.base)
    if args.command in admin.COMMANDS:
        return admin.run(app, args)
    if args.command in campaign_commands.COMMANDS:
        return campaign_commands.run(app, args)
    if args.command in yousaid_commands.COMMANDS:
        return yousaid_commands.run(app, args)
    raise UsageError(f"unknown command {args.command}")


def check_surveys(paths: list[Path], settings: Settings | None = None) -> int:
    """Survey files (errors), the safeguarding phrase list and glossary in use (errors), and the plain-language
    check of every survey's words (warnings only: they never change the exit status)."""
    from bot.language.glossary import load_glossary
    from bot.language.surveys import survey_warnings
    from bot.safeguarding.phrases import load_phrases

    settings = settings or Settings()
    surveys, problems = check_files(paths)
    glossary = None
    for load, path in ((load_phrases, settings.safeguarding_phrases), (load_glossary, settings.language_glossary)):
        try:
            loaded = load(path)
        except SurveyFileError as exc:
            problems.extend(exc.problems)
        else:
            glossary = loaded if load is load_glossary else glossary
    warnings = [w for s in surveys for w in survey_warnings(s, glossary)] if glossary is not None else []
    for problem in problems:
        print(problem, file=sys.stderr)
    for warning in warnings:
        print(warning)
    if warnings:
        print(f"{len(warnings)} plain-language warning(s): worth fixing, but they do not fail the check.")
    if problems:
        print(f"{len(problems)} problem(s) found.", file=sys.stderr)
        return 1
    print(f"{len(surveys)} survey file(s) OK: {', '.join(s.id for s in surveys)}")
    print("Safeguarding phrase list and language glossary OK.")
    return 0


def chat(app: App, survey_id: str, respondent: str | None) -> int:
    if not app.catalogue.has(survey_id):
        raise UsageError(f"no survey `{survey_id}`; known surveys: {', '.join(app.catalogue.ids())}")
    interactive = sys.stdin.isatty()
    who = respondent or getpass.getuser()
    channel = ConsoleChannel(app.service, sys.stdout, echo=not interactive)
    if interactive:
        print("Previewing in the terminal. Type /help for commands, Ctrl+C to leave (your place is kept).")
    finished = channel.run(Address("console", "local", who), survey_id, sys.stdin)
    return 0 if finished or interactive else 3


def base_url(settings: Settings) -> str:
    """Where people reach the web chat: the public address when one is set, else this machine's own."""
    if settings.public_url:
        return settings.public_url
    host = "127.0.0.1" if settings.host in ("0.0.0.0", "::", "") else settings.host
    return f"http://{host}:{settings.port}"


def run(app: App, survey_id: str | None) -> int:
    survey = survey_id or app.settings.default_survey
    if not app.catalogue.has(survey):
        raise UsageError(f"no survey `{survey}`; known surveys: {', '.join(app.catalogue.ids())}")
    channels = make_channels(app)
    link = f"{base_url(app.settings)}/s/{survey}"

    def ready(_server: HttpServer) -> None:
        print(f"surveybot is running ({', '.join(c.name for c in channels)}), storing answers in "
              f"{database.describe(app.settings.database_url)}.\nOpen the survey in a browser: {link}\n"
              "Press Ctrl+C to stop.", flush=True)

    asyncio.run(serve(app, channels, ready=ready))
    return 0


def poster(app: App, code: str, out: str, base: str | None) -> int:
    """A printable poster for a survey's web link (see bot.channels.poster)."""
    found = app.service.link(code)
    if isinstance(found, str):
        with app.store.unit() as uow:  # a campaign that has not opened yet still gets its poster
            campaign = store_campaigns.by_code(uow, code)
        if campaign is None or not app.catalogue.has(campaign.survey_id, campaign.version):
            raise UsageError(f"no survey or campaign `{code}`; known surveys: {', '.join(app.catalogue.ids())}")
        title = app.catalogue.get(campaign.survey_id, campaign.version).title
    else:
        title = found[0].title
    if base is not None and not base.startswith(("http://", "https://")):
        raise UsageError("--base should start with https:// (or http://)")
    url = f"{(base or base_url(app.settings)).rstrip('/')}/s/{code}"
    with reporting.output(out) as handle:
        from bot.channels.poster import poster_svg  # only this command draws posters

        handle.write(poster_svg(url, title))
    if out != "-":
        print(f"Wrote a poster for {url} to {out}.", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
