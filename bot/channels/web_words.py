"""Every sentence the web chat page itself says, in one place.

The survey's own words come from its file and the engine's from bot.engine.messages; these are the page's chrome:
buttons, labels, hints and error pages. Kept together so they can be read and checked as a whole, because a
partnership may put this page in front of 12-year-olds: short sentences, everyday words, no blame.
"""

from __future__ import annotations

LANGUAGE = "en-GB"

# The page around the chat
SKIP_TO_CHAT = "Skip to the survey"
NO_LOGIN = "No name or login needed. Your answers are kept private."
CHAT_LABEL = "Survey conversation"
START = "Open the survey"
NO_SCRIPT = "This page works best with JavaScript turned on, but you can still answer without it."
COOKIES_OFF = ("Your browser is blocking cookies for this page, so it can't remember your place. "
               "You can still answer, but you may need to start again if you leave.")
SENDING = "Sending…"
TRY_AGAIN = "Sorry, that didn't go through. Please check your connection and try again."
SLOW_DOWN = "You're going a bit fast for us. Please wait a few seconds and try again."

# Questions
QUESTION_OF = "Question {number} of {total}"
YOUR_ANSWER = "Your answer"
YOU_SAID = "You said: {answer}"
SEND = "Send"
DONE = "Done"
SKIP = "Skip this question"
BACK = "Back"
SCALE_END = "{number}, {label}"
TICK_ALL = "Tick all that apply, then press Done."
CHARACTERS_LEFT = "Characters left: {left}"  # the counter under a typed answer, as the person types
AT_THE_LIMIT = "That's as long as this answer can be. You can still change your words."
OVER_THE_LIMIT = "That is {over} characters too many. Please make it a bit shorter."
YOU_CHOSE = "You chose: {label}"  # a button of the safeguarding check, said back

# The privacy notice on the first screen: a few words, and the whole notice one tap away
MORE_ABOUT_PRIVACY = "More about your privacy"

# The controls at the bottom
GET_HELP = "Get help"
STOP = "Stop for now"
CARRY_ON = "Carry on"
DELETE = "Delete my answers"
DELETE_SURE = "Are you sure? This deletes your answers to this survey. It can't be undone."
DELETE_YES = "Yes, delete them"
DELETE_NO = "No, keep them"
HOW_TO_STOP = "On this page, use the buttons at the bottom to stop for now or to delete your answers."
DELETE_HOW = "Press Delete my answers at the bottom of the page to remove them."
HOW_TO_GET_HELP = "Press Get help at the bottom of the page at any time if you need help."
KEPT = "Your answers are kept."
WELCOME_BACK = "Welcome back. Here is where you got to."

# Engine sentences that mention chat commands, said the way this page works
PAUSED = "Paused. Your answers so far are kept. Press Carry on when you're ready, or come back to this link later."
STILL_PAUSED = "This survey is paused. Press Carry on to pick up where you left off."
HELP = ("Press a button to answer, or type in the box and press Send. Skip leaves a question out. "
        "Back lets you change your last answer. The buttons at the bottom stop the survey or delete your answers.")

# The safeguarding check's contact box (bot.services.safeguarding.checkin)
CARE_CONTACT_LABEL = "How a trusted adult can reach you"

# Whole pages
SORRY = "Sorry"
NOT_FOUND_TITLE = "We can't find that survey"
NOT_FOUND = ("The link may have a typing mistake, or the survey may have ended. "
             "Please check the link, or ask the person who gave it to you.")
BAD_REQUEST = "Sorry, we couldn't read that. Please go back and try again."
TOO_BIG = "That was too long for us to take. Please make it shorter."
WENT_WRONG = "Sorry, something went wrong on our side. Please try again in a minute."
CROSS_SITE = "Sorry, this only works from the survey page."

# The printed poster
POSTER_SCAN = "Scan to take part"
POSTER_PRIVATE = "No name or login needed"
