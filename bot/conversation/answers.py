"""Answers from the landlord's own published details (AUTO-ACK: signpost self-service), for
the built-in engine and for Rasa's `/api/assistant/answer` alike."""

from __future__ import annotations

from bot.settings import Organisation

# Keywords -> what the landlord publishes about it, in sentences. Order matters: the first
# match answers. A sentence naming a detail the landlord has not set (website, email, ...)
# is left out: a placeholder must never reach a resident.
_ANSWERS: tuple[tuple[tuple[str, ...], tuple[str, ...]], ...] = (
    (
        ("emergency", "out of hours", "24 hour", "24-hour"),
        (
            "For an emergency repair, call our 24-hour line on {emergency_phone}.",
            "If anyone is in danger, call 999.",
        ),
    ),
    (
        ("opening", "open", "hours", "closed", "close"),
        ("We are open {opening_hours_text}.", "Call us on {phone}.", "More help: {website}"),
    ),
    (
        ("rent", "pay", "payment", "balance", "arrears", "account", "direct debit"),
        (
            "You can check your rent balance and pay online in your account: {self_service_url}.",
            "You can also call us on {phone} ({opening_hours_text}).",
        ),
    ),
    (
        ("complaint", "complain"),
        (
            "You can read our complaints policy at {complaints_url}.",
            "Tell me what happened and I will pass it on.",
        ),
    ),
    (
        ("phone", "number", "contact", "email", "call", "ring", "address"),
        (
            "Call us on {phone} ({opening_hours_text}).",
            "You can email us at {contact_email}.",
            "More help: {website}",
        ),
    ),
)


def landlord_answer(org: Organisation, question: str) -> str | None:
    text = f" {question.lower()} "
    values = org.model_dump()
    for words, sentences in _ANSWERS:
        if any(f" {w}" in text or f"{w} " in text for w in words):
            kept = []
            for sentence in sentences:
                try:
                    kept.append(sentence.format_map(_SetOnly(values)))
                except KeyError:
                    continue  # names a detail that is not set
            return " ".join(kept)
    return None


class _SetOnly(dict[str, object]):
    def __getitem__(self, key: str) -> object:
        value = super().__getitem__(key)
        if value in (None, ""):
            raise KeyError(key)
        return value
