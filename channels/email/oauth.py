"""OAuth 2.0 access tokens for mailboxes: Microsoft Entra ID, Google Workspace, any token URL.

Exchange Online switched Basic authentication off for IMAP (and is doing so for SMTP);
Google Workspace wants OAuth too. So a mailbox logs in with SASL XOAUTH2 (or OAUTHBEARER)
and an access token, which comes from the identity provider's own library:

- `microsoft`: MSAL's `ConfidentialClientApplication`, client credentials (app-only access to
  a shared mailbox), scope `https://outlook.office365.com/.default` (IMAP/SMTP) or
  `https://graph.microsoft.com/.default` (Graph).
- `google`: google-auth, a service account with domain-wide delegation (impersonating the
  mailbox), or a stored refresh token.
- `generic`: a client-credentials POST to any token URL (httpx).

`TokenCache` keeps the last token and fetches a new one a margin before it expires, so a
session is never started with a token about to lapse. Every provider call blocks (the
libraries use `requests`): callers run them in a thread.

Errors are two kinds, because they need different answers from the people running Doorstep:
`TokenRefused` (the provider said no: wrong or revoked secret, no admin consent, unknown
tenant; someone must fix the app registration) and `TokenUnavailable` (the provider could not
be reached or failed; it will pass). Both are retried with back-off by the intake, and both
show on `/api/status`; neither stops the intake.
"""

from __future__ import annotations

import json
import ssl
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC
from typing import Any, Literal, Protocol

from channels.base import ChannelError
from channels.email.redact import redact_text

Provider = Literal["microsoft", "google", "generic"]

MICROSOFT_AUTHORITY_HOST = "https://login.microsoftonline.com"
MICROSOFT_MAIL_SCOPE = "https://outlook.office365.com/.default"
MICROSOFT_GRAPH_SCOPE = "https://graph.microsoft.com/.default"
GOOGLE_MAIL_SCOPE = "https://mail.google.com/"
GOOGLE_TOKEN_URL = "https://oauth2.googleapis.com/token"

# Errors a provider gives for a passing fault; every other error is a refusal to fix.
_PASSING_ERRORS = frozenset({"temporarily_unavailable", "server_error", "slow_down"})


class TokenError(ChannelError):
    """No access token could be had."""


class TokenRefused(TokenError):
    """The identity provider refused: wrong or revoked secret, missing consent, bad tenant."""


class TokenUnavailable(TokenError):
    """The identity provider could not be reached or failed; worth trying again soon."""


@dataclass(frozen=True, slots=True)
class AccessToken:
    value: str = field(repr=False)
    expires_at: float  # seconds since the epoch (time.time())
    issued_at: float = 0.0

    @property
    def lifetime(self) -> float:
        return max(0.0, self.expires_at - self.issued_at)


class TokenSource(Protocol):
    """Asks the provider for a new token. Blocking."""

    def fetch(self) -> AccessToken: ...


@dataclass(frozen=True, slots=True)
class OAuthSettings:
    provider: Provider
    client_id: str = ""
    client_secret: str | None = field(default=None, repr=False)
    tenant: str | None = None  # microsoft: directory (tenant) id or domain
    token_url: str | None = None  # generic: required; google: overrides Google's
    scope: str | None = None  # default: the provider's mail scope
    # microsoft: a certificate instead of a secret (PEM private key + its thumbprint).
    certificate_path: str | None = None
    certificate_thumbprint: str | None = None
    # microsoft: the login host (national clouds, tests): https://login.microsoftonline.us
    authority_host: str = MICROSOFT_AUTHORITY_HOST
    # google: a service account key file (domain-wide delegation) ...
    service_account_file: str | None = None
    # ... or a refresh token (with client_id and client_secret).
    refresh_token: str | None = field(default=None, repr=False)
    # google, delegation: the mailbox to act as (the IMAP user when not set).
    subject: str | None = None
    ca_file: str | None = None  # a private CA for the token endpoint (tests, proxies)
    timeout: float = 30.0

    def scopes(self, default: str) -> list[str]:
        return (self.scope or default).split()


class TokenCache:
    """The current token of one source; a new one is fetched `margin` before expiry.

    The margin is the smaller of `refresh_margin` and a quarter of the token's lifetime,
    so hour-long production tokens are renewed five minutes early and the few-second tokens
    of the tests still get used. Thread-safe: one fetch at a time.
    """

    def __init__(
        self,
        source: TokenSource,
        *,
        refresh_margin: float = 300.0,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.source = source
        self.refresh_margin = refresh_margin
        self.clock = clock
        self._token: AccessToken | None = None
        self._lock = threading.Lock()
        self.fetches = 0

    def margin(self, token: AccessToken) -> float:
        return min(self.refresh_margin, token.lifetime / 4)

    def usable_until(self, token: AccessToken) -> float:
        """When a session using `token` should end and start again with a fresh one."""
        return token.expires_at - self.margin(token)

    def get(self) -> AccessToken:
        with self._lock:
            token = self._token
            if token is not None and self.clock() < self.usable_until(token):
                return token
            self._token = None
            token = self.source.fetch()
            self.fetches += 1
            self._token = token
            return token

    def close(self) -> None:
        """Release the source's connections (MSAL keeps a session)."""
        close = getattr(self.source, "close", None)
        if close is not None:
            close()

    def invalidate(self) -> None:
        """Forget the token (the server refused it): the next `get` asks the provider.

        MSAL would hand back its own cached copy of the refused token: the source starts
        afresh too."""
        with self._lock:
            self._token = None
            self.close()


def build_token_source(settings: OAuthSettings, *, username: str, purpose: str) -> TokenSource:
    """The provider's own client for `settings`. `purpose` is "mail" or "graph" (the default
    scope); `username` is the mailbox (Google impersonates it)."""
    if settings.provider == "microsoft":
        return MsalTokenSource(settings, purpose=purpose)
    if settings.provider == "google":
        return GoogleTokenSource(settings, username=username)
    if settings.provider == "generic":
        return GenericTokenSource(settings)
    raise ValueError(f"unknown OAuth provider {settings.provider!r}")


def _requests_session(ca_file: str | None, timeout: float) -> Any:
    """A requests session for the providers' libraries. `verify` is given per request: a
    session's own `verify` loses to REQUESTS_CA_BUNDLE in the environment (a requests
    quirk), which would make a private CA impossible to use."""
    import functools

    import requests

    session = requests.Session()
    adapter = requests.adapters.HTTPAdapter(max_retries=1)
    session.mount("https://", adapter)
    session.mount("http://", adapter)
    session.request = functools.partial(  # type: ignore[method-assign]
        session.request, timeout=timeout, verify=ca_file or True
    )
    return session


def httpx_verify(ca_file: str | None) -> ssl.SSLContext | bool:
    return ssl.create_default_context(cafile=ca_file) if ca_file else True


def _expiry(expires_in: object, now: float) -> float:
    try:
        seconds = float(expires_in)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        seconds = 3600.0  # RFC 6749: expires_in is recommended, not required
    return now + max(seconds, 0.0)


def _refusal_or_passing(error: str, description: str) -> TokenError:
    text = redact_text(f"{error}: {description}".strip(": "))[:500]
    if error in _PASSING_ERRORS:
        return TokenUnavailable(text)
    return TokenRefused(text)


class MsalTokenSource:
    """Microsoft Entra ID, client credentials, through MSAL."""

    def __init__(self, settings: OAuthSettings, *, purpose: str) -> None:
        if not settings.tenant:
            raise ValueError("microsoft OAuth needs a tenant")
        self.settings = settings
        self.scopes = settings.scopes(
            MICROSOFT_GRAPH_SCOPE if purpose == "graph" else MICROSOFT_MAIL_SCOPE
        )
        self._app: Any = None
        self._session: Any = None

    def close(self) -> None:
        if self._session is not None:
            self._session.close()
        self._session = self._app = None

    def _application(self) -> Any:
        import msal
        import requests

        self.close()
        self._session = _requests_session(self.settings.ca_file, self.settings.timeout)

        s = self.settings
        credential: Any = s.client_secret
        if s.certificate_path:
            try:
                with open(s.certificate_path, encoding="utf-8") as handle:
                    key = handle.read()
            except OSError as exc:
                raise TokenRefused(f"certificate_path unreadable: {exc.strerror}") from exc
            credential = {"private_key": key, "thumbprint": s.certificate_thumbprint or ""}
        authority = f"{s.authority_host.rstrip('/')}/{s.tenant}"
        known = s.authority_host.rstrip("/") == MICROSOFT_AUTHORITY_HOST
        try:
            # The constructor already fetches the tenant's OpenID configuration. For a host
            # other than Microsoft's public cloud (national clouds, the tests' fake) MSAL's
            # instance discovery would ask login.microsoftonline.com whether it knows that
            # host: we trust the configured one instead.
            return msal.ConfidentialClientApplication(
                s.client_id,
                client_credential=credential,
                authority=authority,
                validate_authority=known,
                instance_discovery=None if known else False,
                http_client=self._session,
            )
        except requests.RequestException as exc:
            raise TokenUnavailable(f"cannot reach {authority}: {type(exc).__name__}") from exc
        except ValueError as exc:  # unknown tenant (4xx on discovery), malformed authority
            raise TokenRefused(redact_text(str(exc))[:500]) from exc

    def fetch(self) -> AccessToken:
        import requests

        if self._app is None:
            self._app = self._application()
        now = time.time()
        try:
            result = self._app.acquire_token_for_client(scopes=self.scopes)
        except requests.RequestException as exc:
            raise TokenUnavailable(f"token request failed: {type(exc).__name__}") from exc
        if not isinstance(result, dict) or "access_token" not in result:
            details = result if isinstance(result, dict) else {}
            # MSAL remembers refusals for a while (its throttling): start afresh next time,
            # so a secret fixed in the portal is used at the next attempt.
            self.close()
            description = str(details.get("error_description") or "")
            raise _refusal_or_passing(
                str(details.get("error") or "no_token"), description.split("\n", 1)[0]
            )
        return AccessToken(
            str(result["access_token"]), _expiry(result.get("expires_in"), now), issued_at=now
        )


class GoogleTokenSource:
    """Google Workspace through google-auth: a delegated service account or a refresh token."""

    def __init__(self, settings: OAuthSettings, *, username: str) -> None:
        if not (settings.service_account_file or settings.refresh_token):
            raise ValueError("google OAuth needs a service account file or a refresh token")
        self.settings = settings
        self.username = username
        self._credentials: Any = None

    def _build(self) -> Any:
        s = self.settings
        scopes = s.scopes(GOOGLE_MAIL_SCOPE)
        if s.service_account_file:
            from google.oauth2 import service_account

            with open(s.service_account_file, encoding="utf-8") as handle:
                info = json.load(handle)
            if s.token_url:
                info["token_uri"] = s.token_url
            return service_account.Credentials.from_service_account_info(  # type: ignore[no-untyped-call]
                info, scopes=scopes, subject=s.subject or self.username
            )
        from google.oauth2 import credentials

        return credentials.Credentials(  # type: ignore[no-untyped-call]
            None,
            refresh_token=s.refresh_token,
            client_id=s.client_id,
            client_secret=s.client_secret,
            token_uri=s.token_url or GOOGLE_TOKEN_URL,
            scopes=scopes,
        )

    def fetch(self) -> AccessToken:
        import google.auth.exceptions
        import google.auth.transport.requests

        if self._credentials is None:
            try:
                self._credentials = self._build()
            except (OSError, ValueError, KeyError) as exc:
                raise TokenRefused(f"google credentials unusable: {exc}") from exc
        session = _requests_session(self.settings.ca_file, self.settings.timeout)
        now = time.time()
        try:
            self._credentials.refresh(google.auth.transport.requests.Request(session))
        except google.auth.exceptions.RefreshError as exc:
            error, description = _google_error(exc)
            if getattr(exc, "retryable", False):
                raise TokenUnavailable(redact_text(f"{error}: {description}")) from exc
            raise _refusal_or_passing(error, description) from exc
        except google.auth.exceptions.TransportError as exc:
            raise TokenUnavailable(f"token request failed: {type(exc).__name__}") from exc
        finally:
            session.close()
        expiry = self._credentials.expiry  # naive UTC datetime
        expires_at = expiry.replace(tzinfo=UTC).timestamp() if expiry is not None else now + 3600
        return AccessToken(str(self._credentials.token), expires_at, issued_at=now)


def _google_error(exc: Exception) -> tuple[str, str]:
    for arg in exc.args:
        if isinstance(arg, dict):
            return str(arg.get("error") or "refused"), str(arg.get("error_description") or "")
    return "refused", str(exc.args[0]) if exc.args else ""


class GenericTokenSource:
    """Client credentials at any RFC 6749 token endpoint."""

    def __init__(self, settings: OAuthSettings) -> None:
        if not settings.token_url:
            raise ValueError("generic OAuth needs a token_url")
        self.settings = settings

    def fetch(self) -> AccessToken:
        import httpx

        s = self.settings
        form = {"grant_type": "client_credentials", "client_id": s.client_id}
        if s.client_secret:
            form["client_secret"] = s.client_secret
        if s.scope:
            form["scope"] = s.scope
        now = time.time()
        try:
            with httpx.Client(verify=httpx_verify(s.ca_file), timeout=s.timeout) as client:
                response = client.post(str(s.token_url), data=form)
        except httpx.HTTPError as exc:
            raise TokenUnavailable(f"token request failed: {type(exc).__name__}") from exc
        try:
            body = response.json()
        except ValueError:
            body = {}
        if not isinstance(body, dict):
            body = {}
        if response.status_code >= 500 or response.status_code == 429:
            raise TokenUnavailable(f"token endpoint answered {response.status_code}")
        if response.status_code != 200 or "access_token" not in body:
            raise _refusal_or_passing(
                str(body.get("error") or f"http_{response.status_code}"),
                str(body.get("error_description") or ""),
            )
        return AccessToken(
            str(body["access_token"]), _expiry(body.get("expires_in"), now), issued_at=now
        )


def xoauth2_string(username: str, token: str) -> str:
    """The SASL XOAUTH2 initial response (before base64), as Google and Microsoft define it."""
    return f"user={username}\x01auth=Bearer {token}\x01\x01"
