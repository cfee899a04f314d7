"""Proof (issue #11, point 3): hostile input never crashes the bot, never reaches a user as a traceback, and never
leaves an invalid record.

Beside the fuzzing that already lives with each part (tests/test_surveyfiles.py: random and mutated text;
tests/test_engine_properties.py: random event sequences; tests/test_buttons.py: decode; tests/test_web.py: malformed
requests one by one), this module fuzzes what those leave out:

* the survey loader with arbitrary BYTES on disk, with structurally random YAML documents built from the format's own
  vocabulary, and with a YAML alias bomb and deep nesting;
* typed answers full of RTL, emoji, zero-width, control characters, lone surrogates, SQL and formula injection, going
  through the real service into SQLite and PostgreSQL: stored exactly as cleaned and scrubbed, exported safely;
* the running bot over HTTP (tests/live_bot.py): Telegram callback data, Slack payloads of any shape with valid
  signatures, and the web chat's requests, checking status codes, replies and the database after every example.

Example counts are modest for CI; HYPOTHESIS_PROFILE=long (tests/conftest.py) runs twenty times as many.
"""

from __future__ import annotations

import csv
import io
import itertools
import json
import re
import subprocess
import sys
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pytest
import yaml
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from bot.channels import buttons
from bot.channels.port import Address
from bot.engine import conversation as engine
from bot.engine.conversation import Ask, Finish, Record
from bot.engine.survey import Survey
from bot.reporting import export
from bot.services.privacy import Keys
from bot.services.scrubbing import Scrubber
from bot.services.service import SurveyService
from bot.services.surveyfiles import SurveyCatalogue, builtin_survey_dir, check_files, parse_survey
from storage import database
from storage.unit_of_work import Store

from .conftest import PEPPER, SAMPLE, Clock
from .fakes.slack_api import block_actions_payload, event_envelope, im_message, slash_command_fields
from .live_bot import LiveBot, live_bot
from .test_engine_properties import acceptable
from .test_export import read_xlsx

REPO = Path(__file__).resolve().parent.parent
SURVEYS = {s.id: s for s in [parse_survey(SAMPLE.read_text(), str(SAMPLE)),
                             *SurveyCatalogue.from_dirs([builtin_survey_dir()]).all()]}


def fuzz(examples: int, **extra: Any) -> settings:
    """Settings for `examples` examples under the "ci" profile, scaled up under HYPOTHESIS_PROFILE=long."""
    scale = max(1, settings.default.max_examples // 100)
    checks = [HealthCheck.too_slow, HealthCheck.function_scoped_fixture, HealthCheck.filter_too_much]
    return settings(max_examples=examples * scale, deadline=None, suppress_health_check=checks, **extra)


# --- hostile text --------------------------------------------------------------------------------------------------

CORPUS = [
    "'; DROP TABLE answer; --",
    "Robert'); DELETE FROM response WHERE ('1'='1",
    "1 OR 1=1",
    "\" OR \"\"=\"",
    "%s %d {0} ${jndi:ldap://x}",
    "=HYPERLINK(\"http://evil.example\",\"click\")",
    "=cmd|' /C calc'!A0",
    "+SUM(1,2)",
    "-2+3",
    "@SUM(A1:A9)",
    "\tTabbed =1",
    "שלום עולם مرحبا",
    "abc\u202edcba\u202c",
    "zero\u200bwidth\u200d\ufeff",
    "emoji 🙂👍🏽👨‍👩‍👧 flags 🇬🇧",
    "null\x00byte and bell\x07 and escape\x1b[31m",
    "lone \ud800 surrogate \udfff",
    "<script>alert(1)</script>",
    "../../etc/passwd",
    "x" * 2500,  # over the question's limit: a kind re-ask, nothing stored
    "\u0000",  # nothing left after cleaning: a re-ask
    "Z̸̢͎̈́a̷l̴g̵o̶ text",
]
SPECIALS = st.sampled_from(["\u202e", "\u202d", "\u2066", "\u200b", "\u200d", "\ufeff", "\x00", "\x07", "\x1b",
                            "\r", "\n", "\t", "\ud800", "\udfff", "🙂", "👨‍👩‍👧", "ש", "ع", "'", "\"", ";",
                            "--", "=", "+", "-", "@", "\\", "%", "\u0301", "\u2028", "\x85"])
hostile_text = st.lists(st.one_of(SPECIALS, st.text(max_size=12)), max_size=20).map("".join)

HOSTILE_SURVEY = parse_survey("""
id: hostile
version: 1
title: Hostile input
audience: practitioners
intro: For the fuzzing tests.
thanks: Done.
questions:
  - id: said
    kind: text
    text: Say anything
    max_length: 2000
""", "hostile.yaml")


@pytest.fixture
def hostile_service(database_url: str) -> Iterator[SurveyService]:
    engine_ = database.connect(database_url)
    database.upgrade(engine_)
    service = SurveyService(Store(engine_), SurveyCatalogue([HOSTILE_SURVEY]), Keys(PEPPER), Clock())
    service.publish_all()
    yield service
    engine_.dispose()


def say(service: SurveyService, person: str, words: str) -> engine.Step | None:
    """Open the hostile survey, agree, type `words`: the Record stored, or None when it was re-asked."""
    who = Address("web", "link", person)
    outcome = service.begin(who, "hostile")
    consent = next(e.prompt for e in outcome.effects if isinstance(e, Ask))
    outcome = service.handle(who, engine.Pick(consent.turn, 0))
    question = next(e.prompt for e in outcome.effects if isinstance(e, Ask))
    outcome = service.handle(who, engine.Reply(words, question.turn))
    record = next((e for e in outcome.effects if isinstance(e, Record)), None)
    if record is None:
        assert outcome.open and any(isinstance(e, Ask) for e in outcome.effects), "a kind re-ask"
        return None
    assert any(isinstance(e, Finish) and e.completed for e in outcome.effects)
    return record  # type: ignore[return-value]


def expected(words: str) -> str | None:
    cleaned = engine.clean_text(words)
    if not cleaned or len(cleaned) > HOSTILE_SURVEY.question("said").max_length:
        return None
    return Scrubber().scrub(cleaned).text


def stored_answers(service: SurveyService) -> list[str]:
    with service.store.engine.connect() as connection:
        from sqlalchemy import text

        return [json.loads(v) for (v,) in connection.execute(text("SELECT value FROM answer ORDER BY id"))]


def csv_column(service: SurveyService) -> list[str]:
    header = export.columns([HOSTILE_SURVEY])
    out = io.StringIO(newline="")
    export.write_csv(service.store, "hostile", header, out)
    return [row[header.index("said")] for row in csv.reader(io.StringIO(out.getvalue()))][1:]


def json_column(service: SurveyService) -> list[Any]:
    header = export.columns([HOSTILE_SURVEY])
    out = io.StringIO()
    export.write_json(service.store, "hostile", header, out)
    return [row["said"] for row in json.loads(out.getvalue())]


def test_the_hostile_corpus_is_stored_as_cleaned_and_exported_safely(hostile_service: SurveyService,
                                                                     tmp_path: Path) -> None:
    kept = []
    for number, words in enumerate(CORPUS):
        record = say(hostile_service, f"corpus-{number}", words)
        want = expected(words)
        assert (record is None) == (want is None), words
        if record is not None:
            assert record.value == want, words
            kept.append(want)
    assert "'; DROP TABLE answer; --" in kept and "=cmd|' /C calc'!A0" in kept  # verbatim: nothing "escaped"
    assert stored_answers(hostile_service) == kept
    assert json_column(hostile_service) == kept
    assert csv_column(hostile_service) == [export.neutralise(w) for w in kept]
    path = tmp_path / "hostile.xlsx"
    export.write_xlsx(hostile_service.store, "hostile", export.columns([HOSTILE_SURVEY]), [HOSTILE_SURVEY], path,
                      date(2026, 3, 2))
    sheet = read_xlsx(path)["Responses"]
    column = sheet[0].index("said")
    assert [row[column] for row in sheet[1:]] == [export.neutralise(w) for w in kept]
    for value in csv_column(hostile_service):
        assert not value.startswith(export.FORMULA_STARTS)


PEOPLE = itertools.count()


@pytest.fixture(scope="module")
def sqlite_hostile(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[SurveyService, list[str]]]:
    """One SQLite database for every fuzzed example, and the answers the examples expect it to hold, in order."""
    engine_ = database.connect(f"sqlite:///{tmp_path_factory.mktemp('hostile') / 'h.db'}")
    database.upgrade(engine_)
    service = SurveyService(Store(engine_), SurveyCatalogue([HOSTILE_SURVEY]), Keys(PEPPER), Clock())
    service.publish_all()
    yield service, []
    engine_.dispose()


@fuzz(40)
@given(words=hostile_text)
def test_any_typed_text_is_stored_as_cleaned_and_exported_safely(sqlite_hostile: tuple[SurveyService, list[str]],
                                                                  words: str) -> None:
    service, kept = sqlite_hostile
    record = say(service, f"fuzz-{next(PEOPLE)}", words)
    want = expected(words)
    assert (record.value if record else None) == want
    if want is not None:
        want.encode("utf-8")  # storable anywhere
        kept.append(want)
    assert stored_answers(service) == kept
    assert json_column(service) == kept
    cells = csv_column(service)
    assert cells == [export.neutralise(w) for w in kept]
    assert not [c for c in cells if c.startswith(export.FORMULA_STARTS)]


def test_clean_text_always_leaves_storable_text() -> None:
    for words in CORPUS:
        cleaned = engine.clean_text(words)
        cleaned.encode("utf-8")
        assert not re.search(r"[\x00-\x08\x0b-\x1f\x7f\u202a-\u202e\ud800-\udfff]", cleaned)


# --- the survey loader ---------------------------------------------------------------------------------------------

KEYS = ["id", "version", "title", "audience", "intro", "thanks", "questions", "kind", "text", "choices", "optional",
        "ask_if", "question", "answer", "min", "max", "min_label", "max_label", "max_length", "correct",
        "explanation", "other", "breakdown", "integer", "hint", "privacy"]
KINDS = ["single", "multi", "yesno", "scale", "number", "text", "knowledge", "nope"]
scalars = st.one_of(st.none(), st.booleans(), st.integers(-10**12, 10**12), st.floats(allow_nan=True),
                    st.text(max_size=20), st.sampled_from(KINDS + KEYS + ["practitioners", "young_people"]))
values = st.recursive(scalars, lambda inner: st.one_of(
    st.lists(inner, max_size=4), st.dictionaries(st.one_of(st.sampled_from(KEYS), st.text(max_size=6)), inner,
                                                 max_size=5)), max_leaves=25)
question = st.dictionaries(st.sampled_from(KEYS), values, max_size=7).flatmap(
    lambda fields: st.fixed_dictionaries({"id": st.sampled_from(["a", "b", "c", "agency", ""]),
                                          "kind": st.sampled_from(KINDS),
                                          "text": st.text(max_size=30)}).map(lambda base: {**base, **fields}))
documents = st.fixed_dictionaries({
    "id": st.sampled_from(["fuzzed", "x", "", "Bad Id", "../../etc/passwd"]),
    "version": st.one_of(st.integers(-2, 3), scalars), "title": scalars,
    "audience": st.sampled_from(["practitioners", "young_people", "partners", "nobody"]),
    "questions": st.lists(question, max_size=5),
}, optional={"intro": scalars, "thanks": scalars, "extra": values})


def assert_loads_or_names_the_line(path: Path) -> Survey | None:
    """check_files (what `surveybot surveys check` runs) either loads the file or says file:line: why, per problem."""
    surveys, problems = check_files([path])
    if not problems:
        assert len(surveys) == 1
        return surveys[0]
    lines = max(1, len(path.read_bytes().splitlines()))
    for problem in problems:
        said = str(problem)
        assert re.match(rf"^{re.escape(str(path))}:\d+: \S", said), said
        assert 0 <= problem.line <= lines + 1, (problem.line, lines)
    return None


@fuzz(50)
@given(data=st.binary(max_size=400))
def test_any_bytes_on_disk_are_a_survey_or_a_file_line_problem(tmp_path_factory: pytest.TempPathFactory,
                                                                data: bytes) -> None:
    path = tmp_path_factory.mktemp("bytes") / "fuzz.yaml"
    path.write_bytes(data)
    assert_loads_or_names_the_line(path)


@fuzz(40)
@given(document=documents)
def test_random_survey_shaped_yaml_is_a_survey_or_a_file_line_problem(tmp_path_factory: pytest.TempPathFactory,
                                                                       document: dict[str, Any]) -> None:
    path = tmp_path_factory.mktemp("yaml") / "shaped.yaml"
    path.write_text(yaml.safe_dump(document, allow_unicode=True, sort_keys=False), encoding="utf-8")
    survey = assert_loads_or_names_the_line(path)
    if survey is not None:  # anything that loads can be started and answered without a crash
        step = engine.start(survey, Clock()())
        assert any(isinstance(e, Ask) for e in step.effects)


def test_an_alias_bomb_and_deep_nesting_are_refused_with_a_line(tmp_path: Path) -> None:
    bomb = ["id: bomb", "version: 1", "a0: &a0 [x, x, x, x, x, x, x, x, x]"]
    bomb += [f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 9)}]" for i in range(1, 10)]
    bomb += ["title: *a9", "questions: *a9"]
    path = tmp_path / "bomb.yaml"
    path.write_text("\n".join(bomb))
    assert assert_loads_or_names_the_line(path) is None
    deep = tmp_path / "deep.yaml"
    deep.write_text("id: deep\nquestions: " + "[" * 2000 + "]" * 2000 + "\n")
    assert assert_loads_or_names_the_line(deep) is None
    huge = tmp_path / "huge.yaml"
    huge.write_text(SAMPLE.read_text().replace("A short test survey.", "x" * 200_000))
    assert assert_loads_or_names_the_line(huge) is None  # the intro is over its limit: said, not crashed


def test_the_check_command_says_one_line_per_problem_for_a_binary_file(tmp_path: Path) -> None:
    binary = tmp_path / "photo.yaml"
    binary.write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)))
    done = subprocess.run([sys.executable, "-m", "bot.cli", "surveys", "check", str(binary)], capture_output=True,
                          text=True, cwd=tmp_path, timeout=60)
    assert done.returncode == 1
    assert "Traceback" not in done.stdout + done.stderr
    lines = (done.stdout + done.stderr).strip().splitlines()
    assert lines and all(line.startswith(f"{binary}:") for line in lines[:-1] or lines), lines


# --- the running bot over HTTP -------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveBot]:
    extra = {"SURVEYBOT_SURVEYS_DIR": f"{builtin_survey_dir()}:{SAMPLE.parent}"}
    with live_bot(tmp_path_factory.mktemp("live"), **extra) as bot:
        yield bot


def assert_every_answer_valid(live: LiveBot) -> None:
    """No invalid record: every stored answer is one its question accepts, and the audit chain verifies."""
    from bot.services.audit import verify

    for survey_id, version, qid, raw in live.rows(
            "SELECT r.survey_id, r.version, a.question_id, a.value FROM answer a JOIN response r "
            "ON r.id = a.response_id"):
        survey = live.app.catalogue.get(survey_id, version)
        base = qid.removesuffix(".other")
        assert acceptable(survey.question(base), json.loads(raw), qid != base), (qid, raw)
    verdict = verify(live.app.store, live.app.keys)
    assert verdict.ok, verdict.summary()


def no_traceback(*texts: str) -> None:
    for said in texts:
        assert "Traceback" not in said and 'File "' not in said and "Error:" not in said, said[:300]


TELEGRAM_USER = 8_800_111


@pytest.fixture(scope="module")
def telegram_question(live: LiveBot) -> dict[str, Any]:
    """A Telegram user with the sample survey's first question waiting."""
    from .test_telegram import begin, next_question

    fake = live.telegram
    live.run(lambda: begin(fake, TELEGRAM_USER, "sample"))
    question = live.run(lambda: next_question(fake, TELEGRAM_USER, ""))
    assert question is not None
    return question


callback_data = st.one_of(
    st.text(max_size=64),
    st.binary(max_size=64).map(lambda b: b.decode("latin-1")),
    st.from_regex(r"\Aa:-?\d{0,12}:[a-z]{0,2}(:-?\d{0,5})?\Z"),
    st.builds(lambda turn, action, index: f"a:{turn}:{action}:{index}", st.integers(0, 10**9),
              st.sampled_from("ptdsbx"), st.integers(0, 999)),
)


@fuzz(40)
@given(data=callback_data)
def test_telegram_any_callback_data_is_answered_and_records_nothing(live: LiveBot, telegram_question: dict[str, Any],
                                                                    data: str) -> None:
    event = buttons.decode(data)
    current = int(telegram_question["text"].split(")")[0].split()[0].strip("(")) + 1  # consent took turn 1
    assume(event is None or event.turn != current)  # type: ignore[union-attr]
    fake = live.telegram
    before = live.scalar("SELECT count(*) FROM answer")
    update = live.run(lambda: _press(fake, telegram_question, data))
    query = update["callback_query"]["id"]
    live.run(lambda: fake.wait_until(lambda: query in fake.callback_answers, timeout=10))  # no spinning button
    assert live.scalar("SELECT count(*) FROM answer") == before == 0
    no_traceback(*(m.get("text", "") for m in fake.messages_to(TELEGRAM_USER)),
                 *(a.get("text") or "" for a in fake.callback_answers.values()))
    assert not [d for d in fake.deliveries if d.status >= 500], "the webhook never answered 5xx"


async def _press(fake: Any, question: dict[str, Any], data: str) -> dict[str, Any]:
    return fake.user_presses(TELEGRAM_USER, question, data, check=False)  # type: ignore[no-any-return]


json_values = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False), st.text(max_size=30)),
    lambda inner: st.one_of(st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=10), inner, max_size=5)),
    max_leaves=20)
SLACK_KEYS = ["type", "user", "channel", "text", "actions", "action_id", "value", "block_id", "team", "id",
              "trigger_id", "view", "state", "message", "ts", "event", "event_id", "token", "api_app_id",
              "container", "response_url", "private_metadata", "callback_id", "command", "user_id", "channel_id"]
slack_objects = st.dictionaries(st.sampled_from(SLACK_KEYS), json_values, max_size=8)
SLACK_USER = "U0FUZZER"


def _slack_bodies() -> st.SearchStrategy[tuple[str, str]]:
    """(body, content type): what Bolt might be sent, from plausible to absurd, always signed."""
    form = "application/x-www-form-urlencoded"
    as_payload = slack_objects.map(lambda p: (urlencode({"payload": json.dumps(p)}), form))
    block_action = st.builds(
        lambda action, value, user: (urlencode({"payload": json.dumps(block_actions_payload(
            user, "D0FUZZ", "1.000", action, value))}), form),
        st.one_of(st.text(max_size=40), st.from_regex(r"\A(a|answer|tick):\d{0,9}:[a-z]{0,2}(:\d{0,4})?\Z")),
        st.one_of(st.none(), st.text(max_size=40)), st.sampled_from([SLACK_USER, "", "U0" + "X" * 40]))
    dm = st.builds(lambda words: (json.dumps(event_envelope(im_message(SLACK_USER, words, "D0FUZZDM"))),
                                  "application/json"), hostile_text)
    command = st.builds(lambda words: (urlencode(slash_command_fields(SLACK_USER, text=words), errors="replace"), form),
                        st.one_of(hostile_text, st.sampled_from(["start ../../etc/passwd", "export ../x csv",
                                                                 "status '; DROP TABLE campaign;--", "join =1+1",
                                                                 "evidence ..%2f..%2fetc", "report x 2 compare"])))
    envelope = st.one_of(slack_objects, json_values).map(lambda p: (json.dumps(p), "application/json"))
    raw = st.tuples(st.binary(max_size=300).map(lambda b: b.decode("utf-8", "replace")),
                    st.sampled_from(["application/json", form, "text/plain", "multipart/form-data"]))
    return st.one_of(as_payload, block_action, dm, command, envelope, raw)


@fuzz(60)
@given(body=_slack_bodies())
def test_slack_any_signed_payload_gets_200_or_4xx_and_no_invalid_record(live: LiveBot, body: tuple[str, str]) -> None:
    status, reply = live.post_slack(*body)
    assert status < 500 and status in (200, 400, 401, 404), (status, reply[:200])
    no_traceback(reply)
    assert_every_answer_valid(live)


def test_slack_said_nothing_technical_to_anyone(live: LiveBot) -> None:
    """After the fuzzing above (or alone): nothing the bot posted to Slack carries a traceback or an exception."""
    live.post_slack(urlencode(slash_command_fields(SLACK_USER, text="start sample")),
                    "application/x-www-form-urlencoded")
    posted = [json.dumps(c.params) for c in live.slack.calls if c.method.startswith(("chat.", "views."))]
    assert posted, "the bot did post"
    no_traceback(*posted)


web_events = st.one_of(
    json_values,
    st.fixed_dictionaries({"type": st.sampled_from(["open", "pick", "toggle", "ticks", "reply", "done", "skip",
                                                    "back", "stop", "resume", "delete", "erase", "keep", "help",
                                                    "nope", ""])},
                          optional={"turn": st.one_of(st.integers(-5, 10**12), json_values),
                                    "index": st.one_of(st.integers(-5, 100), json_values),
                                    "indexes": st.one_of(st.lists(st.integers(-5, 100), max_size=200), json_values),
                                    "text": st.one_of(hostile_text, json_values)}),
)
WEB_OK = {200, 400, 403, 404, 405, 413, 415, 429}


@fuzz(60)
@given(event=web_events)
def test_web_any_json_event_gets_an_answer_and_no_invalid_record(live: LiveBot, event: Any) -> None:
    status, reply, _ = live.post("/s/sample/api", json.dumps(event).encode(), {"Content-Type": "application/json"})
    assert status in WEB_OK, (status, reply[:200])
    no_traceback(reply)
    assert_every_answer_valid(live)


@fuzz(40)
@given(body=st.one_of(st.binary(max_size=600),
                      st.lists(st.tuples(st.sampled_from(["do", "turn", "index", "text", "ticks", "x"]), hostile_text),
                               max_size=8).map(lambda f: urlencode(f, errors="replace").encode())),
       code=st.one_of(st.sampled_from(["sample", "you-said"]), st.text(min_size=1, max_size=30)),
       content_type=st.sampled_from(["application/x-www-form-urlencoded", "application/json", "text/plain",
                                     "multipart/form-data; boundary=x"]))
def test_web_any_form_body_or_link_code_gets_an_answer(live: LiveBot, body: bytes, code: str,
                                                       content_type: str) -> None:
    from urllib.parse import quote

    path = "/s/" + quote(code, safe="")
    for method, suffix in (("POST", ""), ("POST", "/api"), ("GET", ""), ("GET", "/qr.svg")):
        status, reply, _ = live.post(path + suffix, body, {"Content-Type": content_type}, method=method)
        assert status in WEB_OK, (method, suffix, status, reply[:200])
        no_traceback(reply)
    assert_every_answer_valid(live)


def test_web_oversized_and_binary_bodies_are_refused_plainly(live: LiveBot) -> None:
    status, reply, _ = live.post("/s/sample/api", b"\xff" * 40_000, {"Content-Type": "application/json"})
    assert status == 413
    status, reply, _ = live.post("/s/sample/api", b"\x00\x01\x02garbage", {"Content-Type": "application/json"})
    assert status == 400 and "error" in json.loads(reply)
    no_traceback(reply)


def test_a_code_no_database_can_hold_is_simply_unknown(hostile_service: SurveyService) -> None:
    """/start with a lone surrogate (JSON can carry one) once crashed the campaign lookup; now it is an unknown code."""
    from bot.engine import messages as msg

    for code in ("\ud800", "x" * 500, "caf\u00e9", "'; DROP TABLE campaign; --"):
        outcome = hostile_service.begin(Address("telegram", "", "123"), code)
        assert [getattr(e, "text", None) for e in outcome.effects] == [msg.UNKNOWN_SURVEY]
        assert hostile_service.link(code) == msg.UNKNOWN_SURVEY
