"""How the web chat looks: engine effects drawn as HTML, and the page around them. Pure functions, no I/O.

One renderer serves both ways of using the page. Without JavaScript, every question is a real form that posts to
/s/CODE and the answer comes back as a whole page. With JavaScript (the usual way), chat.js posts the same forms as
JSON events to /s/CODE/api and inserts the fragments drawn here, so the markup a screen reader meets is the same
either way and lives in one place. The markup is in bot/templates/web/ (chat.html holds one macro per piece,
page.html and message.html the pages), autoescaped, so every piece of text is escaped there; this module chooses
what to draw and nothing else builds HTML.

Accessibility choices (WCAG 2.2 AA): each question is a heading with tabindex=-1, so the script can move focus to it
after an answer; options are real buttons (or real checkboxes, for multiple choice) grouped under the question;
typed answers have a visible label and their hint as a description; the progress is text, not only a bar.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from importlib import resources

from jinja2 import Template

from bot import templates
from bot.channels import web_words as words
from bot.engine import messages as msg
from bot.engine.conversation import Answered, Prompt
from bot.services.safeguarding.checkin import CheckIn

STATIC = "webstatic"
LONG_OPTION = 24  # options longer than this go one to a row, whatever the kind
BULLETS = ("• ", "- ", "* ")
Hidden = Sequence[tuple[str, str]]  # (name, value) of fields a form carries besides its own (see chat.html)


def static_file(name: str) -> bytes:
    """A file of the page's own (CSS, JavaScript, the icon), shipped in the package."""
    return resources.files("bot.channels").joinpath(STATIC, name).read_bytes()


def linked(text: str) -> str:
    """Text escaped for HTML, with Childline, 999 and Shout as links that call or text them."""
    return str(templates.helplines(text))


def _blocks(text: str) -> list[tuple[str, str | list[str]]]:
    """Plain text as blocks the template draws: one paragraph per line (survey files' paragraphs are one line each,
    see bot.services.surveyfiles.reflow), lines starting with a bullet as a list, a first line ending ":" as a lead."""
    parts: list[tuple[str, str | list[str]]] = []
    items: list[str] = []
    for line in text.strip().splitlines():
        line = line.strip()
        if line.startswith(BULLETS):
            items.append(line[2:])
            continue
        if items:
            parts.append(("list", items))
            items = []
        if line.endswith(":") and not parts:  # a heading line, such as "How we keep your answers:"
            parts.append(("lead", line))
        elif line:
            parts.append(("paragraph", line))
    if items:
        parts.append(("list", items))
    return parts


@functools.cache
def _chat() -> Template:
    """templates/web/chat.html, loaded on first use rather than on import: loading may write its compiled form to
    disk (bot.templates.KeptCompiled), and importing must write nothing."""
    return templates.ENVIRONMENT.get_template("web/chat.html", globals={"words": words, "msg": msg, "blocks": _blocks})


def _draw(macro: str, *args: object) -> str:
    """One piece of the chat, drawn by its macro in templates/web/chat.html, as a plain string for the JSON."""
    return str(getattr(_chat().module, macro)(*args))


def say(text: str, extra: str = "") -> str:
    """Something the survey says: a message bubble, with optional buttons (a `buttons_form`) under it."""
    return _draw("say", text, extra)


def notice(short: str, full: str) -> str:
    """The privacy notice on the first screen: its few most important words, and the whole of it one tap away
    (a native disclosure widget, so it opens by keyboard and is announced without any script)."""
    return _draw("notice", short, full)


def chose(label: str) -> str:
    """A button of the safeguarding check, said back as the young person's own bubble."""
    return _draw("chose", label)


def buttons_form(action: str, choices: list[tuple[str, str, str]], hidden: Hidden = ()) -> str:
    """A small form of buttons (value, label, style) under a message, e.g. Carry on, or the delete confirmation."""
    return _draw("buttons_form", action, choices, hidden)


def carry_on(action: str, hidden: Hidden = ()) -> str:
    return buttons_form(action, [("resume", words.CARRY_ON, "primary")], hidden)


def confirm_delete(action: str, hidden: Hidden = ()) -> str:
    return say(words.DELETE_SURE, buttons_form(action, [("delete-sure", words.DELETE_YES, "danger"),
                                                        ("keep", words.DELETE_NO, "secondary")], hidden))


def check_in(action: str, check: CheckIn, hidden: Hidden = ()) -> str:
    """The safeguarding check: its question and big buttons (each posts `care:...`), and on the contact step a box
    to type how a trusted adult can reach them. The first button is the calm default."""
    return _draw("check_in", action, check, hidden)


def _layout(prompt: Prompt) -> str:
    """Options side by side when they are few and short (scale, yes/no, consent), otherwise one to a row."""
    if prompt.kind == "scale":
        return "scale"
    side_by_side = prompt.kind in ("yesno", "consent") and all(len(o) <= LONG_OPTION for o in prompt.options)
    return "row" if side_by_side else "column"


def question(action: str, prompt: Prompt, kept: str = "", hidden: Hidden = ()) -> str:
    """A question as a form: progress, the question as a heading, its hint, then its options and controls. `kept`
    is the typed answer just refused (too long, say), put back in the box so nothing typed is lost. `hidden`: fields
    the form carries besides its own (the console's survey preview)."""
    turn = prompt.turn
    notes = []
    counted = prompt.max_length is not None and prompt.hint == msg.UP_TO.format(limit=prompt.max_length)
    if prompt.hint and not counted:  # the counter under the box says the limit already
        notes.append(("hint", f"h{turn}", prompt.hint))
    elif prompt.multiple:
        notes.append(("hint", f"h{turn}", words.TICK_ALL))
    if prompt.previous:
        notes.append(("previous", f"p{turn}", prompt.previous))
    described = " ".join(i for i, present in ((f"h{turn}", (prompt.hint and not counted) or prompt.multiple),
                                              (f"p{turn}", prompt.previous),
                                              (f"n{turn}", prompt.typed and prompt.max_length)) if present)
    return _draw("question", action, prompt, kept, notes, described, _layout(prompt), hidden)


def answered(effect: Answered) -> str:
    """A question once answered: its words, and the answer as the person's own bubble. No buttons are left."""
    return _draw("answered", effect)


def start_form(action: str) -> str:
    """What the page shows before the conversation is opened: the script opens it at once; without script, a
    button does."""
    return _draw("start_form", action)


def page(title: str, action: str, chat: str, *, assets: dict[str, str], status: str = "", started: bool = False,
         open_: bool = True, get_help: bool = False) -> str:
    """The whole chat page: the survey's title, the chat so far, live regions, and the controls at the bottom.

    `chat` is markup drawn by this module's pieces; `started` tells the script the conversation was opened already
    (a page answered to a form); `open_` whether there is a survey in progress to stop; `get_help` shows the Get help
    button (young people's surveys), so nobody has to know a word to type, or have a box to type it in."""
    return templates.render("web/page.html", words=words, title=title, action=action, chat=chat, status=status,
                            assets=assets, started=started, open_=open_, get_help=get_help)


def message_page(heading: str, text: str, *, assets: dict[str, str]) -> str:
    """A page with one message and no chat: the friendly 404, or a request we could not take."""
    return templates.render("web/message.html", words=words, heading=heading, text=text, assets=assets)
