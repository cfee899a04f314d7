"""The safeguarding use cases on real SQLite and PostgreSQL: `guard` before anything is stored, `care` for the
check's buttons, `acknowledge` once; and the engine's pure `Withhold` step."""

from __future__ import annotations

import asyncio
import io
import json
from datetime import datetime, timedelta
from pathlib import Path

from sqlalchemy import text

from bot.channels.port import Address
from bot.engine import conversation as engine
from bot.engine import messages as msg
from bot.services.audit import verify
from bot.services.privacy import Keys
from bot.services.safeguarding import checkin
from bot.services.safeguarding.checkin import Alert, CheckIn, Press
from bot.services.service import SurveyService
from bot.services.surveyfiles import SurveyCatalogue
from storage.unit_of_work import Store

from .conftest import PEPPER

YOUNG = Address("telegram", "bot", "4242")
WORDS = "they keep hurtin me at home zx81"


def to_text_question(service: SurveyService, who: Address) -> engine.Prompt:
    outcome = service.begin(who, "you-said")
    outcome = service.handle(who, engine.Pick(next(e.prompt.turn for e in outcome.effects
                                                   if isinstance(e, engine.Ask)), 0))
    while True:
        prompt = next(e.prompt for e in outcome.effects if isinstance(e, engine.Ask))
        if prompt.kind == "text":
            return prompt
        if prompt.multiple:
            outcome = service.handle(who, engine.Reply("1", prompt.turn))
        else:
            outcome = service.handle(who, engine.Pick(prompt.turn, 0))


def dump(store: Store) -> str:
    with store.engine.connect() as connection:
        return "\n".join(str(row) for table in ("answer", "conversation", "audit_record", "response")
                         for row in connection.execute(text(f"SELECT * FROM {table}")))


def audit_of(store: Store, action: str) -> list[dict[str, object]]:
    with store.engine.connect() as connection:
        return [json.loads(s) for (s,) in connection.execute(
            text("SELECT subject FROM audit_record WHERE action = :a ORDER BY seq"), {"a": action})]


def test_a_disclosure_is_held_back_stored_as_a_placeholder_and_alerted(service: SurveyService, store: Store) -> None:
    to_text_question(service, YOUNG)
    outcome = service.guard(YOUNG, WORDS)
    assert outcome is not None
    assert not [e for e in outcome.effects if isinstance(e, engine.Ask)]  # the next question waits
    assert [e.text for e in outcome.effects if isinstance(e, CheckIn)] == [msg.CARE_ASK]
    (alert,) = [e for e in outcome.effects if isinstance(e, Alert)]
    assert (alert.category, alert.consent, alert.reach) == ("abuse", False, None)
    assert audit_of(store, "safeguarding.alert") == [{"alert": alert.ref, "category": "abuse", "consent": False}]
    assert "zx81" not in dump(store) and "hurtin" not in dump(store)
    assert f"{msg.REMOVED_FOR_SAFETY} abuse" in dump(store)
    # carry on: the next question
    carried = service.care(YOUNG, Press("ok", "abuse"))
    assert msg.CARE_CARRY_ON in [e.text for e in carried.effects if isinstance(e, engine.Say)]
    assert [e.prompt.question_id for e in carried.effects if isinstance(e, engine.Ask)] == ["hear_back"]
    # acknowledged once; an unknown or repeated reference changes nothing
    assert service.acknowledge(alert.ref) is not None
    assert service.acknowledge(alert.ref) is None
    assert service.acknowledge("0123456789ab") is None
    assert audit_of(store, "safeguarding.acknowledged") == [{"alert": alert.ref}]
    assert verify(store, service.keys).ok


def test_ordinary_words_and_adult_surveys_are_left_alone(service: SurveyService, store: Store) -> None:
    to_text_question(service, YOUNG)
    assert service.guard(YOUNG, "more clubs and cheaper buses please") is None
    adult = Address("telegram", "bot", "999")
    service.begin(adult, "policy-awareness")
    assert service.guard(adult, "the child said she wants to kill herself; I want to kill myself") is None
    assert audit_of(store, "safeguarding.alert") == []


def test_the_help_word_records_nothing_and_asks_the_same_question_again(service: SurveyService) -> None:
    prompt = to_text_question(service, YOUNG)
    outcome = service.guard(YOUNG, "HELP")
    assert outcome is not None and not [e for e in outcome.effects if isinstance(e, (Alert, engine.Answered))]
    again = service.care(YOUNG, Press("ok", "asked-for-help"))
    (asked,) = [e.prompt for e in again.effects if isinstance(e, engine.Ask)]
    assert asked.question_id == prompt.question_id and asked.turn > prompt.turn


def test_a_yes_sends_a_named_alert_through_the_route_and_a_failed_route_is_owned_up_to(
        service: SurveyService) -> None:
    class Lead:
        def __init__(self, works: bool) -> None:
            self.works, self.posted = works, []

        async def post_alert(self, target: str, text: str, ack_label: str, ack_data: str) -> bool:
            self.posted.append((target, text, ack_data))
            return self.works

    lead = Lead(works=True)
    service.alerts.add(lead, "-100")
    outcome = asyncio.run(service.call(service.care, YOUNG, Press("yes", "running-away"), "@sam"))
    assert [e for e in outcome.effects if isinstance(e, Alert)] == []  # sent, then dropped from what is drawn
    ((target, words, ack),) = lead.posted
    assert target == "-100" and "@sam" in words and "running away" in words and ack.startswith("sgack:")
    assert msg.CARE_SHARED.format(who=msg.CARE_WHO) in [e.text for e in outcome.effects if isinstance(e, engine.Say)]
    lead.works = False
    outcome = asyncio.run(service.call(service.care, YOUNG, Press("yes", "running-away"), "@sam"))
    assert msg.CARE_NO_ROUTE in [e.text for e in outcome.effects if isinstance(e, engine.Say)]
    service.close()


class Lead:
    """The lead's chat: records what was posted to it."""

    def __init__(self) -> None:
        self.posted: list[tuple[str, str]] = []

    async def post_alert(self, target: str, text: str, ack_label: str, ack_data: str) -> bool:
        self.posted.append((text, ack_data))
        return True


def test_a_yes_after_a_disclosure_is_the_same_case_with_one_reference(service: SurveyService, store: Store) -> None:
    lead = Lead()
    service.alerts.add(lead, "-100")
    to_text_question(service, YOUNG)
    opened = asyncio.run(service.call(service.guard, YOUNG, WORDS))
    check = next(e for e in opened.effects if isinstance(e, CheckIn))
    asked = service.care(YOUNG, checkin.decode(next(c.data for c in check.choices if c.label == msg.CARE_HELP)))
    consent = next(e for e in asked.effects if isinstance(e, CheckIn))
    yes = checkin.decode(next(c.data for c in consent.choices if c.label == msg.CARE_YES))
    assert yes is not None
    asyncio.run(service.call(service.care, YOUNG, yes, "@sam"))
    (_anonymous, first_ack), (named, named_ack) = lead.posted
    assert first_ack == named_ack  # one case, one reference
    ref = first_ack.removeprefix("sgack:")
    assert "@sam" in named and ref in named and "same young person" in named
    assert [a["alert"] for a in audit_of(store, "safeguarding.alert")] == [ref, ref]
    assert service.acknowledge(ref) is not None and service.acknowledge(ref) is None  # one press for the case
    # a forged reference (one never raised) gets a fresh one and claims no earlier alert
    forged = checkin.Press("yes", "abuse", None, "0123456789ab")
    asyncio.run(service.call(service.care, YOUNG, forged, "@sam"))
    assert "0123456789ab" not in lead.posted[-1][1] and "same young person" not in lead.posted[-1][0]
    service.close()


def test_a_yes_after_the_anonymous_alert_was_acknowledged_can_be_acknowledged_once(service: SurveyService) -> None:
    lead = Lead()
    service.alerts.add(lead, "-100")
    to_text_question(service, YOUNG)
    opened = asyncio.run(service.call(service.guard, YOUNG, WORDS))
    ref = next(e for e in lead.posted)[1].removeprefix("sgack:")
    assert service.acknowledge(ref) is not None
    check = next(e for e in opened.effects if isinstance(e, CheckIn))
    press = checkin.decode(check.choices[0].data)
    assert press is not None and press.ref == ref
    asyncio.run(service.call(service.care, YOUNG, checkin.Press("yes", "abuse", None, ref), "@sam"))
    assert lead.posted[-1][1] == f"sgack:{ref}"
    assert service.acknowledge(ref) is not None and service.acknowledge(ref) is None  # the news, once
    service.close()


def test_the_check_changes_nothing_for_a_press_on_the_web_without_contact(store: Store,
                                                                          catalogue: SurveyCatalogue) -> None:
    from tests.conftest import Clock

    service = SurveyService(store, catalogue, Keys(PEPPER), Clock())
    web = Address("web", "link", "t" * 43)
    asks = service.care(web, Press("yes", "bullying"))
    assert msg.CARE_NO_ROUTE in [e.text for e in asks.effects if isinstance(e, engine.Say)]  # no route set up


# --- the engine's pure step --------------------------------------------------------------------------------------

def test_withhold_records_a_placeholder_only_on_free_text(catalogue: SurveyCatalogue) -> None:
    survey = catalogue.latest("you-said")
    now = datetime(2026, 5, 1, 12, 0)
    state = engine.start(survey, now).state
    assert engine.advance(survey, state, engine.Withhold("abuse"), now).state == state  # before agreeing
    state = engine.advance(survey, state, engine.Pick(state.turn, 0), now).state
    step = engine.advance(survey, state, engine.Withhold("abuse"), now)  # a scale question: nothing
    assert step.state == state and step.effects == ()
    text_question = engine.replace(state, current="change", path=("feel_home", "feel_safe", "matters", "listened"))
    step = engine.advance(survey, text_question, engine.Withhold("abuse"), now)
    assert [e for e in step.effects if isinstance(e, engine.Record)] == [
        engine.Record("change", f"{msg.REMOVED_FOR_SAFETY} abuse", now.date())]
    assert [e.answer for e in step.effects if isinstance(e, engine.Answered)] == [msg.REMOVED_SHOWN]
    assert step.state.answers["change"] == f"{msg.REMOVED_FOR_SAFETY} abuse"
    other = engine.replace(state, current="matters", awaiting_other=True)
    step = engine.advance(survey, other, engine.Withhold("bullying"), now)
    assert step.state.answers["matters.other"] == f"{msg.REMOVED_FOR_SAFETY} bullying"
    assert not step.state.awaiting_other


def test_the_terminal_preview_shows_the_check_and_keeps_nothing(service: SurveyService, store: Store) -> None:
    import io

    from bot.channels.console import ConsoleChannel

    out = io.StringIO()
    who = Address("console", "local", "author")
    lines = ["yes", "1", "1", "1", "2", "i want to kil myself qq3", "1", "Yes"]
    assert ConsoleChannel(service, out).run(who, "you-said", lines)
    shown = out.getvalue()
    assert msg.CARE_ASK in shown and "1. I'm OK, carry on" in shown and msg.CARE_CARRY_ON in shown
    assert "qq3" not in dump(store) and f"{msg.REMOVED_FOR_SAFETY} self-harm" in dump(store)


def test_safeguarding_settings_are_checked_and_named() -> None:
    import pytest

    from bot.config import Settings, SettingsError

    good = Settings.from_env({"SURVEYBOT_SAFEGUARDING_SLACK_CHANNEL": "C0123ABCDEF",
                              "SURVEYBOT_SAFEGUARDING_TELEGRAM_CHAT": "-1001234567890", "SURVEYBOT_HELP_WORD": "sos"})
    assert (good.safeguarding_slack_channel, good.safeguarding_telegram_chat, good.help_word) == (
        "C0123ABCDEF", "-1001234567890", "sos")
    for name, value in (("SURVEYBOT_SAFEGUARDING_SLACK_CHANNEL", "#safeguarding"),
                        ("SURVEYBOT_SAFEGUARDING_TELEGRAM_CHAT", "@leadgroup"), ("SURVEYBOT_HELP_WORD", "help me")):
        with pytest.raises(SettingsError, match=name):
            Settings.from_env({name: value})


def test_a_missing_phrase_list_stops_the_bot_with_one_line(tmp_path: Path) -> None:
    import pytest

    from bot.app import build
    from bot.config import Settings
    from bot.services.surveyfiles import SurveyFileError

    settings = Settings.from_env({"SURVEYBOT_DATA_DIR": str(tmp_path), "SURVEYBOT_PEPPER": "p" * 48,
                                  "SURVEYBOT_SAFEGUARDING_PHRASES": str(tmp_path / "nope.yaml")})
    with pytest.raises(SurveyFileError) as caught:
        build(settings)
    assert str(caught.value) == f"{tmp_path / 'nope.yaml'}:0: cannot read the phrase list: No such file or directory"


def test_a_disclosure_sent_as_free_feedback_is_never_stored_as_feedback(service: SurveyService, store: Store) -> None:
    to_text_question(service, YOUNG)
    for _ in range(2):  # finish the round, so free messages afterwards count as "you said" feedback
        prompt = next(e.prompt for e in service.begin(YOUNG, "you-said").effects if isinstance(e, engine.Ask))
        service.handle(YOUNG, engine.Skip(prompt.turn))
    assert service.open_survey(YOUNG) is None
    assert [e.text for e in service.feedback(YOUNG, "more lights in the park").effects
            if isinstance(e, engine.Say)] == [msg.YOUSAID_THANKS]
    outcome = service.feedback(YOUNG, "my mum's boyfriend hits me qq7")
    assert [e.text for e in outcome.effects if isinstance(e, CheckIn)] == [msg.CARE_ASK]
    with store.engine.connect() as connection:
        items = [t for (t,) in connection.execute(text("SELECT text FROM feedback_item"))]
    assert items == ["more lights in the park"]
    assert "qq7" not in dump(store)


def test_a_safety_removal_is_never_a_comment_in_reports_or_exports(store: Store, catalogue: SurveyCatalogue) -> None:
    """Three young people write ordinary comments and one discloses: the report's comments and both exports show
    the three only, never "[removed for safety] abuse" (in a small round it tells readers someone disclosed)."""
    from bot.app import published_versions
    from bot.reporting import export, html
    from bot.reporting.report import make_report
    from bot.services.policy import Policy
    from tests.conftest import Clock

    clock = Clock()
    service = SurveyService(store, catalogue, Keys(PEPPER), clock, policy=Policy(min_group_young=3,
                                                                                 min_group_text=3))
    service.publish_all()

    def finish(who: Address, outcome: engine.Outcome) -> None:
        while (asks := [e.prompt for e in outcome.effects if isinstance(e, engine.Ask)]):
            outcome = service.handle(who, engine.Skip(asks[0].turn))

    for n, words in enumerate(["more youth clubs", "cheaper buses", "a quiet place to study"]):
        who = Address("telegram", "bot", str(5000 + n))
        prompt = to_text_question(service, who)
        finish(who, service.handle(who, engine.Reply(words, prompt.turn)))
    to_text_question(service, YOUNG)
    service.guard(YOUNG, WORDS)
    finish(YOUNG, service.care(YOUNG, Press("ok", "abuse")))
    assert f"{msg.REMOVED_FOR_SAFETY} abuse" in dump(store)  # stored so, for the lead's records

    versions = published_versions(store, "you-said")
    page = html.render(make_report(store, service.policy, versions, "you-said", None, None, b"k", clock.now.date()))
    assert "cheaper buses" in page and "removed for safety" not in page
    header = export.columns(versions)
    for write in (export.write_csv, export.write_json):
        out = io.StringIO()
        assert write(store, "you-said", header, out) == 4
        assert "cheaper buses" in out.getvalue() and "removed for safety" not in out.getvalue()


def test_the_alert_window_is_read_checked_and_documented() -> None:
    import pytest

    from bot.config import Settings, SettingsError

    assert Settings.from_env({}).alert_window_seconds == 180
    assert Settings.from_env({"SURVEYBOT_ALERT_WINDOW_SECONDS": "0"}).alert_window_seconds == 0
    for wrong in ("-1", "3601", "soon"):
        with pytest.raises(SettingsError, match=r"^SURVEYBOT_ALERT_WINDOW_SECONDS should be a whole number of "
                                                r"seconds from 0 to 3600$"):
            Settings.from_env({"SURVEYBOT_ALERT_WINDOW_SECONDS": wrong})
    root = Path(__file__).parent.parent
    assert "SURVEYBOT_ALERT_WINDOW_SECONDS=180" in (root / "deploy" / ".env.example").read_text()
    assert "SURVEYBOT_ALERT_WINDOW_SECONDS" in (root / "docs" / "safeguarding.md").read_text()


def test_held_anonymous_alerts_go_as_one_message_when_the_bot_stops(catalogue: SurveyCatalogue) -> None:
    """What the window holds is never lost: flushing (as the bot does when it stops) sends it at once."""
    from bot.services.safeguarding.alerts import AlertRoute
    from tests.conftest import Clock

    class Lead:
        def __init__(self) -> None:
            self.posted: list[str] = []

        async def post_alert(self, target: str, text: str, ack_label: str, ack_data: str) -> bool:
            self.posted.append(text)
            return True

    async def scenario() -> list[str]:
        lead, clock = Lead(), Clock()
        route = AlertRoute(clock, window=180)
        route.add(lead, "-100")
        for ref, category in (("a1" * 6, "abuse"), ("b2" * 6, "bullying"), ("c3" * 6, "bullying")):
            assert await route.send(Alert(category, False, "web", ref=ref))
        assert len(lead.posted) == 1
        assert await route.send(Alert("abuse", True, "telegram", "@sam", ref="d4" * 6))  # a yes: at once
        await route.flush()
        clock.now += timedelta(seconds=180)
        await route.send(Alert("abuse", False, "slack", ref="e5" * 6))  # a new window: at once again
        return lead.posted

    posted = asyncio.run(scenario())
    assert len(posted) == 4 and "@sam" in posted[1] and "e5e5" in posted[3]
    assert "2 more" in posted[2] and "“bullying” (2)" in posted[2]


def test_a_yes_after_a_grouped_anonymous_alert_names_the_message_the_lead_has(service: SurveyService) -> None:
    """The lead saw this young person's disclosure only inside a grouped message: the named alert keeps the case's
    reference and points at that message, the one the lead has."""
    lead = Lead()
    service.alerts.add(lead, "-100")
    service.alerts.window = 180
    people = [Address("telegram", "bot", "5001"), Address("telegram", "bot", "5002"), YOUNG]
    checks = []
    for who in people:  # the first goes at once; the others wait for the window's one message
        to_text_question(service, who)
        outcome = asyncio.run(service.call(service.guard, who, WORDS))
        checks.append(next(e for e in outcome.effects if isinstance(e, CheckIn)))
    asyncio.run(service.alerts.flush())  # as at the window's end
    grouped = lead.posted[-1][1].removeprefix("sgack:")
    press = checkin.decode(checks[-1].choices[0].data)
    assert press is not None and press.ref and press.ref != grouped
    asyncio.run(service.call(service.care, YOUNG, checkin.Press("yes", "abuse", None, press.ref), "@sam"))
    named, ack = lead.posted[-1]
    assert ack == f"sgack:{press.ref}" and f"anonymous alert {grouped} above" in named
    service.close()
