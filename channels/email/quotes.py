"""Find the new text of a reply: drop quoted history, signatures and "Sent from" footers.

Line based and conservative: we cut at the first line that is clearly the start of quoted
history, because classifying a resident's mail by the acknowledgement we sent them earlier
(which is what the quote usually is) would be worse than missing a trailing sentence.
Forwarded messages are not cut: what a resident forwards is what they want us to read.
"""

from __future__ import annotations

import re

# "On Mon, 3 Mar 2025 at 10:00, Jo <jo@example.org> wrote:" (often wrapped over two lines),
# and the same attribution from German, French, Dutch, Spanish and Welsh mail clients.
_ATTRIBUTION = re.compile(
    r"^\s*(on\b.{0,300}\bwrote|am\b.{0,300}\bschrieb\b.{0,120}|le\b.{0,300}\ba\s+écrit"
    r"|op\b.{0,300}\bschreef\b.{0,120}|el\b.{0,300}\bescribió|ar\b.{0,300}\bysgrifennodd)"
    r"\s*+:\s*+$",
    re.IGNORECASE,
)
# An attribution is a sentence, never a paragraph: longer lines are not tried against the
# patterns above, which keeps their bounded repeats from costing more on a huge line.
_ATTRIBUTION_MAX = 500
_ORIGINAL_MESSAGE = re.compile(
    r"^\s*+-{2,}+\s*+(original message|ursprüngliche nachricht|message d'origine"
    r"|oorspronkelijk bericht|mensaje original|neges wreiddiol)\s*-{2,}\s*$",
    re.IGNORECASE,
)
# Outlook's reply header: "From: ...", then within a few lines "Sent: ..." or "Date: ...".
_OUTLOOK_FROM = re.compile(r"^\s*\*?(from|von|de|van)\s*:\*?\s*\S", re.IGNORECASE)
_OUTLOOK_SENT = re.compile(
    r"^\s*\*?(sent|date|gesendet|datum|envoyé|date d'envoi|verzonden|enviado)\s*:\*?\s*\S",
    re.IGNORECASE,
)
_RULE = re.compile(r"^\s*+_{10,}+\s*+$")
_SENT_FROM = re.compile(
    r"^\s*(sent from my \S.{0,50}|sent from (outlook|mail|yahoo mail|gmail|samsung)\b.{0,50}"
    r"|get outlook for \S.{0,30}|von meinem \S.{0,50} gesendet"
    r"|envoyé de mon \S.{0,50})\s*$",
    re.IGNORECASE,
)
_FORWARD_MARKER = re.compile(
    r"^\s*-{2,}\s*(forwarded message|begin forwarded message|weitergeleitete nachricht)",
    re.IGNORECASE,
)


_WRAPPED_START = re.compile(r"^\s*+(on|am|le|op|el|ar)\s", re.IGNORECASE)


def _cut_index(lines: list[str]) -> int:
    """Index of the first line of quoted history or signature, or len(lines)."""
    for index, line in enumerate(lines):
        stripped = line.rstrip()
        if _FORWARD_MARKER.match(stripped):
            return len(lines)  # everything below is content the resident chose to send
        if stripped in ("--", "-- ") or line == "-- ":
            return index
        if _ORIGINAL_MESSAGE.match(stripped):
            return index
        if len(stripped) <= _ATTRIBUTION_MAX and _ATTRIBUTION.match(stripped):
            return index
        # Attribution wrapped over two (rarely three) lines.
        if len(stripped) <= _ATTRIBUTION_MAX and _WRAPPED_START.match(stripped):
            for end in (2, 3):
                candidate = " ".join(part.strip() for part in lines[index : index + end])
                if len(candidate) <= _ATTRIBUTION_MAX and _ATTRIBUTION.match(candidate):
                    return index
        if (
            _RULE.match(stripped)
            and index + 1 < len(lines)
            and _OUTLOOK_FROM.match(lines[index + 1])
        ):
            return index
        if _OUTLOOK_FROM.match(stripped) and any(
            _OUTLOOK_SENT.match(following) for following in lines[index + 1 : index + 5]
        ):
            return index
    return len(lines)


def strip_quotes(text: str) -> str:
    """The new text of a message: history, "> " lines, signatures and footers removed."""
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    # Device footers are dropped as single lines, not cut at: "Sent from my phone" as a
    # resident's own sentence must not take the rest of the message with it.
    kept = [
        line
        for line in lines[: _cut_index(lines)]
        if not line.lstrip().startswith(">") and not _SENT_FROM.match(line.rstrip())
    ]
    return _tidy("\n".join(kept))


def is_forward(subject: str | None) -> bool:
    return bool(subject and re.match(r"^\s*(fwd?|wg|tr|rv)\s*:", subject, re.I))


def _tidy(text: str) -> str:
    # Per line, not `re.sub(r"[ \t]+\n", ...)`: that pattern retries from every space of a
    # run that does not end a line, quadratic in the run (a mail of spaces froze serve).
    text = "\n".join(line.rstrip(" \t") for line in text.split("\n"))
    text = _BLANK_LINES.sub("\n\n", text)
    return text.strip()


_BLANK_LINES = re.compile(r"\n{3,}+")
