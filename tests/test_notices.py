"""The privacy notice and the privacy settings: what respondents read matches the numbers the code uses."""

from __future__ import annotations

import re
from datetime import date
from pathlib import Path

import pytest

from bot.config import Settings, SettingsError
from bot.engine.survey import Audience
from bot.services.notices import notice
from bot.services.policy import Policy, Thresholds, read_names, round_thresholds

JARGON = ("pseudonym", "anonymis", "hmac", "data", "gdpr", "retention", "identifier", "scrub", "salt", "key ")


@pytest.mark.parametrize("closes_on", [None, date(2026, 3, 31)])
def test_the_young_peoples_notice_is_short_and_plain(closes_on: date | None) -> None:
    text = notice(Audience.YOUNG_PEOPLE, Policy(), Thresholds(10, 10), closes_on)
    sentences = [s for s in re.split(r"(?<=[.:!?])\s+", text) if s]
    assert all(len(s.split()) < 20 for s in sentences), [s for s in sentences if len(s.split()) >= 20]
    assert not any(word in text.lower() for word in JARGON)
    assert "Nobody watches this chat live." in text and "an adult who can help" in text
    assert ("until 29 April 2026" if closes_on else "until 30 days after the survey ends") in text


def test_the_adult_notice_carries_the_real_numbers() -> None:
    policy = Policy(key_days=14, text_days=60)
    text = notice(Audience.PARTNERS, policy, Thresholds(7, 12), date(2026, 5, 1))
    assert "until 14 May 2026" in text and "deleted 60 days after the survey closes" in text
    assert "fewer than 7 people" in text and "fewer than 12." in text
    assert "until the survey closes and for 14 days after" in notice(Audience.PRACTITIONERS, policy,
                                                                     Thresholds(5, 10), None)


def test_thresholds_follow_the_audience_and_stay_locked() -> None:
    policy = Policy()
    assert policy.thresholds(Audience.PRACTITIONERS) == Thresholds(5, 10)
    assert policy.thresholds(Audience.PARTNERS) == Thresholds(5, 10)
    assert policy.thresholds(Audience.YOUNG_PEOPLE) == Thresholds(10, 10)
    assert Policy(min_group_young=12).thresholds(Audience.YOUNG_PEOPLE) == Thresholds(12, 12)
    assert round_thresholds(Policy(min_group=8), Audience.PRACTITIONERS, 5, 10) == Thresholds(5, 10)
    assert round_thresholds(Policy(min_group=8), Audience.PRACTITIONERS, None, None) == Thresholds(8, 10)


def test_a_survey_files_own_threshold_sets_a_partner_rounds_and_only_raises_one_of_people() -> None:
    """Partner surveys are answered by organisations: their file's `min_group` replaces the setting (never below 3).
    For surveys of people it can only make the threshold stricter."""
    policy = Policy(min_group=5, min_group_young=10, min_group_text=10)
    assert policy.thresholds(Audience.PARTNERS, 3) == Thresholds(3, 10)
    assert policy.thresholds(Audience.PARTNERS, 7) == Thresholds(7, 10)
    assert policy.thresholds(Audience.PARTNERS, 1) == Thresholds(3, 10)  # the loader refuses it; never below 3 anyway
    assert policy.thresholds(Audience.PRACTITIONERS, 3) == Thresholds(5, 10)
    assert policy.thresholds(Audience.PRACTITIONERS, 8) == Thresholds(8, 10)
    assert policy.thresholds(Audience.YOUNG_PEOPLE, 3) == Thresholds(10, 10)
    assert policy.thresholds(Audience.PARTNERS, 12) == Thresholds(12, 12)
    # a locked round keeps what it locked, whatever the file says later
    assert round_thresholds(policy, Audience.PARTNERS, 5, 10, 3) == Thresholds(5, 10)
    assert round_thresholds(policy, Audience.PARTNERS, None, None, 3) == Thresholds(3, 10)


def test_privacy_settings_are_read_and_checked(tmp_path: Path) -> None:
    names = tmp_path / "names.txt"
    names.write_text("# staff\nJo Bloggs\n\n  Riverside Academy  \n")
    settings = Settings.from_env({"SURVEYBOT_KEY_DAYS": "14", "SURVEYBOT_TEXT_DAYS": "60",
                                  "SURVEYBOT_STATE_DAYS": "7", "SURVEYBOT_MIN_GROUP": "6",
                                  "SURVEYBOT_MIN_GROUP_YOUNG": "11", "SURVEYBOT_MIN_GROUP_TEXT": "12",
                                  "SURVEYBOT_SCRUB_NAMES_FILE": str(names)})
    assert settings.privacy == Policy(14, 60, 7, 6, 11, 12, names)
    assert Settings.from_env({}).privacy == Policy()
    assert read_names(names) == ("Jo Bloggs", "Riverside Academy")
    for name, value, least in [("SURVEYBOT_MIN_GROUP", "2", 3), ("SURVEYBOT_KEY_DAYS", "0", 1),
                               ("SURVEYBOT_TEXT_DAYS", "ninety", 1)]:
        with pytest.raises(SettingsError, match=f"^{name} should be a whole number of at least {least}$"):
            Settings.from_env({name: value})


def test_every_setting_is_documented() -> None:
    example = (Path(__file__).parent.parent / "deploy" / ".env.example").read_text()
    for name in ("SURVEYBOT_KEY_DAYS", "SURVEYBOT_TEXT_DAYS", "SURVEYBOT_STATE_DAYS", "SURVEYBOT_MIN_GROUP",
                 "SURVEYBOT_MIN_GROUP_YOUNG", "SURVEYBOT_MIN_GROUP_TEXT", "SURVEYBOT_SCRUB_NAMES_FILE"):
        assert f"{name}=" in example, name
