"""The conversation engine: `respond(turn) -> list[Reply]` for every conversational channel.

Doorstep stays the front door: every turn arrives through a channel adapter, is stored and
becomes (or joins) an interaction with SLA clocks before an engine sees it. `engine.py` is
the contract, `builtin.py` the built-in engine, `rasa.py` Rasa as an engine (the built-in
one its fall-back), `unsure.py` the safety question, and `turns.py` the one caller that puts
a channel's keywords first and writes each reply through the outbox on the channel the
resident used (SAME-CHANNEL). `service.py` is what Rasa's custom actions ask Doorstep to do.
"""

from bot.conversation.engine import Button, ConversationEngine, Reply, Turn
from bot.conversation.rasa import RasaEngine, RasaError, conversation_id

__all__ = [
    "Button",
    "ConversationEngine",
    "RasaEngine",
    "RasaError",
    "Reply",
    "Turn",
    "conversation_id",
]
