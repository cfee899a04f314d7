"""Results (issue 22): each survey's rounds, the report's three-question summary on screen, and the downloads a
scrutineer hands on: the HTML report, the exports (CSV, XLSX, JSON) and the signed evidence pack.

Reading the summary needs READ_RESULTS; every download needs EXPORT. The downloads are the same use case a chat
request runs (bot.reporting.delivery.deliverable: the role checked again, the file built in a temporary folder of
its own and deleted, then audited as `report`, `export` or `evidence.pack` + `evidence.sent`, with `via: console`
and a keyed fingerprint of who asked). Each one writes to the audit chain, so each is a POST form with the CSRF
token, never a link a browser or a mail scanner might prefetch. The file goes to the browser as an attachment with a
plain filename, built off the event loop (Console.work). The codebook alone (the survey's questions, no answers) is
a plain link: reading it changes nothing.

The evidence pack is signed with the installation's key (bot.reporting.signing): the page says plainly when none is
set up, and in production offers no pack until there is one.
"""

from __future__ import annotations

import io
import re
from dataclasses import dataclass

from aiohttp import web

from bot.config import Settings, SettingsError
from bot.console.site import FORM, HEADERS, PREFIX, Console, Refusal
from bot.engine.survey import Survey
from bot.reporting import export
from bot.reporting.delivery import (
    CONTENT_TYPES,
    TEXT_TYPES,
    Deliverable,
    ReportingParts,
    Request,
    RequestError,
    deliverable,
)
from bot.reporting.report import make_report
from bot.reporting.signing import KEY_FILE, SETTING, fingerprint, parse_private
from bot.reporting.summary import Part, three_questions
from bot.services.console_access import Person
from bot.services.core import Core
from bot.services.roles import Action, Forbidden
from bot.services.surveyreader import SURVEY_ID
from storage import results

HOME = f"{PREFIX}/results"
WAVE_DIGITS = 9

TYPES = CONTENT_TYPES  # what each download is sent as (shared with the Teams download links)
UNSAFE = re.compile(r"[^A-Za-z0-9._-]")


@dataclass(frozen=True)
class SurveyRow:
    survey_id: str
    title: str
    waves: tuple[int, ...]


@dataclass(frozen=True)
class Signing:
    """Whether evidence packs can be signed here, and what to tell the person about the key."""

    ready: bool
    fingerprint: str | None
    configured: bool  # SURVEYBOT_SIGNING_KEY is set (and is a key)
    problem: str | None = None


@dataclass(frozen=True)
class Summary:
    survey_id: str
    title: str
    waves: tuple[int, ...]
    wave: int | None  # None: nobody has started it yet
    compare: int | None
    parts: tuple[Part, ...]


# --- reading what people send -----------------------------------------------------------------------------------

def survey_of(text: str) -> str:
    """A survey id from the address; anything else is a page that does not exist."""
    if not SURVEY_ID.match(text):
        raise Refusal(404, "There is no such survey. Please choose one from the list of results.")
    return text


def wave_of(text: str | None, known: tuple[int, ...], what: str = "Wave") -> int | None:
    """A wave number as sent by the page's wave list: None when left empty; refused unless it is one of `known`."""
    if text is None or not text.strip():
        return None
    digits = text.strip()
    if not (digits.isascii() and digits.isdigit()) or len(digits) > WAVE_DIGITS or int(digits) < 1:
        raise Refusal(400, f"{what}: “{' '.join(text.split())[:20]}” is not a wave number. Waves are 1, 2, 3…")
    wave = int(digits)
    if wave not in known:
        listed = ", ".join(map(str, known)) or "none yet"
        raise Refusal(404, f"{what}: this survey has no wave {wave} (its waves: {listed}).")
    return wave


def filename(name: str) -> str:
    """A download's name with nothing a browser or a file system could misread: letters, digits, . _ - only."""
    cleaned = UNSAFE.sub("_", name).lstrip(".") or "download"
    return cleaned[-120:]


# --- the work, on a worker thread -------------------------------------------------------------------------------

def surveys(core: Core) -> list[SurveyRow]:
    """Every survey ever published on this database, under its newest published title: what its reports read,
    whichever process published it and whether or not its file is still in a survey folder here."""
    titles = {survey_id: title for survey_id, _, title, *_ in core.service.published_list()}  # by version: newest last
    with core.store.unit() as uow:
        return [SurveyRow(survey_id, title, tuple(results.waves(uow, survey_id)))
                for survey_id, title in sorted(titles.items())]


def published(core: Core, survey_id: str) -> list[Survey]:
    versions = core.published_versions(survey_id)
    if not versions:
        raise Refusal(404, "There is no such survey. Please choose one from the list of results.")
    return versions


def waves(core: Core, survey_id: str) -> tuple[int, ...]:
    with core.store.unit() as uow:
        return tuple(results.waves(uow, survey_id))


def summary(core: Core, survey_id: str, wave_text: str | None, compare_text: str | None) -> Summary:
    """The report's three questions for a wave (default: the latest), compared with another if asked."""
    versions = published(core, survey_id)
    title = max(versions, key=lambda s: s.version).title
    known = waves(core, survey_id)
    wave = wave_of(wave_text, known)
    other = wave_of(compare_text, known, "Compare with")
    if not known:
        return Summary(survey_id, title, known, None, None, ())
    chosen = wave if wave is not None else known[-1]
    if other == chosen:
        other = None
    made = make_report(core.store, core.policy, versions, survey_id, chosen, other,
                       core.keys.secret("report-comments").encode(), core.service.clock().date())
    return Summary(survey_id, made.current.survey.title, known, chosen, other, tuple(three_questions(made)))


def signing(settings: Settings) -> Signing:
    """Whether packs can be signed, without making a key (reading a page must change nothing)."""
    if settings.signing_key:
        try:
            key = parse_private(settings.signing_key)
        except SettingsError:
            return Signing(False, None, False, f"The signing key setting ({SETTING}) is not a key this server can use.")
        return Signing(True, fingerprint(key.public_key()), True)
    if settings.production:
        return Signing(False, None, False)
    path = settings.data_dir / KEY_FILE
    try:
        made = fingerprint(parse_private(path.read_text(), str(path)).public_key()) if path.exists() else None
    except (OSError, SettingsError):
        return Signing(False, None, False, "The development signing key in the data folder cannot be read.")
    return Signing(True, made, False)


def download(parts: ReportingParts, person: Person, survey_id: str, fields: dict[str, object]) -> Deliverable:
    """One file, as a chat request makes it (the role checked again; audited with via: console)."""
    kind = str(fields.get("kind", ""))
    if kind not in TYPES:
        raise Refusal(400, "Choose what to download: the report, an export (CSV, Excel or JSON) or the evidence pack.")
    published(parts, survey_id)
    known = waves(parts, survey_id)
    if not known:
        raise Refusal(409, "Nobody has answered this survey yet, so there is nothing to download.")
    wave = wave_of(_text(fields.get("wave")), known)
    other = wave_of(_text(fields.get("compare")), known, "Compare with") if kind == "report" else None
    if kind == "report" and other is not None and other == (wave if wave is not None else known[-1]):
        other = None
    if kind == "evidence" and not signing(parts.settings).ready:
        raise Refusal(409, "Evidence packs can't be signed here yet: the server has no signing key set up. Please "
                           "ask your surveybot administrator to set one.")
    return deliverable(parts, person.address, Request(kind, survey_id, wave, other), via="console")


def codebook(core: Core, survey_id: str) -> bytes:
    buffer = io.StringIO(newline="")
    export.write_codebook_csv(published(core, survey_id), buffer)
    return buffer.getvalue().encode()


def _text(value: object) -> str | None:
    return value if isinstance(value, str) else None


def attachment(name: str, data: bytes, content_type: str) -> web.Response:
    response = web.Response(body=data, content_type=content_type,
                            charset="utf-8" if content_type in TEXT_TYPES else None,
                            headers={**HEADERS, "Content-Disposition": f'attachment; filename="{filename(name)}"'})
    return response


# --- the pages --------------------------------------------------------------------------------------------------

def register(console: Console) -> None:
    core = console.core

    @console.page(HOME, Action.READ_RESULTS)
    async def index(request: web.Request, person: Person) -> web.StreamResponse:
        rows = await console.work(surveys, core)
        return console.render(person, "results/index.html", current=HOME, surveys=rows)

    @console.page(HOME + "/{survey}", Action.READ_RESULTS)
    async def survey(request: web.Request, person: Person) -> web.StreamResponse:
        survey_id = survey_of(request.match_info["survey"])
        shown = await console.work(summary, core, survey_id, request.query.get("wave"),
                                   request.query.get("compare"))
        key = await console.work(signing, core.settings)
        return console.render(person, "results/survey.html", current=HOME, summary=shown, signing=key,
                              may_export=person.may(Action.EXPORT), setting=SETTING)

    @console.form(HOME + "/{survey}/download", Action.EXPORT)
    async def send_file(request: web.Request, person: Person) -> web.StreamResponse:
        survey_id = survey_of(request.match_info["survey"])
        try:
            made = await console.work(download, core, person, survey_id, request[FORM])
        except Forbidden:  # the role was taken away since the page was checked: refused and audited
            await console.work(console.access.refused, person, HOME + "/{survey}/download", Action.EXPORT)
            return console.message(person, "Not for your role", "Downloads need the admin or scrutineer role.",
                                   status=403, back=HOME)
        except RequestError as exc:
            raise Refusal(409, str(exc)) from None
        kind = str(request[FORM]["kind"])
        return attachment(made.filename, made.data, TYPES[kind])

    @console.page(HOME + "/{survey}/codebook.csv", Action.EXPORT)
    async def send_codebook(request: web.Request, person: Person) -> web.StreamResponse:
        survey_id = survey_of(request.match_info["survey"])
        data = await console.work(codebook, core, survey_id)
        return attachment(f"{survey_id}.codebook.csv", data, "text/csv")
