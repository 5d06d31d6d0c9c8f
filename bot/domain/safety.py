"""Safety facts every message to a resident draws on, kept in one place (EMERGENCY).

The numbers are national, not the landlord's: the landlord's own emergency repairs line is
configuration (`organisation.emergency_phone`).
"""

from __future__ import annotations

GAS_EMERGENCY = "0800 111 999"  # National Gas Emergency Service (domain.md)
DANGER = "999"  # immediate danger to anyone
POLICE_NON_EMERGENCY = "101"
