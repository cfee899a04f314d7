"""YAML read as a node tree (yaml.compose) rather than as Python values, with a line for every problem.

Why nodes: every node keeps its line, so each problem can name one; and every scalar is taken as the text written,
so `No`, `on` or `01` stays that string instead of YAML 1.1 turning it into False or 1. Only what the reader asks for
as a number or a switch is converted, explicitly.
"""

from __future__ import annotations

import re

import yaml

from bot.services.problems import Problem

# libyaml's loader when PyYAML was built with it (the usual wheels are): the same nodes and line marks, and about ten
# times quicker, which every command pays at start for each survey file and each published version. Text holding one
# of the rarely seen Unicode line breaks goes to the pure-Python loader, whose marks count characters (see
# NodeReader.line).
FAST_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
ODD_BREAKS = re.compile("[\x85\u2028\u2029]")


class NodeReader:
    """Reads values out of one file's node tree, collecting problems (each with its line) instead of stopping at the
    first; bot.services.surveyreader builds the survey file's rules on it."""

    def __init__(self, path: str, source: str = "") -> None:
        self.path = path
        self.source = source
        self.odd_breaks = bool(ODD_BREAKS.search(source))
        self.problems: list[Problem] = []

    def line(self, mark: yaml.Mark) -> int:
        """The line as editors and grep number it. YAML also breaks lines at NEL and the Unicode line and paragraph
        separators; counting only newlines keeps every problem on a line the file really has."""
        return self.source.count("\n", 0, mark.index) + 1 if self.odd_breaks else mark.line + 1

    def problem(self, node: yaml.Node | None, message: str, line: int = 0) -> None:
        at = self.line(node.start_mark) if node is not None else line
        self.problems.append(Problem(self.path, at, message))

    def mapping(self, node: yaml.Node, what: str) -> dict[str, tuple[yaml.Node, yaml.Node]] | None:
        if not isinstance(node, yaml.MappingNode):
            self.problem(node, f"{what} should be a set of `key: value` lines")
            return None
        out: dict[str, tuple[yaml.Node, yaml.Node]] = {}
        for key_node, value_node in node.value:
            key = key_node.value if isinstance(key_node, yaml.ScalarNode) else None
            if not isinstance(key, str):
                self.problem(key_node, f"{what} has a key that is not plain text")
                continue
            if key in out:
                self.problem(key_node, f"`{key}` is given twice in {what}")
                continue
            out[key] = (key_node, value_node)
        return out

    def text(self, node: yaml.Node, what: str, limit: int = 4000) -> str | None:
        if not isinstance(node, yaml.ScalarNode):
            self.problem(node, f"{what} should be text")
            return None
        value = node.value.strip()
        if not value:
            self.problem(node, f"{what} is empty")
            return None
        if len(value) > limit:
            self.problem(node, f"{what} is {len(value)} characters long; the most is {limit}")
            return None
        return value

    def integer(self, node: yaml.Node, what: str) -> int | None:
        if isinstance(node, yaml.ScalarNode) and re.fullmatch(r"-?\d{1,9}", node.value.strip()):
            return int(node.value)
        self.problem(node, f"{what} should be a whole number")
        return None

    def number(self, node: yaml.Node, what: str) -> int | float | None:
        if isinstance(node, yaml.ScalarNode) and re.fullmatch(r"-?\d{1,12}(\.\d{1,6})?", node.value.strip()):
            raw = node.value.strip()
            return float(raw) if "." in raw else int(raw)
        self.problem(node, f"{what} should be a number")
        return None

    def switch(self, node: yaml.Node, what: str) -> bool:
        if isinstance(node, yaml.ScalarNode) and node.value.strip() in ("true", "false"):
            return node.value.strip() == "true"
        self.problem(node, f"{what} should be true or false")
        return False

    def text_list(self, node: yaml.Node, what: str, limit: int) -> list[tuple[str, yaml.Node]]:
        if not isinstance(node, yaml.SequenceNode):
            self.problem(node, f"{what} should be a list")
            return []
        items = []
        for item in node.value:
            value = self.text(item, f"an item of {what}", limit)
            if value is not None:
                items.append((value, item))
        return items
