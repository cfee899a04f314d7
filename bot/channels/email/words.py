"""Everything the email channel itself says, in plain, warm words (the language tests read these names through
YOUTH_FACING_ELSEWHERE in bot.engine.messages). The invitation's first lines are the campaign's own message
(msg.INVITATION or msg.REMINDER), the same as on every channel."""

from __future__ import annotations

SUBJECT = "Would you share your views? “{title}”"
SUBJECT_REMINDER = "A gentle reminder: “{title}”"
HOW_LONG = "It takes about {minutes} minutes. You can answer until the end of {closes}."
HOW_LONG_ONE = "It takes about a minute. You can answer until the end of {closes}."
PRIVACY = "We keep your answers without your name or email. Nobody can tell from the results who said what."
BUTTON = "Start the survey"
NO_LOGIN = "The button opens the survey in your web browser. You do not need to sign in, and you can stop and "\
           "carry on later, on this or another device."
FOR_YOU_ONLY = "This link is just for you, so please do not forward this email."
WHY = "You got this email because {sender} has you on its list of people to ask."
UNSUBSCRIBE = "Don't want more survey emails from us? You can stop them here:"
UNSUBSCRIBE_LINK = "Unsubscribe"
COPY_LINK = "If the button does not work, copy this link into your browser:"

# the pages the links open
LINK_GONE_TITLE = "This link has ended"
LINK_GONE = ("This survey link is not working any more. The survey may have closed, or part of the link may be "
             "missing. If you copied it, please check you have all of it. Thank you for wanting to take part.")
STOP_ASK_TITLE = "Unsubscribe from survey emails"
STOP_ASK = "Press the button and we will stop sending you survey emails."
STOP_BUTTON = "Unsubscribe"
STOPPED_TITLE = "You are unsubscribed"
STOPPED = ("Done. We won't send you any more survey emails. Thank you for letting us know. If a survey link "
           "reaches you another way, you can still use it.")
SLOW_DOWN = "Too many tries from here in a short time. Please wait a minute and try again."
