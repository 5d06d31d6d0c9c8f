"""A local fake of the Microsoft Graph mail API (ASGI, FastAPI under uvicorn in a thread).

Doorstep's real Graph client talks to it through `graph_url` (DOORSTEP_GRAPH_URL), as it
would to https://graph.microsoft.com/v1.0. What it does, shaped as Graph documents it:

- `GET /users/{u}/mailFolders/{f}/messages/delta`: pages of `page_size` with
  `@odata.nextLink` (`$skiptoken`) and, on the last page, `@odata.deltaLink` (`$deltatoken`);
- `GET /users/{u}/messages/{id}/$value`: the MIME;
- `POST /subscriptions`: first POSTs `?validationToken=` to the notificationUrl and wants it
  echoed as text/plain within 10 s (else 400, as Graph); the expiry is capped at
  `max_subscription_seconds`; an expired subscription notifies no more;
  `PATCH`/`DELETE /subscriptions/{id}`;
- `POST /users/{u}/sendMail` with a base64 MIME body (text/plain);
- bearer tokens checked with `check_token` (the fake identity provider's introspection);
- `throttle(n, retry_after)`: the next n calls answer 429 with `Retry-After`.

Test controls: `deliver(user, mime, notify=1)` files a message and sends `notify` change
notifications to each live subscription (0: the notification is lost; 2: a duplicate);
`lifecycle(event)` posts a lifecycle notification. Every request is recorded.
"""

from __future__ import annotations

import base64
import secrets
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email import message_from_bytes
from email.policy import compat32
from typing import Any

import httpx
from fastapi import FastAPI, Request, Response
from fastapi.responses import JSONResponse

from tests.support.net import free_port, wait_for_port


@dataclass
class FakeSubscription:
    id: str
    resource: str
    user: str
    notification_url: str
    lifecycle_url: str | None
    client_state: str
    expires_at: float  # time.time()

    @property
    def live(self) -> bool:
        return time.time() < self.expires_at


@dataclass
class FakeGraph:
    page_size: int = 2
    max_subscription_seconds: float = 4230 * 60
    check_token: Callable[[str], bool] | None = None
    messages: dict[str, dict[str, bytes]] = field(default_factory=dict)  # user -> id -> MIME
    log: dict[str, list[str]] = field(default_factory=dict)  # user -> ids in arrival order
    subscriptions: dict[str, FakeSubscription] = field(default_factory=dict)
    renewals: int = 0
    sent: list[bytes] = field(default_factory=list)
    requests: list[tuple[str, str, int]] = field(default_factory=list)
    notifications_sent: int = 0
    url: str = ""
    _throttle: list[float] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    # --- test controls -------------------------------------------------------------------

    def throttle(self, times: int, retry_after: float = 1.0) -> None:
        with self._lock:
            self._throttle.extend([retry_after] * times)

    def deliver(self, user: str, mime: bytes, *, notify: int = 1) -> str:
        message_id = "AAMk" + secrets.token_urlsafe(18)
        with self._lock:
            self.messages.setdefault(user.lower(), {})[message_id] = mime
            self.log.setdefault(user.lower(), []).append(message_id)
            subs = [s for s in self.subscriptions.values() if s.user == user.lower() and s.live]
        for sub in subs:
            for _ in range(notify):
                self._post(
                    sub.notification_url,
                    {
                        "value": [
                            {
                                "subscriptionId": sub.id,
                                "clientState": sub.client_state,
                                "changeType": "created",
                                "resource": f"Users/{user}/Messages/{message_id}",
                                "resourceData": {
                                    "@odata.type": "#Microsoft.Graph.Message",
                                    "id": message_id,
                                },
                                "tenantId": "contoso",
                            }
                        ]
                    },
                )
        return message_id

    def lifecycle(self, event: str, *, client_state: str | None = None) -> None:
        with self._lock:
            subs = list(self.subscriptions.values())
            if event == "subscriptionRemoved":
                self.subscriptions.clear()
        for sub in subs:
            self._post(
                sub.lifecycle_url or sub.notification_url,
                {
                    "value": [
                        {
                            "subscriptionId": sub.id,
                            "clientState": client_state or sub.client_state,
                            "lifecycleEvent": event,
                            "resource": sub.resource,
                        }
                    ]
                },
            )

    def forged_notification(self, user: str, message_id: str) -> int:
        """A POST with a wrong clientState (someone who found the URL); returns the status."""
        with self._lock:
            subs = [s for s in self.subscriptions.values() if s.user == user.lower()]
        status = 0
        for sub in subs:
            status = self._post(
                sub.notification_url,
                {
                    "value": [
                        {
                            "subscriptionId": sub.id,
                            "clientState": "guessed",
                            "changeType": "created",
                            "resourceData": {"id": message_id},
                        }
                    ]
                },
            )
        return status

    def live_subscriptions(self) -> list[FakeSubscription]:
        with self._lock:
            return [s for s in self.subscriptions.values() if s.live]

    def wait_sent(self, count: int, timeout: float = 10.0) -> list[bytes]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self._lock:
                if len(self.sent) >= count:
                    return list(self.sent)
            time.sleep(0.02)
        raise TimeoutError(f"{len(self.sent)} of {count} mails sent")

    def _post(self, url: str, payload: dict[str, Any]) -> int:
        with self._lock:
            self.notifications_sent += 1
        try:
            return httpx.post(url, json=payload, timeout=10).status_code
        except httpx.HTTPError:
            return 0

    # --- the API -------------------------------------------------------------------------

    def app(self) -> FastAPI:
        api = FastAPI()
        fake = self

        @api.middleware("http")
        async def gate(request: Request, call_next: Any) -> Response:
            with fake._lock:
                delay = fake._throttle.pop(0) if fake._throttle else None
            path = request.url.path
            if delay is not None:
                fake.requests.append((request.method, path, 429))
                return JSONResponse(
                    {"error": {"code": "TooManyRequests", "message": "Too many requests"}},
                    status_code=429,
                    headers={"Retry-After": str(delay)},
                )
            header = request.headers.get("authorization", "")
            token = header.removeprefix("Bearer ")
            if fake.check_token is not None and (
                not header.startswith("Bearer ") or not fake.check_token(token)
            ):
                fake.requests.append((request.method, path, 401))
                return JSONResponse(
                    {"error": {"code": "InvalidAuthenticationToken", "message": "expired"}},
                    status_code=401,
                )
            response: Response = await call_next(request)
            fake.requests.append((request.method, path, response.status_code))
            return response

        @api.get("/v1.0/users/{user}/mailFolders/{folder}/messages/delta")
        def delta(user: str, folder: str, request: Request) -> dict[str, Any]:
            q = request.query_params
            start = int(q.get("$skiptoken") or q.get("$deltatoken") or 0)
            with fake._lock:
                ids = list(fake.log.get(user.lower(), []))
            page = ids[start : start + fake.page_size]
            base = str(request.url).split("?", 1)[0]
            body: dict[str, Any] = {
                "value": [
                    {"id": i, "receivedDateTime": datetime.now(UTC).isoformat()} for i in page
                ]
            }
            end = start + len(page)
            if end < len(ids):
                body["@odata.nextLink"] = f"{base}?$skiptoken={end}"
            else:
                body["@odata.deltaLink"] = f"{base}?$deltatoken={end}"
            return body

        @api.get("/v1.0/users/{user}/messages/{message_id}/$value")
        def value(user: str, message_id: str) -> Response:
            with fake._lock:
                mime = fake.messages.get(user.lower(), {}).get(message_id)
            if mime is None:
                return JSONResponse({"error": {"code": "ErrorItemNotFound"}}, status_code=404)
            return Response(mime, media_type="text/plain")

        @api.get("/v1.0/users/{user}/messages/{message_id}")
        def message(user: str, message_id: str, request: Request) -> Response:
            with fake._lock:
                mime = fake.messages.get(user.lower(), {}).get(message_id)
            if mime is None:
                return JSONResponse({"error": {"code": "ErrorItemNotFound"}}, status_code=404)
            parsed = message_from_bytes(mime, policy=compat32)
            headers = [{"name": k, "value": str(v)} for k, v in parsed.items()]
            return JSONResponse({"id": message_id, "internetMessageHeaders": headers})

        @api.post("/v1.0/subscriptions")
        async def subscribe(request: Request) -> Response:
            body = await request.json()
            token = secrets.token_urlsafe(12)
            url = str(body["notificationUrl"])
            try:
                async with httpx.AsyncClient(timeout=10) as client:
                    answer = await client.post(url, params={"validationToken": token})
                ok = answer.status_code == 200 and answer.text == token
            except httpx.HTTPError:
                ok = False
            if not ok:
                return JSONResponse(
                    {"error": {"code": "ValidationError", "message": "validation failed"}},
                    status_code=400,
                )
            asked = _parse(body["expirationDateTime"])
            expires = min(asked, time.time() + fake.max_subscription_seconds)
            resource = str(body["resource"])
            user = resource.split("/")[1].lower()
            sub = FakeSubscription(
                "sub-" + secrets.token_hex(6),
                resource,
                user,
                url,
                body.get("lifecycleNotificationUrl"),
                str(body.get("clientState", "")),
                expires,
            )
            with fake._lock:
                fake.subscriptions[sub.id] = sub
            return JSONResponse(_subscription_json(sub), status_code=201)

        @api.patch("/v1.0/subscriptions/{sub_id}")
        async def renew(sub_id: str, request: Request) -> Response:
            body = await request.json()
            with fake._lock:
                sub = fake.subscriptions.get(sub_id)
                if sub is None or not sub.live:
                    return JSONResponse({"error": {"code": "ResourceNotFound"}}, status_code=404)
                asked = _parse(body["expirationDateTime"])
                sub.expires_at = min(asked, time.time() + fake.max_subscription_seconds)
                fake.renewals += 1
            return JSONResponse(_subscription_json(sub))

        @api.delete("/v1.0/subscriptions/{sub_id}")
        def unsubscribe(sub_id: str) -> Response:
            with fake._lock:
                gone = fake.subscriptions.pop(sub_id, None)
            return Response(status_code=204 if gone else 404)

        @api.post("/v1.0/users/{user}/sendMail")
        async def send_mail(user: str, request: Request) -> Response:
            raw = await request.body()
            try:
                mime = base64.b64decode(raw, validate=True)
            except ValueError:
                return JSONResponse({"error": {"code": "ErrorMimeContentInvalid"}}, 400)
            with fake._lock:
                fake.sent.append(mime)
            return Response(status_code=202)

        return api


def _parse(value: str) -> float:
    text = value.replace("Z", "+00:00")
    if "." in text:
        head, _, tail = text.partition(".")
        digits = "".join(c for c in tail if c.isdigit())
        text = f"{head}.{digits[:6]}{tail[len(digits) :]}"
    return datetime.fromisoformat(text).timestamp()


def _subscription_json(sub: FakeSubscription) -> dict[str, Any]:
    expires = datetime.fromtimestamp(sub.expires_at, UTC) + timedelta(0)
    return {
        "id": sub.id,
        "resource": sub.resource,
        "changeType": "created",
        "notificationUrl": sub.notification_url,
        "clientState": sub.client_state,
        "expirationDateTime": expires.strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
    }


@contextmanager
def serve_asgi(api: Any, port: int | None = None, *, lifespan: bool = False) -> Iterator[str]:
    """uvicorn serving `api` on 127.0.0.1 in a thread; yields its base URL. `lifespan`: run
    the app's start-up and shut-down (Doorstep's workers)."""
    import uvicorn

    port = port or free_port()
    config = uvicorn.Config(
        api, host="127.0.0.1", port=port, log_level="warning", lifespan="on" if lifespan else "off"
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, name=f"asgi-{port}", daemon=True)
    thread.start()
    try:
        if not wait_for_port("127.0.0.1", port, timeout=20):
            raise AssertionError(f"server did not start on {port}")
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


@contextmanager
def running_fake_graph(**kwargs: Any) -> Iterator[FakeGraph]:
    fake = FakeGraph(**kwargs)
    with serve_asgi(fake.app()) as url:
        fake.url = f"{url}/v1.0"
        yield fake
