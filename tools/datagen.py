"""Writes nlu_data/nlu/*.yml: Doorstep's NLU training data, in Rasa 3 format.

A tool, not part of the running service: the generated YAML is the source of truth and is
committed; this script is how it was made (fixed seed, so a re-run gives the same files). It
mixes hand-written messages, the way residents really write them, with compositions of
hand-written parts (what is wrong, where, since when, who lives there, how they sign off)
passed through SMS shorthand and typos.

The phrase banks are data files in tools/phrases/*.yml. Every urgency label is the one
written beside the phrase by a person: the generator never relabels an example from the
hazard rules (bot/nlu/rules.py), because the rules are what the data is meant to be tested
against, and data bent to the rules would only measure the rules against themselves.
Hand-written whole messages for what the composed ones lack (landlord-style noun phrases,
Complaint Handling Code boundaries) live in nlu_data/nlu/written.yml, which this tool does
not touch.

    .venv/bin/python -m tools.datagen [--out nlu_data]
"""

from __future__ import annotations

import argparse
import json
import random
import re
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

SEED = 2026
E, U, R = "emergency", "urgent", "routine"
PHRASES = Path(__file__).resolve().parent / "phrases"


@dataclass(frozen=True, slots=True)
class Ex:
    text: str  # with Rasa entity annotations
    urgency: str


def load_banks(folder: Path = PHRASES) -> dict[str, Any]:
    """Every phrase bank in folder/*.yml, by name (each file holds a few banks)."""
    banks: dict[str, Any] = {}
    for path in sorted(folder.glob("*.yml")):
        loaded = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        clash = set(banks) & set(loaded)
        if clash:
            raise ValueError(f"{path.name}: banks defined twice: {sorted(clash)}")
        banks.update(loaded)
    return banks


_BANKS = load_banks()
ROOMS: list[str] = _BANKS["ROOMS"]
DATES: list[str] = _BANKS["DATES"]
POSTCODES: list[str] = _BANKS["POSTCODES"]
PHONES: list[str] = _BANKS["PHONES"]
REFS: list[str] = _BANKS["REFS"]
NAMES: list[str] = _BANKS["NAMES"]
TRADES: list[str] = _BANKS["TRADES"]
REPAIR_PROBLEMS: list[Any] = _BANKS["REPAIR_PROBLEMS"]
VULNERABLE_HEATING: list[str] = _BANKS["VULNERABLE_HEATING"]
DAMP_PROBLEMS: list[Any] = _BANKS["DAMP_PROBLEMS"]
OPENERS: list[str] = _BANKS["OPENERS"]
EXTRAS_ROUTINE: list[str] = _BANKS["EXTRAS_ROUTINE"]
EXTRAS_URGENT: list[str] = _BANKS["EXTRAS_URGENT"]
EXTRAS_EMERGENCY: list[str] = _BANKS["EXTRAS_EMERGENCY"]
SMS: dict[str, Any] = _BANKS["SMS"]
COMPLAINT_FRAMES: list[str] = _BANKS["COMPLAINT_FRAMES"]
COMPLAINT_HAND: list[str] = _BANKS["COMPLAINT_HAND"]
ASB_ROUTINE: list[str] = _BANKS["ASB_ROUTINE"]
ASB_URGENT: list[str] = _BANKS["ASB_URGENT"]
ASB_EMERGENCY: list[str] = _BANKS["ASB_EMERGENCY"]
ASB_FRAMES: list[str] = _BANKS["ASB_FRAMES"]
ASB_EMERGENCY_FRAMES: list[str] = _BANKS["ASB_EMERGENCY_FRAMES"]
GENERAL: list[str] = _BANKS["GENERAL"]
RENT: list[str] = _BANKS["RENT"]
TENANCY: list[str] = _BANKS["TENANCY"]
CHANGE_APPT: list[str] = _BANKS["CHANGE_APPT"]
CANCEL_APPT: list[str] = _BANKS["CANCEL_APPT"]
COMPLIMENT: list[str] = _BANKS["COMPLIMENT"]
OUT_OF_SCOPE: list[str] = _BANKS["OUT_OF_SCOPE"]
HAND: list[Any] = _BANKS["HAND"]
SHORT: dict[str, Any] = _BANKS["SHORT"]
SHORT_FRAMES: list[str] = _BANKS["SHORT_FRAMES"]
MORE_HAND: list[Any] = _BANKS["MORE_HAND"]
LONG_EMAILS: list[Any] = _BANKS["LONG_EMAILS"]


def ann(value: str, entity: str) -> str:
    return f"[{value}]({entity})"


def room(rng: random.Random) -> str:
    return ann(rng.choice(ROOMS), "room")


def date(rng: random.Random) -> str:
    return ann(rng.choice(DATES), "date")


# Repairs: (phrase, urgency). "{room}" is filled with an annotated room.


def fill(template: str, rng: random.Random) -> str:
    out = template
    while "{room}" in out:
        out = out.replace("{room}", room(rng), 1)
    replacements: dict[str, Callable[[], str]] = {
        "{date}": lambda: date(rng),
        "{phone}": lambda: ann(rng.choice(PHONES), "phone_number"),
        "{postcode}": lambda: ann(rng.choice(POSTCODES), "postcode"),
        "{ref}": lambda: ann(rng.choice(REFS), "reference"),
        "{name}": lambda: rng.choice(NAMES),
        "{trade}": lambda: rng.choice(TRADES),
        "{n}": lambda: str(rng.randint(2, 11)),
        "{age}": lambda: str(rng.randint(78, 94)),
        "{weeks}": lambda: rng.choice(["3 weeks", "6 weeks", "two months", "4 months", "a year"]),
        "{nth}": lambda: rng.choice(["third", "3rd", "fourth", "fifth", "4th", "sixth"]),
    }
    for key, make in replacements.items():
        while key in out:
            out = out.replace(key, make(), 1)
    return out


# ---- noise ------------------------------------------------------------------------------
_ANNOTATION = re.compile(r"(\[[^\]]+\]\([a-z_]+\))")


def _typo(word: str, rng: random.Random) -> str:
    if len(word) < 5 or not word.isalpha():
        return word
    i = rng.randrange(1, len(word) - 1)
    kind = rng.randrange(4)
    if kind == 0:
        return word[:i] + word[i + 1 :]
    if kind == 1:
        return word[: i - 1] + word[i] + word[i - 1] + word[i + 1 :]
    if kind == 2:
        return word[:i] + word[i] + word[i:]
    vowels = "aeiou"
    if word[i] in vowels:
        return word[:i] + rng.choice(vowels) + word[i + 1 :]
    return word


def _mess_plain(text: str, rng: random.Random, sms: float, typos: float) -> str:
    words = text.split(" ")
    out: list[str] = []
    for word in words:
        low = word.lower()
        if low in SMS and rng.random() < sms:
            word = SMS[low]
        elif rng.random() < typos:
            word = _typo(word, rng)
        out.append(word)
    return " ".join(out)


def messy(text: str, rng: random.Random) -> str:
    """How residents type: lowercase, no punctuation, shorthand, typos (never inside entities)."""
    style = rng.random()
    if style < 0.3:
        return text  # written carefully
    sms = 0.5 if style > 0.7 else 0.15
    typos = 0.06 if style > 0.55 else 0.02
    parts = _ANNOTATION.split(text)
    for i in range(0, len(parts), 2):
        chunk = parts[i]
        if rng.random() < 0.7:
            chunk = chunk.lower()
        if rng.random() < 0.5:
            chunk = re.sub(r"[.,!?;]+(?=\s|$)", "", chunk)
        parts[i] = _mess_plain(chunk, rng, sms, typos)
    return "".join(parts)


def plain(text: str) -> str:
    return re.sub(r"\[([^\]]+)\]\([a-z_]+\)", r"\1", text)


# ---- builders ---------------------------------------------------------------------------
def repairs(rng: random.Random, per_problem: int) -> list[Ex]:
    out: list[Ex] = []
    extras = {R: EXTRAS_ROUTINE, U: EXTRAS_URGENT, E: EXTRAS_EMERGENCY}
    for phrase, urgency in REPAIR_PROBLEMS:
        for _ in range(per_problem + (1 if urgency == E else 0)):
            text = rng.choice(OPENERS) + phrase + rng.choice(extras[urgency])
            out.append(Ex(messy(fill(text, rng), rng), urgency))
    for phrase in VULNERABLE_HEATING:
        for _ in range(2):
            text = rng.choice(OPENERS) + phrase + rng.choice(EXTRAS_EMERGENCY)
            out.append(Ex(messy(fill(text, rng), rng), E))
    return out


def damp(rng: random.Random, per_problem: int) -> list[Ex]:
    out: list[Ex] = []
    for phrase, urgency in DAMP_PROBLEMS:
        for _ in range(per_problem):
            extras = EXTRAS_EMERGENCY if urgency == E else EXTRAS_ROUTINE + EXTRAS_URGENT
            text = rng.choice(OPENERS) + phrase + rng.choice(extras)
            out.append(Ex(messy(fill(text, rng), rng), urgency))
    return out


# Long, rambling, several-problems-in-one and other hand-written messages.

# ---- more hand-written messages -----------------------------------------------------------
# Short, direct requests: residents often open with one or two words, and a model that has
# only seen long templated messages files "I want to complain" under general.


# Long emails, as residents send them: greetings, background, several points, sign-off.


# ---- assembly ---------------------------------------------------------------------------
def frame_many(
    items: Sequence[str], frames: Sequence[str], urgency: str, rng: random.Random, times: int
) -> list[Ex]:
    out: list[Ex] = []
    for item in items:
        for frame in rng.sample(list(frames), k=min(times, len(frames))):
            text = frame.replace("{x}", item)
            out.append(Ex(messy(fill(text, rng), rng), urgency))
    return out


def simple(items: Sequence[str], urgency: str, rng: random.Random, variants: int = 1) -> list[Ex]:
    """Each hand-written item as written, plus `variants - 1` messy copies."""
    out: list[Ex] = []
    for item in items:
        out.append(Ex(fill(item, rng), urgency))
        for _ in range(variants - 1):
            out.append(Ex(messy(fill(item, rng), rng), urgency))
    return out


def complaints(rng: random.Random, count: int) -> list[Ex]:
    out: list[Ex] = []
    short = [(p.replace("{room}", "{room}"), u) for p, u in REPAIR_PROBLEMS + DAMP_PROBLEMS]
    for _ in range(count):
        phrase, urgency = rng.choice(short)
        frame = rng.choice(COMPLAINT_FRAMES)
        out.append(Ex(messy(fill(frame.replace("{p}", phrase), rng), rng), urgency))
    return out


def build(rng: random.Random) -> dict[str, list[Ex]]:
    data: dict[str, list[Ex]] = {}

    def add(intent: str, examples: list[Ex]) -> None:
        data.setdefault(intent, []).extend(examples)

    add("report_repair", repairs(rng, per_problem=5))
    add("damp_mould", damp(rng, per_problem=7))
    add("make_complaint", simple(COMPLAINT_HAND, R, rng, variants=2))
    add("make_complaint", complaints(rng, 260))
    add("report_asb", frame_many(ASB_ROUTINE, ASB_FRAMES, R, rng, 5))
    add("report_asb", frame_many(ASB_URGENT, ASB_FRAMES, U, rng, 5))
    add("report_asb", frame_many(ASB_EMERGENCY, ASB_EMERGENCY_FRAMES, E, rng, 4))
    add("general_enquiry", simple(GENERAL, R, rng, variants=4))
    add("rent_payment", simple(RENT, R, rng, variants=4))
    add("tenancy_change", simple(TENANCY, R, rng, variants=4))
    add("change_appointment", simple(CHANGE_APPT, R, rng, variants=4))
    add("cancel_appointment", simple(CANCEL_APPT, R, rng, variants=4))
    add("compliment", simple(COMPLIMENT, R, rng, variants=3))
    add("out_of_scope", simple(OUT_OF_SCOPE, R, rng))
    for intent, urgency, text in HAND:
        add(intent, [Ex(text, urgency)])
    for intent, items in SHORT.items():
        for text, urgency in items:  # as written, and in two of the ways residents open
            framed = [f.replace("{x}", text) for f in rng.sample(SHORT_FRAMES, k=2)]
            add(intent, [Ex(text, urgency), *(Ex(messy(t, rng), urgency) for t in framed)])
    for intent, urgency, text in [*MORE_HAND, *LONG_EMAILS]:
        add(intent, [Ex(text, urgency)])
    return data


def hand_kept_texts(nlu_dir: Path) -> set[str]:
    """The texts of the hand-kept files, normalised as `dedupe` compares them."""
    texts: set[str] = set()
    for name in HAND_KEPT:
        path = nlu_dir / name
        if not path.exists():
            continue
        doc = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        for item in doc.get("nlu") or []:
            examples = item.get("examples") or []
            if isinstance(examples, str):
                lines = [ln.strip()[2:] for ln in examples.splitlines() if ln.strip()]
            else:
                lines = [e["text"] for e in examples if isinstance(e, dict)]
            texts.update(" ".join(plain(t).lower().split()) for t in lines)
    return texts


def dedupe(data: dict[str, list[Ex]], taken: set[str] | None = None) -> dict[str, list[Ex]]:
    """Drop repeats, within and across intents (Rasa rejects the same text under two intents)."""
    seen: set[str] = set(taken or ())
    out: dict[str, list[Ex]] = {}
    # Earlier intents claim their texts first.
    for intent, examples in data.items():
        kept: list[Ex] = []
        for ex in examples:
            key = " ".join(plain(ex.text).lower().split())
            if not key or key in seen:
                continue
            seen.add(key)
            kept.append(ex)
        out[intent] = kept
    return out


FILES = {
    "repairs.yml": ("report_repair", "damp_mould", "change_appointment", "cancel_appointment"),
    "asb.yml": ("report_asb",),
    "complaints.yml": ("make_complaint", "compliment"),
    "general.yml": ("general_enquiry", "rent_payment", "tenancy_change", "out_of_scope"),
}
# Kept by hand, not generated: the conversation engine adds its intents there (hand-off,
# confirmations), and written.yml holds hand-written messages. Their texts are not repeated.
HAND_KEPT = ("conversation.yml", "written.yml")
DEFAULT_URGENCY = {"report_repair": R, "damp_mould": U}


def render(intents: Sequence[str], data: dict[str, list[Ex]]) -> str:
    lines = [
        f"# Generated by `python -m tools.datagen` (seed {SEED}), then committed: edit the",
        "# generator and re-run rather than editing by hand. Urgency is each example's",
        "# metadata (the intent's metadata gives the default); see docs/nlu.md.",
        'version: "3.1"',
        "nlu:",
    ]
    for intent in intents:
        default = DEFAULT_URGENCY.get(intent, R)
        lines += [f"- intent: {intent}", "  metadata:", f"    urgency: {default}", "  examples:"]
        for ex in data[intent]:
            lines.append(f"  - text: {json.dumps(ex.text, ensure_ascii=False)}")
            if ex.urgency != default:
                lines += ["    metadata:", f"      urgency: {ex.urgency}"]
    return "\n".join(lines) + "\n"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("nlu_data"))
    args = parser.parse_args(argv)
    rng = random.Random(SEED)
    target = args.out / "nlu"
    data = dedupe(
        build(rng), hand_kept_texts(Path(__file__).resolve().parents[1] / "nlu_data" / "nlu")
    )
    target.mkdir(parents=True, exist_ok=True)
    for name, intents in FILES.items():
        (target / name).write_text(render(intents, data), encoding="utf-8")
    total = sum(len(v) for v in data.values())
    for intent, examples in data.items():
        counts = {u: sum(1 for e in examples if e.urgency == u) for u in (E, U, R)}
        print(f"{intent:20} {len(examples):5}  {counts}")
    print(f"total {total}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
