"""Rasa's own test stories (bot/rasa/tests/test_stories.yml) against the trained model: every
conversation goes the way the stories say (`rasa test core`), and the project validates."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest
import yaml

from tests.e2e.rasa_stack import QUIET, REPO, VENV, rasa_model

# Building Rasa's environment and training can take minutes on a cold cache (scripts/test runs
# scripts/rasa-setup first, so this is the slack for a direct pytest run).
pytestmark = [pytest.mark.e2e, pytest.mark.rasa, pytest.mark.timeout(1800)]


def _rasa(*args: str, cwd: Path = REPO) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(VENV / "bin" / "rasa"), *args],
        cwd=cwd,
        env={**os.environ, **QUIET, "DOORSTEP_ACTIONS_URL": "http://127.0.0.1:9/webhook"},
        capture_output=True,
        text=True,
        timeout=900,
    )


def test_no_test_story_fails(tmp_path: Path) -> None:
    chosen = os.environ.get("DOORSTEP_RASA_MODEL")
    model = Path(chosen) if chosen else rasa_model()
    result = _rasa(
        "test",
        "core",
        "--stories",
        "bot/rasa/tests/test_stories.yml",
        "--model",
        str(model),
        "--endpoints",
        "bot/rasa/endpoints.yml",
        "--out",
        str(tmp_path),
    )
    assert result.returncode == 0, result.stderr[-4000:]
    failed = yaml.safe_load((tmp_path / "failed_test_stories.yml").read_text()) or {}
    stories = failed.get("stories") or [] if isinstance(failed, dict) else []
    assert stories == [], (tmp_path / "failed_test_stories.yml").read_text()


def test_rasa_data_validate_passes() -> None:
    rasa_model()  # the environment, built by the same cached setup
    result = _rasa(
        "data",
        "validate",
        "--config",
        "config.yml",
        "--domain",
        "bot/rasa/domain.yml",
        "--data",
        "nlu_data",
        "bot/rasa/data",
    )
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-4000:]
