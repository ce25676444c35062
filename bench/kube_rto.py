"""RTO accuracy on the real control plane: zonedrill's measured RTO against the cluster's own.

Each run packs a 3-replica Deployment into pangyo (tests/cluster, KWOK nodes), with a random
KWOK ready delay (``--min-delay`` to ``--max-delay``) that every replacement must wait before it
is Ready. ``zonedrill run --target kube`` then cuts pangyo's power (probe every 100 ms through
the Service's front, which answers while ≥ 2 endpoints are ready). The bench's own watch on the
pods notes when the second replacement became Ready (the front's min_ready): the true RTO is
that moment minus the step's start, both on the wall clock (the step's ``startedAt``, to the
millisecond). The error is measured minus true; one probe period (100 ms) plus the endpoint
propagation is the expected bound.

    python -m bench.kube_rto [--runs 12] [--seed 7]

Results go to bench/results/kube-rto-<date>.json.
"""

from __future__ import annotations

import argparse
import json
import math
import random
import signal
import statistics
import subprocess
import tempfile
import threading
import time
from datetime import datetime
from pathlib import Path
from typing import Any

from kubernetes import watch
from urllib3.exceptions import HTTPError

from bench.record import record
from tests.cluster import versions
from tests.cluster.control_plane import ControlPlane, start
from tests.cluster.stages import READY_DELAY_ANNOTATION
from tests.cluster.zones import Placement, api_client, core_api, create_zones, is_ready
from tests.kubecase import drill_file, packed_app, zonedrill_kube
from tests.support import cli_env

MIN_READY = 2  # the front's threshold (tests/kubecase.packed_app)


class ReadyLog:
    """(wall time, ready pods) each time the count of Ready, live pods of ``talk`` changes."""

    def __init__(self, plane: ControlPlane, namespace: str) -> None:
        self._core = core_api(api_client(plane))
        self._namespace = namespace
        self.changes: list[tuple[float, int]] = []
        self._stop = threading.Event()
        self._listed = threading.Event()
        self._thread = threading.Thread(target=self._follow, daemon=True)

    def __enter__(self) -> ReadyLog:
        self._thread.start()
        if not self._listed.wait(30):
            raise RuntimeError("the bench's pod watch could not list the pods in 30 s")
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join(timeout=1)  # a daemon: a quiet stream may hold it a while

    def _follow(self) -> None:
        # List first, then watch from that version: the count starts right, and the initial
        # pods never arrive as ADDED events that would look like a recovery.
        listing = self._core.list_namespaced_pod(self._namespace, label_selector="app=talk")
        ready = {p.metadata.uid: _live_and_ready(p) for p in listing.items}
        self.changes.append((time.time(), sum(ready.values())))
        stream = watch.Watch().stream(  # type: ignore[no-untyped-call]
            self._core.list_namespaced_pod,
            self._namespace,
            label_selector="app=talk",
            resource_version=listing.metadata.resource_version,
            timeout_seconds=600,
        )
        self._listed.set()
        try:
            for event in stream:
                if self._stop.is_set():
                    return
                pod = event["object"]
                ready[pod.metadata.uid] = event["type"] != "DELETED" and _live_and_ready(pod)
                count = sum(ready.values())
                if self.changes[-1][1] != count:
                    self.changes.append((time.time(), count))
        except HTTPError:
            if not self._stop.is_set():  # cut while the run was on: its figures are void
                raise

    def recovered_after(self, moment: float) -> float | None:
        """The first time after ``moment`` that ≥ MIN_READY pods were Ready again."""
        fell = False
        for stamp, count in self.changes:
            if stamp < moment:
                continue
            fell = fell or count < MIN_READY
            if fell and count >= MIN_READY:
                return stamp
        return None


def _live_and_ready(pod: Any) -> bool:
    return pod.metadata.deletion_timestamp is None and is_ready(pod)


def one_run(plane: ControlPlane, folder: Path, delay: float) -> dict[str, Any]:
    """One power loss with ready delay ``delay``; measured and true RTO."""
    kube = api_client(plane)
    placement = Placement(annotations={READY_DELAY_ANNOTATION: f"{round(delay * 1000)}ms"})
    with packed_app(kube, placement=placement) as app:
        drill = drill_file(folder, app["namespace"], mode="power-loss", duration="15s")
        state, out = folder / "state", folder / "out"
        with ReadyLog(plane, app["namespace"]) as log:
            subprocess.run(
                zonedrill_kube(plane, app, state, "run", str(drill), "--out", str(out)),
                env=cli_env(state),
                capture_output=True,
                timeout=300,
                check=False,
            )
    row: dict[str, Any] = {"readyDelay": round(delay, 3), "measured": None, "true": None}
    try:
        result = json.loads((out / "result.json").read_text())
        step_start = datetime.fromisoformat(result["steps"][0]["startedAt"]).timestamp()
        measured = result["probes"][0]["rto"][0]["seconds"]
    except (OSError, ValueError, LookupError) as missing:  # one failed run, not the bench
        return {**row, "error": None, "why": repr(missing)}
    back = log.recovered_after(step_start)
    true = back - step_start if back is not None else None
    error = measured - true if measured is not None and true is not None else None
    return {**row, "measured": measured, "true": true, "error": error}


def main(runs: int, seed: int, delays: tuple[float, float]) -> None:
    """Every run on one control plane; print each and the error distribution; record."""
    rng = random.Random(seed)  # noqa: S311 - a replayable draw, not a secret
    rows: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory() as tmp:
        plane = start(Path(tmp) / "plane")
        try:
            create_zones(plane, {"pangyo": 3, "ansan": 3, "gasan": 2})
            core_api(api_client(plane)).create_namespace({"metadata": {"name": "zonedrill"}})
            for index in range(runs):
                folder = Path(tmp) / f"run-{index}"
                folder.mkdir()
                rows.append(one_run(plane, folder, rng.uniform(*delays)))
                print(_line(index, rows[-1]), flush=True)
        finally:
            plane.stop()
    errors = [1000 * r["error"] for r in rows if r["error"] is not None]
    summary = _distribution(errors)
    print("error (ms): " + "  ".join(f"{k} {v:+.1f}" for k, v in summary.items()))
    print(f"runs with both figures: {len(errors)}/{runs}")
    for row in rows:
        row.update(tool="zonedrill run --target kube", qps=100, size={"replicas": 3})
        row.update(repeats=[row["error"]], complete=row["error"] is not None)
    path = record(
        "kube-rto",
        rows,
        versions={"kubernetes": versions.KUBERNETES, "kwok": versions.KWOK},
        seed=seed,
        probeEveryMs=100,
        errorMs=summary,
    )
    print(f"recorded in {path}")


def _line(index: int, row: dict[str, Any]) -> str:
    if row["error"] is None:
        return f"run {index}: ready delay {row['readyDelay']:.2f}s  incomplete: {row}"
    return (
        f"run {index}: ready delay {row['readyDelay']:.2f}s  true RTO {row['true']:.3f}s  "
        f"measured {row['measured']:.3f}s  error {1000 * row['error']:+.1f}ms"
    )


def _distribution(errors: list[float]) -> dict[str, float]:
    if not errors:
        return {}
    ordered = sorted(errors)
    return {
        "min": ordered[0],
        "median": statistics.median(ordered),
        "p90": ordered[math.ceil(0.9 * len(ordered)) - 1],  # nearest rank
        "max": ordered[-1],
        "mean": statistics.mean(ordered),
    }


if __name__ == "__main__":
    # SIGTERM unwinds like Ctrl-C, so every control plane and child is stopped on the way out.
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=12)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--min-delay", type=float, default=1.0)
    parser.add_argument("--max-delay", type=float, default=6.0)
    options = parser.parse_args()
    main(options.runs, options.seed, (options.min_delay, options.max_delay))
