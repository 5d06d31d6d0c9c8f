"""A local OAuth 2.0 identity provider for the real MSAL, google-auth and httpx clients.

HTTPS on loopback with a certificate made for the run (MSAL accepts only https authorities);
`ca_file` is that certificate, for the clients' `verify` and Dovecot's `tls_ca_cert_file`.

    with FakeOAuth(token_lifetime=4) as idp:
        idp.add_client("app-id", "secret", mailbox="repairs@landlord.example")
        authority_host = idp.url              # MSAL: authority = f"{idp.url}/{tenant}"
        token_url = idp.token_url             # generic provider, google-auth
        idp.revoke("app-id")                  # the secret is refused from now on
        idp.introspection_url                 # Dovecot's oauth2 passdb asks here

Endpoints, shaped as the real ones:
- `GET /{tenant}/v2.0/.well-known/openid-configuration` (MSAL's tenant discovery);
- `POST /{tenant}/oauth2/v2.0/token` (Entra ID, client credentials; a refused secret is
  `401 invalid_client` with an AADSTS7000215 description, as Entra answers);
- `POST /token`: client credentials, `refresh_token`, and the JWT bearer grant a Google
  service account uses (the assertion's signature is checked against the registered key);
- `POST /introspect` (RFC 7662, form `token=`): `{"active": true, "username": mailbox}` while
  the token lives and its client is not revoked; `{"active": false}` otherwise.

Tokens are opaque random strings with a short lifetime, so expiry during IDLE happens in a
test. Every token issued and every introspection is recorded.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import json
import secrets
import ssl
import tempfile
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import TracebackType
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from tests.support.net import free_port


@dataclass
class Client:
    client_id: str
    secret: str | None
    mailbox: str  # the mailbox whose login the app is allowed (Add-MailboxPermission)
    public_key_pem: bytes | None = None  # a Google service account's key
    refresh_token: str | None = None
    revoked: bool = False


@dataclass
class Issued:
    token: str
    client_id: str
    mailbox: str
    scope: str
    grant: str
    expires_at: float


@dataclass
class FakeOAuth:
    token_lifetime: float = 3600.0
    host: str = "127.0.0.1"
    port: int = 0
    clients: dict[str, Client] = field(default_factory=dict)
    issued: list[Issued] = field(default_factory=list)
    introspections: list[tuple[str, bool]] = field(default_factory=list)
    token_requests: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _server: ThreadingHTTPServer | None = None
    _thread: threading.Thread | None = None
    _dir: Path | None = None

    # --- set-up --------------------------------------------------------------------------

    def add_client(
        self,
        client_id: str,
        secret: str | None,
        *,
        mailbox: str,
        public_key_pem: bytes | None = None,
        refresh_token: str | None = None,
    ) -> Client:
        client = Client(client_id, secret, mailbox.lower(), public_key_pem, refresh_token)
        with self._lock:
            self.clients[client_id] = client
        return client

    def revoke(self, client_id: str) -> None:
        """The secret is refused, and tokens already issued to the client stop working."""
        with self._lock:
            self.clients[client_id].revoked = True

    def restore(self, client_id: str) -> None:
        with self._lock:
            self.clients[client_id].revoked = False

    def tokens_for(self, client_id: str) -> list[Issued]:
        with self._lock:
            return [i for i in self.issued if i.client_id == client_id]

    # --- addresses -----------------------------------------------------------------------

    @property
    def url(self) -> str:
        return f"https://{self.host}:{self.port}"

    @property
    def token_url(self) -> str:
        return f"{self.url}/token"

    @property
    def introspection_url(self) -> str:
        return f"{self.url}/introspect"

    @property
    def ca_file(self) -> str:
        assert self._dir is not None
        return str(self._dir / "cert.pem")

    # --- lifecycle -----------------------------------------------------------------------

    def start(self) -> FakeOAuth:
        if self._server is not None:
            return self
        self._dir = Path(tempfile.mkdtemp(prefix="doorstep-oauth-"))
        self._dir.chmod(0o755)
        cert, key = _self_signed(self.host)
        (self._dir / "cert.pem").write_bytes(cert)
        (self._dir / "cert.pem").chmod(0o644)
        (self._dir / "key.pem").write_bytes(key)
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(self._dir / "cert.pem", self._dir / "key.pem")
        self.port = self.port or free_port(self.host)
        server = ThreadingHTTPServer((self.host, self.port), _handler(self))
        server.daemon_threads = True
        server.socket = context.wrap_socket(server.socket, server_side=True)
        self._server = server
        self._thread = threading.Thread(target=server.serve_forever, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        server, self._server = self._server, None
        if server is not None:
            server.shutdown()
            server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def __enter__(self) -> FakeOAuth:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    # --- the protocol --------------------------------------------------------------------

    def _issue(
        self, client: Client, scope: str, grant: str, mailbox: str | None = None
    ) -> dict[str, Any]:
        token = "fake-" + secrets.token_urlsafe(24)
        issued = Issued(
            token,
            client.client_id,
            (mailbox or client.mailbox).lower(),
            scope,
            grant,
            time.time() + self.token_lifetime,
        )
        with self._lock:
            self.issued.append(issued)
        return {
            "token_type": "Bearer",
            "access_token": token,
            "expires_in": int(self.token_lifetime) if self.token_lifetime >= 1 else 1,
            "ext_expires_in": int(self.token_lifetime),
            "scope": scope,
        }

    def token(self, form: dict[str, str], *, entra: bool) -> tuple[int, dict[str, Any]]:
        with self._lock:
            self.token_requests += 1
        grant = form.get("grant_type", "")
        scope = form.get("scope", "")
        if grant == "client_credentials":
            client = self.clients.get(form.get("client_id", ""))
            if client is None:
                return 400, _error("unauthorized_client", "AADSTS700016: Application not found.")
            secret_ok = client.secret is not None and form.get("client_secret") == client.secret
            assertion_ok = self._assertion_ok(client, form.get("client_assertion"))
            if client.revoked or not (secret_ok or assertion_ok):
                return 401, _error(
                    "invalid_client", "AADSTS7000215: Invalid client secret provided."
                )
            if entra and not scope.endswith("/.default"):
                return 400, _error("invalid_scope", "AADSTS1002012: scope must end /.default")
            return 200, self._issue(client, scope, grant)
        if grant == "refresh_token":
            for client in list(self.clients.values()):
                if client.refresh_token and client.refresh_token == form.get("refresh_token"):
                    if client.revoked or form.get("client_secret") != client.secret:
                        return 400, _error("invalid_grant", "Token has been expired or revoked.")
                    return 200, self._issue(client, scope, grant)
            return 400, _error("invalid_grant", "Bad Request")
        if grant == "urn:ietf:params:oauth:grant-type:jwt-bearer":
            return self._jwt_bearer(form.get("assertion", ""))
        return 400, _error("unsupported_grant_type", grant)

    def _assertion_ok(self, client: Client, assertion: str | None) -> bool:
        """A certificate credential: a JWT signed with the app's key (RFC 7523)."""
        import jwt

        if not assertion or client.public_key_pem is None:
            return False
        try:
            claims = jwt.decode(
                assertion,
                client.public_key_pem,
                algorithms=["RS256", "PS256"],
                options={"verify_aud": False},
            )
        except jwt.PyJWTError:
            return False
        return claims.get("iss") == client.client_id == claims.get("sub")

    def _jwt_bearer(self, assertion: str) -> tuple[int, dict[str, Any]]:
        import jwt

        try:
            claims = jwt.decode(assertion, options={"verify_signature": False})
        except jwt.PyJWTError:
            return 400, _error("invalid_grant", "Invalid JWT")
        client = self.clients.get(str(claims.get("iss", "")))
        if client is None or client.public_key_pem is None or client.revoked:
            return 400, _error("invalid_grant", "Invalid JWT Signature.")
        try:
            jwt.decode(
                assertion,
                client.public_key_pem,
                algorithms=["RS256"],
                # google-auth addresses its assertion to Google's token URL whatever
                # token_uri the key file names; Google checks that audience too.
                audience=[self.token_url, "https://oauth2.googleapis.com/token"],
            )
        except jwt.PyJWTError:
            return 400, _error("invalid_grant", "Invalid JWT Signature.")
        subject = str(claims.get("sub") or "")
        if subject.lower() != client.mailbox:
            return 401, _error("unauthorized_client", "Client is unauthorized for this subject.")
        # google-auth reads the token and its expiry; Google also answers an id_token-less body.
        return 200, self._issue(client, str(claims.get("scope", "")), "jwt-bearer", subject)

    def introspect(self, token: str) -> dict[str, Any]:
        with self._lock:
            found = next((i for i in self.issued if i.token == token), None)
            client = self.clients.get(found.client_id) if found else None
            active = (
                found is not None
                and client is not None
                and not client.revoked
                and time.time() < found.expires_at
            )
            self.introspections.append((token, active))
        if not active or found is None:
            return {"active": False}
        return {
            "active": True,
            "username": found.mailbox,
            "client_id": found.client_id,
            "exp": int(found.expires_at),
            "scope": found.scope,
        }

    def openid_configuration(self, tenant: str) -> dict[str, Any]:
        base = f"{self.url}/{tenant}"
        return {
            "token_endpoint": f"{base}/oauth2/v2.0/token",
            "authorization_endpoint": f"{base}/oauth2/v2.0/authorize",
            "issuer": f"{base}/v2.0",
            "device_authorization_endpoint": f"{base}/oauth2/v2.0/devicecode",
        }


def _error(error: str, description: str) -> dict[str, Any]:
    return {"error": error, "error_description": description, "error_codes": [0]}


def _handler(fake: FakeOAuth) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # Dovecot's HTTP client keeps connections alive

        def log_message(self, format: str, *args: Any) -> None:
            pass

        def _send(self, status: int, payload: dict[str, Any]) -> None:
            body = json.dumps(payload).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def _form(self) -> dict[str, str]:
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length).decode() if length else ""
            return dict(parse_qsl(raw, keep_blank_values=True))

        def do_GET(self) -> None:
            path = urlsplit(self.path).path
            parts = path.strip("/").split("/")
            if len(parts) >= 3 and parts[1:] == ["v2.0", ".well-known", "openid-configuration"]:
                self._send(200, fake.openid_configuration(parts[0]))
                return
            self._send(404, _error("not_found", path))

        def do_POST(self) -> None:
            path = urlsplit(self.path).path
            form = self._form()
            if path == "/introspect":
                self._send(200, fake.introspect(form.get("token", "")))
                return
            if path == "/token" or path.endswith("/oauth2/v2.0/token"):
                status, payload = fake.token(form, entra=path != "/token")
                self._send(status, payload)
                return
            self._send(404, _error("not_found", path))

    return Handler


def _self_signed(host: str) -> tuple[bytes, bytes]:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, host)])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.IPAddress(ipaddress.ip_address(host)), x509.DNSName("localhost")]
            ),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    key_pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    return cert.public_bytes(serialization.Encoding.PEM), key_pem


def service_account_key(client_email: str, token_uri: str) -> tuple[dict[str, Any], bytes]:
    """A Google service account key file's contents (a fresh RSA key) and its public key."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    private_pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()
    public_pem = key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    info = {
        "type": "service_account",
        "project_id": "doorstep-test",
        "private_key_id": secrets.token_hex(8),
        "private_key": private_pem,
        "client_email": client_email,
        "client_id": "1234567890",
        "token_uri": token_uri,
    }
    return info, public_pem


def app_certificate() -> tuple[bytes, str, bytes]:
    """An Entra app's certificate credential: (private key PEM, SHA-1 thumbprint hex, public
    key PEM for the fake to check assertions with)."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import rsa
    from cryptography.x509.oid import NameOID

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "doorstep")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .sign(key, hashes.SHA256())
    )
    key_pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    public = key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    # Entra names a certificate credential by its SHA-1 thumbprint.
    return key_pem, cert.fingerprint(hashes.SHA1()).hex(), public
