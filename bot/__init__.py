"""surveybot: chat surveys for safeguarding children partnerships.

Importing this package has no side effects; everything is wired in bot.app.
"""
