"""One update at a time per chat, as an aiogram middleware around the channel's handlers.

Quick typed answers must apply in the order they were sent, and a step owed after a restart (TelegramChannel.resend)
must not interleave with an update of the same chat, so both take the chat's lock from here. Updates of different
chats never wait for each other.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from contextlib import AbstractAsyncContextManager
from typing import Any

from aiogram import BaseMiddleware
from aiogram.types import Chat, TelegramObject

from bot.bounded import KeyedLocks


class ChatLocks(BaseMiddleware):
    """Registered as an inner middleware (bot.channels.telegram.handlers): it runs only once a handler was chosen,
    and holds the chat's lock while that handler runs. Updates without a chat (none we subscribe to) run unlocked."""

    def __init__(self) -> None:
        self.locks: KeyedLocks[int] = KeyedLocks()  # a chat's lock lives only while an update of it runs or waits

    async def __call__(self, handler: Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]],
                       event: TelegramObject, data: dict[str, Any]) -> Any:
        chat: Chat | None = data.get("event_chat")  # found once per update by aiogram's UserContextMiddleware
        if chat is None:
            return await handler(event, data)
        async with self.lock(chat.id):
            return await handler(event, data)

    def lock(self, chat_id: int) -> AbstractAsyncContextManager[None]:
        """Hold the chat's lock: `async with locks.lock(chat_id):`."""
        return self.locks.hold(chat_id)
