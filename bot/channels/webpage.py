"""How the web chat looks: engine effects drawn as HTML, and the page around them. Pure functions, no I/O.

One renderer serves both ways of using the page. Without JavaScript, every question is a real form that posts to
/s/CODE and the answer comes back as a whole page. With JavaScript (the usual way), chat.js posts the same forms as
JSON events to /s/CODE/api and inserts the fragments drawn here, so the markup a screen reader meets is the same
either way and lives in one place. Every piece of text is escaped here; nothing else builds HTML.

Accessibility choices (WCAG 2.2 AA): each question is a heading with tabindex=-1, so the script can move focus to it
after an answer; options are real buttons (or real checkboxes, for multiple choice) grouped under the question;
typed answers have a visible label and their hint as a description; the progress is text, not only a bar.
"""

from __future__ import annotations

import re
from html import escape
from importlib import resources
from string import Template

from bot.channels import web_words as words
from bot.engine import messages as msg
from bot.engine.conversation import Answered, Prompt
from bot.safeguarding.checkin import CheckIn

STATIC = "webstatic"
LONG_OPTION = 24  # options longer than this go one to a row, whatever the kind
BULLETS = ("• ", "- ", "* ")
# The helplines our messages and the shipped surveys name, as links a phone can call or text with one tap. Matched in
# escaped text, so the patterns never meet markup; the words themselves stay as they were written.
HELPLINES = (
    (re.compile(r"\btext SHOUT to 85258\b"), "sms:85258?&amp;body=SHOUT"),
    (re.compile(r"\b0800 ?1111\b"), "tel:08001111"),
    (re.compile(r"(?<!\d)(?<!\d )\b999\b(?! ?\d)"), "tel:999"),
)


def static_file(name: str) -> bytes:
    """A file of the page's own (CSS, JavaScript, the HTML template), shipped in the package."""
    return resources.files("bot.channels").joinpath(STATIC, name).read_bytes()


def linked(text: str) -> str:
    """Text escaped for HTML, with Childline, 999 and Shout as links that call or text them."""
    html = escape(text)
    for pattern, href in HELPLINES:
        html = pattern.sub(lambda found, href=href: f'<a href="{href}">{found[0]}</a>', html)
    return html


def _paragraphs(text: str) -> str:
    """Plain text as HTML: one paragraph per line (survey files' paragraphs are one line each, see
    bot.surveyfiles.reflow), and lines starting with a bullet as a list."""
    parts: list[str] = []
    items: list[str] = []
    for line in text.strip().splitlines():
        line = line.strip()
        if line.startswith(BULLETS):
            items.append(f"<li>{linked(line[2:])}</li>")
            continue
        if items:
            parts.append(f"<ul>{''.join(items)}</ul>")
            items = []
        if line.endswith(":") and not parts:  # a heading line, such as "How we keep your answers:"
            parts.append(f'<p class="lead">{linked(line)}</p>')
        elif line:
            parts.append(f"<p>{linked(line)}</p>")
    if items:
        parts.append(f"<ul>{''.join(items)}</ul>")
    return "".join(parts)


def say(text: str, extra: str = "") -> str:
    """Something the survey says: a message bubble, with optional buttons under it."""
    return f'<div class="msg bot">{_paragraphs(text)}{extra}</div>'


def notice(short: str, full: str) -> str:
    """The privacy notice on the first screen: its few most important words, and the whole of it one tap away
    (a native disclosure widget, so it opens by keyboard and is announced without any script)."""
    return (f'<div class="msg bot notice">{_paragraphs(short)}<details><summary>{escape(words.MORE_ABOUT_PRIVACY)}'
            f"</summary>{_paragraphs(full)}</details></div>")


def chose(label: str) -> str:
    """A button of the safeguarding check, said back as the young person's own bubble."""
    return f'<div class="msg mine"><p>{escape(words.YOU_CHOSE.format(label=label))}</p></div>'


def buttons_form(action: str, choices: list[tuple[str, str, str]]) -> str:
    """A small form of buttons (value, label, style) under a message, e.g. Carry on, or the delete confirmation."""
    inner = "".join(f'<button type="submit" name="do" value="{escape(value)}" class="{escape(style)}">'
                    f"{escape(label)}</button>" for value, label, style in choices)
    return f'<form method="post" action="{escape(action)}" class="act"><div class="row">{inner}</div></form>'


def carry_on(action: str) -> str:
    return buttons_form(action, [("resume", words.CARRY_ON, "primary")])


def confirm_delete(action: str) -> str:
    return say(words.DELETE_SURE, buttons_form(action, [("delete-sure", words.DELETE_YES, "danger"),
                                                        ("keep", words.DELETE_NO, "secondary")]))


def check_in(action: str, check: CheckIn) -> str:
    """The safeguarding check: its question and big buttons (each posts `care:...`), and on the contact step a box
    to type how a trusted adult can reach them. The first button is the calm default."""
    box = ""
    if check.contact_box:
        box = (f'<label for="care-contact" class="label">{escape(words.CARE_CONTACT_LABEL)}</label>'
               '<textarea id="care-contact" name="text" rows="2" autocomplete="off"></textarea>')
    inner = "".join(f'<button type="submit" name="do" value="{escape(choice.data)}" '
                    f'class="{"primary" if i == 0 else "option"}">{escape(choice.label)}</button>'
                    for i, choice in enumerate(check.choices))
    return (f'<div class="msg bot check">{_paragraphs(check.text)}<form method="post" action="{escape(action)}" '
            f'class="act care">{box}<div class="column">{inner}</div></form></div>')


def _option_buttons(prompt: Prompt) -> str:
    side_by_side = prompt.kind in ("scale", "yesno", "consent") and all(len(o) <= LONG_OPTION for o in prompt.options)
    items = []
    last = len(prompt.options) - 1
    for index, option in enumerate(prompt.options):
        label = escape(option)
        if prompt.kind == "scale" and index in (0, last):
            end = prompt.low_label if index == 0 else prompt.high_label
            if end:
                spoken = words.SCALE_END.format(number=option, label=end)
                label = f'<span aria-hidden="true">{label}</span><span class="sr">{escape(spoken)}</span>'
        style = "primary" if prompt.kind == "consent" and index == 0 else "option"
        items.append(f'<button type="submit" name="do" value="pick:{index}" class="{style}">{label}</button>')
    layout = "row" if side_by_side else "column"
    if prompt.kind == "scale":
        layout = "scale"
    group = f'<div class="{layout}" role="group" aria-labelledby="q{prompt.turn}">{"".join(items)}</div>'
    if prompt.kind == "scale" and (prompt.low_label or prompt.high_label):
        group += (f'<div class="ends" aria-hidden="true"><span>{escape(prompt.low_label or "")}</span>'
                  f'<span>{escape(prompt.high_label or "")}</span></div>')
    return group


def _ticks(prompt: Prompt, described: str) -> str:
    boxes = []
    for index, option in enumerate(prompt.options):
        checked = " checked" if index in prompt.selected else ""
        boxes.append(f'<label class="tick"><input type="checkbox" name="tick" value="{index}"{checked}>'
                     f"<span>{escape(option)}</span></label>")
    return (f'<fieldset class="ticks"{described}><legend class="sr">{_heading(prompt)}</legend>'
            f'{"".join(boxes)}</fieldset>'
            f'<button type="submit" name="do" value="done" class="primary">{escape(words.DONE)}</button>')


def _heading(prompt: Prompt) -> str:
    """The question's words, saying "(optional)" when it can be skipped."""
    if not prompt.optional:
        return escape(prompt.text)
    return f'{escape(prompt.text)} <span class="optional">{escape(msg.OPTIONAL)}</span>'


def _typed(prompt: Prompt, described: str, kept: str) -> str:
    """A box to type in. Words are limited by `maxlength` (the browser stops at the limit), the limit is shown before
    typing and counted down while typing (chat.js), and `kept` puts back words the server could not take."""
    field_id = f"a{prompt.turn}"
    counter = ""
    if prompt.kind == "number":
        box = (f'<input id="{field_id}" name="text" type="text" inputmode="decimal" autocomplete="off" '
               f'spellcheck="false" value="{escape(kept)}"{described}>')
    else:
        limit = ""
        if prompt.max_length:
            limit = f' maxlength="{prompt.max_length}"'
            counter = (f'<p class="count" id="n{prompt.turn}" data-limit="{prompt.max_length}" '
                       f'data-left="{escape(words.CHARACTERS_LEFT)}" data-full="{escape(words.AT_THE_LIMIT)}" '
                       f'data-over="{escape(words.OVER_THE_LIMIT)}">'
                       f"{escape(msg.UP_TO.format(limit=prompt.max_length))}</p>")
        box = (f'<textarea id="{field_id}" name="text" rows="3" autocomplete="off"{limit}{described}>'
               f"{escape(kept)}</textarea>{counter}")
    return (f'<label for="{field_id}" class="label">{escape(words.YOUR_ANSWER)}</label>{box}'
            f'<button type="submit" name="do" value="send" class="primary">{escape(words.SEND)}</button>')


def question(action: str, prompt: Prompt, kept: str = "") -> str:
    """A question as a form: progress, the question as a heading, its hint, then its options and controls. `kept`
    is the typed answer just refused (too long, say), put back in the box so nothing typed is lost."""
    turn = prompt.turn
    head = ""
    if prompt.total:
        shown = words.QUESTION_OF.format(number=prompt.number, total=prompt.total)
        head = (f'<p class="progress">{escape(shown)}</p>'
                f'<progress value="{prompt.number - 1}" max="{prompt.total}" aria-hidden="true"></progress>')
    notes = []
    counted = prompt.max_length is not None and prompt.hint == msg.UP_TO.format(limit=prompt.max_length)
    if prompt.hint and not counted:  # the counter under the box says the limit already
        notes.append(f'<p class="hint" id="h{turn}">{escape(prompt.hint)}</p>')
    elif prompt.multiple:
        notes.append(f'<p class="hint" id="h{turn}">{escape(words.TICK_ALL)}</p>')
    if prompt.previous:
        notes.append(f'<p class="previous" id="p{turn}">{escape(prompt.previous)}</p>')
    described_ids = " ".join(i for i, present in ((f"h{turn}", (prompt.hint and not counted) or prompt.multiple),
                                                   (f"p{turn}", prompt.previous),
                                                   (f"n{turn}", prompt.typed and prompt.max_length)) if present)
    described = f' aria-describedby="{described_ids}"' if described_ids else ""
    if prompt.multiple:
        body = _ticks(prompt, described)
    elif prompt.typed:
        body = _typed(prompt, described, kept)
    else:
        body = _option_buttons(prompt)
    controls = []
    if prompt.can_go_back:
        controls.append(f'<button type="submit" name="do" value="back" class="secondary">'
                        f'<span aria-hidden="true">← </span>{escape(words.BACK)}</button>')
    if prompt.optional:
        controls.append(f'<button type="submit" name="do" value="skip" class="secondary">{escape(words.SKIP)}'
                        '<span aria-hidden="true"> →</span></button>')
    control_row = f'<div class="row controls">{"".join(controls)}</div>' if controls else ""
    return (f'<div class="msg question" data-turn="{turn}">'
            f'<form method="post" action="{escape(action)}" class="ask" novalidate>'
            f'<input type="hidden" name="turn" value="{turn}">{head}'
            f'<h2 id="q{turn}" tabindex="-1">{_heading(prompt)}</h2>{"".join(notes)}{body}{control_row}'
            "</form></div>")


def answered(effect: Answered) -> str:
    """A question once answered: its words, and the answer as the person's own bubble. No buttons are left."""
    return (f'<div class="msg question answered" data-turn="{effect.turn}">'
            f'<h2 id="q{effect.turn}" tabindex="-1">{escape(effect.question)}</h2></div>'
            f'<div class="msg mine"><p>{escape(words.YOU_SAID.format(answer=effect.answer))}</p></div>')


def start_form(action: str) -> str:
    """What the page shows before the conversation is opened: the script opens it at once; without script, a
    button does."""
    return (f'<div class="msg bot" id="opener"><form method="post" action="{escape(action)}" class="act">'
            f'<button type="submit" name="do" value="open" class="primary">{escape(words.START)}</button>'
            "</form></div>")


def page(title: str, action: str, chat: str, *, assets: dict[str, str], status: str = "", started: bool = False,
         open_: bool = True, get_help: bool = False) -> str:
    """The whole chat page: the survey's title, the chat so far, live regions, and the controls at the bottom.

    `started` tells the script the conversation was opened already (a page answered to a form); `open_` whether
    there is a survey in progress to stop; `get_help` shows the Get help button (young people's surveys), so
    nobody has to know a word to type, or have a box to type it in."""
    stop = "" if open_ else " hidden"
    template = Template(static_file("page.html").decode("utf-8"))
    return template.substitute(
        lang=words.LANGUAGE, title=escape(title), action=escape(action), chat=chat, status=escape(status),
        css=escape(assets["chat.css"]), js=escape(assets["chat.js"]), icon=escape(assets["icon.svg"]), stop_hidden=stop,
        skip_link=escape(words.SKIP_TO_CHAT), no_login=escape(words.NO_LOGIN), chat_label=escape(words.CHAT_LABEL),
        no_script=escape(words.NO_SCRIPT), stop=escape(words.STOP), delete=escape(words.DELETE),
        started="true" if started else "false", sending=escape(words.SENDING), try_again=escape(words.TRY_AGAIN),
        slow_down=escape(words.SLOW_DOWN), cookies_off=escape(words.COOKIES_OFF),
        get_help=escape(words.GET_HELP), help_hidden="" if get_help else " hidden",
    )


def message_page(heading: str, text: str, *, assets: dict[str, str]) -> str:
    """A page with one message and no chat: the friendly 404, or a request we could not take."""
    template = Template(static_file("message.html").decode("utf-8"))
    return template.substitute(lang=words.LANGUAGE, heading=escape(heading), text=escape(text),
                               css=escape(assets["chat.css"]), icon=escape(assets["icon.svg"]))
