"""Checking the evidence: the hash chain, and that every stored answer and completion is the one the chain recorded.

`verify` reads the chain in order and replays it: the newest `answer.recorded` fingerprint for each (response,
question), less what `answer.discarded` and `response.erased` removed; each `response.completed` with its date and
round; and the free text a `purge` blanked. It then checks that

* every record links to the one before (prev_hash) and hashes to its own contents: so editing, deleting,
  inserting or reordering audit rows breaks the chain at that record;
* every answer row matches the newest fingerprint for it and the date it was recorded on, and has one; and no
  recorded answer is missing unless a later record discarded or erased it: so editing, deleting, adding or
  swapping answer rows is caught even when the chain itself is intact;
* completed responses are exactly those the chain completed, with the same date, survey, version and wave.

Fingerprints are keyed (bot.services.privacy.Keys.audit), so someone with the database but not the pepper cannot forge
one
for a changed answer. The chain hashes themselves are plain SHA-256, so anyone can recheck them; a rewrite of the
whole tail by someone with write access is caught by comparing the head with one noted elsewhere (`expect_head`,
and the evidence pack later).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date
from typing import Any

from bot.services.privacy import Keys
from storage import evidence
from storage.evidence import ChainHead, Record
from storage.rounds import NULL
from storage.sql import GENESIS, chain_hash
from storage.unit_of_work import Store, UnitOfWork

MAX_PROBLEMS = 20


@dataclass(frozen=True)
class Verdict:
    """The outcome: `problems` holds the first MAX_PROBLEMS found, in order; `found` counts them all."""

    records: int
    head: str
    problems: tuple[str, ...]
    found: int = 0

    @property
    def ok(self) -> bool:
        return not self.problems

    def summary(self) -> str:
        if self.ok:
            return f"audit chain OK: {self.records} records, head {self.head}"
        return f"audit check FAILED: {self.problems[0]}"


@dataclass(frozen=True)
class _Recorded:
    seq: int
    fingerprint: str
    on: date


@dataclass(frozen=True)
class _Completed:
    seq: int
    on: date
    round: dict[str, Any]


class _Replay:
    """What the chain says the answer tables should hold, built record by record."""

    def __init__(self) -> None:
        self.answers: dict[tuple[int, str], _Recorded] = {}
        self.by_response: dict[int, set[str]] = {}
        self.completed: dict[int, _Completed] = {}
        self.blanked: dict[tuple[str, int, str], int] = {}

    def apply(self, seq: int, on: date, action: str, subject: dict[str, Any]) -> None:
        if action == "answer.recorded":
            key = (int(subject["response"]), str(subject["question"]))
            self.answers[key] = _Recorded(seq, str(subject["fingerprint"]), on)
            self.by_response.setdefault(key[0], set()).add(key[1])
        elif action == "answer.discarded":
            self.answers.pop((int(subject["response"]), str(subject["question"])), None)
        elif action == "response.completed":
            wanted: dict[str, Any] = {k: subject[k] for k in ("survey", "version", "wave") if k in subject}
            self.completed[int(subject["response"])] = _Completed(seq, on, wanted)
        elif action == "response.erased":
            response = int(subject["response"])
            for question in self.by_response.pop(response, set()):
                self.answers.pop((response, question), None)
            self.completed.pop(response, None)
        elif action == "purge":
            for text in subject.get("texts", []):
                for question in text["questions"]:
                    self.blanked[(str(text["survey"]), int(text["wave"]), str(question))] = seq


def verify(store: Store, keys: Keys, expect_head: str | None = None) -> Verdict:
    """Recompute the chain and check the answer tables against it; problems in the order they were found."""
    problems: list[str] = []
    replay = _Replay()
    prev, prev_seq, records = GENESIS, 0, 0
    head_seen = expect_head is None or expect_head == GENESIS
    with store.unit() as uow:
        for record in evidence.audit_records(uow):
            seq = record.seq or 0
            records += 1
            if record.prev_hash != prev:
                where = f"record {prev_seq}" if prev_seq else "the start of the chain"
                problems.append(f"audit record {seq} ({record.action}) does not follow {where}: a record was "
                                "removed, inserted or moved there")
            if chain_hash(record.prev_hash, record.on, record.action, record.subject) != record.hash:
                problems.append(f"audit record {seq} ({record.action}) does not match its hash: it was edited")
            head_seen = head_seen or record.hash == expect_head
            try:
                replay.apply(seq, record.on, record.action, json.loads(record.subject))
            except (ValueError, KeyError, TypeError, AttributeError):
                problems.append(f"audit record {seq} ({record.action}) has an unreadable subject: it was edited")
            prev, prev_seq = record.hash, seq
        if not head_seen:
            problems.append(f"the chain no longer contains the head noted earlier ({expect_head}): records were "
                            "removed from its end, or it was rewritten")
        _check_answers(uow, keys, replay, problems)
        _check_responses(uow, replay, problems)
    return Verdict(records, prev, tuple(problems[:MAX_PROBLEMS]), len(problems))


def head(store: Store) -> ChainHead:
    """The chain's newest link, for an evidence pack to quote (and `verify(expect_head=...)` to check later)."""
    with store.unit() as uow:
        return evidence.chain_head(uow)


def latest(store: Store, limit: int, before: int | None = None) -> list[Record]:
    """A page of the log, newest first, as the console's audit page shows it (subjects hold fingerprints and row
    numbers, never a platform id: each use case audits only those)."""
    with store.unit() as uow:
        return evidence.latest_records(uow, limit, before)


def _check_answers(uow: UnitOfWork, keys: Keys, replay: _Replay, problems: list[str]) -> None:
    for row in evidence.answer_rows(uow):
        recorded = replay.answers.pop((row.response_id, row.question_id), None)
        if recorded is None:
            problems.append(f"answer {row.id} (response {row.response_id}, {row.question_id}) has no "
                            "`answer.recorded` record: it was added or moved outside the bot")
            continue
        fingerprint = keys.audit(f"{row.response_id}|{row.question_id}|{row.value}".encode())
        if fingerprint != recorded.fingerprint:
            purged = replay.blanked.get((row.survey_id, row.wave, row.question_id), 0)
            if not (row.value == NULL and purged > recorded.seq):
                problems.append(f"answer {row.id} (response {row.response_id}, {row.question_id}) does not match "
                                f"the fingerprint in audit record {recorded.seq}: its value was changed")
        elif row.answered_on != recorded.on:
            problems.append(f"answer {row.id} (response {row.response_id}, {row.question_id}) is dated "
                            f"{row.answered_on.isoformat()}, audit record {recorded.seq} {recorded.on.isoformat()}")
    for (response, question), recorded in sorted(replay.answers.items(), key=lambda item: item[1].seq):
        problems.append(f"audit record {recorded.seq} recorded an answer (response {response}, {question}) that is "
                        "missing, and no later record discarded or erased it")


def _check_responses(uow: UnitOfWork, replay: _Replay, problems: list[str]) -> None:
    for response in evidence.responses(uow):
        assert response.id is not None
        completed = replay.completed.pop(response.id, None)
        if response.completed and completed is None:
            problems.append(f"response {response.id} is marked completed but no `response.completed` record says so")
        elif completed is not None and not response.completed:
            problems.append(f"response {response.id} was completed in audit record {completed.seq} but is marked "
                            "not completed")
        elif completed is not None:
            actual = {"survey": response.survey_id, "version": response.version, "wave": response.wave}
            changed = [k for k, v in completed.round.items() if actual[k] != v]
            if response.completed_on != completed.on:
                changed.append("completed_on")
            if changed:
                problems.append(f"response {response.id} differs from audit record {completed.seq} in "
                                f"{', '.join(changed)}")
    for response_id, completed in sorted(replay.completed.items(), key=lambda item: item[1].seq):
        problems.append(f"audit record {completed.seq} completed response {response_id}, which is missing, and no "
                        "later record erased it")
