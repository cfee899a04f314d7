"""The commands a person can type ("/stop", "/delete", "/start CODE" ...): one table for every channel.

Each command's word, what it means (an engine event, or which use case it calls), and its help line live here once.
Channels read the table: Telegram registers an aiogram `Command` filter per row (bot.channels.telegram.handlers);
Slack, the web chat and the console look what a person typed up with `read`. A channel offers the rows its surface
has room for (the web chat has buttons to start with, so no /start) and says so with its own `offered` set; it
never spells a command's meaning again. The admin verbs and report commands are not here: they are set up per
deployment (bot.services.chat_admin, bot.reporting.delivery) and only admins and scrutineers use them.

Pure: standard library and the engine's events only, so email and Teams can read the same table.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Collection
from dataclasses import dataclass
from enum import Enum

from bot.engine.conversation import Back, Event, Resume, Skip, Stop


class Means(Enum):
    """What a command does: a step of the conversation (its `event`), or one use case of the service."""

    STEP = "step"  # the engine event in `Command.event`, through the service's `handle`
    BEGIN = "begin"  # start (or carry on) a survey: the code typed after it, else the one open or the default
    ERASE = "erase"  # delete their answers
    OPT_OUT = "opt_out"  # no more invitations or reminders
    JOIN = "join"  # choose groups (campaign tags)
    HELP = "help"  # how the channel works, in the channel's own words


@dataclass(frozen=True)
class Command:
    word: str  # as typed after the slash, in lower case
    means: Means
    help: str  # one line, for menus and help texts (youth-facing: plain and warm)
    only: str | None = None  # the one word that must follow ("stop all"); None: anything may follow
    event: Callable[[int | None], Event] | None = None  # Means.STEP: the engine event, for the question `turn`


def _turnless(make: Callable[[], Event]) -> Callable[[int | None], Event]:
    return lambda turn: make()


# In the order they are tried: "/stop all" before "/stop".
COMMANDS: tuple[Command, ...] = (
    Command("start", Means.BEGIN, "Start a survey (its code after the command)"),
    Command("help", Means.HELP, "How this works"),
    Command("delete", Means.ERASE, "Delete your answers"),
    Command("join", Means.JOIN, "Choose your groups, so the right surveys reach you"),
    Command("unsubscribe", Means.OPT_OUT, "Stop survey invitations and reminders"),
    Command("stop", Means.OPT_OUT, "Stop survey invitations and reminders", only="all"),
    Command("stop", Means.STEP, "Pause the survey", event=_turnless(Stop)),
    Command("resume", Means.STEP, "Carry on with your survey", event=_turnless(Resume)),
    Command("skip", Means.STEP, "Skip this question", event=Skip),
    Command("back", Means.STEP, "Go back to the last question", event=Back),
)
MENU = ("resume", "stop", "delete", "help")  # the commands a platform's menu lists (Telegram's "/" button), in order

_TYPED = re.compile(r"/(\w+)(?:\s+(.*))?", re.DOTALL)


@dataclass(frozen=True)
class Typed:
    """A command someone typed, with whatever followed its word."""

    command: Command
    args: str = ""

    @property
    def bare(self) -> bool:
        """Nothing followed the word: what the web chat and the console accept (they take "/stop now" as words)."""
        return not self.args

    def event(self, turn: int | None = None) -> Event:
        """The engine event of a Means.STEP command."""
        assert self.command.event is not None, f"/{self.command.word} is not a step"
        return self.command.event(turn)


def find(word: str, args: str = "", offered: Collection[str] | None = None) -> Typed | None:
    """The row `/word args` stands for (any case), among the `offered` words (None: all of them)."""
    word, args = word.lower(), args.strip()
    if offered is not None and word not in offered:
        return None
    for command in COMMANDS:
        if command.word == word and (command.only is None or command.only == args.lower()):
            return Typed(command, args)
    return None


def read(text: str, offered: Collection[str] | None = None) -> Typed | None:
    """The command a typed message is, or None when it is words (or a command this channel does not offer)."""
    match = _TYPED.fullmatch(text.strip())
    if match is None:
        return None
    return find(match[1], match[2] or "", offered)


def menu() -> tuple[Command, ...]:
    """The commands a platform's menu lists, with their help lines."""
    return tuple(next(c for c in COMMANDS if c.word == word and c.only is None) for word in MENU)
