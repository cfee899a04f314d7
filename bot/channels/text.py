"""Plain-text rendering of engine prompts, shared by every channel that shows text (console, Telegram, Slack)."""

from __future__ import annotations

from bot.engine import messages as msg
from bot.engine.conversation import Prompt

TICK, BOX = "☑", "☐"


def prompt_text(prompt: Prompt, numbered: bool = False) -> str:
    """The question as a message: progress, wording, hint, the previous answer when going back, and options when
    they are typed rather than tapped (`numbered`)."""
    lines = []
    head = f"({prompt.progress}) " if prompt.progress else ""
    lines.append(f"{head}{prompt.text} {msg.OPTIONAL}" if prompt.optional else f"{head}{prompt.text}")
    if prompt.low_label or prompt.high_label:
        low, high = prompt.options[0], prompt.options[-1]
        lines.append(f"{low} = {prompt.low_label or ''}   {high} = {prompt.high_label or ''}".strip())
    if prompt.hint:
        lines.append(prompt.hint)
    if prompt.previous:
        lines.append(prompt.previous)
    if numbered and prompt.kind == "scale":
        lines.append(f"Type a number from {prompt.options[0]} to {prompt.options[-1]}.")
    elif numbered and prompt.options:
        for index, option in enumerate(prompt.options, start=1):
            mark = f"{TICK if index - 1 in prompt.selected else BOX} " if prompt.multiple else ""
            lines.append(f"  {index}. {mark}{option}")
    return "\n".join(lines)


def option_label(prompt: Prompt, index: int) -> str:
    """A button's label: ticked or not for multiple choice."""
    option = prompt.options[index]
    if prompt.multiple:
        return f"{TICK if index in prompt.selected else BOX} {option}"
    return option
