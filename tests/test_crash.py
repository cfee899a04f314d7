"""Crash safety with SIGKILL (issue 11, point 1), the short version for CI: a real `surveybot run` on SQLite, the
embedded default, killed at seeded random moments while people answer and while a campaign is being sent
(harness: tests/crashes.py; the full run, 50 people and 20 kills, is bench/crash.py)."""

from __future__ import annotations

from pathlib import Path

from .crashes import QUESTION_IDS, answers_under_crashes, broadcast_under_crashes

SEED = 20261122


async def test_no_acknowledged_answer_is_lost_or_stored_twice_across_kills(tmp_path: Path) -> None:
    run = await answers_under_crashes(tmp_path, f"sqlite:///{tmp_path / 'surveybot.db'}", respondents=8, kills=2,
                                      seed=SEED, timeout=240, stall=2.5)
    assert run.kills == 2, "every kill happened while people were still answering"
    assert run.regressions == [], "an answer the bot had acknowledged was asked for again: it was lost"
    assert run.duplicates == 0 and run.stored == 8 * len(QUESTION_IDS)
    assert run.wrong == [], "what is stored is exactly what each person gave, and everyone finished"
    assert run.audit.startswith("audit chain OK")


async def test_a_broadcast_killed_mid_send_reaches_everyone_with_at_most_one_duplicate_a_kill(tmp_path: Path) -> None:
    run = await broadcast_under_crashes(tmp_path, f"sqlite:///{tmp_path / 'surveybot.db'}", contacts=120, kills=2,
                                        seed=SEED, wait_for_leases=False)
    assert run.kills >= 1, "at least one kill landed while invitations were still going out"
    assert run.missing == 0, "every contact was invited at least once"
    assert run.duplicates <= run.kills, f"{run.duplicates} duplicates for {run.kills} kills"
    assert run.audit.startswith("audit chain OK")
