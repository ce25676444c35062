"""SIGKILL at seeded random moments, then rollback: the nodes end exactly as before (issue 9).

The suite runs three trials; ``python -m bench.sigkill_trials`` runs twenty and more.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from kubernetes import client

from tests.killtrials import run_trial

pytestmark = pytest.mark.cluster


@pytest.mark.parametrize("seed", [1, 9, 30], ids=["power-loss", "drain", "cordon"])
def test_sigkill_at_a_random_moment_then_rollback_restores_exactly(
    control_plane: Any,
    kube: client.ApiClient,
    app: dict[str, Any],
    pristine: dict[str, Any],
    tmp_path: Path,
    seed: int,
) -> None:
    """Wherever the kill lands, rollback --all leaves no node changed and no journal open."""
    trial = run_trial(control_plane, kube, app, tmp_path, seed)
    assert trial.rollback_exit == 0, trial
    assert trial.left_changed == 0, trial
    assert trial.open_journals == 0, trial
