"""`surveybot` commands. The only place that loads .env and reads the environment (through Settings).

Every failure a user can cause ends in a one-line message naming the file, line, field or setting, and a non-zero
exit; never a traceback.

A command imports only what it uses. The modules behind most commands load the survey service, the ORM and more
(most of a second), so they are imported when their command runs (GROUPS), and `surveybot export` starts from the
light composition in bot.reading rather than bot.app (bench/reports_bench.py).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import getpass
import logging
import os
import sys
from collections.abc import Sequence
from importlib import import_module
from pathlib import Path
from typing import TYPE_CHECKING

from dotenv import load_dotenv

from bot import logs
from bot.config import Settings, SettingsError
from bot.domain.address import Address
from bot.reading import survey_dirs
from bot.services.surveyfiles import SurveyFileError
from storage import database
from storage.files import create_owner_only

if TYPE_CHECKING:
    from bot.app import App
    from bot.server import HttpServer

log = logging.getLogger(__name__)


class UsageError(Exception):
    """A command was given something it cannot use; the message says what."""


# The modules that define and run the other commands (each has `add_commands` and `run`), with their commands.
GROUPS = {
    "bot.cli.reporting": ("export", "report", "evidence-pack"),
    "bot.cli.admin": ("status", "keys", "purge", "audit", "roles", "console"),
    "bot.cli.campaign": ("contacts", "campaign"),
    "bot.cli.yousaid": ("yousaid",),
}
GROUP_OF = {command: module for module, commands in GROUPS.items() for command in commands}


def parser(command: str | None = None) -> argparse.ArgumentParser:
    """The command line. Given the command typed, it holds only that command's group of the GROUPS (so only that
    module is imported); without one (or for --help, or a mistyped command) it holds every command."""
    top = argparse.ArgumentParser(prog="surveybot", description="Chat surveys for safeguarding children partnerships.")
    commands = top.add_subparsers(dest="command", required=True, metavar="COMMAND")
    wanted = [GROUP_OF[command]] if command in GROUP_OF else list(GROUPS)

    def add(module: str) -> None:
        if module in wanted:
            import_module(module).add_commands(commands)

    run = commands.add_parser("run", help="start the bot: the web chat, and Telegram or Slack when configured",
                              description="Start the bot. The web chat (and any webhook) listens on SURVEYBOT_HOST "
                              "and SURVEYBOT_PORT, by default 127.0.0.1:8080; set SURVEYBOT_PORT if that port is "
                              "taken.")
    run.add_argument("--survey", help="the survey whose web link to print (default: SURVEYBOT_DEFAULT_SURVEY)")

    surveys = commands.add_parser("surveys", help="check or list survey files")
    survey_commands = surveys.add_subparsers(dest="surveys_command", required=True, metavar="ACTION")
    check = survey_commands.add_parser("check", help="validate survey files; prints file:line: problem")
    check.add_argument("paths", nargs="*", type=Path, help="files or folders (default: the configured surveys)")
    check.add_argument("--verbose", action="store_true", help="list every plain-language warning, not just how many")
    survey_commands.add_parser("list", help="list the surveys the bot can run")

    chat = commands.add_parser("chat", help="take a survey in the terminal (reads one answer per line when piped)")
    chat.add_argument("survey_id")
    chat.add_argument("--respondent", help="who is answering (default: your login name); never stored as such")

    add("bot.cli.reporting")

    qr = commands.add_parser("qr", help="write a printable poster (SVG) with a QR code for a survey's web link")
    qr.add_argument("code", help="the link's code (today, a survey id)")
    qr.add_argument("--out", required=True, help="the SVG file to write, e.g. poster.svg")
    qr.add_argument("--base", help="the address people will open (default: SURVEYBOT_PUBLIC_URL, else this machine)")

    teams = commands.add_parser("teams", help="Microsoft Teams: make the app package to upload in the admin centre")
    teams_commands = teams.add_subparsers(dest="teams_command", required=True, metavar="ACTION")
    package = teams_commands.add_parser(
        "manifest", help="write the Teams app package (manifest.json and two icons) as a zip",
        description="Write the Teams app package, to upload in the Teams admin centre (Manage apps, Upload). It "
        "needs the bot's app id (SURVEYBOT_TEAMS_APP_ID or --app-id) and its https:// address "
        "(SURVEYBOT_PUBLIC_URL).")
    package.add_argument("--out", required=True, help="the zip to write, e.g. surveybot-teams.zip")
    package.add_argument("--app-id", help="the bot's Application (client) ID (default: SURVEYBOT_TEAMS_APP_ID)")
    package.add_argument("--app-version", help="the app's version, such as 1.0.1: higher each time you upload an "
                         "update (default: surveybot's own version)")
    package.add_argument("--developer", default="Surveybot",
                         help="the developer's name Teams shows, such as your partnership's (at most 32 characters)")

    db = commands.add_parser("db", help="database schema")
    db_commands = db.add_subparsers(dest="db_command", required=True, metavar="ACTION")
    db_commands.add_parser("upgrade", help="apply migrations up to the newest schema")
    commands.add_parser("doctor", help="check this deployment's settings and connections; one line per problem")
    for module in ("bot.cli.admin", "bot.cli.campaign", "bot.cli.yousaid"):
        add(module)
    return top


def main(argv: Sequence[str] | None = None) -> int:
    load_dotenv(Path.cwd() / ".env", override=False)
    argv = sys.argv[1:] if argv is None else list(argv)
    args = parser(argv[0] if argv else None).parse_args(argv)
    try:
        settings = Settings.from_env(os.environ)
        logs.configure(settings)
        for line in settings.unread:
            log.warning("%s", line)
        return dispatch(args, settings)
    except KeyboardInterrupt:
        print("\nsurveybot: stopped.", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return 1
    except SurveyFileError as exc:
        for problem in exc.problems:
            print(problem, file=sys.stderr)
        return 1
    except one_line_errors() as exc:  # evaluated only when something was raised
        print(f"surveybot: {exc}", file=sys.stderr)
        return 1


def one_line_errors() -> tuple[type[Exception], ...]:
    """The mistakes a user can make that end in one line. Their classes live with the commands, whose modules are
    imported here, when one was raised, rather than on every start."""
    from bot.reporting.outputs import ReportingError
    from bot.services.contact_book import CampaignError
    from bot.services.round_keys import AdminError
    from bot.services.yousaid import YouSaidError

    return (SettingsError, database.DatabaseError, UsageError, AdminError, CampaignError, ReportingError,
            YouSaidError)


def dispatch(args: argparse.Namespace, settings: Settings) -> int:
    if args.command == "surveys" and args.surveys_command == "check":
        return check_surveys(args.paths or list(survey_dirs(settings)), settings, verbose=args.verbose)
    if args.command == "doctor":
        from bot.cli import doctor

        return doctor.report(settings, Path.cwd() / ".env", print)
    if args.command == "teams":  # settings only: no database, no surveys
        return teams_manifest(settings, args.out, args.app_id, args.app_version, args.developer)
    if args.command == "db":
        engine = database.connect(settings.database_url)
        database.upgrade(engine)
        print(f"Database {database.describe(settings.database_url)} is up to date.")
        return 0
    if args.command == "export":  # reads answers and audits the export: no service, no ORM (bot.reading)
        from bot.cli.reporting import export_survey
        from bot.reading import open_reader

        reader = open_reader(settings, publish_surveys)
        for note in reader.notes:
            print(note, file=sys.stderr)
        return export_survey(reader, args.survey_id, args.format, args.wave, args.out)
    from bot.app import build

    app = build(settings)
    for note in app.notes:
        print(note, file=sys.stderr)
    if args.command == "surveys":
        for survey in app.catalogue.all():
            print(f"{survey.id}  v{survey.version}  {survey.audience.value:<14} {survey.title}")
        return 0
    if args.command == "chat":
        return chat(app, args.survey_id, args.respondent)
    if args.command == "run":
        return run(app, args.survey)
    if args.command == "qr":
        return poster(app, args.code, args.out, args.base)
    if args.command in GROUP_OF:
        return import_module(GROUP_OF[args.command]).run(app, args)
    raise UsageError(f"unknown command {args.command}")


def publish_surveys(settings: Settings) -> None:
    """Publish new or changed survey files for `export`: the full start (bot.app), imported only when it is needed."""
    from bot.app import build

    build(settings, migrate=False).engine.dispose()


def check_surveys(paths: list[Path], settings: Settings | None = None, verbose: bool = False) -> int:
    """Survey files (errors), the safeguarding phrase list and glossary in use (errors), and the plain-language
    check of every survey's words (warnings only: they never change the exit status). Errors come first and the
    warnings are one line unless `verbose`, so a problem that stops the bot is never lost under advice."""
    from bot.language.checking import check_surveys as check

    settings = settings or Settings()
    checked = check(paths, settings.safeguarding_phrases, settings.language_glossary)
    surveys, problems, warnings = checked.surveys, checked.problems, checked.warnings
    for problem in problems:
        print(problem, file=sys.stderr)
    if problems:
        print(f"{len(problems)} problem(s) found.", file=sys.stderr)
    sys.stderr.flush()
    for warning in warnings if verbose else ():
        print(warning)
    if warnings:
        listed = "" if verbose else " (--verbose lists them)"
        print(f"{len(warnings)} plain-language warning(s){listed}: worth fixing, but they do not fail the check.")
    if problems:
        return 1
    print(f"{len(surveys)} survey file(s) OK: {', '.join(s.id for s in surveys)}")
    print("Safeguarding phrase list and language glossary OK.")
    return 0


def chat(app: App, survey_id: str, respondent: str | None) -> int:
    from bot.channels.console import ConsoleChannel

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
    from bot.app import make_channels, serve

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
    from bot.reporting.outputs import output
    from storage import campaigns as store_campaigns

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
    with output(out) as handle:
        from bot.channels.poster import poster_svg  # only this command draws posters

        handle.write(poster_svg(url, title))
    if out != "-":
        print(f"Wrote a poster for {url} to {out}.", file=sys.stderr)
    return 0


def teams_manifest(settings: Settings, out: str, app_id: str | None, version: str | None, developer: str) -> int:
    """The Teams app package (bot.channels.teams.manifest), written owner-only and whole or not at all."""
    from bot.channels.teams import manifest as teams  # only this command makes the package

    try:
        details = teams.Details(teams.read_app_id(app_id, settings.teams_app_id),
                                *teams.read_public_url(settings.public_url),
                                teams.read_version(version) if version is not None else own_version(),
                                teams.read_developer(developer))
    except teams.ManifestError as exc:
        raise UsageError(str(exc)) from None
    write_whole(out, teams.package(details))
    print(f"Wrote the Teams app package to {out} (version {details.version}). Upload it in the Teams admin centre: "
          "Teams apps, Manage apps, Upload new app.", file=sys.stderr)
    return 0


def own_version() -> str:
    """surveybot's installed version, as the Teams app's version when --app-version is not given."""
    from importlib.metadata import PackageNotFoundError, version

    from bot.channels.teams.manifest import ManifestError, read_version

    try:
        return read_version(version("surveybot"))
    except (PackageNotFoundError, ManifestError):
        raise UsageError("--app-version is needed, such as 1.0.0: surveybot's own version is not installed or is "
                         "not three whole numbers") from None


def write_whole(out: str, data: bytes) -> None:
    """Write `data` to `out`, mode 0600: to a file beside it first, moved into place at the end, so a failure
    leaves no half file and one line naming --out."""
    target = Path(out)
    folder = UsageError(f"--out {out} is a folder; name a file, such as surveybot-teams.zip")
    if not target.name:  # "", "." or "/"
        raise folder
    partial = target.with_name(f".{target.name}.partial")
    try:
        if target.is_dir():
            raise folder
        create_owner_only(partial, data)
        partial.replace(target)
    except OSError as exc:
        with contextlib.suppress(OSError):
            partial.unlink()
        raise UsageError(f"--out {out}: cannot write it ({exc.strerror or exc})") from None


if __name__ == "__main__":
    sys.exit(main())
