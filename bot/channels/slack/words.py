"""Everything the Slack channel itself says to people; the rest comes from the engine's messages and the surveys.

Kept apart from the Block Kit builders so the wording can be read (and checked for plain, kind language by
tests/test_language.py through bot.engine.messages.YOUTH_FACING_ELSEWHERE) in one place.
"""

from __future__ import annotations

COMMAND = "/survey"
HELP = (
    "Here is how the survey bot works:\n"
    "• /survey start CODE  starts the survey with that code\n"
    "• /survey stop  pauses it, keeping your answers so far\n"
    "• /survey resume  carries on where you left off\n"
    "• /survey delete  deletes your answers\n"
    "• /survey stop all  stops survey invitations and reminders\n"
    "• /survey join  shows the groups you can choose, so the right surveys reach you\n"
    "• /survey report|export|evidence SURVEY  (scrutineers and admins) sends you the file here\n"
    "Answer with the buttons, or by typing a message in our chat. Skip leaves a question out, and Back lets you "
    "change your last answer."
)
COMMANDS_HINT = ("In Slack, type /survey stop to pause, /survey resume to carry on, and /survey delete to delete "
                 "your answers.")
START_WHICH = "Which survey would you like? Type /survey start and its code. The codes are: {codes}."
DM_HINT = "I've sent you a direct message. The survey happens there, where only you can see it."
EDIT_HINT = "I can't see changes to a message once it's sent. To change an answer, press ← Back on the question."
FILE_HINT = "I can only read typed answers, so files and pictures aren't saved. Please type your answer instead."
TYPE_HERE = "Type your answer as a message here, or press “Type my answer”."
ANSWER_BUTTON = "Type my answer"
RESUME_BUTTON = "Resume"
START_BUTTON = "Start"
MODAL_TITLE = "Your answer"
MODAL_SUBMIT = "Send"
MODAL_CANCEL = "Cancel"
HOME_TITLE = "Your surveys"
HOME_IN_PROGRESS = "In progress: {title}"
HOME_NONE = "There are no surveys to take just now."
