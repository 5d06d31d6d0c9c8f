"""A small client for Doorstep's assistant API (stdlib only: it runs in Rasa's venv)."""

from __future__ import annotations

import json
import logging
import os
import urllib.error
import urllib.parse
import urllib.request
from typing import Any

log = logging.getLogger(__name__)


class DoorstepUnavailable(Exception):
    """Doorstep did not answer, or refused: the action says so and offers a person."""


class DoorstepClient:
    def __init__(
        self, base_url: str | None = None, token: str | None = None, timeout: float = 5.0
    ) -> None:
        self.base_url = base_url or os.environ.get("DOORSTEP_URL") or "http://127.0.0.1:8000"
        self.base_url = self.base_url.rstrip("/")
        self.token = token if token is not None else os.environ.get("DOORSTEP_API_TOKEN", "")
        self.timeout = timeout

    def _call(self, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(
            self.base_url + path,
            data=data,
            method=method,
            headers={
                "Authorization": f"Bearer {self.token}",
                "Content-Type": "application/json",
                "Accept": "application/json",
            },
        )
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:
                return json.loads(response.read() or b"null")
        except urllib.error.HTTPError as exc:
            detail = exc.read()[:500].decode("utf-8", "replace")
            raise DoorstepUnavailable(f"HTTP {exc.code} from {path}: {detail}") from exc
        except (urllib.error.URLError, TimeoutError, OSError, ValueError) as exc:
            raise DoorstepUnavailable(f"{path}: {exc}") from exc

    def post(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        result = self._call("POST", path, body)
        return result if isinstance(result, dict) else {}

    def get(self, path: str, **params: str) -> dict[str, Any]:
        query = ("?" + urllib.parse.urlencode(params)) if params else ""
        result = self._call("GET", path + query)
        return result if isinstance(result, dict) else {}
