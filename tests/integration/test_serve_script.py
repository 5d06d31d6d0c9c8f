"""`scripts/serve` installs only when pyproject.toml changed since the last install (issue 20:
a second start must not spend 15 s in pip). Run on a copy with a stand-in virtualenv whose
`python` and `doorstep` only record that they ran, so nothing is really installed."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

pytestmark = pytest.mark.integration

REPO = Path(__file__).resolve().parents[2]


def _fake_clone(tmp_path: Path) -> Path:
    clone = tmp_path / "clone"
    (clone / "scripts").mkdir(parents=True)
    shutil.copy(REPO / "scripts" / "serve", clone / "scripts" / "serve")
    (clone / "pyproject.toml").write_text("[project]\nname = 'doorstep'\n")
    bin_dir = clone / ".venv" / "bin"
    bin_dir.mkdir(parents=True)
    log = clone / "ran.log"
    (bin_dir / "python").write_text(f'#!/bin/sh\necho "python $*" >> {log}\n')
    (bin_dir / "doorstep").write_text(f'#!/bin/sh\necho "doorstep $*" >> {log}\n')
    for script in bin_dir.iterdir():
        script.chmod(0o755)
    return clone


def _serve(clone: Path, cwd: Path) -> list[str]:
    log = clone / "ran.log"
    log.unlink(missing_ok=True)
    result = subprocess.run(
        [str(clone / "scripts" / "serve"), "--port", "8080"],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert result.returncode == 0, result.stderr
    return log.read_text().splitlines()


def test_pip_runs_once_then_only_when_pyproject_changes(tmp_path: Path) -> None:
    clone = _fake_clone(tmp_path)
    first = _serve(clone, cwd=tmp_path)  # from another folder
    assert any("pip install -q -e ." in line for line in first)
    assert first[-1] == "doorstep serve --port 8080"
    second = _serve(clone, cwd=tmp_path)
    assert second == ["doorstep serve --port 8080"]
    (clone / "pyproject.toml").write_text("[project]\nname = 'doorstep'\nversion = '2'\n")
    third = _serve(clone, cwd=clone)
    assert any("pip install" in line for line in third)
