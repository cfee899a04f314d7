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
PASSED_OVER = ("You have seen the answer to the check question, so your first answer to it stays. "
               "Here is the question before it.")
ANSWER_STAYS = ("You have seen the answer to the check question, so your first answer to it stays. "
                "There is nothing before it that you can change.")
OTHER_PROMPT = "You chose \"Other\". Please tell us in a few words."
PREVIOUS_ANSWER = "Your answer was: {answer}"
SKIPPED = "(skipped)"
UP_TO = "Up to {limit} characters."
OPTIONAL = "(optional)"  # after an optional question's words, so nobody has to find out by trying
SOMETHING_ELSE = "something else"  # "Other, please say" in a ticked list said back: "A and something else"

PAUSED = "Paused. Your answers so far are kept. Send /resume when you want to carry on."
STILL_PAUSED = "This survey is paused. Send /resume to carry on where you left off."
ALREADY_FINISHED = "You have already finished this survey. Thank you!"

NO_SURVEY_OPEN = "You have no survey open just now. If someone sent you a link or a code, use that to start one."
UNKNOWN_SURVEY = "Sorry, I can't find that survey. Please check the link or code you were given."
SURVEY_GONE = "Sorry, this survey is no longer running, so it can't be carried on."
SURVEY_CLOSED = "Sorry, this survey has closed, so no more answers can be taken."
ERASED = "Done. Your answers to {titles} have been deleted."
NOTHING_TO_ERASE = "There are no answers of yours that can still be deleted."
ANONYMOUS_NOW = "Your answers are anonymous now. Nobody can tell which ones are yours, so they can't be deleted."

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

# --- You said, we did: everything a young person sees from bot.services.yousaid
# ------------------------------------------------
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
YOUSAID_ALREADY = "You chose that one already, so nothing has changed. Thank you!"
YOUSAID_NOT_FOR_YOU = "Sorry, this button is not for you."
YOUSAID_MESSAGES = (YOUSAID_THANKS, YOUSAID_REPLY, *YOUSAID_STATUS.values(), *YOUSAID_REACTIONS.values(),
                    YOUSAID_REACTED, YOUSAID_TELL_ME_MORE, YOUSAID_ALREADY, YOUSAID_NOT_FOR_YOU)

# Safeguarding (bot.services.safeguarding): the gentle check when a young person's words suggest they may not be safe,
# or
# they type the HELP word. Warm, short, no questions about what happened.
REMOVED_FOR_SAFETY = "[removed for safety]"  # stored instead of the words, with the category after it
REMOVED_SHOWN = "(not kept, to keep you safe)"  # shown back on the question instead of the words
CARE_HEARD = "Thank you for telling me. I want to check you are OK."
CARE_HELP_WORD = "I am here. Let's check you are OK."
CARE_SIGNPOST = ("If you want to talk to someone now:\n"
                 "• Childline: call 0800 1111. It is free, any time.\n"
                 "• If you are in danger now, call 999.\n"
                 "• Shout: text SHOUT to 85258.\n"
                 "Nobody watches this chat live, so please use one of these if you need help now.")
CARE_ASK = "Are you OK?"
CARE_OK = "I'm OK, carry on"
CARE_HELP = "I'd like some help"
CARE_ADULT = "Talk to an adult"
CARE_CONSENT = ("Would you like {who} to get in touch with you? We will only tell them who you are if you say yes.")
CARE_YES = "Yes, please"
CARE_NO = "No, thanks"
CARE_ASK_CONTACT = ("How can they reach you? Type a phone number or an email, or the name of an adult you trust. "
                    "We only pass it on. We don't keep it.")
CARE_SEND = "Send"
CARE_RATHER_NOT = "I'd rather not"
CARE_SHARED = "Thank you. We have told {who}. They will get in touch with you soon. If you are in danger now, call 999."
CARE_NOT_SHARED = "That's OK. We have not told anyone who you are. You can call Childline on 0800 1111 at any time."
CARE_NO_ROUTE = ("Sorry, we can't pass on your details from here. Please call Childline on 0800 1111. It is free. "
                 "If you are in danger now, call 999.")
CARE_CARRY_ON = "OK. Let's carry on."
CARE_ALL_DONE = "OK. Thank you. You can type {help} at any time if you need help."
CARE_WHO = "someone from the team that keeps young people safe"

# Every sentence above that a young person may see, by name: tests/test_language.py checks each one reads at
# grade 6 or below, with no sentence over 20 words and no word from the "Language that cares" glossary. New
# youth-facing messages (in this module or elsewhere) join by adding their name here or to YOUTH_FACING_ELSEWHERE.
YOUTH_FACING = (
    "CONSENT_QUESTION", "CONSENT_YES", "CONSENT_NO", "DECLINED", "CHOOSE_ONE", "CHOOSE_SOME", "CHOOSE_AT_LEAST_ONE",
    "SCALE_RANGE", "YES_OR_NO", "WHOLE_NUMBER", "ANY_NUMBER", "EMPTY_TEXT", "TOO_LONG", "CANNOT_SKIP",
    "FIRST_QUESTION", "ALREADY_ANSWERED", "NOT_A_BUTTON_QUESTION", "OTHER_PROMPT", "PREVIOUS_ANSWER", "SKIPPED",
    "UP_TO", "OPTIONAL", "SOMETHING_ELSE",
    "PAUSED", "STILL_PAUSED", "ALREADY_FINISHED", "NO_SURVEY_OPEN", "UNKNOWN_SURVEY", "SURVEY_GONE",
    "SURVEY_CLOSED", "ERASED", "NOTHING_TO_ERASE", "ANONYMOUS_NOW", "INVITATION", "REMINDER", "START",
    "NOT_OPEN_YET", "OPTED_OUT", "PASSED_OVER", "ANSWER_STAYS",
    "REMOVED_SHOWN", "CARE_HEARD", "CARE_HELP_WORD", "CARE_SIGNPOST", "CARE_ASK", "CARE_OK", "CARE_HELP",
    "CARE_ADULT", "CARE_CONSENT", "CARE_YES", "CARE_NO", "CARE_ASK_CONTACT", "CARE_SEND", "CARE_RATHER_NOT",
    "CARE_SHARED", "CARE_NOT_SHARED", "CARE_NO_ROUTE", "CARE_CARRY_ON", "CARE_ALL_DONE", "CARE_WHO",
    "YOUSAID_MESSAGES",  # a tuple: each of its messages is checked
)
# "module:NAME,NAME" (or "module:*" for every constant) of youth-facing words kept beside their channel: the web chat's
# page words, every one of which a young person on a youth link sees, and the chat channels' own hints.
YOUTH_FACING_ELSEWHERE = (
    "bot.channels.web_words:*",
    "bot.channels.email.words:*",
    "bot.services.notices:YOUNG_PEOPLE_SUMMARY",
    "bot.channels.telegram:HELP,HINT_TYPED,HINT_EDITED,HINT_PRIVATE,STALE_BUTTON,SORRY",
    "bot.channels.slack:HELP,DM_HINT,EDIT_HINT,FILE_HINT,TYPE_HERE,ANSWER_BUTTON,HOME_TITLE,HOME_NONE",
    "bot.channels.teams.words:*",
)

# What the safeguarding lead sees in the alert channel (adults: bot.services.safeguarding.alerts)
ALERT_ANONYMOUS = ("Safeguarding alert {ref}: a young person's message on {channel} suggests “{category}”. "
                   "They were shown Childline, 999 and Shout. They have not agreed to be contacted, so we cannot say "
                   "who they are. Their words were not kept.")
ALERT_HELP = ("Safeguarding alert {ref}: a young person on {channel} asked for help. They were shown Childline, "
              "999 and Shout. They did not agree to be contacted, so we cannot say who they are.")
ALERT_CONSENT = ("Safeguarding alert {ref}: a young person on {channel} has asked for help (“{category}”) and agreed "
                 "to be contacted. Reach them: {reach}\nThey were told that someone will get in touch. Their words "
                 "were not kept.")
ALERT_GROUPED = ("Safeguarding alerts {ref}: {count} more young people's messages on {channel} in the last few "
                 "minutes suggested {categories}. Each was shown Childline, 999 and Shout. None of them has agreed to "
                 "be contacted, so we cannot say who they are. Their words were not kept.")
ALERT_FOLLOWS = "\nThis is the same young person as in the anonymous alert {ref} above: one case."
ALERT_ACK = "Acknowledge"
ALERT_ACKED = "Acknowledged on {day}."
ALERT_UNKNOWN = "That alert is not known, or it was acknowledged already."
