"""Reading the safeguarding lead's phrase list (phrases.yaml, or their edited copy), with every problem as
`file:line: message`, the same way survey files are checked (bot.services.surveyfiles), so a broken edit is caught by
`surveybot surveys check` and refused at start with a line to fix, never silently ignored."""

from __future__ import annotations

from importlib import resources
from pathlib import Path

import yaml

from bot.services.safeguarding.matching import CATEGORIES, SHORTEST, fold
from bot.services.surveyfiles import Problem, SurveyFileError

SHIPPED = "phrases.yaml"


class PhraseFileError(SurveyFileError):
    """The phrase list has problems: reported like a survey file's (`file:line: message`), and the bot refuses to
    start on it rather than run with a list the lead did not mean."""


def shipped_path() -> Path:
    return Path(str(resources.files("bot.services.safeguarding").joinpath(SHIPPED)))


def parse_phrases(source: str, path: str) -> tuple[dict[str, list[str]], list[Problem]]:
    """The categories and their phrases, and every problem found (empty when the file is good)."""
    problems: list[Problem] = []
    try:
        root = yaml.compose(source)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark is not None else 1
        return {}, [Problem(path, line, f"this is not valid YAML: {getattr(exc, 'problem', None) or exc}")]
    if not isinstance(root, yaml.MappingNode):
        line = root.start_mark.line + 1 if root is not None else 1
        return {}, [Problem(path, line, "the phrase list should be categories (`self-harm:`), each with a list of "
                                        "phrases")]
    phrases: dict[str, list[str]] = {}
    seen: dict[str, int] = {}
    for key, value in root.value:
        line = key.start_mark.line + 1
        category = key.value if isinstance(key, yaml.ScalarNode) else ""
        if category not in CATEGORIES:
            problems.append(Problem(path, line, f"`{category}` is not a category; use one of {', '.join(CATEGORIES)}"))
            continue
        if category in phrases:
            problems.append(Problem(path, line, f"category `{category}` is given twice"))
            continue
        if not isinstance(value, yaml.SequenceNode):
            problems.append(Problem(path, value.start_mark.line + 1, f"`{category}` should be a list of phrases, "
                                                                     "one per line starting with `- `"))
            continue
        phrases[category] = []
        for item in value.value:
            at = item.start_mark.line + 1
            if not isinstance(item, yaml.ScalarNode) or not item.value.strip():
                problems.append(Problem(path, at, f"a phrase under `{category}` should be plain words"))
                continue
            glued = fold(item.value)
            if len(glued) < SHORTEST:
                problems.append(Problem(path, at, f"the phrase `{item.value}` is too short: it needs at least "
                                                  f"{SHORTEST} letters, or it would match ordinary words"))
                continue
            if glued in seen:
                problems.append(Problem(path, at, f"the phrase `{item.value}` is already listed (line {seen[glued]})"))
                continue
            seen[glued] = at
            phrases[category].append(item.value.strip())
    return phrases, problems


def load_phrases(path: Path | None = None) -> dict[str, list[str]]:
    """The phrase list at `path` (the shipped one when None). Raises PhraseFileError naming every problem."""
    path = path or shipped_path()
    try:
        source = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        reason = getattr(exc, "strerror", None) or "not UTF-8 text"
        raise PhraseFileError([Problem(str(path), 0, f"cannot read the phrase list: {reason}")]) from None
    phrases, problems = parse_phrases(source, str(path))
    if problems:
        raise PhraseFileError(problems)
    return phrases
