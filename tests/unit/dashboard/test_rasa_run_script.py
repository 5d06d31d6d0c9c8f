"""scripts/rasa-run (issue 13): Rasa's HTTP API gets a token, and the actions get an
`assistant` token of their own that `doorstep serve` never sees as the shared one."""

from __future__ import annotations

import re

from tests.conftest import REPO

SCRIPT = (REPO / "scripts" / "rasa-run").read_text(encoding="utf-8")


def test_rasa_http_api_needs_a_token() -> None:
    assert re.search(r'rasa" run --enable-api --auth-token "\$RASA_API_TOKEN"', SCRIPT)


def test_the_actions_use_their_own_assistant_token() -> None:
    assert "token add rasa-actions --scope assistant --replace" in SCRIPT
    # Set for the action server's command alone, never exported to `doorstep serve`.
    assert not re.search(r"^export DOORSTEP_API_TOKEN", SCRIPT, flags=re.M)
    assert 'DOORSTEP_API_TOKEN="$ASSISTANT_TOKEN" PYTHONPATH=.' in SCRIPT
