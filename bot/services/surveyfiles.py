"""Survey files on disk: loading them, checking ids across them, and the catalogue of surveys the bot may run.

Every problem is reported as `file:line: message`. Reading one file's text is bot.services.surveyreader (the YAML
node tree, each problem with its line); this module stays the place other code imports from, so the reader's names
are offered here too.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from importlib import resources
from pathlib import Path

from bot.engine.survey import Survey
from bot.services.problems import Problem, SurveyFileError
from bot.services.surveyreader import MAX_SURVEY_BYTES, parse_survey, too_big
from bot.services.surveytext import BULLET, dashed, reflow

__all__ = [
    "BULLET", "MAX_SURVEY_BYTES", "Problem", "SurveyCatalogue", "SurveyFileError", "builtin_survey_dir", "check_files",
    "dashed", "load_survey_file", "parse_survey", "reflow", "survey_paths",
]


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


def check_files(paths: Iterable[Path]) -> tuple[list[Survey], list[Problem]]:
    """Validate files, and ids across them: two files may not claim the same survey id and version."""
    surveys: list[Survey] = []
    problems: list[Problem] = []
    owners: dict[tuple[str, int], str] = {}
    for path in survey_paths(paths):
        if not path.exists():
            problems.append(Problem(str(path), 0, "no such file or folder"))
            continue
        try:
            survey = load_survey_file(path)
        except SurveyFileError as exc:
            problems.extend(exc.problems)
            continue
        key = (survey.id, survey.version)
        if key in owners:
            problems.append(Problem(str(path), 1, f"survey `{survey.id}` version {survey.version} is already defined "
                                    f"in {owners[key]}"))
            continue
        owners[key] = str(path)
        surveys.append(survey)
    return surveys, problems


def builtin_survey_dir() -> Path:
    """The templates shipped with the package (the repository's surveys/ folder)."""
    return Path(str(resources.files("surveys")))


class SurveyCatalogue:
    """The surveys the bot may run: the latest version of each id, all of them valid (or none are loaded)."""

    def __init__(self, surveys: Iterable[Survey]) -> None:
        self._versions: dict[str, dict[int, Survey]] = {}
        for survey in surveys:
            self._versions.setdefault(survey.id, {})[survey.version] = survey

    @classmethod
    def from_dirs(cls, dirs: Iterable[Path]) -> SurveyCatalogue:
        surveys, problems = check_files(dirs)
        if problems:
            raise SurveyFileError(problems)
        return cls(surveys)

    def ids(self) -> list[str]:
        return sorted(self._versions)

    def latest(self, survey_id: str) -> Survey:
        versions = self._versions.get(survey_id)
        if not versions:
            raise KeyError(survey_id)
        return versions[max(versions)]

    def get(self, survey_id: str, version: int) -> Survey:
        return self._versions[survey_id][version]

    def has(self, survey_id: str, version: int | None = None) -> bool:
        versions = self._versions.get(survey_id, {})
        return bool(versions) if version is None else version in versions

    def all(self) -> list[Survey]:
        return [self.latest(sid) for sid in self.ids()]
