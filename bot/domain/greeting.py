"""One greeting for every message to a resident: how we address them by name.

- "Mrs Smith", "mrs SMITH", "Dr. A Patel" -> "Mrs Smith", "Dr Patel" (a title: title and
  surname, never "Dear Mrs,");
- "Smith, Jane" -> "Jane" (the "Surname, Forename" order of many systems);
- "JANE SMITH", "jane smith" -> "Jane" (capitals as a person writes them; "McDonald",
  "O'Brien" and "Smith-Jones" kept as given when the case was mixed);
- an address, an empty or a one-letter name -> None: the template says "Hello".
Pure: no I/O.
"""

from __future__ import annotations

TITLES = {
    "mr": "Mr",
    "mrs": "Mrs",
    "ms": "Ms",
    "miss": "Miss",
    "mx": "Mx",
    "dr": "Dr",
    "prof": "Prof",
    "rev": "Rev",
    "sir": "Sir",
    "dame": "Dame",
    "lady": "Lady",
    "lord": "Lord",
}


def _cased(word: str) -> str:
    """Capitals fixed only when the name was written all in one case."""
    if word.isupper() or word.islower():
        return "-".join(
            "'".join(p.capitalize() for p in part.split("'")) for part in word.split("-")
        )
    return word


def greeting_name(name: str | None) -> str | None:
    """The name to greet a resident by, or None to greet them without one."""
    if not name:
        return None
    cleaned = name.strip().strip('"').strip("'").strip()
    if not cleaned or "@" in cleaned:
        return None
    if "," in cleaned:  # "Smith, Jane" (or "Smith, Mrs Jane")
        surname, _, rest = cleaned.partition(",")
        cleaned = f"{rest.strip()} {surname.strip()}".strip()
    words = [w for w in cleaned.split() if w.strip(".")]
    if not words:
        return None
    title = TITLES.get(words[0].lower().rstrip("."))
    if title is not None:
        names = words[1:]
        if not names:
            return None  # "Mrs" alone: no name to greet by
        surname = names[-1].rstrip(".")
        return f"{title} {_cased(surname)}" if len(surname) > 1 else None
    first = words[0].rstrip(".")
    return _cased(first) if len(first) > 1 else None


def salutation(name: str | None) -> str:
    """ "Dear Mrs Smith," or "Hello," (letters and emails)."""
    found = greeting_name(name)
    return f"Dear {found}," if found else "Hello,"
