"""How the Slack channel draws prompts and reads what Slack sends back: pure functions, no network."""

from __future__ import annotations

from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from bot.channels import buttons
from bot.channels.slack import (
    BUTTON_TEXT,
    SECTION_TEXT,
    answer_modal,
    drawn_ticks,
    home_view,
    prompt_blocks,
    say_blocks,
    ticked,
    unformat,
)
from bot.engine import messages as msg
from bot.engine.conversation import Prompt
from bot.engine.survey import Survey


def prompt(kind: str, options: tuple[str, ...] = (), **extra: Any) -> Prompt:
    return Prompt("q", 7, kind, "Question?", 2, 5, options=options, **extra)


def action_ids(blocks: list[dict[str, Any]]) -> list[str]:
    return [e["action_id"] for b in blocks if b["type"] == "actions" for e in b["elements"]]


def test_every_button_carries_the_shared_button_data_and_ids_are_unique_per_message() -> None:
    for drawn in (prompt("single", ("A", "B"), optional=True, can_go_back=True), prompt("yesno", ("Yes", "No")),
                  prompt("scale", tuple(str(i) for i in range(11))), prompt("consent", ("Yes", "No"))):
        blocks = prompt_blocks(drawn)
        ids = action_ids(blocks)
        assert len(ids) == len(set(ids))
        assert [buttons.decode(i) for i in ids] == [buttons.decode(b.data) for row in buttons.keyboard(drawn)
                                                    for b in row]
        assert len({b.get("block_id") for b in blocks if b["type"] == "actions"}) == sum(
            b["type"] == "actions" for b in blocks)


def test_multiple_choice_is_checkboxes_in_tens_with_ticks_and_done() -> None:
    options = tuple(f"Option {i}" for i in range(12))
    blocks = prompt_blocks(prompt("multi", options, selected=(1, 11), can_go_back=True))
    boxes = [e for b in blocks if b["type"] == "actions" for e in b["elements"] if e["type"] == "checkboxes"]
    assert [len(e["options"]) for e in boxes] == [10, 2]
    assert [o["value"] for o in boxes[0]["initial_options"]] == ["1"]
    assert [o["value"] for o in boxes[1]["initial_options"]] == ["11"]
    assert "initial_options" not in prompt_blocks(prompt("multi", ("A", "B")))[1]["elements"][0]
    assert action_ids(blocks)[2:] == ["a:7:b", "a:7:d"], "no Toggle buttons: the boxes do the ticking"


def test_long_options_are_shortened_on_buttons_and_listed_in_full() -> None:
    long = "An option whose words go on and on " * 4
    blocks = prompt_blocks(prompt("single", (long.strip(), "Short")))
    labels = [e["text"]["text"] for b in blocks if b["type"] == "actions" for e in b["elements"]]
    assert len(labels[0]) == BUTTON_TEXT and labels[0].endswith("…")
    assert long.strip() in blocks[0]["text"]["text"]


def test_a_typed_question_offers_the_form_and_the_form_carries_its_turn() -> None:
    drawn = prompt("number", hint="Please type a whole number from 0 to 40.", optional=True)
    blocks = prompt_blocks(drawn)
    assert action_ids(blocks) == ["answer:7", "a:7:s"]
    modal = answer_modal(7, drawn)
    assert modal["private_metadata"] == "a:7"
    assert modal["blocks"][0]["label"]["text"] == "Question?"
    assert modal["blocks"][0]["element"]["multiline"] is False
    assert answer_modal(7, None)["blocks"][0]["element"]["multiline"] is True


def test_long_messages_are_split_into_sections_slack_accepts() -> None:
    text = "\n".join(["A line of the privacy notice."] * 200 + ["x" * 7000])
    blocks = say_blocks(text, None)
    assert all(len(b["text"]["text"]) <= SECTION_TEXT for b in blocks)
    assert "".join(b["text"]["text"].replace("\n", "") for b in blocks) == text.replace("\n", "")
    paused = say_blocks(msg.PAUSED, None)
    assert paused[-1]["elements"][0]["action_id"] == "resume"


def test_ticks_are_read_from_the_state_slack_sends_or_else_as_drawn() -> None:
    body = {"state": {"values": {"q7c0": {"tick:7:0": {"type": "checkboxes", "selected_options": [
        {"value": "0"}, {"value": "2"}]}}, "q7c1": {"tick:7:1": {"type": "checkboxes", "selected_options": [
            {"value": "11"}]}}, "old": {"tick:6:0": {"selected_options": [{"value": "5"}]}}}},
        "message": {"blocks": prompt_blocks(prompt("multi", ("A", "B", "C"), selected=(1,)))}}
    assert ticked(body, 7) == {0, 2, 11}
    assert ticked({"state": {"values": {}}}, 7) is None
    assert drawn_ticks(body, 7) == {1}


@given(st.recursive(st.none() | st.text(max_size=5) | st.integers(),
                    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner,
                                                                               max_size=3), max_leaves=12))
def test_reading_ticks_never_raises_on_whatever_arrives(junk: Any) -> None:
    body = {"state": {"values": {"b": {"tick:1:0": junk}, "c": junk}}, "message": {"blocks": [junk]}}
    assert isinstance(ticked(body, 1) or set(), set)
    assert isinstance(drawn_ticks(body, 1), set)


def test_slack_markup_is_undone_and_mentions_lose_their_ids() -> None:
    assert unformat("5 &lt; 6 &amp;&amp; 7 &gt; 2") == "5 < 6 && 7 > 2"
    assert unformat("ask <@U0ALICE> or <@U0BOB|bob>") == "ask @someone or @bob"
    assert unformat("see <https://example.org|our page> in <#C0GEN|general> <!here>") == \
        "see our page in #general @here"
    assert unformat("<mailto:a@example.org>") == "mailto:a@example.org"


def test_the_home_tab_marks_the_survey_in_progress(sample: Survey) -> None:
    view = home_view(sample, [sample])
    assert view["type"] == "home"
    assert view["blocks"][1]["accessory"]["action_id"] == "resume"
    assert not any((b.get("accessory") or {}).get("value") == sample.id for b in view["blocks"])
    fresh = home_view(None, [sample])
    assert fresh["blocks"][1]["accessory"] == {**fresh["blocks"][1]["accessory"], "value": "sample",
                                                "action_id": "start:sample"}
    assert home_view(None, [])["blocks"][1]["text"]["text"] == "There are no surveys to take just now."
