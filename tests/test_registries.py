"""The plug-in points are complete.

Every fault mode a drill may name has its module, and every target ``--target`` offers loads.
"""

from __future__ import annotations

from orchestrator.drill.model import FaultMode
from orchestrator.faults import MODES, mode_of
from orchestrator.targets.registry import target_named, target_names


def test_every_fault_mode_of_the_file_format_is_registered() -> None:
    """A FaultMode without a registry entry would fail only when a drill first used it."""
    assert set(MODES) == set(FaultMode)
    for name in FaultMode:
        mode = mode_of(str(name))
        assert mode.name is name
        assert mode.evicts <= mode.displaces, f"{name}: an eviction displaces its pod"
        assert bool(mode.verb) == mode.displaces, f"{name}: plan names what it does to pods"


def test_the_installed_targets_are_lab_and_kube_and_load() -> None:
    """Both shipped targets come from entry points, and say whether they outlive the process."""
    assert target_names() == ["kube", "lab"]
    assert target_named("lab").lives_with_process is True
    assert target_named("kube").lives_with_process is False
