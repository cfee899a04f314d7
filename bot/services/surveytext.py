"""How text written in a survey file is shown: paragraphs rejoined as they were meant, and a title's spaced hyphen
as the dash it stands for. Read once, when the file is parsed, so every channel shows the same words.
"""

from __future__ import annotations

import re

BULLET = re.compile(r"^(•|-|\*) ")
SPACED_HYPHEN = re.compile(r"(?<=\S) - (?=\S)")


def reflow(text: str) -> str:
    """A block of text as written in a file (`intro: |`) as the paragraphs it means: lines next to each other are
    one paragraph, a blank line starts the next, and a line starting with a bullet stays a line of its own.

    Why: editors wrap long lines wherever the screen ends, and every channel then showed each line as a paragraph of
    its own, breaking the first screen mid-sentence. Paragraphs come out separated by a blank line."""
    paragraphs: list[list[str]] = [[]]
    for raw in text.strip().splitlines():
        line = raw.strip()
        if not line:
            if paragraphs[-1]:
                paragraphs.append([])
        elif BULLET.match(line) or not paragraphs[-1]:
            paragraphs[-1].append(line)
        else:
            paragraphs[-1][-1] += f" {line}"
    return "\n\n".join("\n".join(lines) for lines in paragraphs if lines)


def dashed(title: str) -> str:
    """A title's spaced hyphen ("You said - tell us") as the dash it stands for ("You said – tell us")."""
    return SPACED_HYPHEN.sub(" – ", title)
