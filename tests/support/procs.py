"""The processes a process started, read from /proc (Linux): `doorstep serve`'s sending
process, for the tests and the email benchmark."""

from __future__ import annotations

from pathlib import Path


def children(pid: int) -> list[int]:
    """Live child processes of `pid` (zombies, already exited, are left out)."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue  # exited while we looked
            if int(fields[1]) == pid and fields[0] != "Z":
                found.append(int(entry.name))
    return found
