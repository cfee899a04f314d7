"""A small fixed dataset of two waves of the sample survey, answered through the real service with a fixed clock.

Small enough to check every report figure by hand (the tests do), and shaped to exercise the rules:

Wave 1, 20 completed on 2 March 2026:
  agency    Police 17, Health 3 (a group of 3: "fewer than 5" everywhere, never 3)
  aware     Yes 8, No 12                               -> 40% yes
  sources   (the 8 aware) Briefing 8, Email 5           -> base 8: no percentages
  confidence 1, 2, 3, 4 five times each                 -> mean 2.5
  visits    10 each                                     -> mean 10.0
  first_step Talk to your lead 10, Call 5, Wait 5       -> 50% correct
  comment   10 written ("Wave one note 0".."9")         -> shown (text threshold 10), shuffled

Wave 2, 20 completed on 9 March 2026, and 2 who stopped after the first question:
  agency    Police 14, Health 6 (all of Health aware)
  aware     Yes 15 (Police 9, Health 6), No 5 (Police) -> 75% yes; Police 64%
  sources   (the 15 aware) Email 15, Briefing 10, Other 5 (formula-like words)
  confidence 3 x5, 4 x10, 5 x5                          -> mean 4.0
  visits    12 each                                     -> mean 12.0
  first_step Talk to your lead 15, Call 5               -> 75% correct
  comment   3 written                                   -> not shown
"""

from __future__ import annotations

import atexit
import shutil
import tempfile
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from bot.channels.port import Address
from bot.engine import conversation as engine
from bot.engine.conversation import Ask
from bot.services.privacy import Keys
from bot.services.service import Outcome, SurveyService
from bot.services.surveyfiles import SurveyCatalogue, builtin_survey_dir, load_survey_file
from storage import database
from storage.unit_of_work import Store

from .conftest import LONDON, PEPPER, SAMPLE, Clock

WORKSPACE = "T0SECRETWS"
WAVE_ONE_DAY = datetime(2026, 3, 2, 9, 30, tzinfo=LONDON)
WAVE_TWO_DAY = WAVE_ONE_DAY + timedelta(days=7)
FORMULAS = ("=1+1", "+1", "-2", "@SUM(A1)", "=cmd|' /C calc'!A0")
"""Other words in wave 2: each starts with a character a spreadsheet would run as a formula."""


@dataclass(frozen=True)
class Person:
    agency: int  # 0 Police, 1 Health
    aware: bool
    sources: tuple[int, ...] = ()  # 0 Briefing, 1 Email, 2 off, 3 Other
    other: str = ""
    confidence: int = 3
    visits: int = 10
    first_step: int = 1  # 0 Call, 1 Talk to your lead, 2 Wait
    comment: str | None = None


def wave_one() -> list[Person]:
    people = []
    for i in range(20):
        people.append(Person(
            agency=0 if i < 17 else 1, aware=i < 8, sources=(0, 1) if i < 5 else (0,), confidence=i // 5 + 1,
            visits=10, first_step=1 if i < 10 else 0 if i < 15 else 2,
            comment=f"Wave one note {i}" if i < 10 else None))
    return people


def wave_two() -> list[Person]:
    aware = [*range(9), *range(14, 20)]
    people = []
    for i in range(20):
        order = aware.index(i) if i in aware else -1
        sources: tuple[int, ...] = ()
        other = ""
        if order >= 0:
            sources = (1,) + ((0,) if order < 10 else (3,))
            other = FORMULAS[order - 10] if order >= 10 else ""
        people.append(Person(
            agency=0 if i < 14 else 1, aware=i in aware, sources=tuple(sorted(sources)), other=other,
            confidence=3 if i < 5 else 4 if i < 15 else 5, visits=12, first_step=1 if i < 15 else 0,
            comment=f"Wave two note {i}" if i < 3 else None))
    return people


def ask(outcome: Outcome) -> engine.Prompt:
    return next(e.prompt for e in outcome.effects if isinstance(e, Ask))


def answer(service: SurveyService, who: Address, wave: int, person: Person) -> Outcome:
    """Take the sample survey as `person` would, with buttons where there are buttons."""
    outcome = service.begin(who, "sample", wave=wave)
    outcome = service.handle(who, engine.Pick(ask(outcome).turn, 0))  # consent
    outcome = service.handle(who, engine.Pick(ask(outcome).turn, person.agency))
    outcome = service.handle(who, engine.Pick(ask(outcome).turn, 0 if person.aware else 1))
    if person.aware:
        turn = ask(outcome).turn
        for source in person.sources:
            outcome = service.handle(who, engine.Toggle(turn, source))
        outcome = service.handle(who, engine.Done(turn))
        if 3 in person.sources:
            outcome = service.handle(who, engine.Reply(person.other))
    outcome = service.handle(who, engine.Pick(ask(outcome).turn, person.confidence - 1))
    outcome = service.handle(who, engine.Reply(str(person.visits)))
    outcome = service.handle(who, engine.Pick(ask(outcome).turn, person.first_step))
    return service.handle(who, engine.Reply(person.comment) if person.comment else engine.Skip())


def build(service: SurveyService, clock: Clock) -> None:
    """Both waves, in the order people answered."""
    clock.now = WAVE_ONE_DAY
    for i, person in enumerate(wave_one()):
        answer(service, Address("telegram", WORKSPACE, f"1{i:04d}"), 1, person)
    clock.now = WAVE_TWO_DAY
    for i, person in enumerate(wave_two()):
        answer(service, Address("telegram", WORKSPACE, f"2{i:04d}"), 2, person)
    for i in range(2):  # two who stopped after the first question
        who = Address("telegram", WORKSPACE, f"3{i:04d}")
        outcome = service.begin(who, "sample", wave=2)
        outcome = service.handle(who, engine.Pick(ask(outcome).turn, 0))
        service.handle(who, engine.Pick(ask(outcome).turn, 0))


_BUILT: list[Path] = []


def store_copy(folder: Path) -> Store:
    """The dataset in a SQLite database of its own in `folder` (as `folder`/surveybot.db), built once per test run
    and copied, since answering 42 surveys through the service takes a few seconds."""
    if not _BUILT:
        home = Path(tempfile.mkdtemp(prefix="surveybot-dataset-"))
        atexit.register(shutil.rmtree, home, True)
        first = database.connect(f"sqlite:///{home / 'surveybot.db'}")
        database.upgrade(first)
        clock = Clock()
        builtin = SurveyCatalogue.from_dirs([builtin_survey_dir()]).all()
        service = SurveyService(Store(first), SurveyCatalogue([load_survey_file(SAMPLE), *builtin]), Keys(PEPPER),
                                clock)
        service.publish_all()
        build(service, clock)
        first.dispose()
        _BUILT.append(home / "surveybot.db")
    folder.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(_BUILT[0], folder / "surveybot.db")
    return Store(database.connect(f"sqlite:///{folder / 'surveybot.db'}"))
