"""A real Dovecot IMAP server for end-to-end tests, from Debian's dovecot-imapd package.

    with DovecotServer() as server:
        server.add_user("repairs", "secret")
        server.append("repairs", raw_bytes)
        ... IMAPClient(server.host, server.port, ssl=False) ...
        server.restart()            # same port, same mail

    # OAuth 2.0 (SASL XOAUTH2 / OAUTHBEARER): bearer tokens are checked at every login
    # against an RFC 7662 introspection endpoint (tests/support/fake_oauth.py).
    DovecotServer(oauth_introspection_url=idp.introspection_url, oauth_ca_file=idp.ca_file)

Each server lives in its own directory under the system temp dir (not pytest's tmp_path:
that is private to root, and Dovecot's mail processes run as the `dovecot` user and must
reach their home directories). Missing dovecot -> pytest.skip.
"""

from __future__ import annotations

import os
import pwd
import shutil
import signal
import subprocess
import tempfile
import time
from pathlib import Path
from types import TracebackType

import pytest
from imapclient import IMAPClient

from tests.support.net import free_port, wait_for_port

DOVECOT = shutil.which("dovecot") or "/usr/sbin/dovecot"


def dovecot_available() -> bool:
    return os.access(DOVECOT, os.X_OK)


class DovecotServer:
    host = "127.0.0.1"

    def __init__(
        self,
        port: int | None = None,
        *,
        oauth_introspection_url: str | None = None,
        oauth_ca_file: str | None = None,
        oauth_mechanisms: str = "xoauth2 oauthbearer",
    ) -> None:
        if not dovecot_available():
            pytest.skip("dovecot is not installed (apt-get install dovecot-imapd)")
        self.oauth_introspection_url = oauth_introspection_url
        self.oauth_ca_file = oauth_ca_file
        self.oauth_mechanisms = oauth_mechanisms
        self.port = port or free_port(self.host)
        self.root = Path(tempfile.mkdtemp(prefix="doorstep-dovecot-"))
        self.root.chmod(0o755)
        self.passwords: dict[str, str] = {}
        self._process: subprocess.Popen[bytes] | None = None
        self._user, self._login_user = self._run_as()
        self._write_config()

    # --- set-up ------------------------------------------------------------------------

    @staticmethod
    def _run_as() -> tuple[str, str]:
        """Users for mail processes and login processes.

        As root Dovecot drops to `dovecot` / `dovenull` like a real install; as an ordinary
        user it cannot switch users, so everything runs as us.
        """
        if os.geteuid() == 0:
            try:
                pwd.getpwnam("dovecot")
                pwd.getpwnam("dovenull")
                return "dovecot", "dovenull"
            except KeyError:
                pass
        me = pwd.getpwuid(os.geteuid()).pw_name
        return me, me

    @property
    def log_path(self) -> Path:
        return self.root / "dovecot.log"

    @property
    def config_path(self) -> Path:
        return self.root / "dovecot.conf"

    def _version_major_minor(self) -> tuple[int, int]:
        out = subprocess.run([DOVECOT, "--version"], capture_output=True, text=True).stdout
        parts = out.split()[0].split(".") if out.strip() else ["2", "3"]
        return int(parts[0]), int(parts[1])

    def _write_config(self) -> None:
        (self.root / "run").mkdir()
        (self.root / "state").mkdir()
        (self.root / "home").mkdir()
        (self.root / "passwd").write_text("")
        pw = pwd.getpwnam(self._user)
        os.chown(self.root / "home", pw.pw_uid, pw.pw_gid)
        cleartext = (
            "auth_allow_cleartext = yes"
            if self._version_major_minor() >= (2, 4)
            else "disable_plaintext_auth = no"
        )
        mechanisms = "plain login"
        oauth_passdb = ""
        if self.oauth_introspection_url:
            mechanisms += f" {self.oauth_mechanisms}"
            ca = f"tls_ca_cert_file = {self.oauth_ca_file}" if self.oauth_ca_file else ""
            # No tokeninfo URL: every login asks the introspection endpoint, which says
            # whether the token is active and whose mailbox it opens.
            (self.root / "oauth2.conf").write_text(
                f"""introspection_mode = post
introspection_url = {self.oauth_introspection_url}
force_introspection = yes
username_attribute = username
active_attribute = active
active_value = true
timeout_msecs = 5000
{ca}
"""
            )
            oauth_passdb = f"""passdb {{
  driver = oauth2
  mechanisms = {self.oauth_mechanisms}
  args = {self.root}/oauth2.conf
}}"""
        self.config_path.write_text(
            f"""
protocols = imap
listen = {self.host}
base_dir = {self.root}/run
state_dir = {self.root}/state
instance_name = doorstep-{self.port}
default_internal_user = {self._user}
default_login_user = {self._login_user}
first_valid_uid = 1
ssl = no
{cleartext}
auth_mechanisms = {mechanisms}
log_path = {self.log_path}
mail_location = maildir:~/Maildir
# Tests wait on IDLE: notice new mail at once, not after the default 30 s fallback.
mailbox_idle_check_interval = 1 secs
passdb {{
  driver = passwd-file
  mechanisms = plain login
  args = scheme=PLAIN username_format=%u {self.root}/passwd
}}
{oauth_passdb}
userdb {{
  driver = static
  args = uid={pw.pw_uid} gid={pw.pw_gid} home={self.root}/home/%u
}}
service imap-login {{
  inet_listener imap {{
    address = {self.host}
    port = {self.port}
  }}
  inet_listener imaps {{
    port = 0
  }}
  # No chroot: it needs root-owned directories, and an unprivileged run has none.
  chroot =
}}
service anvil {{
  chroot =
}}
"""
        )

    # --- lifecycle ---------------------------------------------------------------------

    def start(self) -> DovecotServer:
        if self._process is not None:
            return self
        self._process = subprocess.Popen(
            [DOVECOT, "-F", "-c", str(self.config_path)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        if not wait_for_port(self.host, self.port, timeout=15.0, banner=b"* OK"):
            self.stop()
            raise RuntimeError(f"dovecot did not start; log:\n{self.log_tail()}")
        return self

    def stop(self) -> None:
        process, self._process = self._process, None
        if process is None:
            return
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=5)
        if process.stderr is not None:
            process.stderr.close()
        # Until the port is free again a restart could fail to bind.
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline and wait_for_port(self.host, self.port, timeout=0.1):
            time.sleep(0.05)

    def restart(self) -> None:
        self.stop()
        self.start()

    def close(self) -> None:
        self.stop()
        shutil.rmtree(self.root, ignore_errors=True)

    def __enter__(self) -> DovecotServer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    @property
    def running(self) -> bool:
        return self._process is not None and self._process.poll() is None

    def log_tail(self, lines: int = 40) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no log)"

    # --- users and mail ----------------------------------------------------------------

    def add_user(self, name: str, password: str) -> None:
        """Dovecot re-reads the passwd-file when it changes: no restart needed."""
        if ":" in name or ":" in password or "\n" in name + password:
            raise ValueError("user names and passwords may not contain ':' or newlines")
        self.passwords[name] = password
        (self.root / "passwd").write_text(
            "".join(f"{user}:{{PLAIN}}{pw}::::::\n" for user, pw in self.passwords.items())
        )

    def client(self, user: str) -> IMAPClient:
        """A logged-in IMAPClient (plain, on loopback) as `user`; the caller logs out."""
        client = IMAPClient(self.host, port=self.port, ssl=False, timeout=30)
        client.login(user, self.passwords[user])
        return client

    def append(self, user: str, raw: bytes, folder: str = "INBOX") -> int | None:
        """APPEND `raw` to `user`'s folder as that user; returns the new UID when known."""
        client = self.client(user)
        try:
            if folder.upper() != "INBOX" and not client.folder_exists(folder):
                client.create_folder(folder)
            response = client.append(folder, raw)
        finally:
            client.logout()
        # "[APPENDUID <validity> <uid>] ..." (UIDPLUS, which Dovecot has)
        text = response.decode(errors="replace") if isinstance(response, bytes) else ""
        if "APPENDUID" in text:
            try:
                return int(text.split("APPENDUID", 1)[1].split("]", 1)[0].split()[1])
            except (IndexError, ValueError):
                return None
        return None

    def uidvalidity(self, user: str, folder: str = "INBOX") -> int:
        client = self.client(user)
        try:
            status = client.folder_status(folder, [b"UIDVALIDITY"])
        finally:
            client.logout()
        return int(status[b"UIDVALIDITY"])


# The mailbox the end-to-end tests use (tests/e2e/conftest.py creates it).
TEST_USER = "repairs@landlord.example"
TEST_PASSWORD = "correct horse"
