"""Microsoft Graph for one mailbox: delta queries, MIME, subscriptions and sendMail (httpx).

For landlords who would rather not enable IMAP on Exchange Online. The client is thin: it
adds the bearer token, follows `@odata.nextLink` pages, and turns HTTP into two errors:
`GraphUnavailable` (throttling that outlasts our patience, 5xx, network: try again later)
and `GraphRefused` (4xx: permissions, a missing mailbox; someone must fix the registration).

Throttling: a 429 or 503 with `Retry-After` is waited out (up to `max_retry_wait` seconds a
time, `max_retries` times), as Graph asks; after that the call fails as unavailable and the
caller's own back-off takes over. A 401 drops the token and tries once more with a new one
(a token revoked early, or expired between fetch and use).

Sending uses `sendMail` with the whole MIME message (base64, `text/plain`): Graph keeps our
headers, so `Message-ID`, `In-Reply-To`, `References` and `Auto-Submitted` are exactly what
compose.py wrote, and a resident's reply threads as it does over SMTP.
"""

from __future__ import annotations

import asyncio
import base64
import email.utils
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import quote

import httpx

from channels.base import ChannelError
from channels.email.oauth import TokenCache, TokenError
from channels.email.redact import redact_text

log = logging.getLogger(__name__)

# Graph's message ids change when a message moves folder unless immutable ids are asked for;
# the id is our storage key, so it must not change under us.
_PREFER_IMMUTABLE = 'IdType="ImmutableId"'
_DELTA_PREFER = {"Prefer": f"{_PREFER_IMMUTABLE}, odata.maxpagesize=200"}


class GraphError(ChannelError):
    """A Graph call failed."""


class GraphUnavailable(GraphError):
    """Throttled too long, a server error, or the network: worth trying again later."""


class GraphRefused(GraphError):
    """Graph refused the request (4xx): permissions, consent, an unknown mailbox."""

    def __init__(self, message: str, status: int) -> None:
        super().__init__(message)
        self.status = status


@dataclass(frozen=True, slots=True)
class DeltaItem:
    id: str
    removed: bool = False
    received_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class Subscription:
    id: str
    expires_at: datetime
    client_state: str


class GraphClient:
    def __init__(
        self,
        base_url: str,
        mailbox: str,
        tokens: TokenCache,
        *,
        timeout: float = 30.0,
        max_retries: int = 4,
        max_retry_wait: float = 60.0,
        transport: httpx.AsyncBaseTransport | None = None,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.mailbox = mailbox
        self.tokens = tokens
        self.max_retries = max_retries
        self.max_retry_wait = max_retry_wait
        self._sleep = sleep
        self._http = httpx.AsyncClient(timeout=timeout, transport=transport)
        self.throttled = 0  # 429/503 answers waited out (shown by `doorstep email check`)

    async def aclose(self) -> None:
        await self._http.aclose()

    @property
    def user_path(self) -> str:
        return f"/users/{quote(self.mailbox, safe='@')}"

    async def _token(self) -> str:
        return (await asyncio.to_thread(self.tokens.get)).value

    async def request(
        self,
        method: str,
        url: str,
        *,
        json: Any = None,
        content: bytes | None = None,
        headers: dict[str, str] | None = None,
        max_bytes: int | None = None,
    ) -> httpx.Response:
        """One call, with throttling waited out and one retry on a refused token. With
        `max_bytes` the body is read in pieces and `TooLarge` raised past that size, so a
        huge mail is never held in memory whole."""
        if url.startswith("/"):
            url = self.base_url + url
        retried_auth = False
        attempt = 0
        while True:
            try:
                token = await self._token()
            except TokenError as exc:
                raise GraphUnavailable(f"no access token: {exc}") from exc
            sent = {"Authorization": f"Bearer {token}", "Prefer": _PREFER_IMMUTABLE}
            sent.update(headers or {})
            try:
                built = self._http.build_request(
                    method, url, json=json, content=content, headers=sent
                )
                response = await self._http.send(built, stream=True)
                try:
                    body = await _read_limited(response, max_bytes)
                finally:
                    await response.aclose()
                response = httpx.Response(
                    response.status_code, headers=response.headers, content=body, request=built
                )
            except httpx.HTTPError as exc:
                raise GraphUnavailable(f"graph {method} failed: {type(exc).__name__}") from exc
            if response.status_code == 401 and not retried_auth:
                retried_auth = True
                self.tokens.invalidate()
                continue
            if response.status_code in (429, 503, 504) and attempt < self.max_retries:
                attempt += 1
                self.throttled += 1
                wait = _retry_after(response, default=2.0**attempt)
                log.info("graph throttled (%s); waiting %.1fs", response.status_code, wait)
                await self._sleep(min(wait, self.max_retry_wait))
                continue
            if response.status_code >= 500 or response.status_code == 429:
                raise GraphUnavailable(f"graph {method} answered {response.status_code}")
            if response.status_code >= 400:
                raise GraphRefused(
                    f"graph {method} answered {response.status_code}: {_error_text(response)}",
                    response.status_code,
                )
            return response

    # --- reading -------------------------------------------------------------------------

    async def delta(
        self, folder: str, delta_link: str | None
    ) -> tuple[list[DeltaItem], str | None]:
        """Changes since `delta_link` (all messages in `folder` when None), every page
        followed; returns them with the link for next time."""
        url = delta_link or (
            f"{self.user_path}/mailFolders/{quote(folder)}/messages/delta"
            "?$select=id,receivedDateTime"
        )
        items: list[DeltaItem] = []
        while True:
            # Graph's default page for messages is 10: a first delta over a large folder
            # would take thousands of calls.
            body = (await self.request("GET", url, headers=_DELTA_PREFER)).json()
            for entry in body.get("value", []):
                if not isinstance(entry, dict) or not entry.get("id"):
                    continue
                items.append(
                    DeltaItem(
                        str(entry["id"]),
                        removed="@removed" in entry,
                        received_at=_parse_time(entry.get("receivedDateTime")),
                    )
                )
            if "@odata.nextLink" in body:
                url = str(body["@odata.nextLink"])
                continue
            return items, body.get("@odata.deltaLink")

    async def mime(self, message_id: str, max_bytes: int = 64 * 1024 * 1024) -> bytes | None:
        """The message as the sender's MIME (RFC 5322 bytes); None when it is gone.

        Above `max_bytes` the body is not downloaded (as the IMAP intake): the message's
        header, rebuilt from Graph's `internetMessageHeaders`, with `X-Doorstep-Oversize`,
        which the parser quarantines with its size, so staff see it came."""
        path = f"{self.user_path}/messages/{quote(message_id, safe='')}"
        try:
            response = await self.request("GET", f"{path}/$value", max_bytes=max_bytes)
        except GraphRefused as exc:
            if exc.status == 404:
                return None  # deleted between the notification and now: nothing to store
            raise
        except TooLarge as exc:
            log.warning("graph message over %d bytes: not fetched", max_bytes)
            return await self._oversize_stand_in(path, exc.size)
        return response.content

    async def _oversize_stand_in(self, path: str, size: int) -> bytes:
        from channels.email.parse import OVERSIZE_HEADER

        body = (await self.request("GET", f"{path}?$select=internetMessageHeaders")).json()
        lines = [f"{OVERSIZE_HEADER}: {size}"]
        for header in body.get("internetMessageHeaders") or []:
            if not isinstance(header, dict):
                continue
            name, value = str(header.get("name", "")), str(header.get("value", ""))
            if name and ":" not in name and not any(c in name + value for c in "\r\n"):
                lines.append(f"{name}: {value}")
        note = "(message too large to fetch: open it in the mailbox)"
        return ("\r\n".join(lines) + "\r\n\r\n" + note + "\r\n").encode()

    # --- subscriptions -------------------------------------------------------------------

    async def subscribe(
        self,
        folder: str,
        notification_url: str,
        lifecycle_url: str,
        client_state: str,
        minutes: int,
    ) -> Subscription:
        expires = datetime.now(UTC) + timedelta(minutes=minutes)
        body = (
            await self.request(
                "POST",
                "/subscriptions",
                json={
                    "changeType": "created",
                    "notificationUrl": notification_url,
                    "lifecycleNotificationUrl": lifecycle_url,
                    "resource": f"users/{self.mailbox}/mailFolders('{folder}')/messages",
                    "expirationDateTime": _graph_time(expires),
                    "clientState": client_state,
                },
            )
        ).json()
        return Subscription(
            str(body["id"]),
            _parse_time(body.get("expirationDateTime")) or expires,
            client_state,
        )

    async def renew(self, subscription: Subscription, minutes: int) -> Subscription:
        expires = datetime.now(UTC) + timedelta(minutes=minutes)
        body = (
            await self.request(
                "PATCH",
                f"/subscriptions/{quote(subscription.id, safe='')}",
                json={"expirationDateTime": _graph_time(expires)},
            )
        ).json()
        return Subscription(
            subscription.id,
            _parse_time(body.get("expirationDateTime")) or expires,
            subscription.client_state,
        )

    async def unsubscribe(self, subscription: Subscription) -> None:
        try:
            await self.request("DELETE", f"/subscriptions/{quote(subscription.id, safe='')}")
        except GraphRefused as exc:
            if exc.status != 404:
                raise

    # --- sending -------------------------------------------------------------------------

    async def send_mime(self, raw: bytes) -> None:
        await self.request(
            "POST",
            f"{self.user_path}/sendMail",
            content=base64.b64encode(raw),
            headers={"Content-Type": "text/plain"},
        )


class TooLarge(GraphError):
    def __init__(self, size: int) -> None:
        super().__init__(f"more than {size} bytes")
        self.size = size


async def _read_limited(response: httpx.Response, max_bytes: int | None) -> bytes:
    parts: list[bytes] = []
    total = 0
    async for chunk in response.aiter_bytes():
        total += len(chunk)
        if max_bytes is not None and total > max_bytes:
            announced = response.headers.get("Content-Length", "")
            raise TooLarge(int(announced) if announced.isdigit() else total)
        parts.append(chunk)
    return b"".join(parts)


def _retry_after(response: httpx.Response, *, default: float) -> float:
    value = response.headers.get("Retry-After", "")
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return default
    return max(0.0, (when - datetime.now(UTC)).total_seconds())


def _error_text(response: httpx.Response) -> str:
    try:
        body = response.json()
        error = body.get("error", {}) if isinstance(body, dict) else {}
        text = f"{error.get('code', '')}: {error.get('message', '')}"
    except ValueError:
        text = response.text[:200]
    return redact_text(text)[:300]


def _graph_time(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.0000000Z")


def _parse_time(value: object) -> datetime | None:
    if not isinstance(value, str) or not value:
        return None
    text = value.replace("Z", "+00:00")
    if "." in text:  # Graph gives seven fractional digits; Python reads up to six
        head, _, tail = text.partition(".")
        digits = "".join(ch for ch in tail if ch.isdigit())
        zone = tail[len(digits) :]
        text = f"{head}.{digits[:6]}{zone}"
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
