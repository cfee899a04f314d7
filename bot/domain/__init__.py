"""The domain's plain types: who someone is on a channel, what can go wrong reaching them, and what a service needs
from a channel to reach them first. Standard library only, so services depend on this and never on bot.channels."""
