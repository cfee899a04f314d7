"""The console channel: a survey in the terminal, through the same engine and storage as the chat platforms.

Interactive for a survey author's preview; when standard input is not a terminal it reads one answer per line, so a
survey can be scripted. Lines starting with `/` are commands: /skip, /back, /stop, /resume, /delete, /help. A blank
line skips an optional question. Multiple choice takes numbers with commas between (1, 3).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TextIO

from bot.channels.port import Address
from bot.channels.text import prompt_text
from bot.engine import conversation as engine
from bot.engine.conversation import Ask, Effect, Notice, Say, Update
from bot.service import Outcome, SurveyService

HELP = ("Type your answer and press Enter. For options, type the number (or the words). For several, type numbers "
        "with commas between, like 1, 3.\nCommands: /skip  /back  /stop  /resume  /delete  /help")


class ConsoleChannel:
    def __init__(self, service: SurveyService, out: TextIO, echo: bool = False) -> None:
        self.service = service
        self.out = out
        self.echo = echo
        self.optional = False

    def run(self, address: Address, survey_id: str, lines: Iterable[str]) -> bool:
        """Take the survey; returns True when it was finished (or declined), False when input ran out first."""
        going = self.show(self.service.begin(address, survey_id))
        for raw in lines:
            line = raw.rstrip("\r\n")
            if self.echo:
                self.out.write(f"> {line}\n")
            command = line.strip().lower()
            if command == "/help":
                self.out.write(HELP + "\n")
                continue
            if command == "/delete":
                self.show(self.service.erase(address))
                return True
            if not going:  # finished already: only /delete and /help mean anything now
                return True
            going = self.show(self.service.handle(address, self.event(line)))
        if not going:
            return True
        self.out.write("\nInput ended before the survey was finished. Your answers so far are kept: run the same "
                       "command again to carry on.\n")
        return False

    def event(self, line: str) -> engine.Event:
        command = line.strip().lower()
        commands: dict[str, engine.Event] = {
            "/skip": engine.Skip(), "/back": engine.Back(), "/stop": engine.Stop(), "/resume": engine.Resume(),
        }
        if command in commands:
            return commands[command]
        if not command and self.optional:
            return engine.Skip()
        return engine.Reply(line)

    def show(self, outcome: Outcome) -> bool:
        """Print effects; returns False once the conversation is over."""
        for effect in outcome.effects:
            self.render(effect)
        self.out.flush()
        return outcome.open

    def render(self, effect: Effect) -> None:
        if isinstance(effect, (Ask, Update)):
            prompt = effect.prompt
            self.optional = prompt.optional
            controls = ["/skip" if prompt.optional else "", "/back" if prompt.can_go_back else ""]
            extra = "  ".join(c for c in controls if c)
            self.out.write("\n" + prompt_text(prompt, numbered=True) + "\n" + (f"[{extra}]\n" if extra else ""))
        elif isinstance(effect, Say):
            self.out.write("\n" + effect.text.strip() + "\n")
        elif isinstance(effect, Notice):
            self.out.write(f"({effect.text})\n")
