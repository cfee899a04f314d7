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


# --- Slack's own limits, for everything we build ----------------------------------------------------------------------
# From Slack's Block Kit reference: Slack refuses a whole message, form or Home tab when any one of these is broken.
MESSAGE_BLOCKS, VIEW_BLOCKS = 50, 100
ACTIONS_ELEMENTS, CONTEXT_ELEMENTS, CHECKBOX_OPTIONS = 25, 10, 10
ID_TEXT, BUTTON_VALUE, OPTION_VALUE, HEADER, TEXT, LABEL, VIEW_TEXT = 255, 2000, 150, 150, 3000, 2000, 24
OPTION_TEXT = 75  # a button's words, and a checkbox option's


def text_object(obj: dict[str, Any], limit: int = TEXT) -> list[str]:
    kind, words = obj.get("type"), obj.get("text")
    if kind not in ("plain_text", "mrkdwn") or not isinstance(words, str) or not words:
        return [f"not a non-empty text object: {obj!r:.80}"]
    return [f"{len(words)} characters where {limit} fit: {words[:40]!r}"] if len(words) > limit else []


def element_problems(element: dict[str, Any]) -> list[str]:
    problems: list[str] = []
    if "action_id" in element and not 0 < len(element["action_id"]) <= ID_TEXT:
        problems.append(f"action_id of {len(element['action_id'])} characters")
    if element["type"] == "button":
        problems += text_object(element["text"], OPTION_TEXT)
        if not 0 < len(element.get("value", "")) <= BUTTON_VALUE:
            problems.append("button value empty or too long")
        if element.get("style") not in (None, "primary", "danger"):
            problems.append(f"button style {element['style']!r}")
    elif element["type"] == "checkboxes":
        options = element["options"]
        if not 0 < len(options) <= CHECKBOX_OPTIONS:
            problems.append(f"{len(options)} checkbox options")
        for option in [*options, *element.get("initial_options", [])]:
            problems += text_object(option["text"], OPTION_TEXT)
            if not 0 < len(option["value"]) <= OPTION_VALUE:
                problems.append("option value empty or too long")
        if any(o not in options for o in element.get("initial_options", [])):
            problems.append("an initial option that is not an option")
    elif element["type"] == "plain_text_input":
        if not 0 < element.get("max_length", TEXT) <= TEXT:
            problems.append("input max_length over 3000")
    else:
        problems += text_object(element)  # a context element
    return problems


def block_problems(blocks: list[dict[str, Any]], most: int = MESSAGE_BLOCKS) -> list[str]:
    """Every way `blocks` breaks a Block Kit limit (an empty list when Slack would take them)."""
    problems = [f"{len(blocks)} blocks where {most} fit"] if not 0 < len(blocks) <= most else []
    ids = [b["block_id"] for b in blocks if "block_id" in b]
    if len(ids) != len(set(ids)) or any(not 0 < len(i) <= ID_TEXT for i in ids):
        problems.append("block ids repeated or too long")
    actions = [e["action_id"] for b in blocks for e in [*b.get("elements", []), b.get("accessory") or {}]
               if isinstance(e, dict) and "action_id" in e]
    if len(actions) != len(set(actions)):
        problems.append("action ids repeated in one message")
    for block in blocks:
        kind = block["type"]
        if kind == "section":
            problems += text_object(block["text"])
            problems += element_problems(block["accessory"]) if "accessory" in block else []
        elif kind == "header":
            problems += text_object(block["text"], HEADER)
        elif kind in ("actions", "context"):
            most_elements = ACTIONS_ELEMENTS if kind == "actions" else CONTEXT_ELEMENTS
            if not 0 < len(block["elements"]) <= most_elements:
                problems.append(f"{len(block['elements'])} elements in one {kind} block")
            problems += [p for e in block["elements"] for p in element_problems(e)]
        elif kind == "input":
            problems += text_object(block["label"], LABEL) + (text_object(block["hint"], LABEL) if "hint" in block
                                                               else []) + element_problems(block["element"])
        elif kind != "divider":
            problems.append(f"a {kind} block, which this check does not know")
    return problems


def view_problems(view: dict[str, Any]) -> list[str]:
    problems = block_problems(view["blocks"], VIEW_BLOCKS)
    for name in ("title", "submit", "close"):
        problems += text_object(view[name], VIEW_TEXT) if name in view else []
    if len(view.get("private_metadata", "")) > TEXT or len(view.get("callback_id", "")) > ID_TEXT:
        problems.append("private_metadata or callback_id too long")
    return problems


def worst_prompts(survey: Survey, turn: int) -> list[Prompt]:
    """Each question of `survey` drawn with every control it can have: Back, Skip, all its options ticked, and the
    longest earlier answer the survey takes; a question with "Other" also as the typed question that follows it."""
    prompts = []
    for number, question in enumerate(survey.questions, start=1):
        options = question.options()
        earlier = msg.PREVIOUS_ANSWER.format(answer="w" * question.max_length)
        drawn = Prompt(question.id, turn, question.kind.value, question.text, number, len(survey.questions),
                       options=options, selected=tuple(range(len(options))) if question.kind.value == "multi" else (),
                       hint=question.hint or "A hint.", optional=True, can_go_back=True, previous=earlier,
                       low_label=question.low_label, high_label=question.high_label, max_length=question.max_length)
        prompts.append(drawn)
        if question.other:
            prompts.append(Prompt(question.other_id, turn, "text", msg.OTHER_PROMPT, number, len(survey.questions),
                                  hint=msg.UP_TO.format(limit=question.max_length), optional=True, can_go_back=True,
                                  max_length=question.max_length))
    return prompts


def test_everything_drawn_for_the_shipped_surveys_is_within_slacks_limits() -> None:
    from bot.channels.slack.blocks import (
        alert_blocks,
        alert_text,
        answered_blocks,
        checkin_blocks,
        invite_blocks,
        reply_blocks,
    )
    from bot.engine.conversation import Answered
    from bot.services.safeguarding import checkin
    from bot.services.safeguarding.matching import ALL_CATEGORIES, Match
    from bot.services.surveyfiles import SurveyCatalogue, builtin_survey_dir

    surveys = SurveyCatalogue.from_dirs([builtin_survey_dir()]).all()
    assert len(surveys) == 3, "the three shipped surveys"
    turn = 10**9 - 1  # the largest turn a button carries makes the longest ids
    consent = Prompt("consent", turn, "consent", msg.CONSENT_QUESTION, 0, 0, options=(msg.CONSENT_YES, msg.CONSENT_NO))
    found: dict[str, list[str]] = {}
    for survey in surveys:
        for drawn in [consent, *worst_prompts(survey, turn)]:
            found[f"{survey.id}/{drawn.question_id} ({drawn.kind})"] = block_problems(prompt_blocks(drawn))
            found[f"{survey.id}/{drawn.question_id} form"] = view_problems(answer_modal(turn, drawn))
            answer = drawn.previous or "An answer."
            found[f"{survey.id}/{drawn.question_id} answered"] = block_problems(
                answered_blocks(Answered(turn, drawn.text, answer)))
        for text in (survey.intro, survey.thanks, msg.PAUSED):
            found[f"{survey.id} says {text[:20]!r}"] = block_problems(say_blocks(text, survey))
        found[f"{survey.id} invitation"] = block_problems(invite_blocks(msg.INVITATION.format(
            title=survey.title, closes="30 September 2027"), survey.id))
    for category in ALL_CATEGORIES:
        for effect in checkin.opening(Match(category), ref="0123456789ab"):
            if isinstance(effect, checkin.CheckIn):
                found[f"check for {category}"] = block_problems(checkin_blocks(effect))
    found["home"] = view_problems(home_view(surveys[0], surveys)) + view_problems(home_view(None, surveys))
    found["form with no question"] = view_problems(answer_modal(turn, None))
    found["we did"] = block_problems(reply_blocks("We asked for cheaper bus passes. " * 200, 2**31, "helps"))
    found["alert"] = block_problems(alert_blocks(alert_text("<@U0LEAD> " * 800), "Acknowledge", "ack:0123456789ab"))
    assert {name: problems for name, problems in found.items() if problems} == {}


def wording(longest: int) -> st.SearchStrategy[str]:
    """Words of any length up to `longest`, long ones made cheaply by repeating a short piece (lines included)."""
    return st.text(max_size=40) | st.builds(lambda piece, times: (piece * times)[:longest],
                                            st.text(min_size=1, max_size=40), st.integers(1, longest))


@given(st.sampled_from(["single", "multi", "scale", "yesno", "number", "text", "knowledge"]),
       st.lists(wording(300).filter(str.strip), min_size=2, max_size=30), wording(7000), st.none() | wording(5000),
       st.integers(0, 10**9 - 1))
def test_a_question_of_any_wording_stays_within_slacks_limits(kind: str, options: list[str], words: str,
                                                              hint: str | None, turn: int) -> None:
    choices = tuple(options) if kind in ("single", "multi", "knowledge") else ("Yes", "No") if kind == "yesno" else (
        tuple(str(i) for i in range(11)) if kind == "scale" else ())
    drawn = Prompt("q", turn, kind, words, 1, 1, options=choices, hint=hint, optional=True, can_go_back=True,
                   selected=tuple(range(len(choices))) if kind == "multi" else (), previous=words or None)
    assert block_problems(prompt_blocks(drawn)) == []
    assert view_problems(answer_modal(turn, drawn)) == []
