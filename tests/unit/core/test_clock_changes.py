"""Architecture: the Interaction aggregate is the only code that changes an interaction's
clocks (so every change is checked and recorded as an event).

Outside `bot/domain` (the aggregate), `sla` (the Clock value itself) and the repository's
SQL implementation (`bot/storage/interactions.py`), no module may

- call a clock-changing method of the clock service (`clocks.start/start_all/stop/pause/
  resume/extend/settle`, however the service is reached: `self.clocks`, `ctx.clocks`, ...);
- call a `Clock` value's changing method (`Clock.start`, `<x>.clock.stop(...)`, ...);
- write the `clocks` table (`t.clocks.insert/update/delete`, `sa.update(t.clocks)`).

Read from the source with `ast`, so a comment or a string naming them does not count.
"""

from __future__ import annotations

import ast
from pathlib import Path

REPO = Path(__file__).resolve().parents[3]
SCANNED = ("actions", "bot", "channels")
ALLOWED = ("bot/domain/", "bot/storage/interactions.py")
CHANGING = {"start", "start_all", "stop", "pause", "resume", "extend", "settle"}
WRITES = {"insert", "update", "delete"}
# Callers another change is rewriting; each must move onto the aggregate, then leave here.
PENDING: set[str] = set()


def _name(node: ast.expr) -> str | None:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        return node.attr
    return None


def _is_clocks_table(node: ast.expr) -> bool:
    return (
        isinstance(node, ast.Attribute)
        and node.attr == "clocks"
        and _name(node.value)
        in (
            "t",
            "tables",
        )
    )


def violations(source: str) -> list[tuple[int, str]]:
    found: list[tuple[int, str]] = []
    for node in ast.walk(ast.parse(source)):
        if not isinstance(node, ast.Call):
            continue
        func = node.func
        if isinstance(func, ast.Attribute):
            owner = _name(func.value)
            if func.attr in CHANGING and owner in ("clocks", "clock", "Clock"):
                found.append((node.lineno, f"{owner}.{func.attr}(...)"))
            elif func.attr in WRITES and _is_clocks_table(func.value):
                found.append((node.lineno, f"clocks.{func.attr}()"))
        if _name(func) in WRITES and any(_is_clocks_table(arg) for arg in node.args):
            found.append((node.lineno, f"{_name(func)}(clocks)"))
    return sorted(found)


def _modules() -> list[tuple[str, str]]:
    out = []
    for top in SCANNED:
        for path in sorted((REPO / top).rglob("*.py")):
            rel = path.relative_to(REPO).as_posix()
            if not rel.startswith(ALLOWED):
                out.append((rel, path.read_text(encoding="utf-8")))
    return out


def test_only_the_aggregate_changes_clocks() -> None:
    offenders = {
        rel: found
        for rel, source in _modules()
        if rel not in PENDING and (found := violations(source))
    }
    assert offenders == {}, (
        "change clocks through bot.domain.interaction.Interaction (make_promises, "
        f"keep_promises, extend_clock, resident_answered, ...): {offenders}"
    )


def test_pending_callers_are_still_real() -> None:
    # A caller moved onto the aggregate leaves PENDING, so the list cannot hide a new one.
    sources = dict(_modules())
    for rel in PENDING:
        assert rel not in sources or violations(sources[rel]), f"{rel} is clean: drop it"


def test_the_check_sees_each_way_of_changing_a_clock() -> None:
    bad = """
self.clocks.start(conn, interaction_id=1, policy="ack-2", at=now)
services.clocks.stop(conn, 1, ("ack-2",), now)
clocks.resume(conn, 1, now)
tracked.clock.settle(now, "met", "why")
Clock.start(policy, now, calendar)
conn.execute(t.clocks.update().values(outcome="met"))
conn.execute(sa.delete(t.clocks))
"""
    assert [line for line, _ in violations(bad)] == [2, 3, 4, 5, 6, 7, 8]
    fine = """
interaction.keep_promises(("ack-2",), by="assistant", reason="sent", at=now)
services.clocks.open_clocks(conn, 1)
services.clocks.deadline("ack-2", now)
conn.execute(sa.select(t.clocks))
arrivals.stop()
# clocks.stop(conn, 1, ("ack-2",), now) in a comment
"""
    assert violations(fine) == []
