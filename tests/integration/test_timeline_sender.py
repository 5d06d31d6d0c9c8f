"""The timeline shows who sent each message and from which address or number, and marks a
message that quoted another resident's case (PRIVACY, issue 13)."""

from __future__ import annotations

import pytest

from tests.integration.test_dashboard import Env, env  # noqa: F401 (the fixture)

pytestmark = pytest.mark.integration


async def test_each_message_shows_its_sender_and_a_stranger_s_mention_is_marked(
    env: Env,  # noqa: F811
) -> None:
    case = env.receive(
        "a1", subject="Broken gate", body="broken gate", **{"from": "jo@example.net"}
    )
    reference = env.interaction(case).reference
    env.receive(
        "a2", subject=f"Re: [{reference}]", body="and the fence", **{"from": "jo@example.net"}
    )
    stranger = env.receive(
        "b1",
        subject=f"[{reference}] cancel",
        body="cancel the gate job",
        **{"from": "x@evil.example"},
    )
    assert stranger != case
    await env.deliver_outbox()
    await env.login("rita@landlord.example")

    page = await env.html(f"/staff/interactions/{case}")
    timeline = page.split('id="timeline-h"')[1]
    assert timeline.count('from <span class="address">jo@example.net</span>') == 2
    assert 'to <span class="address">jo@example.net</span>' in timeline  # our acknowledgement
    assert "x@evil.example" not in page and "cancel the gate job" not in page
    assert "Someone else quoted this reference" in timeline

    await env.login("admin@landlord.example")
    other = await env.html(f"/staff/interactions/{stranger}")
    assert 'from <span class="address">x@evil.example</span>' in other
    assert f"mentions {reference}" in other
