"""The Slack channel: surveys in a person's direct messages with the app, drawn in Block Kit (slack-bolt's AsyncApp).

Thin by design: a Slack payload becomes (Address("slack", team, user), engine event), the service persists it, and the
effects it returns are drawn as Block Kit messages. No survey logic lives here. Where each part lives:

- words.py: everything the channel itself says. blocks.py: Block Kit builders, pure. payloads.py: reading what Slack
  sends, pure. listeners.py: the Bolt app and its listeners. work.py: what a listener hands on after its ack.
  render.py: effects drawn with the Web API. people.py: what is kept per person (in a bot.bounded.BoundedMap).
  channel.py: SlackChannel.
- Socket Mode when SLACK_APP_TOKEN is set; otherwise HTTP: events, interactivity and `/survey` all post to
  /slack/events on the bot's own HTTP server, where Bolt verifies every signature (401 for a bad or stale one).
- Acknowledge first, work after: every listener calls `ack()`, hands the work to a task of ours and returns. The work
  runs under a per-person lock so one person's messages go out in the order they happened.
- Persist, then send: the service commits (in one database thread, off the event loop) before anything is drawn.
  Each delivery carries a key (the Events API event_id, an action's timestamp, a modal's id, a command's trigger) so
  a redelivery records nothing; buttons carry their turn, so a double click or a press on an old message records
  nothing either.
- Multiple choice is drawn as Block Kit checkboxes. Ticks stay in Slack until the person presses Done, which sends the
  ticked option numbers as one reply stamped with the question's turn: one transaction, and stale if late. With
  nothing ticked it sends Done, and the engine asks for at least one.
- Logs say what happened, never who or what: no user or team ids, names, message text or payloads. Bolt and the SDK
  log through a logger pinned at WARNING, because their debug output contains whole payloads.

The names below are the ones the rest of the bot and the tests import from `bot.channels.slack`.
"""

from bot.channels.slack.blocks import (
    BUTTON_TEXT,
    SECTION_TEXT,
    answer_modal,
    answered_blocks,
    escape,
    home_view,
    prompt_blocks,
    say_blocks,
)
from bot.channels.slack.channel import EVENTS_PATH, RATE_LIMIT_RETRIES, SlackChannel
from bot.channels.slack.payloads import drawn_ticks, ticked, unformat
from bot.channels.slack.words import (
    ANSWER_BUTTON,
    COMMAND,
    DM_HINT,
    EDIT_HINT,
    FILE_HINT,
    HELP,
    HOME_NONE,
    HOME_TITLE,
    TYPE_HERE,
)

__all__ = [
    "ANSWER_BUTTON", "BUTTON_TEXT", "COMMAND", "DM_HINT", "EDIT_HINT", "EVENTS_PATH", "FILE_HINT", "HELP", "HOME_NONE",
    "HOME_TITLE", "RATE_LIMIT_RETRIES", "SECTION_TEXT", "TYPE_HERE", "SlackChannel", "answer_modal",
    "answered_blocks", "drawn_ticks", "escape", "home_view", "prompt_blocks", "say_blocks", "ticked", "unformat",
]
