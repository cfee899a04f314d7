"""What the Telegram channel itself says to people (the survey's own words live in bot.engine.messages).

bot.engine.messages checks these for plain, warm language along with every other youth-facing message.
"""

from __future__ import annotations

from aiogram.types import BotCommand

from bot.engine import commands

HELP = (
    "I run short surveys for the safeguarding partnership. Tap the buttons or type your answer.\n"
    "/resume carries on where you left off\n"
    "/stop pauses (your answers so far are kept)\n"
    "/delete removes your answers to the survey\n"
    "/join shows the groups you can choose, so the right surveys reach you\n"
    "/stop all stops survey invitations and reminders\n"
    "/help shows this message\n"
    "Your answers are stored without your name or Telegram account."
)
HINT_TYPED = "I can only read typed words and button taps. Please type your answer, or tap a button."
HINT_EDITED = "I keep the first version of each answer. To change an answer, tap Back."
HINT_PRIVATE = "Surveys happen in a private chat. Please send me a direct message."
STALE_BUTTON = "That button no longer works."
SORRY = "Sorry, something went wrong on our side. Your answers so far are safe. Please try again in a moment."
COMMANDS = [BotCommand(command=c.word, description=c.help) for c in commands.menu()]  # the "/" menu
