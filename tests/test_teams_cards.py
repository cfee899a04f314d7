"""The Teams channel's pure parts: the Adaptive Card builders on their own, and the readers of what Teams sends, with
Hypothesis (activities come from outside: whatever arrives, a reader returns a safe answer and never raises)."""

from __future__ import annotations

import json

from hypothesis import given
from hypothesis import strategies as st

from bot.channels.teams import cards, reading
from bot.channels.teams.cards import (
    CARD_TYPE,
    DATA_KEY,
    TEXT_LIMIT,
    answered_card,
    checkin_card,
    invite_card,
    prompt_card,
    reply_card,
    say_card,
)
from bot.channels.teams.reading import (
    Route,
    address,
    data_of,
    event_of,
    event_type,
    start_code,
    team_of,
    typed_text,
    unpack_route,
)
from bot.engine import conversation as engine
from bot.engine import messages as msg
from bot.engine.conversation import Answered, Prompt
from bot.services.safeguarding.checkin import CheckIn, Choice

TEAMS_MESSAGE_BYTES = 28_000  # Teams refuses a message over about 28 KB


def elements(node: object) -> list[dict[str, object]]:
    found: list[dict[str, object]] = []
    if isinstance(node, dict):
        found.append(node)
        for value in node.values():
            found.extend(elements(value))
    elif isinstance(node, list):
        for item in node:
            found.extend(elements(item))
    return found


def submits(card: dict[str, object]) -> list[str]:
    return [str(e["data"][DATA_KEY]) for e in elements(card) if e.get("type") == "Action.Submit"]  # type: ignore[index]


def prompt(kind: str = "single", **fields: object) -> Prompt:
    base: dict[str, object] = {"question_id": "q", "turn": 4, "kind": kind, "text": "Which agency?", "number": 2,
                               "total": 7, "options": ("Police", "Health", "School")}
    base.update(fields)
    return Prompt(**base)  # type: ignore[arg-type]


def test_a_choice_question_has_a_button_per_option_then_back_and_skip() -> None:
    card = prompt_card(prompt(can_go_back=True, optional=True))
    assert card["type"] == "AdaptiveCard" and card["version"] == "1.4"
    assert submits(card) == ["a:4:p:0", "a:4:p:1", "a:4:p:2", "a:4:b", "a:4:s"]
    text = card["body"][0]["text"]
    assert text.startswith("(2 of 7) Which agency?") and card["body"][0]["wrap"] is True


def test_a_scale_is_rows_of_numbers_and_yes_no_two_buttons() -> None:
    scale = prompt_card(prompt("scale", options=tuple(str(n) for n in range(11)), low_label="Not at all",
                               high_label="Very"))
    rows = [e for e in elements(scale) if e.get("type") == "ActionSet"]
    assert [len(r["actions"]) for r in rows] == [6, 5]  # type: ignore[arg-type]
    assert "0 = Not at all" in scale["body"][0]["text"]
    yesno = prompt_card(prompt("yesno", options=("Yes", "No")))
    assert submits(yesno) == ["a:4:p:0", "a:4:p:1"]


def test_multiple_choice_is_a_choice_set_with_done_and_keeps_earlier_ticks() -> None:
    card = prompt_card(prompt("multi", selected=(0, 2), can_go_back=True))
    (choice_set,) = [e for e in elements(card) if e.get("type") == "Input.ChoiceSet"]
    assert choice_set["isMultiSelect"] is True and choice_set["id"] == cards.TICKS
    assert [c["value"] for c in choice_set["choices"]] == ["0", "1", "2"]  # type: ignore[union-attr]
    assert choice_set["value"] == "0,2"
    assert submits(card) == ["a:4:b", "a:4:d"], "no toggle buttons: the choice set ticks"


def test_a_typed_question_has_a_box_and_send_stamped_with_its_turn() -> None:
    card = prompt_card(prompt("text", options=(), max_length=500))
    (box,) = [e for e in elements(card) if e.get("type") == "Input.Text"]
    assert box["maxLength"] == 500 and box["isMultiline"] is True
    assert submits(card) == ["answer:4"]


def test_long_options_are_listed_in_the_words_and_numbered_on_the_buttons() -> None:
    long = ("A very long option that would not fit on one button at all", "Another long option, also too long")
    card = prompt_card(prompt(options=long))
    assert "1. A very long option" in card["body"][0]["text"]
    labels = [e["title"] for e in elements(card) if e.get("type") == "Action.Submit"]
    assert labels == ["1", "2"]


def test_answered_cards_keep_the_answer_and_lose_every_button() -> None:
    card = answered_card(Answered(4, "Which agency?", "Police"))
    assert submits(card) == [] and not [e for e in elements(card) if str(e.get("type", "")).startswith("Input.")]
    assert cards.card_text(card) == "Which agency?\n" + msg.PREVIOUS_ANSWER.format(answer="Police")


def test_pause_gets_resume_and_other_messages_need_no_card() -> None:
    paused = say_card(msg.PAUSED, None)
    assert paused is not None and submits(paused) == [cards.RESUME]
    assert say_card("Thanks!", None) is None


def test_the_check_invitations_and_replies_carry_the_shared_data() -> None:
    check = checkin_card(CheckIn("Are you OK?", (Choice("I'm OK", "care:ok:0"), Choice("Help", "care:help:0"))))
    assert submits(check) == ["care:ok:0", "care:help:0"]
    assert submits(invite_card("Please take part", "spring-2026")) == ["go:spring-2026"]
    assert submits(reply_card("We changed it", 12, "helps")) == ["wd:12:helps", "wd:12:not-really", "wd:12:more"]


@given(st.text(max_size=6000), st.lists(st.text(min_size=1, max_size=300), min_size=1, max_size=12),
       st.sampled_from(["single", "multi", "scale", "yesno", "knowledge"]))
def test_every_card_is_valid_json_well_under_teams_limit(text: str, options: list[str], kind: str) -> None:
    card = prompt_card(prompt(kind, text=text, options=tuple(options)))
    encoded = json.dumps({"contentType": CARD_TYPE, "content": card})
    assert len(encoded.encode()) < TEAMS_MESSAGE_BYTES * 2  # a dozen options of 300 characters at most
    assert all(len(str(e.get("text", ""))) <= TEXT_LIMIT for e in elements(card))
    assert all(str(e.get("text", "")).strip() for e in elements(card) if e.get("type") == "TextBlock")


# --- readers ----------------------------------------------------------------------------------------------------------

def test_typed_text_takes_mentions_out_and_decodes_entities() -> None:
    assert typed_text("<at>Surveys</at> /start sample") == "/start sample"
    assert typed_text("Fine &amp; dandy &lt;really&gt;") == "Fine & dandy <really>"
    assert typed_text("<p>two</p>") == "two"
    assert typed_text(None) == ""


def test_presses_read_as_the_engine_events_they_stand_for() -> None:
    assert event_of({DATA_KEY: "a:4:p:1"}) == engine.Pick(4, 1)
    assert event_of({DATA_KEY: "a:4:s"}) == engine.Skip(4)
    assert event_of({DATA_KEY: "a:4:d", "ticks": "2,0"}) == engine.Reply("1, 3", turn=4)
    assert event_of({DATA_KEY: "a:4:d", "ticks": ""}) == engine.Done(4)
    assert event_of({DATA_KEY: "a:4:d"}) == engine.Done(4)
    assert event_of({DATA_KEY: "answer:4", "typed": "More time"}) == engine.Reply("More time", turn=4)
    assert event_of({DATA_KEY: "answer:4"}) == engine.Reply("", turn=4)
    assert event_of({DATA_KEY: "go:spring"}) is None and start_code({DATA_KEY: "go:spring"}) == "spring"
    assert event_of({"something": "else"}) is None and data_of("a:4:p:1") is None


OBJECT = "5E0C2A1B-3D4F-4A5B-8C6D-7E8F9A0B1C2D"


def test_an_address_is_the_entra_object_id_and_keeps_its_route_outside_who_the_person_is() -> None:
    one = address("TENANT", "29:abc", "https://smba.trafficmanager.net/uk/", "a:1xyz", aad=OBJECT)
    other = address("tenant", "29:abc", "https://smba.trafficmanager.net/emea/", "a:1xyz", aad=OBJECT.lower())
    assert one is not None and other is not None
    assert (one.workspace, one.user) == ("tenant", OBJECT.lower()), "as an administrator names them"
    assert one == other and one.identity() == other.identity(), "a new service URL is the same person"
    assert unpack_route(one.route) == Route("https://smba.trafficmanager.net/uk/", "a:1xyz", "29:abc")
    team = address("tenant", "29:abc", "https://smba.trafficmanager.net/uk/", "19:x@thread", personal=False,
                   aad=OBJECT)
    assert team is not None and unpack_route(team.route) == Route("https://smba.trafficmanager.net/uk/", "", "29:abc")
    assert "29:abc" not in repr(one) and "smba" not in repr(one) and OBJECT.lower() not in repr(one)
    without = address("tenant", "29:abc", "https://smba.trafficmanager.net/uk/", "a:1xyz", aad="not-an-id")
    assert without is not None and without.user == "29:abc", "the Teams user id stands in without an object id"
    assert address("t", "", "https://x/") is None and address("t", "u", "ftp://x/") is None


anything = st.recursive(st.none() | st.booleans() | st.integers() | st.text(max_size=50),
                        lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner,
                                                                                     max_size=4), max_leaves=12)


@given(st.one_of(anything, st.fixed_dictionaries({DATA_KEY: st.text(max_size=60)}, optional={
    "ticks": st.one_of(st.text(max_size=30), anything), "typed": anything})))
def test_readers_never_raise_whatever_a_press_carries(value: object) -> None:
    event = event_of(value)
    assert event is None or isinstance(event, engine.Event.__args__)  # type: ignore[attr-defined]
    start_code(value)
    if isinstance(event, engine.Reply) and event.turn is not None:
        assert len(event.text) <= reading.TYPED_LIMIT


@given(st.text(max_size=300))
def test_typed_text_never_raises_and_leaves_no_mention(text: str) -> None:
    read = typed_text(text)
    assert read == read.strip()
    assert "</at>" not in typed_text(f"<at>{text.replace('<', '')}</at> hello")


@given(anything, anything, anything, anything, anything)
def test_address_never_raises(tenant: object, user: object, service: object, conversation: object,
                              aad: object) -> None:
    found = address(tenant, user, service, conversation, aad=aad)
    if found is not None:
        assert found.channel == "teams" and unpack_route(found.route) is not None


@given(st.text(max_size=200))
def test_a_damaged_route_reads_as_none(text: str) -> None:
    found = unpack_route(text)
    assert found is None or found.service_url.startswith(("https://", "http://"))


def test_a_team_is_read_from_channel_data_with_its_name_and_the_event() -> None:
    data = {"team": {"id": "19:abc@thread.tacv2", "name": "Anyshire Social Care"}, "eventType": "teamRenamed"}
    assert team_of(data) == ("19:abc@thread.tacv2", "Anyshire Social Care") and event_type(data) == "teamRenamed"
    assert team_of({"team": {"id": "19:abc@thread.tacv2"}}) == ("19:abc@thread.tacv2", ""), "a name is optional"
    assert team_of({"tenant": {"id": "t"}}) is None and event_type({}) == ""
    assert team_of({"team": {"id": "19:a\nb"}}) is None and team_of({"team": {"id": "1" * 301}}) is None


@given(st.one_of(anything, st.fixed_dictionaries({}, optional={
    "team": st.one_of(anything, st.fixed_dictionaries({}, optional={"id": anything, "name": anything})),
    "eventType": anything})))
def test_team_readers_never_raise_whatever_channel_data_carries(data: object) -> None:
    found = team_of(data)
    if found is not None:
        team, name = found
        assert 0 < len(team) <= reading.TEAM_ID_LIMIT and team.isprintable() and len(name) <= reading.NAME_LIMIT
    assert isinstance(event_type(data), str)
