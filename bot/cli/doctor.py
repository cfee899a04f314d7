"""`surveybot doctor`: check a deployment's settings and connections, and say plainly what is wrong.

Each check prints one line: `ok` or `PROBLEM` (exit status 1 when there is any), or `note` for something worth
knowing that is not wrong. It reads the same settings as `surveybot run`, talks to the database and to the chat
platforms' APIs exactly as the bot would (Telegram getMe, Slack auth.test) and changes nothing. No secret is ever
printed: every line passes through the log redaction as well (bot.logs).
"""

from __future__ import annotations

import json
import re
import stat
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlparse

from sqlalchemy import text
from sqlalchemy.engine import Engine

from bot.config import Settings, SettingsError, secrets_of
from bot.logs import Redacting
from bot.services.privacy import decode_pepper
from storage import database

TIMEOUT = 10.0
TELEGRAM_PORTS = (443, 80, 88, 8443)  # the only ports Telegram delivers webhooks to
SECRET_TOKEN = re.compile(r"^[A-Za-z0-9_-]{1,256}$")


@dataclass(frozen=True)
class Finding:
    level: str  # "ok", "PROBLEM" or "note"
    topic: str
    text: str

    def line(self) -> str:
        return f"{self.level:<8} {self.topic}: {self.text}"


def ok(topic: str, text: str) -> Finding:
    return Finding("ok", topic, text)


def problem(topic: str, text: str) -> Finding:
    return Finding("PROBLEM", topic, text)


def note(topic: str, text: str) -> Finding:
    return Finding("note", topic, text)


def examine(settings: Settings, env_file: Path | None = None) -> list[Finding]:
    """Every check, in the order an operator would fix them."""
    checks: list[Callable[[], Iterator[Finding]]] = [
        lambda: _env_file(env_file), lambda: _secrets(settings), lambda: _database(settings),
        lambda: _public_url(settings), lambda: _web_limits(settings), lambda: _telegram(settings),
        lambda: _slack(settings), lambda: _email(settings), lambda: _safeguarding(settings),
    ]
    findings: list[Finding] = []
    for check in checks:
        findings.extend(check())
    return findings


def report(settings: Settings, env_file: Path | None, print_line: Callable[[str], None]) -> int:
    redactor = Redacting(secrets_of(settings), as_json=False)
    findings = examine(settings, env_file)
    for finding in findings:
        print_line(redactor.redact(finding.line()))
    problems = sum(f.level == "PROBLEM" for f in findings)
    print_line(f"{problems} problem(s) found." if problems else "No problems found.")
    return 1 if problems else 0


# --- the checks ------------------------------------------------------------------------------------------------------

def _env_file(path: Path | None) -> Iterator[Finding]:
    if path is None or not path.exists():
        yield note(".env", "no .env file here; settings come from the environment")
        return
    mode = stat.S_IMODE(path.stat().st_mode)
    if mode & 0o077:
        yield problem(".env", f"{path} can be read by other users (mode {mode:o}); it holds secrets: "
                              f"chmod 600 {path}")
    else:
        yield ok(".env", f"{path} is readable by its owner only")


def _secrets(settings: Settings) -> Iterator[Finding]:
    if settings.pepper:
        try:
            decode_pepper(settings.pepper)
            yield ok("pepper", "SURVEYBOT_PEPPER is set; back it up apart from the database")
        except ValueError as exc:
            yield problem("pepper", str(exc))
    elif settings.production:
        yield problem("pepper", "SURVEYBOT_PEPPER is not set; production needs a secret pepper of at least 32 "
                                "characters (see deploy/.env.example)")
    else:
        path = settings.data_dir / "pepper"
        yield note("pepper", f"development keeps it in {path}" + ("" if path.exists() else
                                                                   " (made on the first run)"))
    from bot.reporting.signing import parse_private

    if settings.signing_key:
        try:
            parse_private(settings.signing_key)
            yield ok("signing key", "SURVEYBOT_SIGNING_KEY is an Ed25519 private key")
        except SettingsError as exc:
            yield problem("signing key", str(exc))
    elif settings.production:
        yield problem("signing key", "SURVEYBOT_SIGNING_KEY is not set; production cannot sign evidence packs "
                                     "(make one with `surveybot keys signing-new`)")
    else:
        yield note("signing key", "not set; development makes one in the data folder on first use")


def _database(settings: Settings) -> Iterator[Finding]:
    shown = database.describe(settings.database_url)
    local = _sqlite_file(settings.database_url)
    if local is not None and not local.exists():  # connecting would make an empty file: say so instead
        yield problem("database", f"there is no database at {local} yet: run `surveybot db upgrade`")
        return
    try:
        engine = database.connect(settings.database_url)
    except database.DatabaseError as exc:
        yield problem("database", str(exc))
        return
    try:
        if not database.ping(engine):
            yield problem("database", f"cannot connect to {shown}: check DATABASE_URL, the server and the network")
            return
        current, head = database.revisions(engine)
        if current == head:
            yield ok("database", f"{shown} answers; schema at the newest migration ({head})")
            yield from _contacts(engine, settings)
        elif current is None:
            yield problem("database", f"{shown} has no surveybot schema yet: run `surveybot db upgrade`")
        else:
            yield problem("database", f"{shown} is at migration {current}, this version needs {head}: run "
                                      "`surveybot db upgrade`")
        if engine.dialect.name == "sqlite" and settings.production:
            yield note("database", "SQLite serves one bot process; to run several, use PostgreSQL")
    except database.DatabaseError as exc:
        yield problem("database", str(exc))
    finally:
        engine.dispose()


def _contacts(engine: Engine, settings: Settings) -> Iterator[Finding]:
    """Contacts whose stored address their platform could never use (imported before ids were checked, such as a
    Telegram @username): a campaign marks each unreachable on its first try; say so before that."""
    from bot.services.privacy import Keys
    from bot.services.roles import parse_who, show_who

    path = settings.data_dir / "pepper"
    try:
        pepper = decode_pepper(settings.pepper or (path.read_text() if path.exists() else ""))
    except ValueError:
        return  # no pepper yet, or a bad one (reported above): the addresses cannot be read
    keys = Keys(pepper)
    unusable = 0
    with engine.connect() as connection:
        for (sealed,) in connection.execute(text("SELECT address FROM contact WHERE NOT unreachable")):
            try:
                parse_who(show_who(keys.unseal(sealed)))
            except ValueError:
                unusable += 1
            except Exception:  # sealed with another pepper: not this check's question
                return
    if unusable:
        yield problem("contacts", f"{unusable} contact(s) have an address their platform cannot use (such as a "
                                  "Telegram @username); campaigns will mark them unreachable. Ask those people to "
                                  "open the bot's link (https://t.me/<bot>?start=CODE) instead")


def _public_url(settings: Settings) -> Iterator[Finding]:
    url = settings.public_url
    if url is None:
        if settings.production:
            yield problem("public URL", "SURVEYBOT_PUBLIC_URL is not set; printed links and posters would carry "
                                        "this machine's address instead of your public one")
        return
    parsed = urlparse(url)
    if parsed.scheme != "https" and settings.production:
        yield problem("public URL", f"SURVEYBOT_PUBLIC_URL {url} should start with https://")
    elif not parsed.hostname:
        yield problem("public URL", f"SURVEYBOT_PUBLIC_URL {url} has no host name")
    else:
        yield ok("public URL", url)


def _web_limits(settings: Settings) -> Iterator[Finding]:
    """Whose address the web chat's rate limits count (bot.channels.web): wrong either way is worth saying."""
    behind_proxy = settings.public_url is not None and settings.public_url.startswith("https://")
    if settings.trust_proxy:
        if settings.host not in ("127.0.0.1", "::1", "localhost"):
            yield note("web limits", f"SURVEYBOT_TRUST_PROXY is true and the bot listens on {settings.host}: make "
                                     f"sure only your proxy can reach port {settings.port}, or a client could make "
                                     "up its address in X-Forwarded-For")
        else:
            yield ok("web limits", "each client counts by the address your proxy adds to X-Forwarded-For")
    elif behind_proxy:
        yield note("web limits", "SURVEYBOT_TRUST_PROXY is false, so behind a proxy every visitor shares the "
                                 "proxy's address and one rate limit; set it to true if your proxy adds "
                                 "X-Forwarded-For")
    else:
        yield ok("web limits", "each client counts by the address it connects from")


def _telegram(settings: Settings) -> Iterator[Finding]:
    token = settings.telegram_token
    if not token:
        yield note("telegram", "TELEGRAM_BOT_TOKEN is not set; the Telegram channel is off")
        return
    if not re.fullmatch(r"\d+:[A-Za-z0-9_-]+", token):
        yield problem("telegram", "TELEGRAM_BOT_TOKEN does not look like a BotFather token (digits, a colon, then "
                                  "letters)")
        return
    status, body = _request(f"{settings.telegram_api_url.rstrip('/')}/bot{token}/getMe")
    result = body.get("result")
    if status == 200 and body.get("ok") and isinstance(result, dict) and result.get("is_bot"):
        yield ok("telegram", f"the token works: bot @{result.get('username', '?')}")
    elif status in (401, 404):
        yield problem("telegram", f"Telegram refused TELEGRAM_BOT_TOKEN ({status}); ask @BotFather for the token "
                                  "again")
    else:
        yield problem("telegram", f"cannot reach the Bot API at {settings.telegram_api_url} ({_why(status, body)})")
    yield from _webhook(settings)


def _webhook(settings: Settings) -> Iterator[Finding]:
    url = settings.telegram_webhook_url
    if url is None:
        yield note("telegram webhook", "not set: long polling, which suits one bot process only")
        return
    parsed = urlparse(url)
    wrong = []
    if parsed.scheme != "https":
        wrong.append("should start with https:// (Telegram posts only to HTTPS)")
    if parsed.port is not None and parsed.port not in TELEGRAM_PORTS:
        wrong.append(f"port {parsed.port} is not one Telegram posts to ({', '.join(map(str, TELEGRAM_PORTS))})")
    if parsed.hostname in (None, "", "localhost") or (parsed.hostname or "").startswith("127."):
        wrong.append("its host must be reachable from the internet, not this machine's loopback")
    if not parsed.path or parsed.path == "/":
        wrong.append("give it a path, e.g. /telegram/webhook")
    for reason in wrong:
        yield problem("telegram webhook", f"TELEGRAM_WEBHOOK_URL {url}: {reason}")
    if settings.telegram_webhook_secret is not None and not SECRET_TOKEN.match(settings.telegram_webhook_secret):
        yield problem("telegram webhook", "TELEGRAM_WEBHOOK_SECRET may only hold letters, digits, _ and - "
                                          "(1 to 256 of them)")
    if not wrong:
        yield ok("telegram webhook", url)


def _slack(settings: Settings) -> Iterator[Finding]:
    token = settings.slack_bot_token
    if not token:
        yield note("slack", "SLACK_BOT_TOKEN is not set; the Slack channel is off")
        return
    if not token.startswith("xoxb-"):
        yield problem("slack", "SLACK_BOT_TOKEN should be the app's bot token, starting xoxb-")
        return
    if not (settings.slack_app_token or settings.slack_signing_secret):
        yield problem("slack", "Slack needs SLACK_APP_TOKEN (Socket Mode) or SLACK_SIGNING_SECRET (HTTP mode)")
    if settings.slack_app_token and not settings.slack_app_token.startswith("xapp-"):
        yield problem("slack", "SLACK_APP_TOKEN should be an app-level token starting xapp-")
    if settings.slack_app_token is None and settings.slack_signing_secret and settings.public_url is None:
        yield problem("slack", "HTTP mode: Slack posts to https://YOUR-HOST/slack/events, so set "
                               "SURVEYBOT_PUBLIC_URL to that host")
    base = settings.slack_api_url if settings.slack_api_url.endswith("/") else settings.slack_api_url + "/"
    status, body = _request(f"{base}auth.test", bearer=token, post=True)
    if status == 200 and body.get("ok"):
        yield ok("slack", f"the bot token works (workspace {body.get('team', '?')})")
    elif status == 200:
        yield problem("slack", f"Slack refused SLACK_BOT_TOKEN ({body.get('error', 'error')})")
    else:
        yield problem("slack", f"cannot reach the Slack Web API at {settings.slack_api_url} ({_why(status, body)})")


def _email(settings: Settings) -> Iterator[Finding]:
    """The SMTP server answers, secures the connection and takes our login (nothing is sent)."""
    server = settings.smtp
    if server is None:
        yield note("email", "SURVEYBOT_SMTP_URL is not set; the email channel is off")
        return
    import asyncio

    import aiosmtplib

    from bot.smtp import check_server

    try:
        said = asyncio.run(check_server(server))
    except aiosmtplib.SMTPAuthenticationError as exc:
        yield problem("email", f"the SMTP server refused the user name or password in SURVEYBOT_SMTP_URL ({exc.code})")
    except (aiosmtplib.SMTPException, OSError) as exc:
        yield problem("email", f"cannot reach the SMTP server in SURVEYBOT_SMTP_URL at {server.host}:{server.port} "
                               f"({type(exc).__name__})")
    else:
        yield ok("email", f"{said}; emails come from {settings.mail_from}")


def _sqlite_file(url: str) -> Path | None:
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    try:
        parsed = make_url(database.normalise_url(url))
    except ArgumentError:
        return None
    if parsed.get_backend_name() != "sqlite" or parsed.database in (None, "", ":memory:"):
        return None
    return Path(parsed.database or "")


def _safeguarding(settings: Settings) -> Iterator[Finding]:
    """Where alerts about a young person at risk go (docs/safeguarding.md): a route needs its channel configured."""
    slack, telegram = settings.safeguarding_slack_channel, settings.safeguarding_telegram_chat
    if slack is not None and not settings.slack_bot_token:
        yield problem("safeguarding", "SURVEYBOT_SAFEGUARDING_SLACK_CHANNEL is set, but Slack is off "
                                      "(SLACK_BOT_TOKEN): alerts would go nowhere")
    if telegram is not None and not settings.telegram_token:
        yield problem("safeguarding", "SURVEYBOT_SAFEGUARDING_TELEGRAM_CHAT is set, but Telegram is off "
                                      "(TELEGRAM_BOT_TOKEN): alerts would go nowhere")
    routes = [name for name, where, on in (("Slack", slack, settings.slack_bot_token),
                                           ("Telegram", telegram, settings.telegram_token)) if where and on]
    if routes:
        yield ok("safeguarding", f"alerts go to the safeguarding lead on {' and '.join(routes)}")
        if settings.alert_window_seconds == 0:
            yield note("safeguarding", "SURVEYBOT_ALERT_WINDOW_SECONDS is 0: every anonymous alert goes on its own, "
                                       "so a flood of them would reach the lead one by one")
    elif settings.production:
        yield problem("safeguarding", "no alert route: set SURVEYBOT_SAFEGUARDING_SLACK_CHANNEL or "
                                      "SURVEYBOT_SAFEGUARDING_TELEGRAM_CHAT, so the safeguarding lead hears when a "
                                      "young person may be at risk (docs/safeguarding.md)")
    else:
        yield note("safeguarding", "no alert route set (see docs/safeguarding.md)")


# --- HTTP -------------------------------------------------------------------------------------------------------------

def _request(url: str, bearer: str | None = None, post: bool = False) -> tuple[int, dict[str, object]]:
    """(status, JSON body); status 0 and {"error": reason} when nothing answered."""
    headers = {"Authorization": f"Bearer {bearer}"} if bearer else {}
    request = urllib.request.Request(url, data=b"" if post else None, headers=headers, method="POST" if post else
                                     "GET")
    try:
        with urllib.request.urlopen(request, timeout=TIMEOUT) as response:
            return response.status, _json(response.read())
    except urllib.error.HTTPError as exc:
        return exc.code, _json(exc.read())
    except (urllib.error.URLError, OSError, ValueError) as exc:
        reason = getattr(exc, "reason", None) or exc
        return 0, {"error": str(getattr(reason, "strerror", None) or reason)}


def _json(raw: bytes) -> dict[str, object]:
    try:
        body = json.loads(raw or b"{}")
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}


def _why(status: int, body: dict[str, object]) -> str:
    return f"HTTP {status}" if status else str(body.get("error") or "no answer")
