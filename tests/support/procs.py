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


def command_line(pid: int) -> list[str]:
    """The process's arguments ([] once it has exited)."""
    try:
        raw = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return []
    return [part.decode(errors="replace") for part in raw.split(b"\0") if part]


def sending_processes(pid: int) -> list[int]:
    """`doorstep serve`'s sending processes (`doorstep outbox`), not its forked reader."""
    return [child for child in children(pid) if "outbox" in command_line(child)]
