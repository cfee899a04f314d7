"""What the web chat draws: the service's effects as the page gets them (each one's kind and its HTML).

The markup itself is bot.channels.webpage (Jinja2 templates, autoescaped); this module decides what to draw, in what
order, and how the page's words differ from the other channels' (its buttons stand for "/delete" and the HELP word).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from bot.channels import web_words as words
from bot.channels import webpage
from bot.engine import conversation as engine
from bot.engine import messages as msg
from bot.engine.conversation import Answered, Ask, Finish, Notice, Say, Update
from bot.services import notices
from bot.services.port import Shown
from bot.services.safeguarding.checkin import CheckIn

TYPED_HELP = re.compile(re.escape(notices.TYPE_HELP).replace(re.escape("{help}"), r"\S+"))


@dataclass(frozen=True)
class Confirm:
    """Ask before deleting: a message with Yes and No buttons (drawn by the page, not the engine)."""


@dataclass(frozen=True)
class Chose:
    """A button of the safeguarding check pressed, said back so the young person sees what they chose."""

    label: str


@dataclass(frozen=True)
class Result:
    effects: tuple[Shown | Confirm | Chose, ...]
    open: bool
    forget: bool = False  # the answers were deleted: drop the cookie as well


SAID_HERE = {msg.PAUSED: words.PAUSED, msg.STILL_PAUSED: words.STILL_PAUSED}


def for_this_page(notice: str) -> str:
    """The privacy notice, saying how to delete and get help with this page's buttons instead of typed words."""
    lines = []
    for line in notice.splitlines():
        if line.startswith(notices.TYPE_DELETE):
            line = line.replace(notices.TYPE_DELETE, words.DELETE_HOW, 1)
        elif TYPED_HELP.fullmatch(line):
            line = words.HOW_TO_GET_HELP
        lines.append(line)
    return "\n".join(lines)


def draw(effects: tuple[Shown | Confirm | Chose, ...], action: str, *, summary: str | None = None,
         kept: engine.Reply | None = None, hidden: webpage.Hidden = ()) -> list[dict[str, Any]]:
    """The effects as the page gets them: what each is, and its HTML. Stored-only effects are left out, and a
    passing note that repeats a message is dropped. With a `summary`, the privacy notice shows just that and folds
    the rest away; `kept` is a typed answer just refused, put back in the box of the question asked again. `hidden`:
    fields every form carries besides its own (the web console's survey preview, bot.console.surveys)."""
    said = {e.text for e in effects if isinstance(e, Say)}
    drawn: list[dict[str, Any]] = []
    for position, effect in enumerate(effects):
        following = effects[position + 1] if position + 1 < len(effects) else None
        if isinstance(effect, Say):
            text = SAID_HERE.get(effect.text, effect.text)
            extra = webpage.carry_on(action, hidden) if effect.text in SAID_HERE else ""
            if (isinstance(following, Ask) and following.prompt.kind == "consent"
                    and effect.text not in (msg.YES_OR_NO, words.WELCOME_BACK)):  # the privacy notice
                if summary is not None:  # the few words that matter first, the whole notice one tap away
                    full = f"{for_this_page(text)}\n{words.HOW_TO_STOP}"
                    drawn.append({"type": "say", "text": f"{summary}\n{full}", "html": webpage.notice(summary, full)})
                    continue
                text = f"{text}\n{words.HOW_TO_STOP}"  # how its "/delete" works here
            drawn.append({"type": "say", "text": text, "html": webpage.say(text, extra)})
        elif isinstance(effect, (Ask, Update)):
            prompt = effect.prompt
            drawn.append({"type": "ask" if isinstance(effect, Ask) else "update", "turn": prompt.turn,
                          "prompt": {"question_id": prompt.question_id, "kind": prompt.kind, "text": prompt.text,
                                     "number": prompt.number, "total": prompt.total,
                                     "options": list(prompt.options), "selected": list(prompt.selected),
                                     "optional": prompt.optional, "can_go_back": prompt.can_go_back},
                          "html": webpage.question(action, prompt, _kept(kept, prompt.turn), hidden)})
        elif isinstance(effect, Answered):
            drawn.append({"type": "answered", "turn": effect.turn, "question": effect.question,
                          "answer": effect.answer, "html": webpage.answered(effect)})
        elif isinstance(effect, Notice) and effect.text not in said:
            drawn.append({"type": "notice", "text": effect.text})
        elif isinstance(effect, Finish):
            drawn.append({"type": "finish", "completed": effect.completed})
        elif isinstance(effect, Chose):
            drawn.append({"type": "chose", "label": effect.label, "html": webpage.chose(effect.label)})
        elif isinstance(effect, Confirm):
            drawn.append({"type": "confirm", "html": webpage.confirm_delete(action, hidden)})
        elif isinstance(effect, CheckIn):
            drawn.append({"type": "check", "text": effect.text, "contact_box": effect.contact_box,
                          "choices": [{"label": c.label, "data": c.data} for c in effect.choices],
                          "html": webpage.check_in(action, effect, hidden)})
    return drawn


def _kept(refused: engine.Reply | None, turn: int) -> str:
    """The words to put back in the box of the question asked again for `turn` (a refused reply's words)."""
    return refused.text if refused is not None and refused.turn == turn else ""
