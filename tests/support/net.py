"""Small socket helpers shared by the real-server fixtures."""

from __future__ import annotations

import socket
import time


def free_port(host: str = "127.0.0.1") -> int:
    """A port that was free a moment ago (the server binds it right after)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        port: int = sock.getsockname()[1]
        return port


def wait_for_port(host: str, port: int, timeout: float = 10.0, banner: bytes = b"") -> bool:
    """True once `host:port` accepts a connection (and, if given, greets with `banner`)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection((host, port), timeout=1.0) as sock:
                if not banner:
                    return True
                sock.settimeout(2.0)
                if sock.recv(256).startswith(banner):
                    return True
        except OSError:
            pass
        time.sleep(0.05)
    return False
