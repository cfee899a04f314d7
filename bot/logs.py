"""Logging for every command: readable lines or JSON (SURVEYBOT_LOG_FORMAT), to standard error, secrets blanked.

Privacy (docs/privacy.md): log messages never carry user ids, names, handles or answer text; the code logs counts and
fixed words. As a second line of defence, every record is formatted and then scrubbed of the value of every secret
setting (tokens, the pepper, signing keys, the database password), wherever it came from: a library's message, an
exception, a URL with a token in it. SQL parameters never reach an exception's text either (storage.database).
"""

from __future__ import annotations

import json
import logging
import sys
from datetime import UTC, datetime

from bot.config import Settings, secrets_of

HIDDEN = "[secret]"
TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
QUIET = ("alembic", "sqlalchemy", "aiosqlite")  # would log SQL parameters, which include answers


class Redacting(logging.Formatter):
    """Formats a record as text or one JSON object, then blanks every secret value in the result."""

    def __init__(self, secrets: list[str], as_json: bool) -> None:
        super().__init__(TEXT_FORMAT)
        self.secrets = secrets
        self.as_json = as_json

    def format(self, record: logging.LogRecord) -> str:
        if self.as_json:
            entry = {"time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
                     "level": record.levelname, "logger": record.name, "message": record.getMessage()}
            if record.exc_info:
                entry["exception"] = self.formatException(record.exc_info)
            text = json.dumps(entry, ensure_ascii=False)
        else:
            text = super().format(record)
        return self.redact(text)

    def redact(self, text: str) -> str:
        for secret in self.secrets:  # longest first, so a secret containing another is blanked whole
            if secret in text:
                text = text.replace(secret, HIDDEN)
        return text


def configure(settings: Settings) -> None:
    """Replace the root logger's handlers with one to standard error, at the configured level and format."""
    root = logging.getLogger()
    for handler in list(root.handlers):
        if getattr(handler, "surveybot", False):  # ours from an earlier call; others' handlers are left alone
            root.removeHandler(handler)
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(Redacting(secrets_of(settings), settings.log_format == "json"))
    handler.surveybot = True  # type: ignore[attr-defined]
    root.addHandler(handler)
    root.setLevel(settings.log_level)
    for noisy in QUIET:
        logging.getLogger(noisy).setLevel(logging.WARNING)
