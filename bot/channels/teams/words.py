"""Everything the Teams channel itself says to people; the rest comes from the engine's messages and the surveys.

Kept apart from the card builders so the wording can be read (and checked for plain, kind language by
tests/test_language.py through bot.engine.messages.YOUTH_FACING_ELSEWHERE) in one place.
"""

from __future__ import annotations

HELP = (
    "I run short surveys for the safeguarding partnership. Press the buttons on each question, or type your answer "
    "as a message.\n"
    "/start CODE starts the survey with that code\n"
    "/resume carries on where you left off\n"
    "/stop pauses it, keeping your answers so far\n"
    "/delete deletes your answers to the survey\n"
    "/join shows the groups you can choose, so the right surveys reach you\n"
    "/stop all stops survey invitations and reminders\n"
    "/help shows this message\n"
    "/signin, /campaigns, /status CODE, /report, /export and /evidence (admins and scrutineers) work here too\n"
    "The commands work without the / too, when the message is just the command.\n"
    "Your answers are stored without your name or Teams account."
)
WELCOME = ("Hello! I'm the partnership's survey bot. When a survey is ready for you, it will arrive here. "
           "Type /help at any time to see how it works.")
COMMANDS_HINT = "Type /stop to pause, /resume to carry on, and /delete to delete your answers."
TYPE_HERE = "Type your answer as a message here."
RESUME_BUTTON = "Resume"
TICK_LABEL = "Choose all that apply"
EDIT_HINT = "I keep the first version of each answer. To change an answer, press ← Back on the question."
FILE_HINT = "I can only read typed words and button presses, so files and pictures aren't saved. Please type instead."
PERSONAL_HINT = "Surveys happen in a private chat. Please send me a direct message."
STALE_BUTTON = "That button no longer works. Your answers so far are safe."
SORRY = "Sorry, something went wrong on our side. Your answers so far are safe. Please try again in a moment."
DOWNLOAD_READY = ("Here is {what}. Open the link within {minutes} minutes to download it. Please don't forward it: "
                  "anyone with the link can download the file until then, and every download is recorded.")
DOWNLOAD_BUTTON = "Download"
DOWNLOAD_TITLE = "Your download"
DOWNLOAD_PAGE = ("This is {what}, which you asked for in Microsoft Teams. Press Download to save it. Keep it safe: "
                 "exports are record-level evidence.")
