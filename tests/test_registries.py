"""The plug-in points are complete.

Every fault mode a drill may name has its module, and every target ``--target`` offers loads.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from orchestrator.drill import load_drill
from orchestrator.drill.model import FaultMode
from orchestrator.faults import MODES, mode_of
from orchestrator.targets.registry import (
    Where,
    persistent_target,
    pick_target,
    target_named,
    target_names,
    targets_given,
)
from tests.support import REPO, ZONEDRILL, cli_env, zonedrill


def test_every_fault_mode_of_the_file_format_is_registered() -> None:
    """A FaultMode without a registry entry would fail only when a drill first used it."""
    assert set(MODES) == set(FaultMode)
    for name in FaultMode:
        mode = mode_of(str(name))
        assert mode.name is name
        assert mode.evicts <= mode.displaces, f"{name}: an eviction displaces its pod"
        assert bool(mode.verb) == mode.displaces, f"{name}: plan names what it does to pods"


def test_the_installed_targets_are_lab_kube_and_sim_and_load() -> None:
    """The shipped targets come from entry points, and say whether they outlive the process."""
    assert target_names() == ["kube", "lab", "sim"]
    assert target_named("lab").lives_with_process is True
    assert target_named("sim").lives_with_process is True
    assert target_named("kube").lives_with_process is False


def test_each_target_brings_its_own_options_and_no_two_share_a_flag() -> None:
    """The CLI declares every target's options on one command: a shared flag would clash."""
    flags = [o.flag for name in target_names() for o in target_named(name).options]
    assert len(flags) == len(set(flags))
    assert [o.flag for o in target_named("lab").options] == ["--lab", "--lab-metrics"]
    assert "--kubeconfig" in [o.flag for o in target_named("kube").options]


@pytest.mark.parametrize(
    ("settings", "target", "picked"),
    [
        ({}, None, "lab"),
        ({"kubeconfig": "/k"}, None, "kube"),
        ({"context": "prod"}, None, "kube"),
        ({"qps": 100.0, "lock_namespace": "zonedrill"}, None, "lab"),
        ({"qps": 20.0}, None, "kube"),
        ({"kubeconfig": "/k", "lab": "/lab.yaml"}, None, "lab"),
        ({"kubeconfig": "/k"}, "lab", "lab"),
    ],
)
def test_the_target_follows_the_options_given(
    settings: dict[str, Any], target: str | None, picked: str
) -> None:
    """A drill naming a lab runs there unless another target's options (not defaults) are given."""
    drill = load_drill(REPO / "drills" / "pangyo-battery-fire.yaml")
    assert pick_target([drill], target, settings) == picked


def test_a_drill_without_a_lab_and_commands_without_a_drill_reach_the_real_cluster() -> None:
    """kube is the only target whose changes outlive the process: it is the one meant."""
    drill = load_drill(REPO / "drills" / "pangyo-battery-fire.yaml")
    bare = drill.model_copy(update={"spec": drill.spec.model_copy(update={"lab": None})})
    assert pick_target([bare], None, {}) == "kube"
    assert persistent_target({}) == "kube"
    assert targets_given({"kubeconfig": None, "lab": None}) == []


def test_commands_without_a_drill_offer_only_cluster_options(tmp_path: Path) -> None:
    """rollback and the results kept in a cluster have no use for a lab file."""
    for command in (["rollback"], ["gate"], ["history"]):
        shown = zonedrill(tmp_path, *command, "--help").stdout
        assert "--kubeconfig" in shown
        assert "--lab" not in shown
    assert "--lab" in zonedrill(tmp_path, "run", "--help").stdout


def test_declaring_the_targets_options_does_not_load_the_kubernetes_client() -> None:
    """Every command declares kube's options; the client loads only when a cluster is opened."""
    code = "import sys, orchestrator.cli; print('kubernetes' in sys.modules)"
    loaded = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert loaded.stdout.strip() == "False"


def test_an_empty_option_value_counts_as_not_given() -> None:
    """Chaos Toolkit's actions pass ``context=""`` for none: it must not name a context."""
    kube = {o.name: o for o in target_named("kube").options}
    assert Where({"context": "", "kubeconfig": ""}).setting(kube["context"]) is None
    assert Where({"lock_namespace": ""}).setting(kube["lock_namespace"]) == "zonedrill"
    assert targets_given({"context": "", "kubeconfig": ""}) == []


@pytest.mark.parametrize("value", ["0", "-1", "nan", "inf", "fast"])
def test_a_rate_that_is_no_budget_is_refused_as_input(tmp_path: Path, value: str) -> None:
    """--qps 0 divided by zero, nan and inf overflowed, -1 lifted the limit: exit 2 instead."""
    done = zonedrill(
        tmp_path, "plan", str(REPO / "drills" / "pangyo-battery-fire.yaml"), "--qps", value
    )
    assert done.returncode == 2, done.stderr
    assert "--qps" in done.stderr


def test_a_target_that_cannot_load_breaks_only_its_own_use(tmp_path: Path) -> None:
    """A stale or broken plug-in's entry point: other commands work, its use says the way out."""
    info = tmp_path / "site" / "broken_target-0.1.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: broken-target\nVersion: 0.1\n")
    (info / "entry_points.txt").write_text("[zonedrill.targets]\nbroken = no_such_module:TARGET\n")
    env = {**cli_env(tmp_path / "state"), "PYTHONPATH": str(tmp_path / "site")}
    drill = str(REPO / "drills" / "pangyo-battery-fire.yaml")

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        command = [*ZONEDRILL, *args]
        return subprocess.run(command, capture_output=True, text=True, env=env, check=False)

    assert run("validate", drill).returncode == 0
    used = run("plan", drill, "--target", "broken")
    said = used.stdout + used.stderr  # plan prints errors on stdout (issue 20 moves them)
    assert used.returncode == 2, said
    assert "cannot be loaded" in said
    assert "reinstall" in said
