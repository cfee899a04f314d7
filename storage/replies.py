"""Pending replies (persist, then send): the messages a committed step must still send, stored with the step.

A survey step on a chat that we message first (Telegram, Slack) writes one `pending_reply` row in its own transaction:
the chat's session key, a random token, and the sealed address and messages (bot.services.pending). Once the channel
has sent
them, the row is deleted; a process that stopped before sending leaves it, and the next start (or, with several
processes on PostgreSQL, whoever finds its lease run out) sends it once.

Cheap on the answer path: the rows of a group commit (Store.batch) go in one multi-row statement just before its
commit, and the deletions of rows already sent ride with it (on PostgreSQL joined into that same statement), so a
batch makes one statement more, not one per answer, and a sent reply costs no transaction of its own. Deletions
waiting with no batch to ride on are flushed on their own a moment later (SurveyService.delivered).
"""

from __future__ import annotations

import functools
import threading
from dataclasses import dataclass
from datetime import datetime

from storage.sql import Sql, SqlUnit, joined

CLAIM_LIMIT = 100  # rows claimed at a time by a process sending what others left


@dataclass(frozen=True)
class Owed:
    """One pending row as written: `until` is the writing process's lease (it is sending the row meanwhile)."""

    session: str
    token: str
    channel: str
    payload: str
    until: datetime


@functools.lru_cache(maxsize=64)
def _upsert(rows: int) -> Sql:
    values = ", ".join(f"(:s{i}, :t{i}, :c{i}, :p{i}, :u{i})" for i in range(rows))
    return Sql(f"INSERT INTO pending_reply (session, token, channel, payload, claimed_until) VALUES {values} "
               "ON CONFLICT (session) DO UPDATE SET token = excluded.token, channel = excluded.channel, "
               "payload = excluded.payload, claimed_until = excluded.claimed_until")


@functools.lru_cache(maxsize=64)
def _tokens(statement: str, count: int) -> Sql:
    return Sql(statement.format(", ".join(f":g{i}" for i in range(count))))


DELETE_SENT = "DELETE FROM pending_reply WHERE token IN ({})"
RELEASE = "UPDATE pending_reply SET claimed_until = NULL WHERE token IN ({})"
CLAIM = Sql(
    "UPDATE pending_reply SET claimed_until = :until WHERE session IN (SELECT session FROM pending_reply "
    "WHERE channel = :channel AND (:every OR claimed_until IS NULL OR claimed_until < :now) LIMIT :limit) "
    "RETURNING session, token, payload",
    postgresql="UPDATE pending_reply SET claimed_until = :until WHERE session IN (SELECT session FROM pending_reply "
    "WHERE channel = :channel AND (:every OR claimed_until IS NULL OR claimed_until < :now) LIMIT :limit "
    "FOR UPDATE SKIP LOCKED) RETURNING session, token, payload")
DROP = Sql("DELETE FROM pending_reply WHERE token = :token")
FOUND = Sql("SELECT 1 FROM pending_reply WHERE token = :token")


def _chunks(tokens: list[str], size: int = 500) -> list[list[str]]:
    return [tokens[start:start + size] for start in range(0, len(tokens), size)]


def _by_token(statement: str, tokens: list[str]) -> tuple[Sql, dict[str, object]]:
    return _tokens(statement, len(tokens)), {f"g{i}": token for i, token in enumerate(tokens)}


class Replies:
    """This process's bookkeeping of pending rows: those it wrote and has not sent yet (released for another process
    at a clean stop), and those sent whose rows still wait to be deleted. Shared by the event loop (which sends) and
    the database thread(s) (which write), so guarded by a lock."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._sent: dict[str, str] = {}  # token -> session: sent, row not deleted yet
        self._unsent: set[str] = set()  # tokens committed by this process and not sent yet

    def committed(self, rows: list[Owed]) -> None:
        with self._lock:
            self._unsent.update(row.token for row in rows)

    def sent(self, session: str, token: str) -> None:
        with self._lock:
            self._sent[token] = session
            self._unsent.discard(token)

    @property
    def waiting(self) -> bool:
        return bool(self._sent)

    def write(self, unit: SqlUnit, rows: list[Owed], commit: bool = False) -> dict[str, str]:
        """Write a transaction's pending rows (a newer one for a chat replaces its older one) and delete those sent
        meanwhile, in one statement where the database allows; returns the deletions taken, to give back (`undo`)
        if the transaction does not commit. `commit`: these are the transaction's last writes, and its commit goes
        with them (SqlUnit.run_then_commit: on PostgreSQL, the same round trip)."""
        # one row per chat (a statement cannot upsert a key twice), in the order of their keys: two processes
        # writing the same chats lock them in the same order, so they cannot deadlock
        newest = dict(sorted({row.session: row for row in rows}.items()))
        with self._lock:
            taken = {token: session for token, session in self._sent.items() if session not in newest}
            for token in taken:
                del self._sent[token]
        try:
            runs = [_by_token(DELETE_SENT, chunk) for chunk in _chunks(list(taken))]
            if newest:
                parameters: dict[str, object] = {}
                for i, row in enumerate(newest.values()):
                    parameters.update({f"s{i}": row.session, f"t{i}": row.token, f"c{i}": row.channel,
                                       f"p{i}": row.payload, f"u{i}": row.until})
                runs.append((_upsert(len(newest)), parameters))
            if len(runs) == 2 and unit.dialect == "postgresql":
                runs = [joined(runs)]  # the deletion touches no row the upsert does (sessions kept apart above)
            for number, (statement, values) in enumerate(runs, 1):
                if commit and number == len(runs):
                    unit.run_then_commit(statement, values)
                else:
                    unit.run(statement, values)
        except BaseException:
            self.undo(taken)
            raise
        return taken

    def undo(self, taken: dict[str, str]) -> None:
        """The transaction that was to delete these rows did not commit: they wait for the next one."""
        with self._lock:
            self._sent.update(taken)

    def claim(self, unit: SqlUnit, channel: str, now: datetime, until: datetime, every: bool
              ) -> list[tuple[str, str, str]]:
        """Take the pending rows of a channel that nobody is sending (their lease ran out or was released; with
        `every`, all of them: one process on SQLite, just started) for this process: (session, token, payload)."""
        found = unit.run(CLAIM, {"until": until, "channel": channel, "every": every, "now": now,
                                 "limit": CLAIM_LIMIT}).fetchall()
        rows = [(str(session), str(token), str(payload)) for session, token, payload in found]
        with self._lock:
            self._unsent.update(token for _, token, _ in rows)
        return rows

    def current(self, unit: SqlUnit, token: str) -> bool:
        """Whether the row with this token is still there (not replaced by a newer step's, not sent)."""
        return unit.run(FOUND, {"token": token}).fetchone() is not None

    def drop(self, unit: SqlUnit, token: str) -> None:
        """A row that can never be sent (sealed with another pepper): gone."""
        unit.run(DROP, {"token": token})
        with self._lock:
            self._unsent.discard(token)

    def release(self, unit: SqlUnit) -> int:
        """At a clean stop: the rows this process has not sent go back for the next start (or another process)."""
        with self._lock:
            unsent, self._unsent = list(self._unsent), set()
        for chunk in _chunks(unsent):
            unit.run(*_by_token(RELEASE, chunk))
        return len(unsent)
