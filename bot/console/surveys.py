"""The console's Surveys section (issue 22): every survey with its versions; a survey file uploaded or typed in the
browser, checked exactly as `surveybot surveys check` checks it; a preview in the web chat's own drawing that
stores nothing; and publishing, which writes the file into the survey folder and serves the new version at once.

- Check: bot.language.checking, the same function the command line runs, over the survey folders' files with the
  uploaded text in place of the file it would become. Every problem is shown as `file:line: problem`, linked to
  that line of a numbered listing of the text; plain-language warnings are notes that never stop anything. The
  person's text always comes back in the box.
- Preview: bot.console.survey_preview walks the survey with the pure engine, in the web chat's own drawing
  (bot.channels.web_drawing), its state sealed in a hidden field: nothing is kept on the server and nothing touches
  the database. Typed words meet the real chat's safeguarding check there, and the page says what the real chat
  would have done besides (alert the safeguarding lead), which a preview never does.
- Publish: the file goes into the first survey folder the bot may write (not the built-in one; the data folder's
  surveys/ when SURVEYBOT_SURVEYS_DIR is not set, which start-up then reads too: bot.reading.survey_dirs), owner-only,
  as `<id>.yaml`, never over a different survey's file; then SurveyService.publish records and audits it as
  start-up does and this process serves it at once. Other processes on the same database find it in survey_version
  when a campaign, a conversation or a report asks them for it (bot.services.surveyfiles.SurveyCatalogue); a new
  conversation started there by the survey's id gets it after their next restart.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path, PurePath
from typing import Any

from aiohttp import web
from aiohttp.web_request import FileField

from bot.channels import web_drawing
from bot.channels.web_events import Refused, form_event
from bot.config import Settings
from bot.console.site import CSRF_FIELD, FORM, PREFIX, Console, Refusal
from bot.console.survey_preview import OUT_OF_DATE, first_screen, seal, unseal, walk
from bot.engine import conversation as engine
from bot.engine.survey import Audience, Survey
from bot.language.checking import check_surveys
from bot.reading import own_survey_dir, survey_dirs
from bot.services import notices
from bot.services.console_access import Person
from bot.services.problems import Problem, SurveyFileError
from bot.services.roles import Action
from bot.services.surveyfiles import (
    MAX_SURVEY_BYTES,
    FileClash,
    builtin_survey_dir,
    check_files,
    parse_survey,
    placed,
    survey_paths,
    too_big,
    write_survey,
)

ROOT = f"{PREFIX}/surveys"
EDIT = f"{ROOT}/edit"
CHECK = f"{ROOT}/check"
PREVIEW = f"{ROOT}/preview"
PUBLISH = f"{ROOT}/publish"
SURVEY_ID = re.compile(r"^[a-z0-9][a-z0-9_-]{0,62}$")
SAFE_NAME = re.compile(r"[^A-Za-z0-9._-]")
NEW_NAME = "new-survey.yaml"
SEAL_LABEL = "console-survey-preview"
AUDIENCES = {Audience.YOUNG_PEOPLE.value: "Young people", Audience.PRACTITIONERS.value: "Practitioners",
             Audience.PARTNERS.value: "Partners"}


# --- the list ------------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Version:
    number: int
    published_on: date | None
    answered: bool
    loaded: bool  # in the survey folders, so this process can run it


@dataclass
class Row:
    id: str
    title: str
    audience: str
    versions: list[Version] = field(default_factory=list)
    serving: int | None = None  # the version a new conversation gets


def survey_rows(console: Console) -> list[Row]:
    """Every survey loaded or ever published, with each version: when it was published, whether it has answers,
    and whether it is loaded. Runs on a worker thread."""
    core = console.core
    published = core.service.published_list()
    ids = sorted({*core.catalogue.ids(), *(row[0] for row in published)})
    rows: list[Row] = []
    for survey_id in ids:
        loaded = core.catalogue.versions(survey_id)
        mine = [p for p in published if p[0] == survey_id]
        if loaded:
            latest = core.catalogue.latest(survey_id)
            title, audience = latest.title, latest.audience.value
        else:
            title, audience = mine[-1][2], mine[-1][3]
        numbers = sorted({*loaded, *(p[1] for p in mine)})
        facts = {p[1]: p for p in mine}
        versions = [Version(n, facts[n][4] if n in facts else None, bool(facts[n][5]) if n in facts else False,
                            n in loaded) for n in numbers]
        rows.append(Row(survey_id, title, AUDIENCES.get(audience, audience), versions,
                        max(loaded) if loaded else None))
    return rows


# --- checking ------------------------------------------------------------------------------------------------------

@dataclass
class Checked:
    """A checked upload: its name and text, the survey it describes (when it reads), what is wrong, the notes, and
    where publishing would write it (None: nowhere we may)."""

    name: str
    source: str
    survey: Survey | None = None
    problems: list[Problem] = field(default_factory=list)
    warnings: list[Problem] = field(default_factory=list)
    target: Path | None = None
    refusal: str | None = None  # why it cannot be published although it has no problems

    @property
    def ok(self) -> bool:
        return self.survey is not None and not self.problems


def publish_folder(settings: Settings) -> Path | None:
    """The folder a published survey file goes into: the first of SURVEYBOT_SURVEYS_DIR that is a folder the bot
    may write and not the built-in surveys (part of the installed package, replaced on upgrade); without that
    setting, the data folder's surveys/ (made on first publish). None when no configured folder can be written."""
    if not settings.surveys_dirs:
        return own_survey_dir(settings)
    builtin = builtin_survey_dir().resolve()
    for folder in settings.surveys_dirs:
        if folder.is_dir() and folder.resolve() != builtin and os.access(folder, os.W_OK | os.X_OK):
            return folder
    return None


def check_upload(console: Console, name: str, source: str, early: list[Problem] | None = None) -> Checked:
    """The checks of `surveybot surveys check`, over the survey folders with this text in place of the file it would
    be written to, and whether that version's wording is frozen. `early`: problems found reading the upload itself
    (not UTF-8, too big), which stop it being read. Runs on a worker thread."""
    checked = Checked(name, source)
    if early:
        checked.problems = list(early)
        return checked
    settings = console.core.settings
    files = list(survey_paths(survey_dirs(settings)))
    folder = publish_folder(settings)
    try:
        survey: Survey | None = parse_survey(source, name)
    except SurveyFileError:
        survey = None  # the full check below lists why
    if survey is not None and folder is not None:
        checked.target, checked.refusal = _target(survey, folder, files)
    elif survey is not None:
        checked.refusal = ("none of the survey folders (SURVEYBOT_SURVEYS_DIR) can be written by the bot, so it "
                           "cannot publish here; ask whoever runs the server")
    target = checked.target.resolve() if checked.target is not None else None
    others = [p for p in files if p.resolve() != target]
    found = check_surveys(others, settings.safeguarding_phrases, settings.language_glossary, [(name, source)])
    checked.problems = found.problems
    checked.warnings = [w for w in found.warnings if w.path == name]
    checked.survey = next((s for s in found.surveys if s.path == name), None)
    if checked.survey is not None:
        frozen = console.core.service.frozen(checked.survey)
        if frozen is not None:
            checked.problems.append(frozen)
    return checked


def _target(survey: Survey, folder: Path, files: list[Path]) -> tuple[Path | None, str | None]:
    """Where this survey's file goes: the file in the publishing folder that holds this very version already (an
    edit of it), else a new name (bot.services.surveyfiles.placed)."""
    if folder.is_dir():
        there = [p for p in files if p.parent.resolve() == folder.resolve()]
        for held in check_files(there)[0]:
            if (held.id, held.version) == (survey.id, survey.version):
                return Path(held.path), None
    try:
        return placed(survey, folder), None
    except FileClash as clash:
        return None, str(clash)


def read_upload(fields: dict[str, Any], fallback_name: str) -> tuple[str, str, list[Problem]]:
    """(name, text, problems reading it) from the editor's form: an uploaded file when one was chosen, else the
    text box. Line ends are made `\\n`, as reading a file does (the command line's check reads files that way)."""
    name = clean_name(str(fields.get("name") or fallback_name))
    text = str(fields.get("source") or "")
    upload = fields.get("file")
    if isinstance(upload, FileField) and (upload.filename or "").strip():
        name = clean_name(upload.filename)
        size = upload.file.seek(0, os.SEEK_END)  # aiohttp has it whole already, within the server's 1 MB
        if size > MAX_SURVEY_BYTES:  # checked before decoding, as the command line checks a file's size
            return name, text, [too_big(name, size)]
        upload.file.seek(0)
        data = upload.file.read()
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError:
            return name, text, [Problem(name, 1, "the file is not UTF-8 text (save it as UTF-8 and upload it again)")]
    return name, lf(text), []


def lf(text: str) -> str:
    """Line ends as `\n`: browsers send a text box's lines (and a hidden field's) with `\r\n`."""
    return text.replace("\r\n", "\n").replace("\r", "\n")


def clean_name(name: str) -> str:
    """A file name to show problems under: its last part, in safe characters only."""
    last = PurePath(name.replace("\\", "/")).name
    cleaned = SAFE_NAME.sub("-", last)[:80].strip(".-")
    return cleaned or NEW_NAME


# --- the pages -----------------------------------------------------------------------------------------------------

def register(console: Console) -> None:
    key = console.core.keys.secret(SEAL_LABEL).encode()

    def editor(person: Person, checked: Checked, *, status: int = 200, heading: str | None = None,
               checked_now: bool = True) -> web.Response:
        lines = checked.source.split("\n")  # as the reader counts lines (bot.services.yamlnodes.NodeReader.line)
        if len(lines) > 1 and lines[-1] == "":
            lines.pop()  # the file's last newline ends its last line; it does not start another
        flagged: dict[int, list[str]] = {}
        for problem in [*checked.problems, *checked.warnings]:
            if problem.path == checked.name and 1 <= problem.line <= len(lines):
                flagged.setdefault(problem.line, []).append(problem.message)
        return console.render(
            person, "surveys/edit.html", status=status, current=ROOT, checked=checked, checked_now=checked_now,
            heading=heading or _heading(checked), lines=lines if checked_now and flagged else [], flagged=flagged,
            line_count=len(lines), actions={"check": CHECK, "preview": PREVIEW, "publish": PUBLISH})

    @console.page(ROOT, Action.CHANGE_SURVEYS)
    async def listing(request: web.Request, person: Person) -> web.StreamResponse:
        rows = await console.work(survey_rows, console)
        done = None
        survey_id = request.query.get("survey", "")
        if request.query.get("done") == "published" and SURVEY_ID.match(survey_id) and \
                console.core.catalogue.has(survey_id):
            done = console.core.catalogue.latest(survey_id)
        return console.render(person, "surveys/list.html", current=ROOT, rows=rows, done=done, edit=EDIT)

    @console.page(EDIT, Action.CHANGE_SURVEYS)
    async def edit(request: web.Request, person: Person) -> web.StreamResponse:
        survey_id = request.query.get("survey")
        if survey_id is None:
            return editor(person, Checked(NEW_NAME, ""), heading="Add a survey", checked_now=False)
        if not SURVEY_ID.match(survey_id):
            raise Refusal(404, "There is no survey with that id.")
        survey = await console.work(_current, console, survey_id)
        if survey is None:
            raise Refusal(404, "There is no survey with that id.")
        name = clean_name(Path(survey.path).name) if survey.path.endswith((".yaml", ".yml")) else f"{survey_id}.yaml"
        return editor(person, Checked(name, survey.source), heading=f"Edit “{survey.title}”", checked_now=False)

    @console.form(CHECK, Action.CHANGE_SURVEYS)
    async def check(request: web.Request, person: Person) -> web.StreamResponse:
        name, text, early = read_upload(request[FORM], NEW_NAME)
        checked = await console.work(check_upload, console, name, text, early)
        return editor(person, checked)

    @console.form(PUBLISH, Action.CHANGE_SURVEYS)
    async def publish(request: web.Request, person: Person) -> web.StreamResponse:
        name, text, early = read_upload(request[FORM], NEW_NAME)
        checked = await console.work(check_upload, console, name, text, early)
        if not checked.ok:
            return editor(person, checked, status=400)
        if checked.target is None:
            return editor(person, checked, status=409)
        try:
            await console.work(_publish, console, person, checked)
        except SurveyFileError as exc:  # its wording froze in the meantime
            checked.problems = [Problem(name, p.line, p.message) for p in exc.problems]
            return editor(person, checked, status=409)
        except OSError as exc:
            checked.refusal = (f"the survey file could not be written ({exc.strerror or type(exc).__name__}), so "
                               "nothing was published")
            return editor(person, checked, status=409)
        assert checked.survey is not None
        return console.see_other(f"{ROOT}?done=published&survey={checked.survey.id}")

    @console.form(PREVIEW, Action.CHANGE_SURVEYS)
    async def preview(request: web.Request, person: Person) -> web.StreamResponse:
        fields = request[FORM]
        sealed = fields.get("seal")
        if not isinstance(sealed, str) or not sealed:  # from the editor: check it, then the first screen
            name, text, early = read_upload(fields, NEW_NAME)
            checked = await console.work(check_upload, console, name, text, early)
            if checked.survey is None or checked.problems:
                return editor(person, checked)
            survey = checked.survey
            step = first_screen(console, survey)
            action: object = None
        else:
            name = clean_name(str(fields.get("name") or NEW_NAME))
            text = lf(str(fields.get("source") or ""))
            try:
                survey = parse_survey(text, name)
            except SurveyFileError:
                raise Refusal(400, OUT_OF_DATE) from None
            state = unseal(key, sealed, text)
            pairs = [(k, v) for k, v in (await request.post()).items() if isinstance(v, str)]
            try:
                action = form_event(pairs)
            except Refused as refused:
                raise Refusal(400, f"That could not be read ({refused.message}). Please try again.") from None
            step = walk(console, survey, state, action)
        hidden = [(CSRF_FIELD, console.access.csrf(person.token)), ("name", name), ("source", survey.source),
                  ("seal", seal(key, step.state, survey.source))]
        kept = action if isinstance(action, engine.Reply) and not step.checked else None  # checked words: never
        drawn = web_drawing.draw(step.effects, PREVIEW, summary=notices.summary(survey.audience), kept=kept,
                                 hidden=hidden)
        chat = "".join(d["html"] for d in drawn if "html" in d)
        said = " ".join(d["text"] for d in drawn if d["type"] == "notice")
        return console.render(person, "surveys/preview.html", current=ROOT, survey=survey, chat=chat,
                              said=said, note=step.note, finished=step.state.finished, name=name,
                              source=survey.source, actions={"check": CHECK, "preview": PREVIEW})


def _heading(checked: Checked) -> str:
    return f"Check “{checked.survey.title}”" if checked.survey is not None else "Check a survey"


def _current(console: Console, survey_id: str) -> Survey | None:
    """The survey as it is now: the loaded latest version, or the last published text of one no longer loaded."""
    if console.core.catalogue.has(survey_id):
        return console.core.catalogue.latest(survey_id)
    versions = console.core.published_versions(survey_id)
    return versions[-1] if versions else None


def _publish(console: Console, person: Person, checked: Checked) -> str:
    assert checked.survey is not None and checked.target is not None
    target = checked.target
    survey = parse_survey(checked.source, str(target))  # as start-up will read it, from its file
    if not target.parent.exists():
        target.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    return console.core.service.publish(survey, lambda: write_survey(target, checked.source),
                                        console.access.who(person.address))
