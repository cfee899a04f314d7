"""Settings: the only place that reads the environment. Every setting is documented in deploy/.env.example.

`Settings.from_env(mapping)` takes a mapping (os.environ after load_dotenv in the CLI, or a dict in tests), so nothing
is read at import time and tests never touch the real environment.
"""

from __future__ import annotations

import contextlib
import email.utils
import math
import os
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TypedDict
from urllib.parse import unquote, urlsplit

from bot.services.policy import MIN_THRESHOLD, Policy
from bot.services.privacy import decode_pepper, new_pepper
from storage.files import create_owner_only


class SettingsError(Exception):
    """A setting is missing or malformed; the message names it and never contains a secret's value."""


def _secret_field() -> str | None:
    return field(default=None, repr=False)  # type: ignore[return-value]


@dataclass(frozen=True)
class Settings:
    env: str = "development"
    data_dir: Path = Path("data")
    database_url: str = ""
    pepper: str | None = _secret_field()
    surveys_dirs: tuple[Path, ...] = ()
    default_survey: str = "policy-awareness"
    join_tags: tuple[str, ...] = ()
    timezone: str = "Europe/London"
    host: str = "127.0.0.1"
    port: int = 8080
    public_url: str | None = None
    trust_proxy: bool = False  # the web chat's rate limits count X-Forwarded-For's last address (bot.channels.web)
    # who stands behind the survey, as the /privacy and /terms pages name them (bot.channels.about); None: neutral words
    partnership: str | None = None
    privacy_contact: str | None = None
    log_level: str = "INFO"
    log_format: str = "text"
    auto_migrate: bool = True
    privacy: Policy = field(default_factory=Policy)
    telegram_token: str | None = _secret_field()
    telegram_api_url: str = "https://api.telegram.org"
    telegram_webhook_url: str | None = None
    telegram_webhook_secret: str | None = _secret_field()
    slack_bot_token: str | None = _secret_field()
    slack_app_token: str | None = _secret_field()
    slack_signing_secret: str | None = _secret_field()
    slack_api_url: str = "https://slack.com/api/"
    slack_edits_per_minute: int = 50  # chat.update calls a minute per workspace (Slack's Tier 3)
    # Microsoft Teams (bot.channels.teams): the channel runs when SURVEYBOT_TEAMS_APP_ID is set (bot.app checks the
    # three together); the app id (not a secret) is also what `surveybot teams manifest` puts in the package
    teams_app_id: str | None = None
    teams_app_password: str | None = _secret_field()
    teams_tenant_id: str | None = None
    teams_service_url: str = "https://smba.trafficmanager.net/teams/"  # where a safeguarding alert is posted from
    signing_key: str | None = _secret_field()  # evidence packs (bot.reporting.signing); checked when first used
    # safeguarding (docs/safeguarding.md)
    safeguarding_phrases: Path | None = None  # the lead's edited phrase list; None: the shipped one
    help_word: str = "HELP"
    safeguarding_slack_channel: str | None = None
    safeguarding_telegram_chat: str | None = None
    safeguarding_teams_channel: str | None = None  # a Teams channel's conversation id, 19:...@thread.tacv2
    safeguarding_who: str | None = None  # who will get in touch, as told to a young person who says yes
    alert_window_seconds: int = 180  # anonymous alerts within this after one already sent go as one message
    language_glossary: Path | None = None  # an edited "Language that cares" glossary; None: the shipped one
    sweep_seconds: int = 30
    leader_retry_seconds: int = 15
    # email invitations (bot.channels.email): on when SURVEYBOT_SMTP_URL is set
    smtp: SmtpServer | None = field(default=None, repr=False)  # holds the SMTP password
    mail_from: str | None = None
    smtp_rate: float = 10.0  # messages a second, at most
    smtp_retry_seconds: int = 60  # how long to wait after a 4xx (the server asked us to try later)
    # SURVEYBOT_ names set but never read: a misspelt setting would otherwise be ignored without a word
    unread: tuple[str, ...] = ()

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> Settings:
        read: set[str] = set()

        def get(name: str) -> str | None:
            read.add(name)
            value = env.get(name, "").strip()
            return value or None

        data_dir = Path(get("SURVEYBOT_DATA_DIR") or "data")
        if data_dir.exists() and not data_dir.is_dir():
            raise SettingsError(f"SURVEYBOT_DATA_DIR: {data_dir} is a file, not a folder (the database and the "
                                "pepper are kept in that folder)")
        mode = (get("SURVEYBOT_ENV") or "development").lower()
        if mode not in ("development", "production"):
            raise SettingsError("SURVEYBOT_ENV should be `development` or `production`")
        port_text = get("SURVEYBOT_PORT") or "8080"
        if not (port_text.isascii() and port_text.isdigit()) or not 0 < int(port_text) < 65536:
            raise SettingsError("SURVEYBOT_PORT should be a port number from 1 to 65535")
        public_url = get("SURVEYBOT_PUBLIC_URL")
        if public_url is not None and not public_url.startswith(("http://", "https://")):
            raise SettingsError("SURVEYBOT_PUBLIC_URL should start with https:// (or http://)")
        auto = (get("SURVEYBOT_AUTO_MIGRATE") or "true").lower()
        if auto not in ("true", "false"):
            raise SettingsError("SURVEYBOT_AUTO_MIGRATE should be `true` or `false`")
        trust_proxy = (get("SURVEYBOT_TRUST_PROXY") or "false").lower()
        if trust_proxy not in ("true", "false"):
            raise SettingsError("SURVEYBOT_TRUST_PROXY should be `true` (only behind your own reverse proxy) or "
                                "`false`")
        log_format = (get("SURVEYBOT_LOG_FORMAT") or "text").lower()
        if log_format not in ("text", "json"):
            raise SettingsError("SURVEYBOT_LOG_FORMAT should be `text` or `json`")
        dirs = tuple(Path(p) for p in (get("SURVEYBOT_SURVEYS_DIR") or "").split(os.pathsep) if p)
        settings = cls(
            env=mode,
            data_dir=data_dir,
            database_url=get("DATABASE_URL") or f"sqlite:///{(data_dir / 'surveybot.db').as_posix()}",
            pepper=get("SURVEYBOT_PEPPER"),
            surveys_dirs=dirs,
            default_survey=get("SURVEYBOT_DEFAULT_SURVEY") or "policy-awareness",
            join_tags=_join_tags(get("SURVEYBOT_JOIN_TAGS")),
            timezone=get("SURVEYBOT_TIMEZONE") or "Europe/London",
            host=get("SURVEYBOT_HOST") or "127.0.0.1",
            port=int(port_text),
            public_url=public_url.rstrip("/") if public_url else None,
            trust_proxy=trust_proxy == "true",
            partnership=_line(get, "SURVEYBOT_PARTNERSHIP_NAME", 100, "your partnership's name, such as Anytown "
                              "Safeguarding Children Partnership"),
            privacy_contact=_line(get, "SURVEYBOT_PRIVACY_CONTACT", 200, "an email address, a web address or a phone "
                                  "number for questions about privacy"),
            log_level=(get("SURVEYBOT_LOG_LEVEL") or "INFO").upper(),
            log_format=log_format,
            auto_migrate=auto == "true",
            privacy=_privacy(get),
            telegram_token=get("TELEGRAM_BOT_TOKEN"),
            telegram_api_url=get("TELEGRAM_API_URL") or "https://api.telegram.org",
            telegram_webhook_url=get("TELEGRAM_WEBHOOK_URL"),
            telegram_webhook_secret=get("TELEGRAM_WEBHOOK_SECRET"),
            slack_bot_token=get("SLACK_BOT_TOKEN"),
            slack_app_token=get("SLACK_APP_TOKEN"),
            slack_signing_secret=get("SLACK_SIGNING_SECRET"),
            slack_api_url=get("SLACK_API_URL") or "https://slack.com/api/",
            slack_edits_per_minute=_edits_per_minute(get("SLACK_EDITS_PER_MINUTE")),
            signing_key=get("SURVEYBOT_SIGNING_KEY"),
            **_teams(get),
            **_safeguarding(get),
            alert_window_seconds=_seconds(get, "SURVEYBOT_ALERT_WINDOW_SECONDS", 180, least=0),
            sweep_seconds=_seconds(get, "SURVEYBOT_SWEEP_SECONDS", 30),
            leader_retry_seconds=_seconds(get, "SURVEYBOT_LEADER_RETRY_SECONDS", 15),
            **_email(get, public_url),
        )
        return replace(settings, unread=_unread(env, read))

    @property
    def production(self) -> bool:
        return self.env == "production"

    def pepper_bytes(self) -> tuple[bytes, str | None]:
        """The pepper, and a note to show when one was just created for the embedded default.

        In production the pepper must be set: a generated one would silently change pseudonyms if the data folder
        were lost. In development it is kept in the data folder (mode 0600), made on first run.
        """
        if self.pepper:
            try:
                return decode_pepper(self.pepper), None
            except ValueError as exc:
                raise SettingsError(str(exc)) from None
        if self.production:
            raise SettingsError("SURVEYBOT_PEPPER is not set; production needs a secret pepper of at least 32 "
                                "characters (see deploy/.env.example)")
        path = self.data_dir / "pepper"
        note = None
        try:
            if not path.exists():
                self.data_dir.mkdir(parents=True, exist_ok=True)
                create_owner_only(path, f"{new_pepper()}\n".encode(), exclusive=True)
                note = (f"Created a secret pepper at {path}. Keep it with the database: without it, nobody can "
                        "resume, or delete their answers.")
            return decode_pepper(path.read_text()), note
        except FileExistsError:  # made by another process since exists() (or the folder is a file)
            try:
                return decode_pepper(path.read_text()), None
            except OSError as exc:
                raise SettingsError(f"cannot read the pepper file {path}: {exc.strerror}") from None
            except ValueError as exc:
                raise SettingsError(f"{path}: {exc}") from None
        except OSError as exc:
            raise SettingsError(f"cannot create or read the pepper file {path}: {exc.strerror}") from None
        except ValueError as exc:
            raise SettingsError(f"{path}: {exc}") from None


def _line(get: Callable[[str], str | None], name: str, longest: int, what: str) -> str | None:
    """A short line of text shown on a page: printable, one line, at most `longest` characters."""
    text = get(name)
    if text is not None and (len(text) > longest or not text.isprintable()):
        raise SettingsError(f"{name} should be one line of at most {longest} characters: {what}")
    return text


def _privacy(get: Callable[[str], str | None]) -> Policy:
    """Retention periods and reporting thresholds (docs/privacy.md): whole numbers, each checked and named."""

    def whole(name: str, default: int, least: int) -> int:
        text = get(name)
        if text is None:
            return default
        if not (text.isascii() and text.isdigit()) or int(text) < least:
            raise SettingsError(f"{name} should be a whole number of at least {least}")
        return int(text)

    names = get("SURVEYBOT_SCRUB_NAMES_FILE")
    return Policy(
        key_days=whole("SURVEYBOT_KEY_DAYS", 30, 1),
        text_days=whole("SURVEYBOT_TEXT_DAYS", 90, 1),
        state_days=whole("SURVEYBOT_STATE_DAYS", 30, 1),
        start_days=whole("SURVEYBOT_START_DAYS", 30, 1),
        min_group=whole("SURVEYBOT_MIN_GROUP", 5, MIN_THRESHOLD),
        min_group_young=whole("SURVEYBOT_MIN_GROUP_YOUNG", 10, MIN_THRESHOLD),
        min_group_text=whole("SURVEYBOT_MIN_GROUP_TEXT", 10, MIN_THRESHOLD),
        scrub_names_file=Path(names) if names else None,
    )


class _Safeguarding(TypedDict):
    """The safeguarding settings, typed so `Settings(**_safeguarding(get))` is checked field by field."""

    safeguarding_phrases: Path | None
    help_word: str
    safeguarding_slack_channel: str | None
    safeguarding_telegram_chat: str | None
    safeguarding_teams_channel: str | None
    safeguarding_who: str | None
    language_glossary: Path | None


def _unread(env: Mapping[str, str], read: set[str]) -> tuple[str, ...]:
    """The SURVEYBOT_ settings in the environment that nothing read, each with a hint where the name is close.

    Why: a setting set under a wrong name (SURVEYBOT_DATABASE_URL for DATABASE_URL) silently kept the default, such
    as the embedded SQLite database in place of PostgreSQL. Only names are given, never values.
    """
    lines = []
    for name in sorted(n for n in env if n.startswith("SURVEYBOT_") and n not in read and env[n].strip()):
        bare = name.removeprefix("SURVEYBOT_")
        hint = f"; did you mean {bare}?" if bare in read else ""
        lines.append(f"{name} is set but surveybot does not use it here{hint} (every setting: deploy/.env.example)")
    return tuple(lines)


def _safeguarding(get: Callable[[str], str | None]) -> _Safeguarding:
    """Where the phrase list and glossary are, the HELP word, and the alert route to the safeguarding lead."""
    help_word = get("SURVEYBOT_HELP_WORD") or "HELP"
    if not re.fullmatch(r"[A-Za-z]{2,20}", help_word):
        raise SettingsError("SURVEYBOT_HELP_WORD should be one word of letters only, such as HELP")
    slack = get("SURVEYBOT_SAFEGUARDING_SLACK_CHANNEL")
    if slack is not None and not re.fullmatch(r"[CG][A-Z0-9]{6,20}", slack):
        raise SettingsError("SURVEYBOT_SAFEGUARDING_SLACK_CHANNEL should be a Slack channel id such as C0123ABCDEF "
                            "(in Slack: the channel's details, at the bottom), not its name")
    telegram = get("SURVEYBOT_SAFEGUARDING_TELEGRAM_CHAT")
    if telegram is not None and not re.fullmatch(r"-?\d{1,20}", telegram):
        raise SettingsError("SURVEYBOT_SAFEGUARDING_TELEGRAM_CHAT should be a Telegram chat id, a whole number such "
                            "as -1001234567890")
    teams = get("SURVEYBOT_SAFEGUARDING_TEAMS_CHANNEL")
    if teams is not None and not TEAMS_CHANNEL.fullmatch(teams):
        raise SettingsError("SURVEYBOT_SAFEGUARDING_TEAMS_CHANNEL should be a Teams channel's id, such as "
                            "19:0a1b2c3d4e5f@thread.tacv2 (in Teams: the channel's ⋯, Get link to channel; the id "
                            "is the part after /channel/, with %3A as : and %40 as @)")
    phrases, glossary = get("SURVEYBOT_SAFEGUARDING_PHRASES"), get("SURVEYBOT_LANGUAGE_GLOSSARY")
    return {
        "safeguarding_phrases": Path(phrases) if phrases else None,
        "help_word": help_word,
        "safeguarding_slack_channel": slack,
        "safeguarding_telegram_chat": telegram,
        "safeguarding_teams_channel": teams,
        "safeguarding_who": get("SURVEYBOT_SAFEGUARDING_WHO"),
        "language_glossary": Path(glossary) if glossary else None,
    }


class _Teams(TypedDict):
    teams_app_id: str | None
    teams_app_password: str | None
    teams_tenant_id: str | None
    teams_service_url: str


# A Teams channel's conversation id: "19:" then Teams' own id of the channel, "@thread.tacv2" (or, for channels made
# long ago, "@thread.skype").
TEAMS_CHANNEL = re.compile(r"19:[A-Za-z0-9_.=-]{1,200}@thread\.(?:tacv2|skype)")
GUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")


def _teams(get: Callable[[str], str | None]) -> _Teams:
    """The Teams bot's Entra ID app registration, read as given: `surveybot teams manifest` needs only the app id
    (and checks it itself), so the three are checked together where the channel is built (bot.app.teams_channel,
    with `teams_settings` below)."""
    service = get("SURVEYBOT_TEAMS_SERVICE_URL") or Settings.teams_service_url
    if not service.startswith(("https://", "http://")):
        raise SettingsError("SURVEYBOT_TEAMS_SERVICE_URL should be the Bot Connector's https:// URL for your tenant, "
                            "such as https://smba.trafficmanager.net/teams/ (the default)")
    return {"teams_app_id": get("SURVEYBOT_TEAMS_APP_ID"), "teams_app_password": get("SURVEYBOT_TEAMS_APP_PASSWORD"),
            "teams_tenant_id": get("SURVEYBOT_TEAMS_TENANT_ID"), "teams_service_url": service}


def teams_settings(settings: Settings) -> tuple[str, str, str]:
    """The app id, password and tenant the Teams channel runs with, each checked: one line naming the setting on a
    mistake, never with the password."""
    app_id, password, tenant = settings.teams_app_id, settings.teams_app_password, settings.teams_tenant_id
    if app_id is None or not GUID.fullmatch(app_id):
        raise SettingsError("SURVEYBOT_TEAMS_APP_ID should be the bot's application (client) ID, a GUID such as "
                            "00000000-0000-0000-0000-000000000000")
    if password is None:
        raise SettingsError("SURVEYBOT_TEAMS_APP_PASSWORD is needed with SURVEYBOT_TEAMS_APP_ID: a client secret of "
                            "the bot's Entra ID app registration")
    if tenant is None or not GUID.fullmatch(tenant):
        raise SettingsError("SURVEYBOT_TEAMS_TENANT_ID should be your organisation's directory (tenant) ID, a GUID "
                            "(Entra ID, Overview), where the bot is registered as a single-tenant app")
    return app_id.lower(), password, tenant.lower()


def _edits_per_minute(text: str | None) -> int:
    """How many Slack messages a minute the bot may redraw: Slack's Tier 3 (50) unless Slack granted more."""
    if text is None:
        return 50
    if not (text.isascii() and text.isdigit()) or not 1 <= int(text) <= 1_000_000:
        raise SettingsError("SLACK_EDITS_PER_MINUTE should be a whole number from 1 to 1000000 (Slack allows 50)")
    return int(text)


def _seconds(get: Callable[[str], str | None], name: str, default: int, least: int = 1) -> int:
    """An interval: whole seconds from `least` to an hour."""
    text = get(name)
    if text is None:
        return default
    if not (text.isascii() and text.isdigit()) or not least <= int(text) <= 3600:
        raise SettingsError(f"{name} should be a whole number of seconds from {least} to 3600")
    return int(text)


def secrets_of(settings: Settings) -> list[str]:
    """Every secret value the settings hold (tokens, the pepper, keys, the database password), for log redaction and
    for `surveybot doctor`, which must never print them."""
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    values = [settings.pepper, settings.telegram_token, settings.telegram_webhook_secret, settings.slack_bot_token,
              settings.slack_app_token, settings.slack_signing_secret, settings.signing_key,
              settings.teams_app_password,
              settings.smtp.password if settings.smtp else None]
    with contextlib.suppress(ArgumentError):
        values.append(make_url(settings.database_url).password)  # type: ignore[arg-type]
    if settings.telegram_token and ":" in settings.telegram_token:
        values.append(settings.telegram_token.split(":", 1)[1])  # the secret half, should it appear alone
    return sorted({v for v in values if isinstance(v, str) and len(v) >= 6}, key=len, reverse=True)


@dataclass(frozen=True)
class SmtpServer:
    """Where email goes (SURVEYBOT_SMTP_URL): smtp:// upgrades with STARTTLS (required, except to a server on this
    machine, such as a local relay or a test sink), smtps:// is TLS from the first byte."""

    host: str
    port: int
    implicit_tls: bool
    user: str | None = None
    password: str | None = field(default=None, repr=False)
    ca_file: str | None = None  # SURVEYBOT_SMTP_CA_FILE: the CA certificates to trust for this server instead of the
    # system's (a partnership's own relay with an internal CA; the tests' self-signed server)

    @property
    def local(self) -> bool:
        return self.host in ("localhost", "127.0.0.1", "::1")


class _Email(TypedDict):
    smtp: SmtpServer | None
    mail_from: str | None
    smtp_rate: float
    smtp_retry_seconds: int


MAILBOX = re.compile(r"[^@\s<>\"]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,63}", re.ASCII)


def _email(get: Callable[[str], str | None], public_url: str | None) -> _Email:
    """The email channel's settings: each mistake named in one line, never with the password."""
    url, sender = get("SURVEYBOT_SMTP_URL"), get("SURVEYBOT_MAIL_FROM")
    rate_text = get("SURVEYBOT_SMTP_RATE") or "10"
    try:
        rate = float(rate_text)
    except ValueError:
        rate = 0.0
    if not (math.isfinite(rate) and 0 < rate <= 1000):
        raise SettingsError("SURVEYBOT_SMTP_RATE should be how many emails a second, a number above 0 (such as 10)")
    settings: _Email = {"smtp": None, "mail_from": sender, "smtp_rate": rate,
                        "smtp_retry_seconds": _seconds(get, "SURVEYBOT_SMTP_RETRY_SECONDS", 60)}
    if url is None:
        return settings
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        parts, port = urlsplit(""), None
    if parts.scheme not in ("smtp", "smtps") or not parts.hostname:
        raise SettingsError("SURVEYBOT_SMTP_URL should look like smtp://user:password@mail.example.org:587 "
                            "(STARTTLS) or smtps://user:password@mail.example.org:465 (TLS)")
    if sender is None:
        raise SettingsError("SURVEYBOT_MAIL_FROM is needed with SURVEYBOT_SMTP_URL: who the invitations come from, "
                            "such as Safeguarding Partnership <surveys@lscp.example.org>")
    _, address = email.utils.parseaddr(sender)
    if not MAILBOX.fullmatch(address):
        raise SettingsError("SURVEYBOT_MAIL_FROM should be an address such as surveys@lscp.example.org, with a name "
                            "before it if you like: Safeguarding Partnership <surveys@lscp.example.org>")
    if public_url is None:
        raise SettingsError("SURVEYBOT_PUBLIC_URL is needed with SURVEYBOT_SMTP_URL: each invitation's link and "
                            "unsubscribe link start with it")
    ca_file = get("SURVEYBOT_SMTP_CA_FILE")
    if ca_file is not None and not os.path.isfile(ca_file):
        raise SettingsError(f"SURVEYBOT_SMTP_CA_FILE: no file {ca_file}; it should be the PEM file of the certificate "
                            "authority that signed the SMTP server's certificate")
    implicit = parts.scheme == "smtps"
    settings["smtp"] = SmtpServer(parts.hostname, port or (465 if implicit else 587), implicit,
                                  unquote(parts.username) if parts.username else None,
                                  unquote(parts.password) if parts.password else None, ca_file)
    return settings


def _join_tags(text: str | None) -> tuple[str, ...]:
    """The groups a person may put themselves in with /join (their campaign tags)."""
    tags = tuple(t.strip().lower() for t in (text or "").split(",") if t.strip())
    for tag in tags:
        if not re.fullmatch(r"[a-z0-9][a-z0-9_-]{0,39}", tag):
            raise SettingsError(f"SURVEYBOT_JOIN_TAGS: `{tag}` is not a tag (lower case letters, digits, - and _)")
    return tags
