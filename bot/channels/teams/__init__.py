"""The Microsoft Teams channel: surveys in a person's personal chat with the bot, drawn as Adaptive Cards, through the
Microsoft 365 Agents SDK mounted on the bot's own HTTP server at /api/messages; and manifest.py, the app package an IT
officer uploads in the Teams admin centre.

Nothing is imported here: `surveybot teams manifest` imports manifest.py alone, and the SDK (large, and an extra) is
imported only when the channel is built (bot.app.teams_channel imports channel.py). Thin by design: an activity
becomes (Address("teams", tenant, Entra object id), engine event), the service persists it, and the effects it
returns are drawn as messages and cards. No survey logic lives here. Where each part lives:

- words.py: everything the channel itself says. cards.py: Adaptive Card builders, pure. reading.py: reading what
  Teams sends (who, their route, typed words, presses), pure. turns.py: the AgentApplication's route handlers.
  render.py: effects sent (and cards updated) through the SDK's TurnContext, its errors made ours, paced.
  channel.py: TeamsChannel (the SDK set up, the token check, proactive sends). roster.py: a team's members, read
  for `surveybot contacts import-teams`.
- Security: every request's token is validated by the SDK's JwtTokenValidator (signature against the Bot Framework's
  published keys, issuer, audience = our app id, expiry) before anything is read; a refusal is a 401, logged by kind
  and audited once a day per kind.
- Reaching people first: Teams lets a bot write to someone only in a conversation it knows. The service URL, their
  Teams user id and their personal conversation travel as the Address's route, sealed in the contact with the rest of
  the address, captured when the app is installed for a person or a team and whenever someone writes.
- Persist, then send; a redelivered activity (its id) records nothing; buttons carry their turn, so a double press or
  a press on an old card records nothing, and the person is told so kindly. An answered question's card is updated to
  show the answer without its buttons.
- Logs say what happened, never who or what: no user, tenant or conversation ids, names or words. The SDK's and
  MSAL's loggers are pinned at WARNING (the connector's at CRITICAL), because their lower levels name conversations.
"""
