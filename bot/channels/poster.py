"""A printable poster for an anonymous survey link: the survey's title, a QR code and the link written out.

For a youth session or a noticeboard. Made offline with segno (pure Python), as one SVG with no fonts, images or
scripts fetched from anywhere, so it prints the same everywhere and is safe to serve from the bot itself. The link is
written under the code for anyone who cannot scan it.
"""

from __future__ import annotations

import textwrap
from html import escape

import segno

from bot.channels import web_words as words

WIDTH, HEIGHT = 210, 297  # millimetres: A4 portrait
QR_SIZE = 130
INK = "#1f2328"
ACCENT = "#0b5d56"


def qr_path(link: str) -> tuple[str, int]:
    """The QR code's dark modules as one SVG path, and the code's width in modules (quiet zone not included)."""
    code = segno.make(link, error="m", micro=False)
    runs: list[str] = []
    for y, row in enumerate(code.matrix):
        x = 0
        while x < len(row):
            if row[x]:
                start = x
                while x < len(row) and row[x]:
                    x += 1
                runs.append(f"M{start} {y}h{x - start}v1h-{x - start}z")
            else:
                x += 1
    return "".join(runs), len(code.matrix)


def poster_svg(link: str, title: str) -> str:
    """An A4 poster: title, "Scan to take part", the code, the link, and a line saying no login is needed."""
    path, modules = qr_path(link)
    scale = QR_SIZE / modules
    quiet = 4 * scale  # the blank margin of four modules a scanner needs around the code
    left = (WIDTH - QR_SIZE) / 2
    title_lines = textwrap.wrap(title, 30)[:3] or [title]
    heading = "".join(f'<text x="105" y="{28 + 11 * i}" font-size="9" font-weight="700">{escape(line)}</text>'
                      for i, line in enumerate(title_lines))
    scan_y = 28 + 11 * len(title_lines) + 8
    top = scan_y + 4 + quiet
    link_y = top + QR_SIZE + quiet + 8
    link_size = 7 if len(link) <= 44 else max(3.5, 7 * 44 / len(link))
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}mm" height="{HEIGHT}mm" '
        f'viewBox="0 0 {WIDTH} {HEIGHT}" role="img" aria-labelledby="poster-title">'
        f'<title id="poster-title">{escape(title)}: {escape(link)}</title>'
        f'<rect width="{WIDTH}" height="{HEIGHT}" fill="#ffffff"/>'
        f'<g font-family="system-ui, -apple-system, Segoe UI, Roboto, Arial, sans-serif" fill="{INK}" '
        f'text-anchor="middle">{heading}'
        f'<text x="105" y="{scan_y}" font-size="8" fill="{ACCENT}" font-weight="700">'
        f"{escape(words.POSTER_SCAN)}</text>"
        f'<text x="105" y="{link_y:.1f}" font-size="{link_size:.1f}">{escape(link)}</text>'
        f'<text x="105" y="{link_y + 12:.1f}" font-size="6">{escape(words.POSTER_PRIVATE)}</text></g>'
        f'<path transform="translate({left:.1f} {top:.1f}) scale({scale:.4f})" fill="{INK}" d="{path}"/>'
        "</svg>\n"
    )
