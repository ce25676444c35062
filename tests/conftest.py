"""Shared fixtures: an isolated zonedrill state directory for every test."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parent.parent
ZONEDRILL = [sys.executable, "-m", "orchestrator"]
"""The zonedrill command of the interpreter running the tests (PATH may hold another one)."""


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


@pytest.fixture(scope="session")
def control_plane(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """A real control plane (etcd, apiserver, controller-manager, scheduler, kwok) for the session.

    Power zones: pangyo (3 KWOK nodes), ansan (3) and gasan (2).
    """
    from tests.cluster.control_plane import start  # noqa: PLC0415 - builds on first use
    from tests.cluster.zones import create_zones  # noqa: PLC0415

    plane = start(tmp_path_factory.mktemp("control-plane"))
    try:
        create_zones(plane, {"pangyo": 3, "ansan": 3, "gasan": 2})
        yield plane
    finally:
        plane.stop()
