"""`doorstep serve` with tracemalloc on, for the soak's memory hunt (`SOAK_TRACEMALLOC=DIR`):
each SIGUSR1 writes a snapshot to DIR, which the soak diffs (after warm-up against the end).

    .venv/bin/python -m bench.soak_serve --config FILE serve --port N
"""

from __future__ import annotations

import os
import signal
import sys
import tracemalloc
from pathlib import Path
from types import FrameType


def main() -> int:
    out = Path(os.environ["SOAK_TRACEMALLOC"])
    tracemalloc.start(int(os.environ.get("SOAK_TRACEMALLOC_FRAMES", "8")))
    taken = 0

    def snapshot(_signum: int, _frame: FrameType | None) -> None:
        nonlocal taken
        taken += 1
        tracemalloc.take_snapshot().dump(str(out / f"snapshot-{taken}.pickle"))
        (out / f"snapshot-{taken}.done").touch()

    signal.signal(signal.SIGUSR1, snapshot)
    from bot.cli import main as doorstep

    return doorstep(sys.argv[1:])


if __name__ == "__main__":
    sys.exit(main())
