"""Chaos Toolkit actions: run a whole drill, or lose and restore one zone.

Used from an experiment as Python providers, e.g.
``{"type": "python", "module": "orchestrator.ctk.actions", "func": "lose_zone",
"arguments": {"drill": "drills/pangyo.yaml", "zone": "pangyo"}}``.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

from chaoslib.exceptions import ActivityFailed

from orchestrator.ctk import recording, session
from orchestrator.ctk.words import in_chaos_terms
from orchestrator.drill.model import Drill, FaultMode
from orchestrator.errors import ZonedrillError
from orchestrator.results.document import ClusterDoc

__all__ = ["lose_zone", "restore_zone", "run_drill"]
EXIT_RAN = (0, 1, 3)
"""zonedrill run's exit codes of a drill that ran to a result (passed, failed, aborted)."""


def run_drill(
    drill: str,
    target: str = "",
    kubeconfig: str = "",
    context: str = "",
    out: str = "",
    seed: int | None = None,
) -> dict[str, Any]:
    """Run a whole zonedrill drill and return its result document (a DrillResult).

    The drill runs as `zonedrill run` would: preflight, baseline, zone losses, probes on their
    grid, restore on every exit path, score; it is recorded in zonedrill's history with the
    trigger "chaostoolkit". A drill that ran and missed its targets is a result, not a failed
    action: judge it with the probes drill_passed, rto_within and score_at_least. The action
    fails when the drill could not run (invalid input, refused by safety, cluster unreachable).

    drill: path of the drill file. target: "lab" or "kube" (default: as zonedrill run
    decides). kubeconfig, context: for the kube target. out: the run folder (default
    ./zonedrill-runs/<run-id>/). seed: for zones picked at random.
    """
    command = [sys.executable, "-m", "orchestrator", "run", drill, "--json"]
    command += ["--trigger", "chaostoolkit"]
    for flag, value in (
        ("--target", target),
        ("--kubeconfig", kubeconfig),
        ("--context", context),
        ("--out", out),
    ):
        if value:
            command += [flag, value]
    if seed is not None:
        command += ["--seed", str(seed)]
    done = subprocess.run(command, capture_output=True, text=True, check=False)  # noqa: S603
    if done.returncode not in EXIT_RAN or not done.stdout.strip():
        why = done.stderr.strip().splitlines()[-5:]
        raise ActivityFailed(f"zonedrill run exited {done.returncode}: " + " / ".join(why))
    result: dict[str, Any] = json.loads(done.stdout)
    return result


def lose_zone(
    drill: str,
    zone: str,
    mode: str = "power-loss",
    kubeconfig: str = "",
    context: str = "",
    lock_namespace: str = "zonedrill",
    configuration: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Lose one power zone of a drill on the run's target, with zonedrill's safety model.

    Preflight as a drill's: the zone's nodes by its selector, maxNodeFraction, the namespaces
    never touched, and never the node zonedrill runs on. The drill Lease is held until every
    zone lost is restored, each change is journaled before it is made and marked on the node,
    so `zonedrill rollback --all` restores what a killed `chaos run` left behind.

    drill: path of the drill file naming the zone. zone: the zone to lose. mode: cordon,
    drain or power-loss. kubeconfig, context: the cluster (default: $KUBECONFIG or
    in-cluster), unless the configuration key zonedrill_target is "lab": then the drill's lab,
    which the control opened for the run. Returns the nodes, pods deleted or evicted, and the
    journal's run id. It needs the zonedrill control in the experiment, which keeps the Lease
    and journal for the run.
    """
    settings = {"kubeconfig": kubeconfig, "context": context, "lock_namespace": lock_namespace}
    try:
        zones = session.held(configuration)
        chosen = _drill_for(drill, recording.of(configuration))
        lost = zones.call(zones.lose(chosen, zone, FaultMode(mode), settings))
    except (ZonedrillError, ValueError) as exc:
        raise ActivityFailed(in_chaos_terms(f"lose_zone {zone}: {exc}")) from exc
    current = recording.of(configuration)
    if current is not None:
        current.reached(ClusterDoc.model_validate(lost["cluster"]))
    return lost


def _drill_for(path: str, current: recording.Recording | None) -> Drill:
    """The drill file at ``path``; from another folder, the drill the experiment carries.

    An export names its drill by the path it was exported from, relative to that folder, and
    carries the drill itself too: ``chaos run`` of it works from any folder.
    """
    if current is not None and current.carried and not Path(path).is_file():
        return current.drill
    return session.drill_at(path)


def restore_zone(zone: str, configuration: dict[str, Any] | None = None) -> dict[str, Any]:
    """Undo exactly what lose_zone changed for this zone in this chaos run.

    Uncordons and untaints only what zonedrill marked as its own; the last zone restored
    releases the drill Lease and closes the journal. Use it in the method and in the
    rollbacks (they run on every exit with runtime.rollbacks.strategy "always").
    """
    found = session.of(configuration)
    if found is None:  # lose_zone refuses without it: none lost
        return {"zone": zone, "restored": 0, "note": "not lost in this chaos run"}
    try:
        return found.call(found.restore(zone))
    except ZonedrillError as exc:
        raise ActivityFailed(in_chaos_terms(f"restore_zone {zone}: {exc}")) from exc
