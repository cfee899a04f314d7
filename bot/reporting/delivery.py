"""Reports and exports asked for in a chat: the part every channel shares.

A scrutineer (or admin) types a command in a direct message with the bot; the channel parses it with
`parse_request`, calls `deliverable` (on the service's database thread: it reads and writes the store) and sends
the file back as a document in the same direct message (Telegram sendDocument, Slack files.uploadV2). This module
checks the role, builds the file in a temporary folder, and writes the audit record with the channel and a keyed
fingerprint of who asked (the one bot.services.roles writes for a grant, so the two can be matched), never their id.

The commands, as a person types them (also in HELP):

    /report SURVEY [WAVE] [compare OTHER_WAVE]
    /export SURVEY csv|xlsx|json [WAVE]
    /evidence SURVEY [WAVE]
"""

from __future__ import annotations

import hashlib
import io
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from bot.config import Settings, SettingsError
from bot.domain.address import Address
from bot.engine.survey import Survey
from bot.reporting import export, html, pack
from bot.reporting.report import ReportRequestError, make_report
from bot.reporting.signing import signing_key
from bot.services.core import Core
from bot.services.roles import Action, Forbidden, Roles
from storage import results
from storage.files import create_owner_only

KINDS = ("report", "csv", "xlsx", "json", "evidence")
# The type each kind of file is sent as, over HTTP (the console's downloads, Teams' download links).
CONTENT_TYPES = {
    "report": "text/html",
    "csv": "text/csv",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "json": "application/json",
    "evidence": "application/zip",
}
TEXT_TYPES = {"text/html", "text/csv", "text/markdown", "application/json"}  # sent with charset=utf-8
COMMANDS = frozenset({"report", "export", "evidence"})
"""The command words a channel hands to `respond` instead of the survey (typed as /report, /export, /evidence)."""
HELP = (
    "Reports and exports (scrutineer or admin role):\n"
    "/report SURVEY [WAVE] [compare OTHER_WAVE]: the HTML report, e.g. /report policy-awareness 2 compare 1\n"
    "/export SURVEY csv|xlsx|json [WAVE]: every completed response, e.g. /export policy-awareness xlsx\n"
    "/evidence SURVEY [WAVE]: the signed evidence pack (zip)\n"
    "The file arrives here (in Microsoft Teams, as a download link). Exports are record-level: keep them safe and "
    "never publish them."
)


class ReportingParts(Core, Protocol):
    """What a chat request needs: the core parts, and the settings the evidence pack's signing key is read from.
    bot.app hands its `App` (which has both); nothing here imports it."""

    @property
    def settings(self) -> Settings: ...


class RequestError(Exception):
    """The command could not be understood or met; the message is what to tell the person, in plain words."""


@dataclass(frozen=True)
class Request:
    kind: str  # one of KINDS
    survey_id: str
    wave: int | None = None
    compare: int | None = None


@dataclass(frozen=True)
class Deliverable:
    filename: str
    data: bytes
    caption: str


def parse_request(text: str) -> Request:
    """`/report ...`, `/export ...` or `/evidence ...` as typed (a leading slash and @botname are optional)."""
    words = text.strip().split()
    if not words:
        raise RequestError(HELP)
    command = words[0].lstrip("/").split("@", 1)[0].lower()
    rest = words[1:]
    if command not in ("report", "export", "evidence") or not rest:
        raise RequestError(HELP)
    survey_id = rest[0]
    if command == "export":
        if len(rest) < 2 or rest[1].lower() not in ("csv", "xlsx", "json"):
            raise RequestError("Which format? For example: /export " + survey_id + " xlsx (or csv, json).")
        return Request(rest[1].lower(), survey_id, _wave(rest[2:], 1))
    if command == "evidence":
        return Request("evidence", survey_id, _wave(rest[1:], 1))
    compare = None
    if "compare" in [w.lower() for w in rest]:
        at = [w.lower() for w in rest].index("compare")
        compare = _wave(rest[at + 1:at + 2], 1, "Compare with which wave? For example: compare 1")
        rest = rest[:at]
    return Request("report", survey_id, _wave(rest[1:], 1), compare)


def _wave(words: list[str], limit: int, missing: str | None = None) -> int | None:
    if not words:
        if missing:
            raise RequestError(missing)
        return None
    if len(words) > limit or not words[0].isdigit() or int(words[0]) < 1:
        raise RequestError(f"“{' '.join(words)}” is not a wave number. Waves are 1, 2, 3...")
    return int(words[0])


def check(app: ReportingParts, requester: Address, request: Request) -> list[Survey]:
    """What must hold before a file is built: the requester may export, the survey and the wave exist. The survey's
    published versions, for building it. Raises Forbidden or RequestError, as `deliverable` does."""
    Roles(app.store, app.keys, app.service.clock).require_to(Action.EXPORT, requester)
    versions = app.published_versions(request.survey_id)
    if not versions:
        raise RequestError(f"There is no survey called “{request.survey_id}”. Surveys: "
                           f"{', '.join(app.catalogue.ids())}.")
    if request.wave is not None:
        with app.store.unit() as uow:
            known = results.waves(uow, request.survey_id)
        if request.wave not in known:
            raise RequestError(f"“{request.survey_id}” has no wave {request.wave} (it has "
                               f"{', '.join(map(str, known)) or 'none yet'}).")
    return versions


def fingerprint(app: ReportingParts, requester: Address) -> str:
    """Who asked, as the audit log names them: the keyed fingerprint a role grant is audited with, never an id."""
    return app.keys.audit(b"role|" + requester.identity())


def deliverable(app: ReportingParts, requester: Address, request: Request, via: str | None = None) -> Deliverable:
    """The file for a chat request (or a web console download: `via` "console"), after checking the requester may
    export results; audited with `via` (default: the requester's channel) and a keyed fingerprint of who asked.

    Raises Forbidden (the person lacks the role) or RequestError (no such survey or wave)."""
    versions = check(app, requester, request)
    who = fingerprint(app, requester)
    via = via or requester.channel
    try:
        if request.kind == "report":
            return _report(app, request, via, who)
        if request.kind == "evidence":
            return _evidence(app, request, versions, via, who)
        return _export(app, request, versions, via, who)
    except ReportRequestError as exc:
        raise RequestError(str(exc).split(": ", 1)[-1]) from None


def _report(app: ReportingParts, request: Request, via: str, who: str) -> Deliverable:
    made = make_report(app.store, app.policy, app.published_versions(request.survey_id), request.survey_id,
                       request.wave, request.compare, app.keys.secret("report-comments").encode(),
                       app.service.clock().date())
    data = html.render(made).encode()
    subject = {"survey": request.survey_id, "wave": made.current.wave, "sha256": hashlib.sha256(data).hexdigest(),
               "via": via, "who": who}
    if made.comparison is not None:
        subject["compared_with"] = made.comparison.before.wave
    with app.store.unit() as uow:
        uow.audit("report", subject, app.service.clock().date())
    compared = f", compared with wave {made.comparison.before.wave}" if made.comparison else ""
    return Deliverable(f"{request.survey_id}-wave{made.current.wave}-report.html", data,
                       f"Report: {made.current.survey.title}, wave {made.current.wave}{compared}.")


def _export(app: ReportingParts, request: Request, versions: list[Survey], via: str, who: str) -> Deliverable:
    header = export.columns(versions)
    day = app.service.clock().date()
    suffix = f"-wave{request.wave}" if request.wave is not None else ""
    if request.kind == "xlsx":
        with tempfile.TemporaryDirectory(prefix="surveybot-export-") as folder:
            path = Path(folder) / "export.xlsx"
            create_owner_only(path)  # in a folder only we can open, and owner-only itself, like every export
            rows = export.write_xlsx(app.store, request.survey_id, header, versions, path, day, request.wave)
            data = path.read_bytes()
        codebook = "The codebook is the second sheet."
    else:
        buffer = io.StringIO(newline="")
        writer = export.write_csv if request.kind == "csv" else export.write_json
        rows = writer(app.store, request.survey_id, header, buffer, request.wave)
        data = buffer.getvalue().encode()
        codebook = "Ask for the xlsx export to get the codebook with it."
    export.record(app.store, request.survey_id, request.kind, rows, hashlib.sha256(data).hexdigest(), day,
                  wave=request.wave, via=via, who=who)
    return Deliverable(f"{request.survey_id}{suffix}.{request.kind}", data,
                       f"{rows} completed response(s). Record-level and pseudonymous: keep it safe, never publish "
                       f"it. {codebook}")


def _evidence(app: ReportingParts, request: Request, versions: list[Survey], via: str, who: str) -> Deliverable:
    try:
        key, _ = signing_key(app.settings)
    except SettingsError:
        raise RequestError("Evidence packs can't be signed yet: the server has no signing key set up.") from None
    with tempfile.TemporaryDirectory(prefix="surveybot-pack-") as folder:
        out = Path(folder) / f"{request.survey_id}-evidence.zip"
        try:
            made = pack.build(app.store, app.policy, app.keys, versions, request.survey_id, request.wave,
                              out, app.service.clock().date(), key)
        except pack.PackError as exc:
            raise RequestError(str(exc)) from None
        data = out.read_bytes()
    with app.store.unit() as uow:
        uow.audit("evidence.sent", {"survey": request.survey_id, "manifest_sha256": made.manifest_sha256,
                                    "via": via, "who": who}, app.service.clock().date())
    return Deliverable(f"{request.survey_id}-evidence.zip", data,
                       f"Evidence pack: {made.files} files, signed; key fingerprint {made.fingerprint}. Check it "
                       "with the verify_pack.py inside.")


def respond(app: ReportingParts, requester: Address, text: str) -> Deliverable | str:
    """What a channel does with a typed /report, /export or /evidence: the file to send, or what to say instead.

    Runs on the service's database thread (SurveyService.call). The channel needs nothing else from here."""
    try:
        request = parse_request(text)
        return deliverable(app, requester, request)
    except Forbidden as exc:
        return refused(app, requester, request, exc)
    except RequestError as exc:
        return str(exc)


def refused(app: ReportingParts, requester: Address, request: Request, exc: Forbidden) -> str:
    """Audit a request refused for want of the role, and say so: the same on every channel."""
    # audited like a refused admin command (bot.services.chat_admin), with who asked as a keyed fingerprint
    # (as for a granted role), never their id, and nothing of what they typed beyond the kind
    subject: dict[str, object] = {"kind": request.kind, "channel": requester.channel,
                                  "who": fingerprint(app, requester)}
    with app.store.unit() as uow:
        Roles(app.store, app.keys, app.service.clock).audit_refusal(
            uow, "export.refused", subject, requester, app.service.clock().date(), kind=("kind", "channel"))
    return f"Sorry: {exc}."
