"""Run every benchmark module in bench/ (or the ones named) and print their tables.

.venv/bin/python -m bench                 # all
.venv/bin/python -m bench clock_store sla  # some
"""

from __future__ import annotations

import importlib
import pkgutil
import sys
import time

import bench


def main(argv: list[str]) -> int:
    names = sorted(
        m.name.removeprefix("bench_")
        for m in pkgutil.iter_modules(bench.__path__)
        if m.name.startswith("bench_")
    )
    # Bare numbers are sizes for the benchmarks themselves (they read sys.argv).
    chosen = [a for a in argv if not a.isdigit()] or names
    unknown = [a for a in chosen if a not in names]
    if unknown:
        print(f"unknown benchmark {unknown[0]!r}; accepted: {', '.join(names)}", file=sys.stderr)
        return 2
    failed = 0
    for name in chosen:
        module = importlib.import_module(f"bench.bench_{name}")
        print(f"\n## {name}\n", flush=True)
        started = time.perf_counter()
        try:
            module.main()
        except Exception as exc:  # one broken benchmark must not hide the others
            failed += 1
            print(f"benchmark {name} failed: {type(exc).__name__}: {exc}", flush=True)
        print(f"\n({name}: {time.perf_counter() - started:.1f} s)", flush=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
