"""Charts as inline SVG, written by hand: horizontal bars of percentages, one wave or two side by side.

Hand-written rather than drawn by a plotting library: a few dozen lines give small, crisp, deterministic markup that
prints well, needs no fonts or files, and adds no heavy dependency. A count that is suppressed gets no bar at all
(a bar's length would give it away), only its label ("fewer than 5"); a chart is drawn only from percentages, so
only on bases of at least 10.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from html import escape

WIDTH = 640
LABEL_WIDTH = 250
BAR_WIDTH = 290
ROW = 24
TOP = 22
LABEL_CHARS = 40
DARK, LIGHT, GRID = "#1d5f8a", "#9cc3dd", "#d0d7de"


@dataclass(frozen=True)
class Bar:
    label: str
    percent: float | None  # None: no bar (suppressed, or no base)
    text: str  # what to print at its end: "37% (43)", "fewer than 5"
    earlier: float | None = None  # for a comparison: the earlier wave's percentage
    earlier_text: str = ""


def _short(label: str) -> str:
    return label if len(label) <= LABEL_CHARS else label[:LABEL_CHARS - 1].rstrip() + "…"


def _grid(height: int) -> list[str]:
    parts = []
    for tick in (0, 25, 50, 75, 100):
        x = LABEL_WIDTH + BAR_WIDTH * tick / 100
        parts.append(f'<line x1="{x:.1f}" y1="{TOP - 4}" x2="{x:.1f}" y2="{height - 4}" stroke="{GRID}" '
                     'stroke-width="1"/>')
        parts.append(f'<text x="{x:.1f}" y="{TOP - 8}" text-anchor="middle" class="tick">{tick}%</text>')
    return parts


def bars(items: Sequence[Bar], title: str, legend: tuple[str, str] | None = None) -> str:
    """A horizontal bar chart of percentages. With `legend` (earlier, later), each row has two bars."""
    paired = legend is not None
    row = ROW * (2 if paired else 1) + (6 if paired else 0)
    height = TOP + row * len(items) + (22 if paired else 4)
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" viewBox="0 0 {WIDTH} {height}" '
             f'width="{WIDTH}" height="{height}" role="img" aria-label="{escape(title)}">',
             f"<title>{escape(title)}</title>", *_grid(height - (18 if paired else 0))]
    for index, item in enumerate(items):
        y = TOP + index * row
        parts.append(f'<text x="{LABEL_WIDTH - 8}" y="{y + ROW / 2 + 4:.1f}" text-anchor="end" class="label">'
                     f"<title>{escape(item.label)}</title>{escape(_short(item.label))}</text>")
        if paired:
            parts += _bar(y, item.earlier, item.earlier_text, LIGHT)
            parts += _bar(y + ROW, item.percent, item.text, DARK)
        else:
            parts += _bar(y, item.percent, item.text, DARK)
    if legend is not None:
        y = height - 14
        parts += [f'<rect x="{LABEL_WIDTH}" y="{y - 9}" width="12" height="12" fill="{LIGHT}"/>',
                  f'<text x="{LABEL_WIDTH + 16}" y="{y + 1}" class="tick">{escape(legend[0])}</text>',
                  f'<rect x="{LABEL_WIDTH + 110}" y="{y - 9}" width="12" height="12" fill="{DARK}"/>',
                  f'<text x="{LABEL_WIDTH + 126}" y="{y + 1}" class="tick">{escape(legend[1])}</text>']
    parts.append("</svg>")
    return "".join(parts)


def _bar(y: float, value: float | None, text: str, colour: str) -> list[str]:
    if value is None:
        return [f'<text x="{LABEL_WIDTH + 4}" y="{y + ROW / 2 + 4:.1f}" class="suppressed">{escape(text)}</text>']
    length = BAR_WIDTH * max(0.0, min(value, 100.0)) / 100
    return [f'<rect x="{LABEL_WIDTH}" y="{y + 4}" width="{length:.1f}" height="{ROW - 8}" fill="{colour}"/>',
            f'<text x="{LABEL_WIDTH + length + 4:.1f}" y="{y + ROW / 2 + 4:.1f}" class="value">{escape(text)}</text>']
