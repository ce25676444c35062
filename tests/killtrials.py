"""SIGKILL trials: kill a kube drill at a seeded random moment, roll back, compare the nodes.

One trial: a drill (mode drawn from the seed) starts against the test control plane; after a
delay drawn from the seed (from preflight through the restore) it is killed with SIGKILL; then
``zonedrill rollback --all`` runs, and every node must be exactly as before the drill. Shared by
tests/test_kube_sigkill.py (a few trials) and bench/sigkill_trials.py (twenty and more).
"""

from __future__ import annotations

import random
import signal
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from kubernetes import client

from orchestrator.faults.journal import open_runs
from tests.kubecase import drill_file, node_state, nodes_as_before, zonedrill_kube
from tests.support import cli_env, zonedrill

MODES = ("power-loss", "drain", "cordon")
KILL_WINDOW = (0.2, 9.0)
"""Seconds after start: preflight (~1 s), baseline (1 s), chaos (6 s) and the restore."""


@dataclass(frozen=True)
class Trial:
    """What one trial did and found."""

    seed: int
    mode: str
    killed_after: float
    changed_when_killed: int
    left_changed: int
    rollback_exit: int
    rollback_seconds: float
    open_journals: int


def changed_nodes(before: dict[str, Any], after: dict[str, Any]) -> int:
    """How many nodes differ from ``before``."""
    return sum(before[name] != after.get(name) for name in before)


def run_trial(
    control_plane: Any, kube: client.ApiClient, app: dict[str, Any], folder: Path, seed: int
) -> Trial:
    """One seeded trial in ``folder`` (its own state directory and drill)."""
    rng = random.Random(seed)  # noqa: S311 - a seeded draw to replay, not a secret
    mode, delay = rng.choice(MODES), rng.uniform(*KILL_WINDOW)
    state = folder / "state"
    folder.mkdir(parents=True, exist_ok=True)
    drill = drill_file(folder, app["namespace"], mode=mode, duration="6s")
    before = node_state(kube)
    process = subprocess.Popen(
        zonedrill_kube(control_plane, app, state, "run", str(drill), "--out", str(folder / "o")),
        env=cli_env(state),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    time.sleep(delay)
    process.send_signal(signal.SIGKILL)
    process.wait(timeout=30)
    changed = changed_nodes(before, node_state(kube))
    started = time.monotonic()
    done = zonedrill(state, "rollback", "--all", "--kubeconfig", str(control_plane.kubeconfig))
    return Trial(
        seed=seed,
        mode=mode,
        killed_after=round(delay, 3),
        changed_when_killed=changed,
        left_changed=changed_nodes(before, nodes_as_before(kube, before)),
        rollback_exit=done.returncode,
        rollback_seconds=round(time.monotonic() - started, 2),
        open_journals=len(open_runs(state)),
    )
