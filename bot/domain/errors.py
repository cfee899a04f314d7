"""The few errors reaching a person may end in, whatever the platform: each channel translates its SDK's errors into
these, so the services (campaign sends, pending replies) decide what to do without knowing any platform."""

from __future__ import annotations


class ChannelError(Exception):
    """Something went wrong talking to a platform; the message never contains user ids or message text."""


class Unreachable(ChannelError):
    """The person blocked the bot or left: mark them unreachable, do not retry."""


class RateLimited(ChannelError):
    """The platform asked us to slow down for `retry_after` seconds."""

    def __init__(self, retry_after: float) -> None:
        super().__init__(f"rate limited for {retry_after} s")
        self.retry_after = retry_after
