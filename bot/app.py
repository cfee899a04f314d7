"""The composition root: settings -> database, surveys, keys, service (and, as they land, channels and scheduler).

Nothing is wired on import; the CLI calls `build` once. `surveybot export`, which only reads answers, starts from
the lighter bot.reading instead.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import signal
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from functools import partial
from typing import TYPE_CHECKING, Protocol
from zoneinfo import ZoneInfo

from sqlalchemy.engine import Engine

from bot.channels.port import Channel
from bot.config import Settings, SettingsError, teams_settings
from bot.engine import messages as msg
from bot.engine.survey import Survey
from bot.reading import make_clock, published_versions, survey_dirs
from bot.services.policy import Policy, read_names
from bot.services.privacy import Keys
from bot.services.safeguarding.matching import Matcher
from bot.services.safeguarding.phrases import load_phrases
from bot.services.scrubbing import Scrubber
from bot.services.service import SurveyService
from bot.services.surveyfiles import SurveyCatalogue
from storage import database
from storage.unit_of_work import Store

if TYPE_CHECKING:  # the running bot's parts, imported when it runs so every other command starts quickly
    from bot.channels.email.channel import EmailChannel
    from bot.channels.slack import SlackChannel
    from bot.channels.teams.channel import TeamsChannel
    from bot.channels.telegram import TelegramChannel
    from bot.channels.web import WebChannel
    from bot.console.site import Console
    from bot.server import HttpServer
    from bot.services.chat_admin import ChatAdmin
    from bot.services.contact_book import Imported
    from bot.services.scheduling import CampaignScheduler
    from bot.services.yousaid import YouSaid

log = logging.getLogger(__name__)
SWITCH_INTERVAL = 0.001  # seconds; see serve()


@dataclass
class App:
    """Everything `build` made. The admin use cases see it only as the parts they need (bot.services.core.Core)."""

    settings: Settings
    engine: Engine
    store: Store
    catalogue: SurveyCatalogue
    service: SurveyService
    keys: Keys
    notes: list[str] = field(default_factory=list)
    console: Console | None = None  # the web console, made once by `web_console` when first needed

    def published_versions(self, survey_id: str) -> list[Survey]:
        """Every version of a survey that was ever published, parsed from the exact stored text."""
        return published_versions(self.store, survey_id)

    @property
    def policy(self) -> Policy:
        return self.settings.privacy

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.settings.timezone)

    @property
    def bot_id(self) -> str | None:
        return (self.settings.telegram_token or "").split(":", 1)[0] or None


def build(settings: Settings, clock: Callable[[], datetime] | None = None, migrate: bool | None = None) -> App:
    """Everything the commands need, checked: invalid surveys, a bad pepper or an unreachable database stop here."""
    catalogue = SurveyCatalogue.from_dirs(survey_dirs(settings))
    pepper, note = settings.pepper_bytes()
    keys = Keys(pepper)
    engine = database.connect(settings.database_url)
    if settings.auto_migrate if migrate is None else migrate:
        database.upgrade(engine)
    store = Store(engine)
    catalogue.find_published_in(store)  # a version another process publishes while this one runs
    service = SurveyService(store, catalogue, keys, clock or make_clock(settings), policy=settings.privacy,
                            scrubber=scrubber(settings),
                            matcher=Matcher(load_phrases(settings.safeguarding_phrases), settings.help_word),
                            care_who=settings.safeguarding_who or msg.CARE_WHO, help_word=settings.help_word)
    service.alerts.window = settings.alert_window_seconds
    service.publish_all()
    return App(settings, engine, store, catalogue, service, keys, [note] if note else [])


def scrubber(settings: Settings) -> Scrubber:
    """The free-text scrubber, with the partnership's names list when one is configured."""
    path = settings.privacy.scrub_names_file
    if path is None:
        return Scrubber()
    try:
        return Scrubber(read_names(path))
    except (OSError, UnicodeDecodeError) as exc:
        reason = getattr(exc, "strerror", None) or "not UTF-8 text"
        raise SettingsError(f"SURVEYBOT_SCRUB_NAMES_FILE: cannot read {path}: {reason}") from None


def make_channels(app: App) -> list[Channel]:
    """The chat channels the settings ask for (imported only when configured, to keep the CLI quick). The web chat
    is always on: it needs no tokens, and it is the way in for anyone under 16. Each channel is handed what it needs
    here; none of them sees `App`."""
    web = web_channel(app)
    channels: list[Channel] = [web]
    if app.settings.smtp is not None:
        mail = email_channel(app, web)
        channels.append(mail)
        web_console(app).mailer = mail.sign_in_link  # the console's front page can email a sign-in link
    if app.settings.telegram_token:
        channels.append(telegram_channel(app))
    if app.settings.slack_bot_token:
        channels.append(slack_channel(app))
    if app.settings.teams_app_id:
        channels.append(teams_channel(app, web))
    return channels


def web_console(app: App) -> Console:
    """The web console at /admin (always on, like the web chat: it needs no tokens), made once: the chat channels'
    `signin` command and the running server share it."""
    if app.console is None:
        from bot.console import make_console

        app.console = make_console(app)
    return app.console


def web_channel(app: App) -> WebChannel:
    from bot.channels.about import About
    from bot.channels.web import WebChannel

    settings = app.settings
    policy = settings.privacy
    about = About(policy, settings.help_word, settings.partnership, settings.privacy_contact)
    # Long enough to carry on after a break (idle conversations live state_days), then to delete the answers
    # for as long as the round's key may live after it closes (key_days). Renewed on each use.
    return WebChannel(app.service, app.catalogue, cookie_days=policy.state_days + policy.key_days,
                      public_url=settings.public_url, trust_proxy=settings.trust_proxy, about=about)


def email_channel(app: App, web: WebChannel) -> EmailChannel:
    """Invitations by email; their personal links open the web chat, so it is handed the web channel."""
    from bot.channels.email.channel import EmailChannel
    from bot.services.invitations import PersonalLinks

    settings = app.settings
    assert settings.smtp is not None and settings.mail_from is not None and settings.public_url is not None
    links = PersonalLinks(app.store, app.keys, app.catalogue, app.service.clock)
    return EmailChannel(links, app.service.call, settings.smtp, settings.mail_from, settings.public_url,
                        rate=settings.smtp_rate, retry_seconds=settings.smtp_retry_seconds, clock=app.service.clock,
                        web=web)


class TakesAdmin(Protocol):
    """The part of a chat channel that takes admin commands, "we did" reactions and /join."""

    admin: ChatAdmin | None
    yousaid: YouSaid | None
    join_tags: tuple[str, ...]


def hand_admin(app: App, to: TakesAdmin) -> None:
    """What every chat channel with admin commands is handed, the same way: the admin side (on Core, never App),
    console sign-in links, the "you said" use cases and the groups people may join."""
    from bot.services.chat_admin import ChatAdmin  # the admin side needs the whole app; respondents never do

    to.admin = ChatAdmin(app)
    to.admin.signin = web_console(app).offer_link
    to.yousaid = to.admin.yousaid
    to.join_tags = app.settings.join_tags


def telegram_channel(app: App) -> TelegramChannel:
    from bot.channels.telegram import TelegramChannel
    from bot.reporting.delivery import COMMANDS, respond  # reporting reads storage; the channel itself does not

    settings = app.settings
    assert settings.telegram_token is not None
    secret = settings.telegram_webhook_secret or app.keys.secret("telegram-webhook")
    channel = TelegramChannel(app.service, settings.telegram_token, settings.telegram_api_url,
                              settings.default_survey, settings.telegram_webhook_url, secret)
    hand_admin(app, channel)
    channel.reports, channel.report_commands = partial(respond, app), COMMANDS
    if settings.safeguarding_telegram_chat is not None:
        channel.alert_chat = int(settings.safeguarding_telegram_chat)
        app.service.alerts.add(channel, settings.safeguarding_telegram_chat)
    return channel


def slack_channel(app: App) -> SlackChannel:
    from bot.channels.slack import SlackChannel
    from bot.reporting.delivery import COMMANDS, respond

    settings = app.settings
    if not (settings.slack_app_token or settings.slack_signing_secret):
        raise SettingsError("SLACK_BOT_TOKEN is set, but Slack also needs SLACK_APP_TOKEN (Socket Mode) or "
                            "SLACK_SIGNING_SECRET (HTTP at /slack/events); see the Slack section of the README")
    if not (settings.slack_bot_token or "").startswith("xoxb-"):
        raise SettingsError("SLACK_BOT_TOKEN should be the app's bot token, starting xoxb-")
    if settings.slack_app_token and not settings.slack_app_token.startswith("xapp-"):
        raise SettingsError("SLACK_APP_TOKEN should be an app-level token starting xapp- (with connections:write)")
    if not settings.slack_api_url.startswith(("https://", "http://")):
        raise SettingsError("SLACK_API_URL should be an http(s) URL, such as https://slack.com/api/")
    channel = SlackChannel(app.service, app.catalogue, bot_token=settings.slack_bot_token or "",
                           app_token=settings.slack_app_token, signing_secret=settings.slack_signing_secret,
                           api_url=settings.slack_api_url, edits_per_minute=settings.slack_edits_per_minute)
    work = channel.work
    hand_admin(app, work)
    work.reports, work.report_commands = partial(respond, app), COMMANDS
    if settings.safeguarding_slack_channel is not None:
        work.alert_channel = settings.safeguarding_slack_channel
        app.service.alerts.add(channel, settings.safeguarding_slack_channel)
    return channel


def teams_channel(app: App, web: WebChannel) -> TeamsChannel:
    """Microsoft Teams, through the Microsoft 365 Agents SDK (imported only here: it is large, and most deployments
    start other commands far more often than they start the bot). Reports go as download links from this server
    (bot.reporting.links), never through OneDrive; their pages are drawn like the web chat's, so it is handed that."""
    from bot.channels.teams.channel import TeamsChannel
    from bot.channels.teams.downloads import Downloads
    from bot.reporting.delivery import COMMANDS
    from bot.reporting.links import fetch, look, offer

    settings = app.settings
    app_id, password, tenant = teams_settings(settings)
    channel = TeamsChannel(app.service, app_id=app_id, password=password, tenant_id=tenant,
                           default_survey=settings.default_survey, service_url=settings.teams_service_url,
                           public_url=settings.public_url)
    turns = channel.turns
    hand_admin(app, turns)
    turns.reports, turns.report_commands = partial(offer, app), COMMANDS
    channel.downloads = Downloads(app.service.call, partial(look, app), partial(fetch, app), web)
    if settings.safeguarding_teams_channel is not None:
        turns.alert_channel = settings.safeguarding_teams_channel
        app.service.alerts.add(channel, settings.safeguarding_teams_channel)
    return channel


def import_team(app: App, team: str, tags: list[str]) -> tuple[Imported, int]:
    """`surveybot contacts import-teams`: a team the app was added to, found among those the channel kept; its
    roster read from Teams (bot.channels.teams.roster) before anything is stored; then its members made contacts
    with the tags, in one transaction. Returns what the import did and how many members were left out."""
    from bot.services.contact_book import CampaignError

    if not app.settings.teams_app_id:
        raise CampaignError("SURVEYBOT_TEAMS_APP_ID is not set, so Teams cannot be asked who is in the team (see "
                            "the README's Microsoft Teams section)")
    app_id, password, tenant = teams_settings(app.settings)
    from bot.channels.teams import roster  # the SDK, loaded only by the command that talks to Teams

    return asyncio.run(roster.import_team(app, team, tags, app_id, password, tenant))


async def serve(app: App, channels: list[Channel], stop: asyncio.Event | None = None,
                server: HttpServer | None = None, ready: Callable[[HttpServer], None] | None = None) -> None:
    """Run the HTTP server and every channel until `stop` is set (SIGINT/SIGTERM set it when run from the CLI).
    `ready` is called once the server is listening (the CLI prints the survey's link then)."""
    from bot.metrics import METRICS, ErrorCounter
    from bot.server import HttpServer
    from bot.services.broadcast import Broadcaster, inviting
    from bot.services.pending import Resender
    from bot.services.scheduling import CampaignScheduler, Leadership
    from bot.services.surveyfiles import follow_published

    stop = stop or asyncio.Event()
    server = server or HttpServer(app.settings.host, app.settings.port)
    server.add_check("database", lambda: database.ping(app.engine))
    server.add_fact("scheduler", lambda: "off" if scheduler is None else "leader" if scheduler.leading else "standby")
    errors = ErrorCounter()
    logging.getLogger().addHandler(errors)
    for channel in channels:
        METRICS.channel(channel.name)
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError):  # not the main thread, or not supported
            loop.add_signal_handler(signum, stop.set)
    started: list[Channel] = []
    scheduler: CampaignScheduler | None = None
    following: asyncio.Task[None] | None = None
    resender = Resender(app.service, channels, alone=app.engine.dialect.name == "sqlite")
    try:
        for channel in channels:
            await channel.start(server)
            started.append(channel)
        web_console(app).mount(server)
        await server.start()
        await resender.start()  # what a stopped process still owed people (persist, then send)
        following = asyncio.create_task(follow_published(app.catalogue, app.settings.sweep_seconds, stop))
        if not app.service.alerts.configured:
            log.warning("no safeguarding alert route is set up (SURVEYBOT_SAFEGUARDING_SLACK_CHANNEL, "
                        "SURVEYBOT_SAFEGUARDING_TELEGRAM_CHAT or SURVEYBOT_SAFEGUARDING_TEAMS_CHANNEL, with that "
                        "channel's token): young people still get the check and Childline, but the safeguarding lead "
                        "will not be alerted")
        senders = inviting(channels)
        if senders:
            broadcaster = Broadcaster(app.store, app.keys, app.catalogue, app.service.clock)
            scheduler = CampaignScheduler(app.service, broadcaster, senders, app.service.clock,
                                          app.settings.timezone, Leadership(app.engine),
                                          app.settings.sweep_seconds, app.settings.leader_retry_seconds)
            await scheduler.start()
        log.info("surveybot is running with %s", ", ".join(c.name for c in channels) or "no chat channel")
        gc.freeze()  # what start-up built lives as long as the process: the collector need not walk it again
        # The database thread makes many short round trips and must take the GIL back after each; with Python's
        # default 5 ms interval it can wait that long each time for a busy event loop to let go.
        sys.setswitchinterval(SWITCH_INTERVAL)
        if ready is not None:
            ready(server)
        await stop.wait()
    finally:
        if following is not None:
            following.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await following
        if scheduler is not None:
            await scheduler.stop()
        await app.service.alerts.flush()  # anonymous alerts held for the window go now, while channels are up
        for channel in reversed(started):
            await channel.stop()
        await server.stop()
        await resender.stop()
        app.service.close()
        logging.getLogger().removeHandler(errors)
