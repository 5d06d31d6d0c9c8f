"""Keeping a long-running serve's memory flat under glibc (issue 14's soak).

glibc gives each thread that allocates its own arena (up to eight per core), and memory
freed in one arena is reused only by the threads that allocate there. Serve's threads come
and go (the pool behind `asyncio.to_thread`, database calls, IMAP), so freed memory piles
up in arenas that the next allocation does not look in. Two arenas, and giving freed pages
back to the system when a pass of work is over, keep serve's resident memory flat over a
long run (docs/operations.md, "Long runs"). Elsewhere than glibc, both do nothing.
"""

from __future__ import annotations

import contextlib
import ctypes
import functools
import os

_M_ARENA_MAX = -8  # glibc's mallopt parameter


@functools.cache
def _libc() -> ctypes.CDLL | None:
    try:
        return ctypes.CDLL(None)  # the process's own symbols: libc's among them
    except OSError:
        return None


def limit_arenas(arenas: int = 2) -> bool:
    """At most `arenas` malloc arenas, unless MALLOC_ARENA_MAX says otherwise. Call before
    threads start (arenas are made as threads first allocate). True if it was set."""
    if os.environ.get("MALLOC_ARENA_MAX"):
        return False  # the operator's own choice wins
    libc = _libc()
    if libc is None or not hasattr(libc, "mallopt"):
        return False
    with contextlib.suppress(Exception):
        return bool(libc.mallopt(_M_ARENA_MAX, arenas))
    return False


def give_back() -> None:
    """Return freed heap pages to the system (glibc `malloc_trim`): a few milliseconds."""
    libc = _libc()
    if libc is not None and hasattr(libc, "malloc_trim"):
        with contextlib.suppress(Exception):
            libc.malloc_trim(0)
