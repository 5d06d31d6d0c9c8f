"""The one exception hierarchy of the SLA engine."""

from __future__ import annotations


class SlaError(ValueError):
    """A request the SLA engine cannot honour (e.g. an extension beyond the policy's limit).

    A ValueError so that callers which validate user input (extensions typed by staff) can
    treat it like any other bad value.
    """


class SlaConfigError(SlaError):
    """Configuration the engine cannot use; the message names the key and what is accepted."""
