"""The console channel: a survey in the terminal, through the same engine and storage as the chat platforms.

Interactive for a survey author's preview; when standard input is not a terminal it reads one answer per line, so a
survey can be scripted. Lines starting with `/` are commands: /skip, /back, /stop, /resume, /delete, /help. A blank
line skips an optional question. Multiple choice takes numbers with commas between (1, 3). Typed answers go through
the safeguarding check first (bot.services.safeguarding), so an author sees the gentle check as a young person would;
its
buttons are numbered, and the next line picks one.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TextIO

from bot.channels.port import Address
from bot.channels.text import prompt_text
from bot.engine import commands
from bot.engine import conversation as engine
from bot.engine.commands import Means
from bot.engine.conversation import Ask, Notice, Say, Update
from bot.services.port import ChatService, Outcome, Shown
from bot.services.safeguarding import checkin
from bot.services.safeguarding.checkin import CheckIn

HELP = ("Type your answer and press Enter. For options, type the number (or the words). For several, type numbers "
        "with commas between, like 1, 3.\nCommands: /skip  /back  /stop  /resume  /delete  /help")
OFFERED = frozenset({"skip", "back", "stop", "resume", "delete", "help"})  # the rows of bot.engine.commands it takes


class ConsoleChannel:
    def __init__(self, service: ChatService, out: TextIO, echo: bool = False) -> None:
        self.service = service
        self.out = out
        self.echo = echo
        self.optional = False
        self.check: CheckIn | None = None  # the safeguarding check shown last, whose buttons the next line picks

    def run(self, address: Address, survey_id: str, lines: Iterable[str]) -> bool:
        """Take the survey; returns True when it was finished (or declined), False when input ran out first."""
        going = self.show(self.service.begin(address, survey_id))
        for raw in lines:
            line = raw.rstrip("\r\n")
            if self.echo:
                self.out.write(f"> {line}\n")
            typed = commands.read(line, OFFERED)
            command = typed.command.means if typed is not None and typed.bare else None
            if command is Means.HELP:
                self.out.write(HELP + "\n")
                continue
            if command is Means.ERASE:
                self.show(self.service.erase(address))
                return True
            press = self.pressed(line)
            if press is not None:
                going = self.show(self.service.care(address, press))
                continue
            if not going:  # finished already: only /delete and /help mean anything now
                return True
            event = self.event(line)
            if isinstance(event, engine.Reply):  # the safeguarding check first, in the service's one entry
                going = self.show(self.service.reply(address, event.text, None, None, False))
            else:
                going = self.show(self.service.handle(address, event))
        if not going:
            return True
        self.out.write("\nInput ended before the survey was finished. Your answers so far are kept: run the same "
                       "command again to carry on.\n")
        return False

    def pressed(self, line: str) -> checkin.Press | None:
        """A number picking one of the check's buttons (the check is then over), or None."""
        check, self.check = self.check, None
        word = line.strip()
        if check is None or not (word.isascii() and word.isdigit()) or not 1 <= int(word) <= len(check.choices):
            return None
        return checkin.decode(check.choices[int(word) - 1].data)

    def event(self, line: str) -> engine.Event:
        """A step command (bot.engine.commands), a blank line on an optional question (Skip), or typed words."""
        typed = commands.read(line, OFFERED)
        if typed is not None and typed.bare and typed.command.means is Means.STEP:
            return typed.event()
        if not line.strip() and self.optional:
            return engine.Skip()
        return engine.Reply(line)

    def show(self, outcome: Outcome) -> bool:
        """Print effects; returns False once the conversation is over."""
        for effect in outcome.effects:
            self.render(effect)
        self.out.flush()
        return outcome.open

    def render(self, effect: Shown) -> None:
        if isinstance(effect, CheckIn):
            self.check = effect
            options = "\n".join(f"{i}. {choice.label}" for i, choice in enumerate(effect.choices, start=1))
            self.out.write(f"\n{effect.text}\n{options}\n")
        elif isinstance(effect, (Ask, Update)):
            prompt = effect.prompt
            self.optional = prompt.optional
            controls = ["/skip" if prompt.optional else "", "/back" if prompt.can_go_back else ""]
            extra = "  ".join(c for c in controls if c)
            self.out.write("\n" + prompt_text(prompt, numbered=True) + "\n" + (f"[{extra}]\n" if extra else ""))
        elif isinstance(effect, Say):
            self.out.write("\n" + effect.text.strip() + "\n")
        elif isinstance(effect, Notice):
            self.out.write(f"({effect.text})\n")
