"""Safety facts every message to a resident draws on, kept in one place (EMERGENCY).

The numbers are national, not the landlord's: the landlord's own emergency repairs line is
configuration (`organisation.emergency_phone`).
"""

from __future__ import annotations

GAS_EMERGENCY = "0800 111 999"  # National Gas Emergency Service (domain.md)
DANGER = "999"  # immediate danger to anyone
POLICE_NON_EMERGENCY = "101"

# Hazard rules (bot.nlu.rules) whose advice is "call 999 now".
_DANGER = frozenset(
    {"fire", "danger_to_life", "violence", "threat", "self_harm", "domestic_abuse", "structure"}
)

GAS_ADVICE = (
    "If you smell gas, leave the home now. Do not use switches or flames. "
    f"Call the National Gas Emergency Service on {GAS_EMERGENCY}."
)
CO_ADVICE = (
    "If your carbon monoxide alarm sounds, open windows and leave the home now. "
    f"Call {GAS_EMERGENCY}."
)
WATER_ELECTRICS_ADVICE = (
    "Keep away from water near lights, sockets or wires. If it is safe, switch off the "
    "power at the consumer unit (fuse box)."
)
DANGER_ADVICE = f"If anyone is in danger now, call {DANGER}."


def what_to_do_now(hazards: tuple[str, ...], signposts: tuple[str, ...] = ()) -> list[str]:
    """The one set of safety advice, most urgent first: what a resident should do before
    anyone from us can act. `hazards` are hazard rule names, `signposts` their signposts
    ("gas", "999", "emergency_repairs")."""
    found = set(hazards)
    lines: list[str] = []
    if "gas" in found or "gas" in signposts:
        lines.append(GAS_ADVICE)
    if "carbon_monoxide" in found:
        lines.append(CO_ADVICE)
    if "water_electrics" in found:
        lines.append(WATER_ELECTRICS_ADVICE)
    if found & _DANGER or "999" in signposts:
        lines.append(DANGER_ADVICE)
    return lines
