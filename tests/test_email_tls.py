"""The SMTP client's TLS, for real: STARTTLS on smtp:// and TLS from the first byte on smtps://, against an aiosmtpd
server on 127.0.0.1 whose certificate a test-made authority signed (tests/fakes/certificates.py). The client trusts
that authority only through SURVEYBOT_SMTP_CA_FILE, the setting a deployment uses for its own relay's internal
authority; without it the same server is refused, so nothing is sent over a connection nobody vouched for."""

from __future__ import annotations

import asyncio
from datetime import datetime
from pathlib import Path

import pytest

from bot.cli.doctor import examine
from bot.config import Settings, SettingsError

from .conftest import LONDON, Clock
from .fakes.certificates import Certificates, make_certificates
from .fakes.smtp_server import FakeSmtp
from .test_email import SENDER, add_campaign, import_people, mailing, people, statuses


@pytest.fixture(scope="module")
def certificates(tmp_path_factory: pytest.TempPathFactory) -> Certificates:
    return make_certificates(tmp_path_factory.mktemp("tls"))


def doctor_says(tmp_path: Path, url: str, **extra: str) -> tuple[str, str]:
    settings = Settings.from_env({"SURVEYBOT_DATA_DIR": str(tmp_path), "SURVEYBOT_SMTP_URL": url,
                                  "SURVEYBOT_MAIL_FROM": SENDER, "SURVEYBOT_PUBLIC_URL": "https://x.example.org",
                                  **extra})
    [finding] = [(f.level, f.text) for f in examine(settings) if f.topic == "email"]
    return finding


@pytest.mark.parametrize(("implicit", "secured"), [(False, "STARTTLS"), (True, "TLS")])
async def test_invitations_go_over_tls_to_a_server_the_ca_file_vouches_for(tmp_path: Path, certificates: Certificates,
                                                                          implicit: bool, secured: str) -> None:
    addresses = people(3)
    clock = Clock(datetime(2026, 3, 2, 9, 30, tzinfo=LONDON))
    trust = {"SURVEYBOT_SMTP_CA_FILE": str(certificates.ca_file)}
    with FakeSmtp(tls=certificates.server_context(), implicit=implicit) as smtp:
        assert smtp.url.startswith("smtps://" if implicit else "smtp://")
        level, said = await asyncio.to_thread(doctor_says, tmp_path, smtp.url, **trust)
        assert level == "ok" and f"({secured})" in said
        async with mailing(tmp_path, smtp, clock, **trust) as run:
            import_people(run.app, tmp_path, addresses)
            add_campaign(run.app, clock, clock.now)
            assert [(r.step, r.planned) for r in run.broadcaster.run_due()] == [("invite", 3)]
            assert await asyncio.wait_for(run.drain(), 30) == 3
        assert sorted(smtp.recorder.recipients()) == sorted(addresses)
        assert smtp.recorder.secured == [True, True, True]


@pytest.mark.parametrize("implicit", [False, True])
async def test_a_server_nobody_vouched_for_gets_nothing(tmp_path: Path, certificates: Certificates,
                                                      implicit: bool) -> None:
    """The same server without SURVEYBOT_SMTP_CA_FILE: its certificate is checked against the system's authorities,
    which never signed it, so doctor names the problem and no invitation leaves: each stays in the outbox, to go
    once the setting is put right."""
    clock = Clock(datetime(2026, 3, 2, 9, 30, tzinfo=LONDON))
    with FakeSmtp(tls=certificates.server_context(), implicit=implicit) as smtp:
        level, said = await asyncio.to_thread(doctor_says, tmp_path, smtp.url)
        assert level == "PROBLEM" and "cannot reach the SMTP server" in said
        async with mailing(tmp_path, smtp, clock) as run:
            import_people(run.app, tmp_path, people(2))
            add_campaign(run.app, clock, clock.now)
            assert [(r.step, r.planned) for r in run.broadcaster.run_due()] == [("invite", 2)]
            with pytest.raises(TimeoutError):  # the channel says try later (RateLimited), and the drain waits
                await asyncio.wait_for(run.drain(), 3)
            assert statuses(run.app) == {("invite", "pending"): 2}
        assert smtp.recorder.count() == 0


def test_a_ca_file_that_is_not_there_is_named(tmp_path: Path) -> None:
    with pytest.raises(SettingsError, match="SURVEYBOT_SMTP_CA_FILE: no file"):
        Settings.from_env({"SURVEYBOT_SMTP_URL": "smtp://mail.example.org", "SURVEYBOT_MAIL_FROM": SENDER,
                           "SURVEYBOT_PUBLIC_URL": "https://x.example.org",
                           "SURVEYBOT_SMTP_CA_FILE": str(tmp_path / "missing.pem")})
