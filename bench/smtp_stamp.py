"""The email benchmark's SMTP server, in a process of its own as a real relay would be.

It accepts every mail and prints one line per mail: when it was accepted (time.monotonic(),
the system-wide CLOCK_MONOTONIC on Linux, so the benchmark can compare it with its own) and
the In-Reply-To it carries. In the benchmark's own process, parsing a thousand
acknowledgements shared one interpreter lock with the thread appending the burst, and
slowed the load it was measuring.

    python -m bench.smtp_stamp PORT     # prints "ready", then "<seconds>\t<In-Reply-To>"
"""

from __future__ import annotations

import re
import sys
import time
from typing import Any

from aiosmtpd.controller import Controller

_IN_REPLY_TO = re.compile(rb"^In-Reply-To:[ \t]*(.*?)\r?$", re.IGNORECASE | re.MULTILINE)


class _Stamp:
    async def handle_DATA(self, _server: Any, _session: Any, envelope: Any) -> str:
        accepted = time.monotonic()
        raw = envelope.original_content or envelope.content or b""
        found = _IN_REPLY_TO.search(raw.split(b"\r\n\r\n", 1)[0])
        answers = found.group(1).decode("ascii", "replace") if found else ""
        sys.stdout.write(f"{accepted:.6f}\t{answers}\n")
        sys.stdout.flush()
        return "250 Message accepted"


def main() -> None:
    controller = Controller(_Stamp(), hostname="127.0.0.1", port=int(sys.argv[1]))
    controller.start()
    print("ready", flush=True)
    sys.stdin.read()  # until the benchmark closes our stdin
    controller.stop()


if __name__ == "__main__":
    main()
