"""Conversations run by an external assistant engine (Rasa), behind Doorstep's own channels.

Doorstep stays the front door: every turn arrives through a channel adapter, is stored and
becomes (or joins) an interaction with SLA clocks before the engine sees it; the engine's
replies leave through the outbox on the channel the resident used (SAME-CHANNEL). When the
engine is not configured or not answering, the channel's built-in assistant answers instead.
"""

from bot.conversation.rasa import RasaError, RasaTurnHandler, conversation_id

__all__ = ["RasaError", "RasaTurnHandler", "conversation_id"]
