"""The Telegram channel (aiogram 3): surveys in a private chat, by long polling or by webhook.

A thin adapter. A Telegram update becomes (Address, engine event) for the service, and the effects the service returns
(after its commit) become messages: questions with inline keyboards, answered questions edited to show the answer
with their buttons gone, toasts on button presses. Every callback query is answered. A redelivered update (same
update_id) is recognised by the service and does nothing.

Where things are: `channel` (TelegramChannel: settings, lifecycle, the calls it makes), `handlers` (the router:
filters, CallbackData handlers, the apology in `router.errors`), `callbacks` (the five kinds of button),
`middleware` (the per-chat lock), `render` (effects as messages and keyboards), `bot_api` (the hot calls as plain
JSON, and the webhook), `words` (what the channel itself says). The names other modules import live here too.
"""

from __future__ import annotations

from bot.channels.telegram.bot_api import ReplySlot, WebhookHandler, warm_up
from bot.channels.telegram.channel import TelegramChannel
from bot.channels.telegram.words import COMMANDS, HELP, HINT_EDITED, HINT_PRIVATE, HINT_TYPED, SORRY, STALE_BUTTON

__all__ = ["COMMANDS", "HELP", "HINT_EDITED", "HINT_PRIVATE", "HINT_TYPED", "SORRY", "STALE_BUTTON", "ReplySlot",
           "TelegramChannel", "WebhookHandler", "warm_up"]
