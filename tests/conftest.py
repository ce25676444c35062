"""Shared fixtures: an isolated zonedrill state directory for every test."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.support import REPO, ZONEDRILL, cli_env  # noqa: F401 - re-exported for tests

SERIAL_MARKS = ("cluster", "image")
"""Tests that share the session's control plane (or load the machine, as the image build does):
one xdist group, so that they run one after another on one worker and start one plane."""


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Put the control plane's tests in one group (``tests/run`` runs ``--dist loadgroup``)."""
    for item in items:
        if any(item.get_closest_marker(mark) for mark in SERIAL_MARKS):
            item.add_marker(pytest.mark.xdist_group("control-plane"))


@pytest.fixture(autouse=True)
def isolated_state(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Point ZONEDRILL_STATE_DIR at a fresh folder so tests never share journals or locks."""
    folder = tmp_path / "state"
    monkeypatch.setenv("ZONEDRILL_STATE_DIR", str(folder))
    monkeypatch.chdir(REPO)
    return folder


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


# Fixtures for drills with --target kube (defined in tests/kubecase.py).
from tests.kubecase import app, kube, pristine  # noqa: E402, F401
