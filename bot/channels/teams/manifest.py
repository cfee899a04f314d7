"""The Teams app package: the zip an IT officer uploads in the Teams admin centre so the bot appears in Teams.

`surveybot teams manifest` (bot/cli/__init__.py) reads the options and settings with the `read_*` functions here and
writes what `package` returns. The zip holds exactly three files, with no folders, as Teams expects:

- manifest.json, valid against the Teams app manifest schema MANIFEST_VERSION: the bot's Microsoft app id, the
  scopes it works in (a person's own chat, where surveys happen, and a team, where it is added so it can reach the
  team's members), and the commands of the one table (bot.engine.commands), so Teams suggests them as people type;
- color.png (192x192) and outline.png (32x32, white on transparent): the web chat's speech bubble
  (bot/channels/webstatic/icon.svg), drawn here with the standard library when the package is made. Drawn rather
  than committed as PNG files, so the pictures cannot drift from the code that says what they are, and there is no
  binary in the repository to review; the drawing takes a few milliseconds.

Pure: no disk, no network, no clock. The same details give the same bytes (the zip's dates are its format's
earliest, 1980-01-01, on every entry) with the same Python and zlib; a different zlib may pack them differently.
"""

from __future__ import annotations

import io
import json
import math
import re
import struct
import zipfile
import zlib
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from bot.engine.commands import COMMANDS, Means

MANIFEST_VERSION = "1.30"
SCHEMA = f"https://developer.microsoft.com/json-schemas/teams/v{MANIFEST_VERSION}/MicrosoftTeams.schema.json"
MANIFEST, COLOR_ICON, OUTLINE_ICON = "manifest.json", "color.png", "outline.png"
ACCENT = (0x0B, 0x5D, 0x56)  # the web chat's brand colour (--brand in bot/channels/webstatic/chat.css)
APP_ID_SETTING, APP_ID_OPTION = "SURVEYBOT_TEAMS_APP_ID", "--app-id"
DEVELOPER_LENGTH = 32  # the schema's limit for developer.name

_GUID = re.compile(r"[0-9a-fA-F]{8}-(?:[0-9a-fA-F]{4}-){3}[0-9a-fA-F]{12}", re.ASCII)
_SEMVER = re.compile(r"(?:0|[1-9][0-9]*)\.(?:0|[1-9][0-9]*)\.(?:0|[1-9][0-9]*)", re.ASCII)
_HOST = re.compile(r"[a-z0-9](?:[a-z0-9.-]*[a-z0-9])?", re.ASCII)


class ManifestError(ValueError):
    """An option or setting the package cannot be made with; one line naming it, never repeating its value (an app
    id setting that holds the client secret by mistake must not end up on the screen)."""


@dataclass(frozen=True)
class Details:
    """What differs from one partnership's package to another's, each already checked by its `read_*`."""

    app_id: str  # the bot's Microsoft app id (Entra ID "Application (client) ID"), lower case
    base_url: str  # the public https:// address of the bot's HTTP server, without a trailing slash
    host: str  # that address's host name, the one domain the app names as its own
    version: str  # the app's version, major.minor.patch: Teams wants a higher one for every update
    developer: str  # the name shown as the app's developer


def read_app_id(option: str | None, setting: str | None) -> str:
    """The bot's app id from --app-id when given, else SURVEYBOT_TEAMS_APP_ID."""
    text, name = (option, APP_ID_OPTION) if option is not None else (setting, APP_ID_SETTING)
    if text is None:
        raise ManifestError(f"{APP_ID_SETTING} is not set (nor was {APP_ID_OPTION} given): it is the bot's "
                            "Application (client) ID from Microsoft Entra ID")
    if not _GUID.fullmatch(text.strip()):
        raise ManifestError(f"{name} should be a GUID such as 00000000-0000-0000-0000-000000000000: the bot's "
                            "Application (client) ID from Microsoft Entra ID")
    return text.strip().lower()


def read_public_url(url: str | None) -> tuple[str, str]:
    """The bot's public address (SURVEYBOT_PUBLIC_URL) and its host name. Teams reaches a bot over HTTPS only, and
    the app's privacy and terms links are made from it, so it must be a plain https:// address."""
    if url is None:
        raise ManifestError("SURVEYBOT_PUBLIC_URL is not set: Teams needs the bot's public https:// address")
    try:
        parts = urlsplit(url)
        port_ok = parts.port is None or parts.port > 0  # reading the port raises for one that is not a number
        host = parts.hostname or "" if port_ok else ""
    except ValueError:  # a malformed address or port
        host, parts = "", urlsplit("")
    plain = not (parts.query or parts.fragment or parts.username is not None or parts.password is not None)
    if (not url.startswith("https://") or not _HOST.fullmatch(host) or not plain or not url.isprintable() or " " in url
            or len(url) > 1000):
        raise ManifestError("SURVEYBOT_PUBLIC_URL should be a plain https:// address, such as "
                            "https://surveys.example.org, for Teams")
    return url.rstrip("/"), host


def read_version(text: str, name: str = "--app-version") -> str:
    """The app's version: three whole numbers, such as 1.4.0, as the schema's `semver` pattern allows."""
    if not (_SEMVER.fullmatch(text) and len(text) <= 64):
        raise ManifestError(f"{name} should be three whole numbers such as 1.4.0 (Teams wants a higher one each time "
                            "the app is updated)")
    return text


def read_developer(text: str) -> str:
    """The developer's name as Teams shows it: spaces squeezed, at most 32 characters."""
    name = " ".join(text.split())
    if not (0 < len(name) <= DEVELOPER_LENGTH and name.isprintable()):
        raise ManifestError(f"--developer should be a name of 1 to {DEVELOPER_LENGTH} characters, such as your "
                            "partnership's: Teams shows it as the app's developer")
    return name


def commands() -> list[dict[str, str]]:
    """The typed commands of the one table, as Teams lists them: the words a person types, and their help line.

    Teams sends a menu entry's title as the message. The channel takes a bare word as its command, but "help" alone
    is the safeguarding help word (SURVEYBOT_HELP_WORD), which opens the gentle check-in, so the manual is "/help"."""
    return [{"title": f"/{c.word}" if c.means is Means.HELP else c.word if c.only is None else f"{c.word} {c.only}",
             "description": c.help} for c in COMMANDS]


def manifest(details: Details) -> dict[str, Any]:
    """manifest.json. The bot is conversational (not notification-only) and takes no files: reports go out as
    links. Surveys happen in a person's own chat, so the commands are listed for that scope."""
    base = details.base_url
    return {
        "$schema": SCHEMA,
        "manifestVersion": MANIFEST_VERSION,
        "version": details.version,
        "id": details.app_id,
        "developer": {"name": details.developer, "websiteUrl": f"{base}/", "privacyUrl": f"{base}/privacy",
                      "termsOfUseUrl": f"{base}/terms"},
        "name": {"short": "Surveybot", "full": "Surveybot: safeguarding partnership surveys"},
        "description": {
            "short": "Short surveys from your safeguarding children partnership, answered in chat.",
            "full": ("Your safeguarding children partnership sends practitioners short surveys here, in a private "
                     "chat with the bot: one question at a time, mostly answered with buttons. Your answers are "
                     "stored under a code made for that survey, never under your name or your Teams account, and "
                     "reports only show groups large enough that nobody can be picked out. Type /help to see what "
                     "you can do, delete to remove your answers, or stop all for no more invitations."),
        },
        "icons": {"color": COLOR_ICON, "outline": OUTLINE_ICON},
        "accentColor": "#{:02X}{:02X}{:02X}".format(*ACCENT),
        "bots": [{
            "botId": details.app_id,
            "scopes": ["personal", "team"],
            "isNotificationOnly": False,
            "supportsFiles": False,
            "commandLists": [{"scopes": ["personal"], "commands": commands()}],
        }],
        "validDomains": [details.host],
        "defaultInstallScope": "personal",
    }


def package(details: Details) -> bytes:
    """The zip to upload: manifest.json and the two icons, no folders, fixed dates and modes."""
    entries = ((MANIFEST, (json.dumps(manifest(details), indent=2, ensure_ascii=False) + "\n").encode()),
               (COLOR_ICON, color_icon()), (OUTLINE_ICON, outline_icon()))
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, data in entries:
            entry = zipfile.ZipInfo(name)  # dated 1980-01-01 00:00, the earliest a zip can hold
            entry.compress_type = zipfile.ZIP_DEFLATED
            entry.create_system = 3  # Unix, whatever system makes it, so the mode below means the same everywhere
            entry.external_attr = 0o100600 << 16
            archive.writestr(entry, data)
    return buffer.getvalue()


# The speech bubble of bot/channels/webstatic/icon.svg, in that drawing's 32-unit square: a rectangle with rounded
# corners, and a tail under its left half.
LEFT, RIGHT, TOP, BOTTOM, RADIUS = 6.0, 26.0, 9.0, 22.0, 2.0
TAIL_LEFT, TAIL_WIDTH, TAIL_TIP = 10.0, 5.0, 26.0


def _spans(v: float) -> list[tuple[float, float]]:
    """Where the bubble is along the line at height `v`: the intervals of x it covers."""
    spans = []
    if TOP <= v <= BOTTOM:
        edge = min(v - TOP, BOTTOM - v)
        inset = RADIUS - math.sqrt(RADIUS ** 2 - (RADIUS - edge) ** 2) if edge < RADIUS else 0.0
        spans.append((LEFT + inset, RIGHT - inset))
    elif BOTTOM < v <= TAIL_TIP:  # the tail narrows from its full width under the bubble to a point
        spans.append((TAIL_LEFT, TAIL_LEFT + TAIL_WIDTH * (TAIL_TIP - v) / (TAIL_TIP - BOTTOM)))
    return spans


def _coverage(size: int, scale: float, left: float, top: float, lines: int = 8) -> list[list[float]]:
    """How much of each pixel the bubble covers (0 to 1), drawn `scale` pixels to the unit with its square's corner
    at (`left`, `top`): `lines` lines through each row of pixels, each line's cover measured exactly along x, so the
    edges are smooth."""
    cover = [[0.0] * size for _ in range(size)]
    for y in range(size):
        for line in range(lines):
            for start, end in _spans((y + (line + 0.5) / lines - top) / scale):
                x0, x1 = left + start * scale, left + end * scale
                for x in range(max(0, math.floor(x0)), min(size, math.ceil(x1))):
                    cover[y][x] += (min(x1, x + 1) - max(x0, x)) / lines
    return cover


def color_icon() -> bytes:
    """192x192, full bleed as Teams asks: the accent colour, with the white bubble 100 pixels wide in the middle
    (inside the 120x120 area Teams keeps clear when it rounds the corners)."""
    pixels = bytearray()
    for row in _coverage(192, 5.0, 16.0, 9.0):
        for cover in row:
            pixels += bytes(round(c + (255 - c) * min(cover, 1.0)) for c in ACCENT)
    return _png(192, 192, bytes(pixels), alpha=False)


def outline_icon() -> bytes:
    """32x32: the bubble in white, everywhere else transparent. Every pixel is white; only its opacity varies, as
    Teams asks of an outline icon."""
    pixels = bytearray()
    for row in _coverage(32, 1.0, 0.0, -1.0):
        for cover in row:
            pixels += bytes((255, 255, 255, round(255 * min(cover, 1.0))))
    return _png(32, 32, bytes(pixels), alpha=True)


def _png(width: int, height: int, pixels: bytes, *, alpha: bool) -> bytes:
    """A PNG of 8-bit RGB or RGBA rows, unfiltered (rows in a PNG each start with their filter type, 0 here)."""
    stride = width * (4 if alpha else 3)
    raw = b"".join(b"\x00" + pixels[row * stride:(row + 1) * stride] for row in range(height))

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", width, height, 8, 6 if alpha else 2, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(raw, 9))
            + chunk(b"IEND", b""))
