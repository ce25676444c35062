"""Shared fixtures: an isolated zonedrill state directory for every test."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent


@pytest.fixture(autouse=True)
def isolated_state(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Point ZONEDRILL_STATE_DIR at a fresh folder so tests never share journals or locks."""
    folder = tmp_path / "state"
    monkeypatch.setenv("ZONEDRILL_STATE_DIR", str(folder))
    monkeypatch.chdir(REPO)
    return folder


def cli_env(state: Path) -> dict[str, str]:
    """The environment for a zonedrill subprocess using ``state``."""
    return {**os.environ, "ZONEDRILL_STATE_DIR": str(state), "COLUMNS": "200"}
