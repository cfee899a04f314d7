"""Survey files on disk: loading them, checking ids across them, and the catalogue of surveys the bot may run.

Every problem is reported as `file:line: message`. Reading one file's text is bot.services.surveyreader (the YAML
node tree, each problem with its line); this module stays the place other code imports from, so the reader's names
are offered here too.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import secrets
import threading
from collections.abc import Iterable, Iterator
from importlib import resources
from pathlib import Path

from bot.bounded import BoundedMap
from bot.engine.survey import Survey
from bot.services.problems import Problem, SurveyFileError
from bot.services.surveyreader import MAX_SURVEY_BYTES, parse_survey, too_big
from bot.services.surveytext import BULLET, dashed, reflow
from storage import results
from storage.files import create_owner_only
from storage.sql import Units

__all__ = [
    "BULLET", "MAX_SURVEY_BYTES", "FileClash", "Problem", "SurveyCatalogue", "SurveyFileError", "builtin_survey_dir",
    "check_files", "dashed", "load_survey_file", "parse_survey", "placed", "reflow", "survey_paths", "write_survey",
]

log = logging.getLogger(__name__)
# Versions published by other processes (the web console of another `surveybot run` on the same database), kept in
# memory once read: a campaign or a few conversations use one at a time, so a handful covers them, and the least
# recently used beyond this are read again when next asked for.
FOUND_CAP = 32


def load_survey_file(path: Path) -> Survey:
    try:
        size = path.stat().st_size
        if size > MAX_SURVEY_BYTES:  # checked before reading: never parse megabytes of YAML
            raise SurveyFileError([too_big(str(path), size)])
        source = path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise SurveyFileError([Problem(str(path), 1, "the file is not UTF-8 text")]) from None
    except OSError as exc:
        raise SurveyFileError([Problem(str(path), 0, f"cannot read the file: {exc.strerror}")]) from None
    return parse_survey(source, str(path))


def survey_paths(paths: Iterable[Path]) -> Iterator[Path]:
    """Each named file, and every .yaml/.yml file inside each named folder, in a stable order."""
    for path in paths:
        if path.is_dir():
            yield from sorted(p for p in path.iterdir() if p.suffix in (".yaml", ".yml") and p.is_file())
        else:
            yield path


def check_files(paths: Iterable[Path], texts: Iterable[tuple[str, str]] = ()) -> tuple[list[Survey], list[Problem]]:
    """Validate files, and ids across them: two files may not claim the same survey id and version. `texts` are
    survey files not yet written (one typed or uploaded in the web console), as (the name they are shown under, their
    text), checked after the files and against them, exactly as if they were among them."""
    surveys: list[Survey] = []
    problems: list[Problem] = []
    owners: dict[tuple[str, int], str] = {}

    def add(survey: Survey, where: str) -> None:
        key = (survey.id, survey.version)
        if key in owners:
            problems.append(Problem(where, 1, f"survey `{survey.id}` version {survey.version} is already defined "
                                    f"in {owners[key]}"))
            return
        owners[key] = where
        surveys.append(survey)

    for path in survey_paths(paths):
        if not path.exists():
            problems.append(Problem(str(path), 0, "no such file or folder"))
            continue
        try:
            add(load_survey_file(path), str(path))
        except SurveyFileError as exc:
            problems.extend(exc.problems)
    for name, text in texts:
        try:
            add(parse_survey(text, name), name)
        except SurveyFileError as exc:
            problems.extend(exc.problems)
    return surveys, problems


class FileClash(Exception):
    """A survey cannot be written where it would go: the file of that name holds something else."""


def placed(survey: Survey, folder: Path) -> Path:
    """Where a new or edited survey's file goes in `folder`: `<id>.yaml`, or `<id>-v<version>.yaml` when `<id>.yaml`
    holds another version of the same survey. That older file is kept, because conversations and campaigns still
    running on its version need it after a restart. A file of either name that holds a different survey (or
    nothing readable) is never written over: FileClash says which."""
    plain = folder / f"{survey.id}.yaml"
    for path in (plain, folder / f"{survey.id}-v{survey.version}.yaml"):
        if not path.exists():
            return path
        try:
            held = load_survey_file(path)
        except SurveyFileError:
            raise FileClash(f"{path.name} is already in the survey folder and is not a survey file we can read, "
                            "so it was left as it is") from None
        if held.id != survey.id:
            raise FileClash(f"{path.name} in the survey folder holds a different survey (`{held.id}`), so it was "
                            "left as it is")
        if held.version == survey.version:
            return path  # an edit of this very version (allowed until it collects answers)
    raise FileClash(f"{plain.name} holds another version of `{survey.id}`, and so does {survey.id}-v"
                    f"{survey.version}.yaml")


def write_survey(path: Path, text: str) -> None:
    """Write a survey file readable by the bot's own account only, whole or not at all: a process starting at that
    moment reads the old file or the new one, never half of one. The temporary name is not a .yaml name, so no
    survey folder ever lists it."""
    temporary = path.with_name(f".{path.name}.{secrets.token_hex(6)}.tmp")
    try:
        create_owner_only(temporary, text.encode("utf-8"), exclusive=True)
        os.replace(temporary, path)
    finally:
        temporary.unlink(missing_ok=True)


def builtin_survey_dir() -> Path:
    """The templates shipped with the package (the repository's surveys/ folder)."""
    return Path(str(resources.files("surveys")))


class SurveyCatalogue:
    """The surveys the bot may run: the latest version of each id, all of them valid (or none are loaded).

    What it holds is what this process read from the survey folders at start, and what it published since. Once
    given the database (`find_published_in`), it also finds a version that another process published while this
    one runs: `has` and `get` for an exact version (a campaign's, a conversation's, a report's) read it from
    survey_version when it is not held, parse it with the same reader, and keep it (at most `keep` such
    versions). A version newer than any this process holds is taken in by `catch_up`, which `serve` runs every
    sweep (`follow_published`): from then on `latest`, `ids` and `all` name it too, so a conversation started by
    the survey's id, and the console's lists, follow another process's publishing within one sweep."""

    def __init__(self, surveys: Iterable[Survey], *, keep: int = FOUND_CAP) -> None:
        self._versions: dict[str, dict[int, Survey]] = {}
        for survey in surveys:
            self._versions.setdefault(survey.id, {})[survey.version] = survey
        self._store: Units | None = None
        self._found: BoundedMap[tuple[str, int], Survey] = BoundedMap(keep)
        self._found_lock = threading.Lock()  # the map is read and written by the database and console threads

    @classmethod
    def from_dirs(cls, dirs: Iterable[Path]) -> SurveyCatalogue:
        surveys, problems = check_files(dirs)
        if problems:
            raise SurveyFileError(problems)
        return cls(surveys)

    def find_published_in(self, store: Units) -> None:
        """Look in this database's survey_version table for an exact version this process does not hold. Set once
        by the composition root, after the catalogue is checked and the database reached."""
        self._store = store

    def add(self, survey: Survey) -> None:
        """A version published while the bot runs (the web console): served at once by everything holding this
        catalogue. The maps are replaced, never changed in place, so a reader on another thread never iterates one
        that is changing."""
        versions = {**self._versions.get(survey.id, {}), survey.version: survey}
        self._versions = {**self._versions, survey.id: versions}

    def ids(self) -> list[str]:
        return sorted(self._versions)

    def versions(self, survey_id: str) -> list[int]:
        """The loaded versions of a survey, oldest first."""
        return sorted(self._versions.get(survey_id, {}))

    def latest(self, survey_id: str) -> Survey:
        versions = self._versions.get(survey_id)
        if not versions:
            raise KeyError(survey_id)
        return versions[max(versions)]

    def get(self, survey_id: str, version: int) -> Survey:
        found = self._versions.get(survey_id, {}).get(version) or self._published(survey_id, version)
        if found is None:
            raise KeyError((survey_id, version))
        return found

    def has(self, survey_id: str, version: int | None = None) -> bool:
        versions = self._versions.get(survey_id, {})
        if version is None:
            return bool(versions)
        return version in versions or self._published(survey_id, version) is not None

    def all(self) -> list[Survey]:
        return [self.latest(sid) for sid in self.ids()]

    def catch_up(self) -> list[tuple[str, int]]:
        """Take in every version published on the database that is newer than the newest this process holds of
        its survey (or of a survey it has never held): the (id, version) pairs taken in, by id and version. One small
        query (keys only) when there is nothing new."""
        if self._store is None:
            return []
        with self._store.unit() as uow:
            keys = results.published_digests(uow)
        taken = []
        for survey_id, version in sorted(keys):
            if version > max(self._versions.get(survey_id, {}), default=0):
                survey = self._published(survey_id, version)
                if survey is not None:
                    self.add(survey)
                    taken.append((survey_id, version))
        return taken

    def _published(self, survey_id: str, version: int) -> Survey | None:
        """A version published by another process, read from the database once and kept; None when it was never
        published (nothing is kept for that, so a version published a moment later is found next time).

        The lock is never held while the database is read: a thread inside a unit of work may be waiting for it."""
        if self._store is None:
            return None
        key = (survey_id, version)
        with self._found_lock:
            kept = self._found.get(key)
        if kept is not None:
            return kept
        with self._store.unit() as uow:
            source = results.published_source(uow, survey_id, version)
        if source is None:
            return None
        try:
            survey = parse_survey(source, f"{survey_id} v{version} (as published)")
        except SurveyFileError as exc:  # published by a newer or older reader than this one: not ours to run
            log.warning("survey %s version %d as published cannot be read here (%s)", survey_id, version,
                        exc.problems[0].message if exc.problems else "unreadable")
            return None
        if (survey.id, survey.version) != key:
            log.warning("survey %s version %d as published names another survey or version", survey_id, version)
            return None
        with self._found_lock:
            self._found.put(key, survey)
        return survey


async def follow_published(catalogue: SurveyCatalogue, every: float, stop: asyncio.Event) -> None:
    """Until `stop`, every `every` seconds: take in what other processes published (SurveyCatalogue.catch_up).

    Why a sweep and not a query per start: a conversation starts on the event loop, which must not wait for the
    database; a sweep's delay (30 seconds by default) is what a person publishing in the console can wait."""
    while not stop.is_set():
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), every)
        if stop.is_set():
            return
        try:
            taken = await asyncio.to_thread(catalogue.catch_up)
        except Exception as exc:  # the database away for a moment: the next sweep tries again
            log.warning("could not look for surveys published by another process (%s)", type(exc).__name__)
            continue
        for survey_id, version in taken:
            log.info("survey %s version %d, published by another process, is now served here too", survey_id, version)
