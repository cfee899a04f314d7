"""Every sentence the engine itself says, in one place.

Kept together so they can be read, reviewed and checked for plain, warm language as a whole (young people see all of
them), and so no wording hides inside the logic.
"""

from __future__ import annotations

CONSENT_QUESTION = "Are you happy to start?"
CONSENT_YES = "Yes, let's start"
CONSENT_NO = "Not now"
DECLINED = "That's fine. Nothing has been saved. You can come back any time."

CHOOSE_ONE = "Please pick one of the options. You can tap a button or type its number."
CHOOSE_SOME = "Please pick from the options. Type their numbers with commas between, like 1, 3."
CHOOSE_AT_LEAST_ONE = "Please tick at least one option, then press Done."
SCALE_RANGE = "Please choose a number from {low} to {high}."
YES_OR_NO = "Please answer Yes or No."
WHOLE_NUMBER = "Please type a whole number from {low} to {high}."
ANY_NUMBER = "Please type a number from {low} to {high}."
EMPTY_TEXT = "Please type your answer in a message."
TOO_LONG = "That is {length} characters long. This question takes up to {limit}. Could you make it a bit shorter?"
CANNOT_SKIP = "This question needs an answer, so it can't be skipped."
FIRST_QUESTION = "This is the first question, so there is nothing to go back to."
ALREADY_ANSWERED = "That question has been answered already."
NOT_A_BUTTON_QUESTION = "Please type your answer in a message."

RIGHT = "That's right."
NOT_QUITE = "Not quite. The answer is: {correct}."
OTHER_PROMPT = "You chose \"Other\". Please tell us in a few words."
PREVIOUS_ANSWER = "Your answer was: {answer}"
SKIPPED = "(skipped)"

PAUSED = "Paused. Your answers so far are kept. Send /resume when you want to carry on."
STILL_PAUSED = "This survey is paused. Send /resume to carry on where you left off."
ALREADY_FINISHED = "You have already finished this survey. Thank you!"

NO_SURVEY_OPEN = "You have no survey open just now. If someone sent you a link or a code, use that to start one."
UNKNOWN_SURVEY = "Sorry, I can't find that survey. Please check the link or code you were given."
SURVEY_GONE = "Sorry, this survey is no longer running, so it can't be carried on."
SURVEY_CLOSED = "Sorry, this survey has closed, so no more answers can be taken."
ERASED = "Done. Your answers to {titles} have been deleted."
NOTHING_TO_ERASE = "There are no answers of yours that can still be deleted."
ANONYMOUS_NOW = "Your answers can't be linked to you any more, so they are anonymous and can't be picked out to delete."

INVITATION = ("Hello! The safeguarding partnership would like to hear from you: “{title}”. "
              "It only takes a few minutes, and your answers are kept without your name. It is open until {closes}.")
REMINDER = ("A gentle reminder: “{title}” is open until {closes}. If you would like to take part, tap Start. "
            "If not, that is fine.")
START = "Start"
NOT_OPEN_YET = "This survey opens on {opens}. Please come back then."
OPTED_OUT = ("Done. We won't send you any more survey invitations. You can still start a survey from a link "
             "you are given.")

JOIN_CHOICES = ("You can choose the groups that fit you, so the right surveys reach you: {choices}. "
                "For example: {example}")
JOINED = "Thanks. You are in these groups now: {tags}."
JOIN_UNKNOWN = "Sorry, there is no group called “{tag}”. The groups are: {choices}."
JOIN_OFF = "Choosing groups is not switched on here."

# --- You said, we did: everything a young person sees from bot.yousaid ------------------------------------------------
# One group, so the youth-message registry and the reading-level check can take all of it at once.
YOUSAID_THANKS = "Thank you for telling us. We read every message. We will tell you what we did about it."
YOUSAID_REPLY = "You said: {theme}\nWe did: {text}\nWhere it is now: {status}"
YOUSAID_STATUS = {
    "heard": "We have heard you.",
    "planned": "We have a plan.",
    "in-progress": "We are working on it.",
    "done": "It is done.",
}
YOUSAID_REACTIONS = {"helps": "This helps", "not-really": "Not really", "more": "Tell me more"}
YOUSAID_REACTED = "Thank you. We have got your answer."
YOUSAID_TELL_ME_MORE = ("Thank you for asking. We will share more soon. "
                        "You can also send us a message here at any time.")
YOUSAID_NOT_FOR_YOU = "Sorry, this button is not for you."
YOUSAID_MESSAGES = (YOUSAID_THANKS, YOUSAID_REPLY, *YOUSAID_STATUS.values(), *YOUSAID_REACTIONS.values(),
                    YOUSAID_REACTED, YOUSAID_TELL_ME_MORE, YOUSAID_NOT_FOR_YOU)
