"""A small fuzzer for the chat WebSocket and the Twilio webhooks, against a real `doorstep
serve` process (issue 14, "Fuzzing in CI, bounded"): binary frames, frames that are not
JSON, deeply nested JSON, wrong types, oversized and non-ASCII ids and tokens, correctly
signed webhooks full of garbage. No 500, no hang (every socket gets an answer or a close in
seconds), the server stays healthy, and its log holds no traceback (checked when it stops).

Bounded: Hypothesis with a fixed seed and a few dozen examples each, well under a minute.
"""

from __future__ import annotations

import json
import string
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlencode

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from twilio.request_validator import RequestValidator
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import connect

from tests.support.served import AUTH_TOKEN, Served, serve

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(300)]

PUBLIC_URL = "http://127.0.0.1"
FUZZ = settings(
    max_examples=40,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=list(HealthCheck),
)


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    doorstep = {
        "database_url": "sqlite:///fuzz.db",
        "public_url": PUBLIC_URL,
        "sms": {
            "enabled": True,
            "from_number": "+447700900000",
            "api_base_url": "http://127.0.0.1:9",
        },
        "webchat": {"messages_per_minute": 1000},
        "web": {
            "chat_sessions_per_address_per_hour": 10_000,
            "chat_messages_per_address_per_minute": 10_000,
        },
    }
    with serve(tmp_path_factory.mktemp("fuzz"), doorstep) as served:
        yield served


def _nested(depth: int) -> str:
    return "[" * depth + "]" * depth


odd_text = st.one_of(
    st.text(max_size=50),
    st.text(alphabet=st.characters(codec="utf-8"), min_size=300, max_size=3000),
    st.just("\x00" * 10),
    st.just("é" * 5000),
)
json_value: Any = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | odd_text,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner),
    max_leaves=12,
)
frames = st.one_of(
    st.binary(max_size=2000),
    odd_text,
    st.sampled_from([_nested(100), _nested(5000), _nested(200_000)[:60_000], "{", "null"]),
    st.builds(
        lambda kind, fields: json.dumps({"type": kind, **fields}),
        st.sampled_from(["hello", "message", "ping", "welcome", "", "x" * 500]),
        st.dictionaries(
            st.sampled_from(["token", "after", "id", "text", "display", "type"]),
            json_value | st.integers(min_value=2**63, max_value=2**200),
        ),
    ),
)


def _answer_or_close(ws: Any) -> None:
    """Whatever we sent, the server answers or closes within seconds: it never hangs."""
    try:
        ws.recv(timeout=10)
    except ConnectionClosed:
        pass
    except TimeoutError:
        pass  # no answer is due for some frames (a pong-less ping): not a hang of the server


def test_chat_socket_survives_hostile_frames(served: Served) -> None:
    url = f"ws://127.0.0.1:{served.port}/ws/chat"

    @FUZZ
    @given(first=frames, then=st.lists(frames, max_size=3))
    def one(first: Any, then: list[Any]) -> None:
        with connect(url, max_size=None, open_timeout=10, close_timeout=5) as ws:
            try:
                ws.send(first)  # as the hello
                _answer_or_close(ws)
                ws.send(json.dumps({"type": "hello", "token": None, "after": 0}))
                for frame in then:
                    ws.send(frame)
                    _answer_or_close(ws)
            except ConnectionClosed:
                pass

    one()
    assert httpx.get(f"{served.url}/healthz", timeout=5).status_code == 200


form_values = st.one_of(
    st.text(max_size=40),
    st.text(alphabet=string.printable, min_size=500, max_size=1500),
    st.sampled_from(["SM" + "f" * 32, "+447700900123", "STOP", "START", "HELP", "\x00", "é"]),
)
forms = st.dictionaries(
    st.sampled_from(
        ["MessageSid", "SmsSid", "From", "To", "Body", "MessageStatus", "ErrorCode", "X" * 300]
    ),
    form_values,
    max_size=6,
)


@pytest.mark.parametrize("path", ["/webhooks/twilio/sms", "/webhooks/twilio/status"])
def test_webhooks_survive_garbage_signed_or_not(served: Served, path: str) -> None:
    validator = RequestValidator(AUTH_TOKEN)
    client = httpx.Client(base_url=served.url, timeout=10)

    @FUZZ
    @given(form=forms, sign=st.booleans(), raw=st.none() | st.binary(max_size=500))
    def one(form: dict[str, str], sign: bool, raw: bytes | None) -> None:
        body = raw if raw is not None else urlencode(form).encode()
        headers = {"Content-Type": "application/x-www-form-urlencoded"}
        if sign:
            params = form if raw is None else {}
            headers["X-Twilio-Signature"] = validator.compute_signature(PUBLIC_URL + path, params)
        response = client.post(path, content=body, headers=headers)
        assert response.status_code < 500, (response.status_code, response.text[:200])

    try:
        one()
    finally:
        client.close()
    assert httpx.get(f"{served.url}/healthz", timeout=5).status_code == 200
