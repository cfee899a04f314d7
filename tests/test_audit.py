"""`audit verify` catches every quiet change: editing, deleting, adding, reordering or truncating answer rows,
response rows or audit rows (SQLite and PostgreSQL), and stays quiet through everything the bot itself does."""

from __future__ import annotations

import pytest
from sqlalchemy import text

from bot.channels.port import Address
from bot.engine import conversation as engine
from bot.services.audit import head, verify
from bot.services.service import SurveyService
from storage.unit_of_work import Store

from .conftest import Clock
from .test_privacy_service import ask
from .test_service_storage import ALICE, WORKSPACE, complete_sample

BOB = Address("telegram", WORKSPACE, "8")

# Each tamper: SQL run straight on the database, and words the first problem must contain.
FIRST_ANSWER = "(SELECT min(id) FROM answer WHERE question_id = 'agency')"
TAMPERS: dict[str, tuple[list[str], str]] = {
    "edit an answer": ([f"UPDATE answer SET value = '\"Health\"' WHERE id = {FIRST_ANSWER}"],
                       "does not match the fingerprint in audit record"),
    "redate an answer": ([f"UPDATE answer SET answered_on = '2025-01-01' WHERE id = {FIRST_ANSWER}"],
                         "is dated 2025-01-01"),
    "delete an answer": ([f"DELETE FROM answer WHERE id = {FIRST_ANSWER}"],
                         "that is missing, and no later record discarded or erased it"),
    "add an answer": (["INSERT INTO answer (response_id, question_id, value, answered_on) "
                       "SELECT min(id), 'extra', '\"yes\"', '2026-03-02' FROM response"],
                      "has no `answer.recorded` record"),
    "swap two answers' questions": (["UPDATE answer SET question_id = 'tmp' WHERE question_id = 'confidence'",
                                     "UPDATE answer SET question_id = 'confidence' WHERE question_id = 'visits'",
                                     "UPDATE answer SET question_id = 'visits' WHERE question_id = 'tmp'"],
                                    "does not match the fingerprint"),
    "swap two people's answers": (["UPDATE answer SET value = CASE value WHEN '\"Police\"' THEN '\"Health\"' "
                                   "ELSE '\"Police\"' END WHERE question_id = 'agency'"],
                                  "does not match the fingerprint"),
    "truncate the answers": (["DELETE FROM answer"], "that is missing"),
    "uncomplete a response": (["UPDATE response SET completed = false WHERE id = (SELECT min(id) FROM response)"],
                              "is marked not completed"),
    "complete a response": (["UPDATE response SET completed = true, completed_on = '2026-03-02' "
                             "WHERE completed = false"], "no `response.completed` record says so"),
    "move a response to another wave": (["UPDATE response SET wave = 2 WHERE id = (SELECT min(id) FROM response)"],
                                        "differs from audit record"),
    "delete a response": (["DELETE FROM answer WHERE response_id = (SELECT max(id) FROM response)",
                           "DELETE FROM response WHERE id = (SELECT max(id) FROM response)"],
                          "that is missing"),
    "edit an audit record": (["UPDATE audit_record SET subject = replace(subject, 'agency', 'aware') "
                              "WHERE seq = (SELECT min(seq) FROM audit_record WHERE action = 'answer.recorded')"],
                             "does not match its hash: it was edited"),
    "edit an audit record's date": (["UPDATE audit_record SET \"on\" = '2026-01-01' WHERE seq = 7"],
                                    "audit record 7 (answer.recorded) does not match its hash"),
    "delete an audit record": (["DELETE FROM audit_record WHERE seq = 5"],
                               "audit record 6 (answer.recorded) does not follow record 4"),
    "reorder audit records": (["UPDATE audit_record SET seq = -1 WHERE seq = 5",
                               "UPDATE audit_record SET seq = 5 WHERE seq = 6",
                               "UPDATE audit_record SET seq = 6 WHERE seq = -1"],
                              "audit record 5 (answer.recorded) does not follow record 4"),
    "truncate the audit log's end": (["DELETE FROM audit_record WHERE seq > 10"], "has no `answer.recorded` record"),
    "truncate the audit log": (["DELETE FROM audit_record"], "has no `answer.recorded` record"),
    "delete the first audit record": (["DELETE FROM audit_record WHERE seq = 1"],
                                      "does not follow the start of the chain"),
}


def answered_twice(service: SurveyService) -> None:
    """Audit records 1-4 publish the surveys; then two completed responses and one with a single answer."""
    complete_sample(service, ALICE, agency=0)
    complete_sample(service, BOB, agency=1)
    carol = Address("telegram", WORKSPACE, "9")
    outcome = service.begin(carol, "sample")
    outcome = service.handle(carol, engine.Pick(ask(outcome).turn, 0))
    service.handle(carol, engine.Pick(ask(outcome).turn, 2))


def tamper(store: Store, statements: list[str]) -> None:
    with store.engine.begin() as connection:
        for statement in statements:
            connection.execute(text(statement))


CHEAP_ON_POSTGRES = ("edit an answer", "delete an audit record", "reorder audit records", "truncate the answers")


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
@pytest.mark.parametrize("name", list(TAMPERS))
def test_every_quiet_change_is_detected(service: SurveyService, store: Store, name: str) -> None:
    check_tamper(service, store, name)


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
@pytest.mark.parametrize("name", CHEAP_ON_POSTGRES)
def test_quiet_changes_are_detected_on_postgresql(service: SurveyService, store: Store, name: str) -> None:
    check_tamper(service, store, name)


def check_tamper(service: SurveyService, store: Store, name: str) -> None:
    answered_twice(service)
    assert verify(store, service.keys).ok
    statements, expected = TAMPERS[name]
    tamper(store, statements)
    verdict = verify(store, service.keys)
    assert not verdict.ok
    assert expected in verdict.problems[0], verdict.problems


def test_a_rewritten_tail_is_caught_by_a_head_noted_earlier(service: SurveyService, store: Store) -> None:
    answered_twice(service)
    noted = head(store)
    assert noted.records > 0 and len(noted.hash) == 64
    service.erase(BOB)  # a legitimate later record
    assert verify(store, service.keys, expect_head=noted.hash).ok
    tamper(store, [f"DELETE FROM audit_record WHERE seq >= {noted.seq}"])
    tamper(store, ["DELETE FROM answer", "DELETE FROM response"])  # and the data that went with them
    verdict = verify(store, service.keys, expect_head=noted.hash)
    assert not verdict.ok and "no longer contains the head noted earlier" in verdict.problems[0]


def test_everything_the_bot_does_itself_verifies(service: SurveyService, store: Store, clock: Clock) -> None:
    outcome = service.begin(ALICE, "sample")
    outcome = service.handle(ALICE, engine.Pick(ask(outcome).turn, 0))
    outcome = service.handle(ALICE, engine.Pick(ask(outcome).turn, 0))
    outcome = service.handle(ALICE, engine.Pick(ask(outcome).turn, 0))  # aware: Yes
    outcome = service.handle(ALICE, engine.Back())
    outcome = service.handle(ALICE, engine.Pick(ask(outcome).turn, 1))  # changed to No: "sources" skipped
    service.erase(ALICE)  # erased mid-way
    complete_sample(service, ALICE)  # and answered again (SQLite may reuse the erased response's id)
    complete_sample(service, BOB)
    service.erase(BOB)
    complete_sample(service, Address("telegram", WORKSPACE, "10"))
    verdict = verify(store, service.keys)
    assert verdict.ok, verdict.problems
    assert verdict.summary() == f"audit chain OK: {verdict.records} records, head {head(store).hash}"
