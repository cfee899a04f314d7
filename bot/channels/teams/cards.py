"""Adaptive Cards: how questions, answered questions, the safeguarding check, invitations and "we did" replies look
in Teams.

Pure functions from the engine's prompts and plain words to Adaptive Card dictionaries (schema 1.4, which Teams shows
on desktop, web and mobile): no SDK and no I/O, so they are tested on their own (tests/test_teams_cards.py). Every
button is an Action.Submit whose data is `{"surveybot": DATA}`, DATA being the same short strings the other channels
use (bot.channels.buttons, bot.channels.reactions, bot.services.safeguarding.checkin); Teams sends it back with the
card's inputs as the `value` of a message, which bot.channels.teams.reading reads. Survey wording only ever goes in
TextBlocks, which Teams shows as text, so nothing a survey or a person wrote turns into a link or a mention.
"""

from __future__ import annotations

from typing import Any

from bot.channels import buttons
from bot.channels.reactions import reaction_buttons, reaction_data
from bot.channels.teams.words import COMMANDS_HINT, DOWNLOAD_BUTTON, RESUME_BUTTON, TICK_LABEL, TYPE_HERE
from bot.channels.text import prompt_text
from bot.engine import conversation as engine
from bot.engine import messages as msg
from bot.engine.conversation import Answered, Prompt
from bot.engine.survey import Survey
from bot.services.safeguarding.checkin import CheckIn

Card = dict[str, Any]

CARD_TYPE = "application/vnd.microsoft.card.adaptive"
SCHEMA = "http://adaptivecards.io/schemas/adaptive-card.json"
VERSION = "1.4"
DATA_KEY = "surveybot"  # the key of our data in an Action.Submit's data (and so in the message's value)
TICKS = "ticks"  # the multiple-choice question's Input.ChoiceSet: Teams sends its ticked values, joined by commas
TYPED = "typed"  # the Input.Text of a typed question
ANSWER = "answer"  # answer:<turn>: the Send button under a typed question's box
START = "go"  # go:<code>: the Start button under an invitation
RESUME = "resume"  # the Resume button under "Paused"
LONG_OPTION = 40  # longer options are listed in the words and their buttons carry numbers (a button shows one line)
TEXT_LIMIT = 4000  # characters of one TextBlock we send; a card must stay well under Teams' 28 KB a message
INPUT_LIMIT = 3000  # the most characters a typed answer's box takes when the question sets no limit
SEND_LABEL = "Send"


def card(body: list[dict[str, Any]]) -> Card:
    """A card with this body, as the `content` of a message's attachment."""
    return {"type": "AdaptiveCard", "$schema": SCHEMA, "version": VERSION, "body": body}


def attachment(content: Card) -> dict[str, Any]:
    """A card as a message's attachment (the Bot Connector's shape)."""
    return {"contentType": CARD_TYPE, "content": content}


def words(text: str, *, subtle: bool = False, bold: bool = False) -> dict[str, Any]:
    """A TextBlock that wraps, cut to TEXT_LIMIT (with an ellipsis), never empty."""
    text = text.strip() or " "
    block: dict[str, Any] = {"type": "TextBlock", "text": text if len(text) <= TEXT_LIMIT else
                             text[:TEXT_LIMIT - 1] + "…", "wrap": True}
    if subtle:
        block["isSubtle"] = True
    if bold:
        block["weight"] = "Bolder"
    return block


def submit(label: str, data: str) -> dict[str, Any]:
    return {"type": "Action.Submit", "title": label, "data": {DATA_KEY: data}}


def action_set(actions: list[dict[str, Any]]) -> dict[str, Any]:
    return {"type": "ActionSet", "actions": actions}


def prompt_card(prompt: Prompt) -> Card:
    """A question: its words (progress, hint, previous answer), then options as buttons (a choice set and Done for
    multiple choice), a box and Send for typed answers, then Back and Skip."""
    long = prompt.kind != "scale" and any(len(option) > LONG_OPTION for option in prompt.options)
    body: list[dict[str, Any]] = [words(prompt_text(prompt, numbered=long))]
    rows = buttons.keyboard(prompt)
    if prompt.multiple:
        choices = [{"title": option if len(option) <= TEXT_LIMIT else option[:TEXT_LIMIT - 1] + "…",
                    "value": str(index)} for index, option in enumerate(prompt.options)]
        choice_set: dict[str, Any] = {"type": "Input.ChoiceSet", "id": TICKS, "isMultiSelect": True,
                                      "style": "expanded", "label": TICK_LABEL, "choices": choices}
        if prompt.selected:
            choice_set["value"] = ",".join(str(i) for i in sorted(prompt.selected))
        body.append(choice_set)
        rows = [[b for b in row if not isinstance(buttons.decode(b.data), engine.Toggle)] for row in rows]
    if prompt.typed:
        box: dict[str, Any] = {"type": "Input.Text", "id": TYPED, "label": TYPE_HERE,
                               "maxLength": prompt.max_length or INPUT_LIMIT, "isMultiline": prompt.kind == "text"}
        body.append(box)
        rows.insert(0, [buttons.Button(SEND_LABEL, f"{ANSWER}:{prompt.turn}")])
    for row in rows:
        if row:
            body.append(action_set([submit(_caption(b, long), b.data) for b in row]))
    return card(body)


def _caption(button: buttons.Button, long: bool) -> str:
    """A button's words: the option's number when the options are listed in the question's words."""
    return str(button.index + 1) if long and button.index is not None else button.label


def answered_card(effect: Answered) -> Card:
    """The question as it stays in the chat once answered: its words and the answer, with no buttons left."""
    return card([words(effect.question), words(msg.PREVIOUS_ANSWER.format(answer=effect.answer), subtle=True)])


def say_card(text: str, survey: Survey | None) -> Card | None:
    """A plain message needs no card, except the privacy notice (the commands go under it) and a pause (a Resume
    button goes under it)."""
    if survey is not None and text == survey.intro:
        return card([words(text), words(COMMANDS_HINT, subtle=True)])
    if text in (msg.PAUSED, msg.STILL_PAUSED):
        return card([words(text), action_set([submit(RESUME_BUTTON, RESUME)])])
    return None


def checkin_card(effect: CheckIn) -> Card:
    """The safeguarding check: its words and its choices as buttons, one to a row."""
    return card([words(effect.text), *(action_set([submit(choice.label, choice.data)]) for choice in effect.choices)])


def invite_card(text: str, code: str) -> Card:
    """An invitation or reminder, with a Start button (the campaign's code in its data)."""
    return card([words(text), action_set([submit(msg.START, f"{START}:{code}")])])


def reply_card(text: str, reply_id: int, chosen: str | None = None) -> Card:
    """A "we did" reply with its reaction buttons, the person's own choice ticked."""
    return card([words(text), action_set([submit(label, reaction_data(reply_id, kind))
                                          for kind, label in reaction_buttons(chosen)])])


def card_text(content: Card) -> str:
    """The words of a card, for the message's summary (what a notification shows)."""
    return "\n".join(str(b.get("text", "")) for b in content.get("body", []) if b.get("type") == "TextBlock")


def download_card(text: str, url: str) -> Card:
    """A report or export ready to download: what it is, and a button that opens the link in the browser."""
    return card([words(text), action_set([{"type": "Action.OpenUrl", "title": DOWNLOAD_BUTTON, "url": url}])])


ALERT_TEXT = "alert"  # the key under which an alert's Acknowledge button carries the alert's words back


def alert_card(text: str, ack_label: str, ack_data: str) -> Card:
    """A safeguarding alert in the lead's channel, with its Acknowledge button. The button carries the alert's words
    back, so the card can be redrawn as acknowledged by any process, with nothing kept in memory."""
    button = submit(ack_label, ack_data)
    button["data"][ALERT_TEXT] = text
    return card([words(text), action_set([button])])

