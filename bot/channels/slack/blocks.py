"""Block Kit: how prompts, answers, hints, invitations, alerts, the answer form and the Home tab look in Slack.

Pure functions from the engine's prompts and plain words to Block Kit dictionaries: no I/O, no Bolt, no client, so
they are tested on their own (tests/test_slack_blocks.py) against Slack's limits. Survey wording goes in plain_text,
never mrkdwn, so nothing a survey or a person wrote turns into formatting or a mention by accident.
"""

from __future__ import annotations

import re
from typing import Any

from bot.channels import buttons
from bot.channels.reactions import reaction_buttons, reaction_data
from bot.channels.slack.words import (
    ANSWER_BUTTON,
    COMMANDS_HINT,
    HELP,
    HOME_IN_PROGRESS,
    HOME_NONE,
    HOME_TITLE,
    MODAL_CANCEL,
    MODAL_SUBMIT,
    MODAL_TITLE,
    RESUME_BUTTON,
    START_BUTTON,
    TYPE_HERE,
)
from bot.channels.text import prompt_text
from bot.engine import conversation as engine
from bot.engine import messages as msg
from bot.engine.conversation import Answered, Prompt
from bot.engine.survey import Survey
from bot.services.safeguarding.checkin import CheckIn

Blocks = list[dict[str, Any]]

# --- Slack's limits ---------------------------------------------------------------------------------------------------
BUTTON_TEXT = 75  # Block Kit: button and option text
SECTION_TEXT = 3000  # Block Kit: section text
TICKS_PER_ELEMENT = 10  # Block Kit: options in one checkboxes element
INPUT_LIMIT = 3000  # Block Kit: plain_text_input max_length
LABEL_TEXT = 2000  # Block Kit: input label
VIEW_TEXT = 24  # Block Kit: a modal's title, submit and close
HEADER_TEXT = 150  # Block Kit: header text

# Our own action ids, beside the shared button data `a:<turn>:...` (bot.channels.buttons).
ANSWER_ACTION = "answer"  # answer:<turn> opens a form for a typed answer
TICK_ACTION = "tick"  # tick:<turn>:<chunk> is a checkboxes element
RESUME_ACTION = "resume"
START_ACTION = "start"  # start:<survey id>, on the Home tab
MODAL_CALLBACK = "answer"

_MENTION = re.compile(r"&lt;@([UW][A-Z0-9]{2,20})&gt;")


def plain(text: str, limit: int = SECTION_TEXT) -> dict[str, Any]:
    """A plain_text object cut to `limit` (with an ellipsis), never empty: Slack refuses an empty text."""
    text = text.strip() or " "
    return {"type": "plain_text", "text": text if len(text) <= limit else text[:limit - 1] + "…", "emoji": True}


def sections(text: str) -> Blocks:
    """Plain-text sections (no accidental mrkdwn from survey wording), split at line ends to fit Slack's limit."""
    blocks: Blocks = []
    chunk = ""
    for line in text.strip().splitlines():
        while len(line) > SECTION_TEXT:
            if chunk:
                blocks.append({"type": "section", "text": plain(chunk)})
                chunk = ""
            blocks.append({"type": "section", "text": plain(line[:SECTION_TEXT])})
            line = line[SECTION_TEXT:]
        if chunk and len(chunk) + 1 + len(line) > SECTION_TEXT:
            blocks.append({"type": "section", "text": plain(chunk)})
            chunk = ""
        chunk = f"{chunk}\n{line}" if chunk else line
    if chunk or not blocks:
        blocks.append({"type": "section", "text": plain(chunk)})
    return blocks


def escape(text: str) -> str:
    """Slack's three control characters, for the plain `text` of a message (its notification)."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def button(label: str, action_id: str, value: str | None = None) -> dict[str, Any]:
    return {"type": "button", "text": plain(label, BUTTON_TEXT), "action_id": action_id, "value": value or action_id}


def _tick_option(prompt: Prompt, index: int) -> dict[str, Any]:
    return {"text": plain(prompt.options[index], BUTTON_TEXT), "value": str(index)}


def prompt_blocks(prompt: Prompt) -> Blocks:
    """A question: its words (progress, hint, previous answer), then options as buttons or checkboxes, then Back,
    Skip and Done. A typed question gets a button that opens a form, besides replying in the chat."""
    long_options = any(len(option) > BUTTON_TEXT for option in prompt.options)
    blocks = sections(prompt_text(prompt, numbered=long_options))
    rows = buttons.keyboard(prompt)
    if prompt.multiple:
        for chunk, start in enumerate(range(0, len(prompt.options), TICKS_PER_ELEMENT)):
            indexes = range(start, min(start + TICKS_PER_ELEMENT, len(prompt.options)))
            element: dict[str, Any] = {
                "type": "checkboxes", "action_id": f"{TICK_ACTION}:{prompt.turn}:{chunk}",
                "options": [_tick_option(prompt, i) for i in indexes],
            }
            ticked = [_tick_option(prompt, i) for i in indexes if i in prompt.selected]
            if ticked:
                element["initial_options"] = ticked
            blocks.append({"type": "actions", "block_id": f"q{prompt.turn}c{chunk}", "elements": [element]})
        rows = [[b for b in row if not isinstance(buttons.decode(b.data), engine.Toggle)] for row in rows]
    if prompt.typed:
        blocks.append({"type": "context", "elements": [plain(TYPE_HERE)]})
        rows.insert(0, [buttons.Button(ANSWER_BUTTON, f"{ANSWER_ACTION}:{prompt.turn}")])
    for number, row in enumerate(r for r in rows if r):
        blocks.append({"type": "actions", "block_id": f"q{prompt.turn}r{number}",
                       "elements": [button(b.label, b.data) for b in row]})
    return blocks


def answered_text(effect: Answered) -> str:
    """The notification text of a question once answered."""
    return f"{effect.question}\n{msg.PREVIOUS_ANSWER.format(answer=effect.answer)}"


def answered_blocks(effect: Answered) -> Blocks:
    """The question as it stays in the chat once answered: its words and the answer, with no buttons left."""
    return [*sections(effect.question), {"type": "context", "elements": [
        plain(msg.PREVIOUS_ANSWER.format(answer=effect.answer))]}]


def say_blocks(text: str, survey: Survey | None) -> Blocks:
    """A plain message; the privacy notice gets the Slack commands under it, a pause gets a Resume button."""
    blocks = sections(text)
    if survey is not None and text == survey.intro:
        blocks.append({"type": "context", "elements": [plain(COMMANDS_HINT)]})
    if text in (msg.PAUSED, msg.STILL_PAUSED):
        blocks.append({"type": "actions", "elements": [button(RESUME_BUTTON, RESUME_ACTION)]})
    return blocks


def checkin_blocks(effect: CheckIn) -> Blocks:
    """The safeguarding check: its words and its choices as buttons."""
    return [*sections(effect.text), {"type": "actions", "elements": [
        button(choice.label, choice.data) for choice in effect.choices]}]


def invite_blocks(text: str, code: str) -> Blocks:
    """An invitation or reminder, with the Start button the Home tab uses."""
    return [*sections(text), {"type": "actions", "elements": [button(START_BUTTON, f"{START_ACTION}:{code}", code)]}]


def reply_blocks(text: str, reply_id: int, chosen: str | None = None) -> Blocks:
    """A "we did" reply with its reaction buttons, the person's own choice ticked and highlighted."""
    elements = [button(label, reaction_data(reply_id, kind)) | ({"style": "primary"} if kind == chosen else {})
                for kind, label in reaction_buttons(chosen)]
    return [*sections(text), {"type": "actions", "elements": elements}]


def alert_text(text: str) -> str:
    """An alert for the safeguarding lead as mrkdwn: escaped, with only a person's mention left live (the lead can
    open it), cut to one section."""
    return _MENTION.sub(r"<@\1>", escape(text))[:SECTION_TEXT]


def alert_blocks(shown: str, ack_label: str, ack_data: str) -> Blocks:
    """An alert (already `alert_text`) with its Acknowledge button."""
    return [{"type": "section", "text": {"type": "mrkdwn", "text": shown}},
            {"type": "actions", "elements": [button(ack_label, ack_data)]}]


def answer_modal(turn: int, prompt: Prompt | None) -> dict[str, Any]:
    """A form for a typed answer; it carries the question's turn, so a late submission records nothing."""
    element: dict[str, Any] = {"type": "plain_text_input", "action_id": "text", "max_length": INPUT_LIMIT,
                               "multiline": prompt is None or prompt.kind == "text"}
    block: dict[str, Any] = {"type": "input", "block_id": "answer", "element": element,
                             "label": plain(prompt.text if prompt else MODAL_TITLE, LABEL_TEXT)}
    if prompt is not None and prompt.hint:
        block["hint"] = plain(prompt.hint, LABEL_TEXT)
    return {"type": "modal", "callback_id": MODAL_CALLBACK, "private_metadata": f"a:{turn}",
            "title": plain(MODAL_TITLE, VIEW_TEXT), "submit": plain(MODAL_SUBMIT, VIEW_TEXT),
            "close": plain(MODAL_CANCEL, VIEW_TEXT), "blocks": [block]}


def home_view(in_progress: Survey | None, surveys: list[Survey]) -> dict[str, Any]:
    """The App Home tab: the survey in progress with Resume, the others with Start, and how the commands work."""
    blocks: Blocks = [{"type": "header", "text": plain(HOME_TITLE, HEADER_TEXT)}]
    if in_progress is not None:
        blocks.append({"type": "section", "text": plain(HOME_IN_PROGRESS.format(title=in_progress.title)),
                       "accessory": button(RESUME_BUTTON, RESUME_ACTION)})
    others = [s for s in surveys if in_progress is None or s.id != in_progress.id]
    for survey in others:
        blocks.append({"type": "section", "text": plain(survey.title),
                       "accessory": {**button(START_BUTTON, f"{START_ACTION}:{survey.id}", survey.id),
                                     "style": "primary"}})
    if in_progress is None and not others:
        blocks.append({"type": "section", "text": plain(HOME_NONE)})
    blocks.extend([{"type": "divider"}, {"type": "context", "elements": [plain(HELP)]}])
    return {"type": "home", "blocks": blocks}
