"""Issue 14: a chat handler ends when its socket ends, even when a reply rings at that
very moment. This was the root of the hang seen when serve stopped after thousands of chats:
the handler cancels the task that pushes replies, and on Python 3.11 `asyncio.wait_for`
swallowed that cancellation when the hub rang in the same turn of the event loop; the
pusher then polled a closed socket for ever, the handler awaited it for ever, and uvicorn's
shutdown waited for the handler.

The socket here is the handler's side of Starlette's `WebSocket` (receive / send / close),
played by a script, so the ring and the disconnect can be put in the same turn every time;
the server, the hub and the database are the real ones.
"""

from __future__ import annotations

import asyncio
import json
import time
from types import SimpleNamespace
from typing import Any

import pytest
import sqlalchemy as sa

from bot.bootstrap import bootstrap
from bot.domain.model import Channel
from bot.settings import Settings, Webchat
from channels.base import CollectingSender
from channels.webchat.adapter import WebchatSender, decode
from channels.webchat.server import ChatConnection, ChatServer
from tests.fakes import KeywordClassifier
from tests.support.browser import office_hours_clock

pytestmark = pytest.mark.integration


class ScriptedSocket:
    """The resident's browser: says hello, then leaves just as a reply is rung."""

    def __init__(self, ring: Any) -> None:
        self.ring = ring
        self.frames = [json.dumps({"type": "hello", "token": None, "after": 0})]
        self.sent: list[dict[str, Any]] = []
        self.headers: dict[str, str] = {}
        self.client = SimpleNamespace(host="192.0.2.7")
        self.app = SimpleNamespace(state=SimpleNamespace())

    async def receive(self) -> dict[str, Any]:
        if self.frames:
            return {"type": "websocket.receive", "text": self.frames.pop(0)}
        await asyncio.sleep(0.05)  # the pusher is now waiting for a ring
        session = next(f["session"] for f in self.sent if f["type"] == "welcome")
        self.ring(session)  # a reply arrives ...
        return {"type": "websocket.disconnect", "code": 1001}  # ... as the tab closes

    async def send_text(self, text: str) -> None:
        self.sent.append(json.loads(text))

    async def close(self, code: int = 1000) -> None:
        pass


async def test_the_handler_ends_when_a_reply_rings_as_the_socket_closes(
    engine: sa.Engine,
) -> None:
    settings = Settings(webchat=Webchat(poll_seconds=30))
    app = bootstrap(
        settings,
        engine=engine,
        classifier=KeywordClassifier(),
        senders=[WebchatSender(), CollectingSender(Channel.EMAIL), CollectingSender(Channel.SMS)],
        decoders={Channel.WEBCHAT: decode},
        now=office_hours_clock(settings),
        run_migrations=False,
    )
    try:
        server = ChatServer(app)
        for _ in range(20):
            socket = ScriptedSocket(server.hub.publish)
            connection = ChatConnection(server, socket)  # type: ignore[arg-type]
            # Before the fix this never returned (the poll interval is 30 s, and the pusher
            # loop outlived every poll); only the outer timeout's cancel ended it.
            started = time.monotonic()
            await asyncio.wait_for(connection.run(), timeout=12)
            assert time.monotonic() - started < 5
            assert [f["type"] for f in socket.sent][:1] == ["welcome"]
        leftover = [
            task
            for task in asyncio.all_tasks()
            if task is not asyncio.current_task() and "push_loop" in repr(task.get_coro())
        ]
        assert leftover == []
    finally:
        app.close()
