"""One update at a time per chat, as an aiogram middleware around the channel's handlers.

Quick typed answers must apply in the order they were sent, and a step owed after a restart (TelegramChannel.resend)
must not interleave with an update of the same chat, so both take the chat's lock from here. Updates of different
chats never wait for each other.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

from aiogram import BaseMiddleware
from aiogram.types import Chat, TelegramObject

MEMORY = 20_000  # chats whose lock we keep; idle ones are dropped beyond this


class ChatLocks(BaseMiddleware):
    """Registered as an inner middleware (bot.channels.telegram.handlers): it runs only once a handler was chosen,
    and holds the chat's lock while that handler runs. Updates without a chat (none we subscribe to) run unlocked."""

    def __init__(self) -> None:
        self.locks: dict[int, asyncio.Lock] = {}

    async def __call__(self, handler: Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]],
                       event: TelegramObject, data: dict[str, Any]) -> Any:
        chat: Chat | None = data.get("event_chat")  # found once per update by aiogram's UserContextMiddleware
        if chat is None:
            return await handler(event, data)
        async with self.lock(chat.id):
            return await handler(event, data)

    def lock(self, chat_id: int) -> asyncio.Lock:
        """The chat's lock, made on first use; idle locks are forgotten once there are too many."""
        if len(self.locks) > MEMORY:
            for key in [k for k, v in self.locks.items() if not v.locked()]:
                del self.locks[key]
        return self.locks.setdefault(chat_id, asyncio.Lock())
