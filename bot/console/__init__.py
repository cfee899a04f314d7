"""The web console at /admin: the business unit and the scrutineer run campaigns and read results in a browser.

`site` is the frame (sign-in, sessions, role and CSRF checks, drawing); each other module is one section of the
navigation and registers its pages on the frame, but for `survey_preview`, the Surveys section's preview. `make_console`
is what the composition root (bot.app) calls.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from bot.console import audit, campaigns, contacts, results, safeguarding, surveys, yousaid
from bot.console.site import Console
from bot.reporting.delivery import ReportingParts
from bot.services.console_access import ConsoleAccess

# Each section's `register(console)`, added as the sections land.
SECTIONS: list[Callable[[Console], None]] = [campaigns.register, surveys.register, contacts.register,
                                             results.register, yousaid.register, safeguarding.register,
                                             audit.register]


def make_console(core: ReportingParts, *, mailer: Callable[[str, str], Awaitable[None]] | None = None) -> Console:
    """The console on the core parts and their settings (bot.app's App is both)."""
    access = ConsoleAccess(core.store, core.keys, core.service.clock)
    settings = core.settings
    console = Console(core, access, public_url=settings.public_url, trust_proxy=settings.trust_proxy, mailer=mailer)
    for register in SECTIONS:
        register(console)
    return console
