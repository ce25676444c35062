"""SIGKILL trials on a real control plane: the nodes must end exactly as before, every time.

Each trial starts a kube drill (mode and kill moment drawn from its seed, from preflight through
the restore), kills it with SIGKILL, runs ``zonedrill rollback --all`` and compares every node
with its state before the drill. The suite runs three of these (tests/test_kube_sigkill.py).

    python -m bench.sigkill_trials [--trials 20] [--first-seed 1]
"""

from __future__ import annotations

import argparse
import dataclasses
import signal
import sys
import tempfile
from collections import Counter
from pathlib import Path

from bench.record import record
from tests.cluster.control_plane import start
from tests.cluster.zones import api_client, core_api, create_zones
from tests.killtrials import Trial, run_trial
from tests.kubecase import packed_app


def main(argv: list[str]) -> int:
    """Run and record the trials; exit 1 if any left a change or a journal open."""
    parser = argparse.ArgumentParser(prog="python -m bench.sigkill_trials", description=__doc__)
    parser.add_argument("--trials", type=int, default=20)
    parser.add_argument("--first-seed", type=int, default=1)
    options = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="zonedrill-sigkill-") as scratch:
        trials = run_all(
            Path(scratch), range(options.first_seed, options.first_seed + options.trials)
        )
    left = sum(t.left_changed for t in trials)
    modes = Counter(t.mode for t in trials)
    print(
        f"{len(trials)} trials ({dict(modes)}): nodes changed when killed "
        f"{sum(t.changed_when_killed for t in trials)}, left changed after rollback {left}, "
        f"rollback failures {sum(t.rollback_exit != 0 for t in trials)}"
    )
    path = record("sigkill", [dataclasses.asdict(t) for t in trials], leftChanged=left)
    print(f"recorded in {path}")
    return 1 if left or any(t.rollback_exit or t.open_journals for t in trials) else 0


def run_all(scratch: Path, seeds: range) -> list[Trial]:
    """Start a control plane with three zones and a packed app; run one trial per seed."""
    plane = start(scratch / "plane")
    try:
        create_zones(plane, {"pangyo": 3, "ansan": 3, "gasan": 2})
        kube = api_client(plane)
        core_api(kube).create_namespace({"metadata": {"name": "zonedrill"}})
        trials = []
        with packed_app(kube) as app:
            for seed in seeds:
                trial = run_trial(plane, kube, app, scratch / f"trial-{seed}", seed)
                print(
                    f"seed {seed:3d} {trial.mode:10s} killed at {trial.killed_after:5.2f}s: "
                    f"{trial.changed_when_killed} node(s) changed, {trial.left_changed} left "
                    f"after rollback ({trial.rollback_seconds:.1f}s, exit {trial.rollback_exit})",
                    flush=True,
                )
                trials.append(trial)
        return trials
    finally:
        plane.stop()


if __name__ == "__main__":
    # SIGTERM unwinds like Ctrl-C, so every control plane and child is stopped on the way out.
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    sys.exit(main(sys.argv[1:]))
