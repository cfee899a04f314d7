"""The parts every use case beyond one conversation works with: the store, the keys, the loaded surveys, the survey
service and the privacy policy, as a protocol.

The admin side (campaign and contact commands, "you said, we did", round keys, reports) is used by the command line
and, typed in chat, by the channels. It depends on this protocol rather than on the composition root's `App`, so
nothing below bot.app imports it and the dependencies point one way: bot.app builds the parts, and `App` has every
member listed here, so it is handed on as it is.
"""

from __future__ import annotations

from typing import Protocol
from zoneinfo import ZoneInfo

from bot.engine.survey import Survey
from bot.services.policy import Policy
from bot.services.privacy import Keys
from bot.services.service import SurveyService
from bot.services.surveyfiles import SurveyCatalogue
from storage.unit_of_work import Store


class Core(Protocol):
    """What the admin use cases read and write through; `App` (bot/app.py) is one."""

    @property
    def store(self) -> Store: ...

    @property
    def keys(self) -> Keys: ...

    @property
    def catalogue(self) -> SurveyCatalogue: ...

    @property
    def service(self) -> SurveyService: ...

    @property
    def policy(self) -> Policy:
        """The retention periods and reporting thresholds in force (SURVEYBOT_* privacy settings)."""

    @property
    def zone(self) -> ZoneInfo:
        """The partnership's time zone: campaign times are typed and shown in it."""

    @property
    def bot_id(self) -> str | None:
        """The Telegram bot's own id (from its token), which `telegram:USER_ID` must not name; None without one."""

    def published_versions(self, survey_id: str) -> list[Survey]: ...

