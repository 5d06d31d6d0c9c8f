"""Sending processes beside `doorstep serve`: each runs `doorstep outbox --wake-stdin`.

Python runs one thread at a time per process. In an email burst the serve process's intake
and pipeline (parse, classify, store) and the outbox (compose, SMTP) took turns at that lock
and used about three quarters of one core while the other core idled, so acknowledgements
trailed the pipeline. A process of its own gives sending a core of its own.

The pipe to the child's stdin carries wake-ups: a byte means "new work"; end of file means
"serve is stopping", and the child finishes its batch and exits, also when serve dies. A
child that dies is started again (with a growing pause, so a child that cannot start does
not spin). What it held is safe: a claimed row's lease runs out and the row is sent again
with the same Message-ID, so the receiving server sees one message, not two.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Sequence

log = logging.getLogger(__name__)

_FIRST_PAUSE = 1.0
_LONGEST_PAUSE = 30.0
_HEALTHY_AFTER = 60.0  # a child that ran this long before dying starts again at once


class SendingProcess:
    def __init__(self, command: Sequence[str], name: str = "sending") -> None:
        self.command = list(command)
        self.name = name
        self.restarts = 0
        self._process: asyncio.subprocess.Process | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stopping = asyncio.Event()

    @property
    def pid(self) -> int | None:
        process = self._process
        return process.pid if process is not None and process.returncode is None else None

    async def run(self) -> None:
        self._loop = asyncio.get_running_loop()
        pause = _FIRST_PAUSE
        try:
            while not self._stopping.is_set():
                started = time.monotonic()
                self._process = await asyncio.create_subprocess_exec(
                    *self.command, stdin=asyncio.subprocess.PIPE
                )
                if self._stopping.is_set():  # stop() came while it was starting
                    self.stop()
                self._wake_now()  # rows may have been queued before it started
                code = await self._process.wait()
                if self._stopping.is_set():
                    break
                if time.monotonic() - started > _HEALTHY_AFTER:
                    pause = _FIRST_PAUSE
                log.error(
                    "%s process exited with status %s; starting it again in %.0fs",
                    self.name,
                    code,
                    pause,
                )
                self.restarts += 1
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._stopping.wait(), timeout=pause)
                pause = min(pause * 2, _LONGEST_PAUSE)
        finally:
            process = self._process
            if process is not None and process.returncode is None:
                # Only when cancelled (serve's grace ran out): do not leave it behind.
                process.kill()
                with contextlib.suppress(Exception):
                    await asyncio.shield(process.wait())

    def wake(self) -> None:
        """New work in the outbox. Safe from any thread (the pipeline runs in one)."""
        loop = self._loop
        if loop is None or loop.is_closed():
            return
        with contextlib.suppress(RuntimeError):  # the loop closed meanwhile
            loop.call_soon_threadsafe(self._wake_now)

    def _wake_now(self) -> None:
        process = self._process
        stdin = process.stdin if process is not None else None
        if stdin is None or stdin.is_closing():
            return
        if stdin.transport.get_write_buffer_size():
            return  # a wake-up is still on its way: one is enough
        with contextlib.suppress(ConnectionError, RuntimeError):
            stdin.write(b".")

    def stop(self) -> None:
        """Ask the child to finish its batch and exit (end of file on its stdin)."""
        self._stopping.set()
        process = self._process
        if process is not None and process.stdin is not None and not process.stdin.is_closing():
            process.stdin.close()
