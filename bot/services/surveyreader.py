"""Reading one survey file's text: the YAML the business unit writes, with every problem as `file:line: message`.

We read YAML as a node tree (yaml.compose) rather than as Python values, for two reasons: every node keeps its line,
so each problem can name one; and every scalar is taken as the text written, so an option written `No`, `on` or `01`
stays that string instead of YAML 1.1 turning it into False or 1. Only fields the format declares as numbers or
switches are converted, explicitly.
"""

from __future__ import annotations

import re

import yaml

from bot.engine.survey import (
    CHOICE_KINDS,
    DEFAULT_TEXT_LIMIT,
    NO,
    OTHER_LABEL,
    YES,
    Audience,
    Condition,
    Kind,
    Question,
    Survey,
)
from bot.services.policy import MIN_THRESHOLD, Policy
from bot.services.problems import Problem, SurveyFileError
from bot.services.surveytext import dashed, reflow
from bot.services.yamlnodes import FAST_LOADER, ODD_BREAKS, NodeReader

SURVEY_ID = re.compile(r"^[a-z0-9][a-z0-9_-]{0,62}$")
QUESTION_ID = re.compile(r"^[a-z][a-z0-9_]{0,62}$")
MAX_TEXT_LIMIT = 4000
MAX_LABEL = 200
# The longest shipped survey (the Wood partner survey, 31 questions) is under 10 KB. Far above any real survey, and
# far below what takes seconds and hundreds of MB to parse (11 MB of questions took 22 s and 694 MB).
MAX_SURVEY_BYTES = 256 * 1024
MAX_QUESTIONS = 300

SURVEY_KEYS = {"id", "version", "title", "audience", "intro", "thanks", "min_group", "questions"}
MAX_MIN_GROUP = 100  # a threshold above this would hide nearly every table of a real round: surely a typo
COMMON_KEYS = {"id", "kind", "text", "hint", "optional", "ask_if"}
KIND_KEYS: dict[Kind, set[str]] = {
    Kind.SINGLE: {"choices", "other", "breakdown"},
    Kind.MULTI: {"choices", "other"},
    Kind.YESNO: {"breakdown"},
    Kind.SCALE: {"min", "max", "min_label", "max_label"},
    Kind.NUMBER: {"min", "max", "integer"},
    Kind.TEXT: {"max_length", "feedback"},
    Kind.KNOWLEDGE: {"choices", "correct", "explanation"},
}


class SurveyReader(NodeReader):
    """Turns one file's node tree into a Survey, collecting problems instead of stopping at the first."""

    def survey(self, root: yaml.Node, source: str) -> Survey | None:
        fields = self.mapping(root, "the survey")
        if fields is None:
            return None
        for key, (key_node, _) in fields.items():
            if key not in SURVEY_KEYS:
                self.problem(key_node, f"unknown key `{key}` (expected one of: {', '.join(sorted(SURVEY_KEYS))})")
        for key in ("id", "version", "title", "audience", "intro", "questions"):
            if key not in fields:
                self.problem(root, f"the survey has no `{key}`")
        values: dict[str, object] = {}
        if "id" in fields:
            node = fields["id"][1]
            sid = self.text(node, "`id`", 64)
            if sid is not None and not SURVEY_ID.match(sid):
                self.problem(node, f"survey id `{sid}` may use only lower case letters, digits, `-` and `_`")
            values["id"] = sid
        if "version" in fields:
            version = self.integer(fields["version"][1], "`version`")
            if version is not None and version < 1:
                self.problem(fields["version"][1], "`version` should be 1 or more")
            values["version"] = version
        for key, limit in (("title", 200), ("intro", 4000), ("thanks", 2000)):
            if key in fields:
                values[key] = self.text(fields[key][1], f"`{key}`", limit)
        if values.get("title"):
            values["title"] = dashed(str(values["title"]))
        for key in ("intro", "thanks"):
            if values.get(key):
                values[key] = reflow(str(values[key]))
        if "audience" in fields:
            node = fields["audience"][1]
            raw = self.text(node, "`audience`")
            if raw is not None and raw not in {a.value for a in Audience}:
                self.problem(node, f"audience `{raw}` should be one of: {', '.join(a.value for a in Audience)}")
            else:
                values["audience"] = raw
        if "min_group" in fields:
            values["min_group"] = self.min_group(fields["min_group"][1], values.get("audience"))
        questions: list[Question] = []
        if "questions" in fields:
            questions = self.questions(fields["questions"][1])
        if self.problems or any(values.get(k) is None for k in ("id", "version", "title", "audience", "intro")):
            return None
        extra: dict[str, object] = {"thanks": values["thanks"]} if values.get("thanks") else {}
        if values.get("min_group") is not None:
            extra["min_group"] = values["min_group"]
        return Survey(
            id=str(values["id"]),
            version=int(values["version"]),  # type: ignore[call-overload]
            title=str(values["title"]),
            audience=Audience(str(values["audience"])),
            intro=str(values["intro"]),
            questions=tuple(questions),
            source=source,
            path=self.path,
            **extra,  # type: ignore[arg-type]
        )

    def min_group(self, node: yaml.Node, audience: object) -> int | None:
        """The survey's own reporting threshold: from 3 (below that "fewer than k" would say "exactly 1"); below the
        setting's default only for partner surveys, which organisations answer, never for surveys of people."""
        value = self.integer(node, "`min_group`")
        if value is None:
            return None
        if not MIN_THRESHOLD <= value <= MAX_MIN_GROUP:
            self.problem(node, f"`min_group` is {value}; it should be from {MIN_THRESHOLD} to {MAX_MIN_GROUP}")
            return None
        if audience in {a.value for a in Audience} and audience != Audience.PARTNERS.value:
            floor = Policy().thresholds(Audience(str(audience))).group
            if value < floor:
                self.problem(node, f"`min_group` is {value}, below the {floor} that protects people in a {audience} "
                             "survey; only a partners survey, answered by organisations, may set a lower one")
                return None
        return value

    def questions(self, node: yaml.Node) -> list[Question]:
        if not isinstance(node, yaml.SequenceNode) or not node.value:
            self.problem(node, "`questions` should be a list of at least one question")
            return []
        if len(node.value) > MAX_QUESTIONS:
            self.problem(node, f"there are {len(node.value):,} questions; a survey may have at most {MAX_QUESTIONS} "
                               "(split a longer one into several surveys)")
            return []
        seen: dict[str, Question] = {}
        out: list[Question] = []
        for item in node.value:
            question = self.question(item, seen)
            if question is None:
                continue
            if question.id in seen:
                first = seen[question.id].line
                self.problem(item, f"question id `{question.id}` is used twice (first on line {first})")
                continue
            seen[question.id] = question
            out.append(question)
        return out

    def question(self, node: yaml.Node, earlier: dict[str, Question]) -> Question | None:
        fields = self.mapping(node, "a question")
        if fields is None:
            return None
        line = self.line(node.start_mark)
        before = len(self.problems)
        qid = self.text(fields["id"][1], "`id`", 64) if "id" in fields else None
        where = f"question `{qid}`" if qid else "this question"
        if "id" not in fields:
            self.problem(node, "a question has no `id`")
        elif qid is not None and not QUESTION_ID.match(qid):
            self.problem(fields["id"][1], f"question id `{qid}` may use only lower case letters, digits and `_`")
        if "kind" not in fields:
            self.problem(node, f"{where} has no `kind`")
            return None
        raw_kind = self.text(fields["kind"][1], "`kind`")
        if raw_kind not in {k.value for k in Kind}:
            kinds = ", ".join(k.value for k in Kind)
            self.problem(fields["kind"][1], f"{where}: kind `{raw_kind}` should be one of: {kinds}")
            return None
        kind = Kind(raw_kind)
        allowed = COMMON_KEYS | KIND_KEYS[kind]
        for key, (key_node, _) in fields.items():
            if key not in allowed:
                self.problem(key_node, f"unknown key `{key}` for a {kind.value} question (allowed: "
                             f"{', '.join(sorted(allowed))})")
        text = self.text(fields["text"][1], f"the text of {where}") if "text" in fields else None
        if "text" not in fields:
            self.problem(node, f"{where} has no `text`")
        args: dict[str, object] = {}
        if "hint" in fields:
            args["hint"] = self.text(fields["hint"][1], f"the hint of {where}", 500)
        if "optional" in fields:
            args["optional"] = self.switch(fields["optional"][1], "`optional`")
        if kind in CHOICE_KINDS:
            self.read_choices(fields, kind, where, node, args)
        if kind is Kind.SCALE or kind is Kind.NUMBER:
            self.read_bounds(fields, kind, where, node, args)
        if kind is Kind.TEXT and "max_length" in fields:
            limit = self.integer(fields["max_length"][1], "`max_length`")
            if limit is not None and not 1 <= limit <= MAX_TEXT_LIMIT:
                self.problem(fields["max_length"][1], f"`max_length` should be from 1 to {MAX_TEXT_LIMIT}")
            args["max_length"] = limit if limit else DEFAULT_TEXT_LIMIT
        if "feedback" in fields:
            args["feedback"] = self.switch(fields["feedback"][1], "`feedback`")
        if "breakdown" in fields:
            name = self.text(fields["breakdown"][1], "`breakdown`", 40)
            if name is not None and not QUESTION_ID.match(name):
                self.problem(fields["breakdown"][1], f"breakdown `{name}` may use only lower case letters, digits, _")
            if fields.get("optional") and args.get("optional"):
                self.problem(fields["breakdown"][1], f"{where} is a breakdown, so it cannot be optional")
            args["breakdown"] = name
        if "ask_if" in fields:
            args["ask_if"] = self.condition(fields["ask_if"][1], where, earlier)
        if len(self.problems) > before or qid is None or text is None:
            return None
        return Question(id=qid, kind=kind, text=text, line=line, **args)  # type: ignore[arg-type]

    def read_choices(self, fields: dict, kind: Kind, where: str, node: yaml.Node, args: dict[str, object]) -> None:
        if "choices" not in fields:
            self.problem(node, f"{where} has no `choices`")
            return
        choices = self.text_list(fields["choices"][1], f"the choices of {where}", MAX_LABEL)
        seen: set[str] = set()
        for label, item in choices:
            if label.casefold() in seen:
                self.problem(item, f"{where}: choice `{label}` is listed twice")
            if label == OTHER_LABEL:
                self.problem(item, f"{where}: use `other: true` rather than listing `{OTHER_LABEL}`")
            seen.add(label.casefold())
        if len(choices) < 2:
            self.problem(fields["choices"][1], f"{where} needs at least two choices")
        labels = tuple(label for label, _ in choices)
        args["choices"] = labels
        if "other" in fields:
            args["other"] = self.switch(fields["other"][1], "`other`")
        if kind is Kind.KNOWLEDGE:
            if "correct" not in fields:
                self.problem(node, f"{where} is a knowledge check with no `correct` answer")
            else:
                correct = self.text(fields["correct"][1], "`correct`", MAX_LABEL)
                if correct is not None and correct not in labels:
                    self.problem(fields["correct"][1], f"{where}: the correct answer `{correct}` is not one of its "
                                 "choices")
                args["correct"] = correct
            if "explanation" not in fields:
                self.problem(node, f"{where} is a knowledge check with no `explanation`")
            else:
                args["explanation"] = self.text(fields["explanation"][1], "`explanation`", 1000)

    def read_bounds(self, fields: dict, kind: Kind, where: str, node: yaml.Node, args: dict[str, object]) -> None:
        read = self.integer if kind is Kind.SCALE else self.number
        for key in ("min", "max"):
            if key not in fields:
                self.problem(node, f"{where} has no `{key}`")
        low = read(fields["min"][1], "`min`") if "min" in fields else None
        high = read(fields["max"][1], "`max`") if "max" in fields else None
        if low is not None and high is not None:
            if low >= high:
                self.problem(fields["max"][1], f"{where}: the bounds are reversed or equal (min {low}, max {high})")
            elif kind is Kind.SCALE and not 2 <= high - low + 1 <= 11:
                self.problem(fields["max"][1], f"{where}: a scale has 2 to 11 points, this one has {high - low + 1}")
        args["low"], args["high"] = low, high
        if kind is Kind.SCALE:
            for key in ("min_label", "max_label"):
                if key in fields:
                    args[key.replace("min", "low").replace("max", "high")] = self.text(fields[key][1], f"`{key}`", 80)
        if "integer" in fields:
            args["integer"] = self.switch(fields["integer"][1], "`integer`")
            if args["integer"] and any(isinstance(v, float) for v in (low, high)):
                self.problem(fields["integer"][1], f"{where} takes whole numbers but its bounds have decimals")

    def condition(self, node: yaml.Node, where: str, earlier: dict[str, Question]) -> Condition | None:
        fields = self.mapping(node, "`ask_if`")
        if fields is None:
            return None
        for key, (key_node, _) in fields.items():
            if key not in ("question", "answer"):
                self.problem(key_node, f"unknown key `{key}` in `ask_if` (expected `question` and `answer`)")
        if "question" not in fields or "answer" not in fields:
            self.problem(node, "`ask_if` needs both `question` and `answer`")
            return None
        qnode, anode = fields["question"][1], fields["answer"][1]
        target_id = self.text(qnode, "`ask_if.question`", 64)
        if isinstance(anode, yaml.SequenceNode):
            answers = [value for value, _ in self.text_list(anode, "`ask_if.answer`", MAX_LABEL)]
        else:
            single = self.text(anode, "`ask_if.answer`", MAX_LABEL)
            answers = [single] if single is not None else []
        if target_id is None or not answers:
            return None
        target = earlier.get(target_id)
        if target is None:
            self.problem(qnode, f"{where}: `ask_if` points at `{target_id}`, which is not an earlier question in "
                         "this survey")
            return None
        options = target.options()
        if target.kind is Kind.NUMBER or target.kind is Kind.TEXT:
            self.problem(qnode, f"{where}: `ask_if` can only depend on a choice, yes/no or scale question")
            return None
        for value in answers:
            if value not in options:
                hint = f" (write \"{YES}\" or \"{NO}\")" if target.kind is Kind.YESNO else ""
                self.problem(anode, f"{where}: `ask_if` answer `{value}` is not an option of `{target_id}`{hint}")
        return Condition(question=target_id, answers=tuple(answers))


def parse_survey(source: str, path: str = "<survey>") -> Survey:
    """Read one survey from its text; raises SurveyFileError naming every problem with its line."""
    if len(source) > MAX_SURVEY_BYTES:
        raise SurveyFileError([too_big(path, len(source.encode("utf-8", "replace")))])
    try:
        root = yaml.compose(source, Loader=yaml.SafeLoader if ODD_BREAKS.search(source) else FAST_LOADER)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = SurveyReader(path, source).line(mark) if mark is not None else 1
        raise SurveyFileError([Problem(path, line, f"this is not valid YAML: {exc.problem or exc}")]) from None
    except yaml.YAMLError as exc:
        raise SurveyFileError([Problem(path, 1, f"this is not valid YAML: {exc}")]) from None
    except RecursionError:  # thousands of nested brackets: PyYAML's parser recurses once per level
        raise SurveyFileError([Problem(path, 1, "this file is nested too deeply to be a survey")]) from None
    if root is None:
        raise SurveyFileError([Problem(path, 1, "the file is empty")])
    reader = SurveyReader(path, source)
    try:
        survey = reader.survey(root, source)
    except RecursionError:
        raise SurveyFileError([Problem(path, 1, "this file is nested too deeply to be a survey")]) from None
    if reader.problems or survey is None:
        raise SurveyFileError(reader.problems or [Problem(path, 1, "this file does not describe a survey")])
    return survey


def too_big(path: str, size: int) -> Problem:
    return Problem(path, 1, f"the file is {size / 1024:,.0f} KB; a survey file may be at most "
                            f"{MAX_SURVEY_BYTES // 1024} KB (the longest built-in one is under 10 KB): is it the right "
                            "file, or could it be split into several surveys?")
