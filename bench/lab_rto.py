"""The lab's true outage length against the RTO zonedrill measures, through the whole engine.

The lab records when a packed service's ready replicas fall below minReady and when they come
back; the engine's probes (every 100 ms) measure the RTO. The difference is the measurement
error, expected within one probe period.

    python -m bench.lab_rto [--runs 3]
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
from pathlib import Path
from typing import Any

from orchestrator.drill.lab import Lab
from orchestrator.drill.model import Drill
from orchestrator.results.document import ResultDoc
from orchestrator.run.engine import DrillRun, RunSettings
from orchestrator.targets.lab import open_lab

LAB = {
    "apiVersion": "zonedrill/v1",
    "kind": "Lab",
    "metadata": {"name": "bench-lab"},
    "spec": {
        "zones": {"a": {"nodes": 2, "podsPerNode": 10}, "b": {"nodes": 2, "podsPerNode": 10}},
        "services": [
            {
                "name": "api",
                "replicas": 3,
                "spread": "pack",
                "reschedule": "1500ms",
                "startup": "2500ms",
            }
        ],
    },
}
DRILL = {
    "apiVersion": "zonedrill/v1",
    "kind": "Drill",
    "metadata": {"name": "bench-rto"},
    "spec": {
        "zones": {
            "a": {"nodeSelector": {"zonedrill.io/power-zone": "a"}},
            "b": {"nodeSelector": {"zonedrill.io/power-zone": "b"}},
        },
        "probes": [
            {
                "name": "api",
                "http": {"service": {"namespace": "default", "name": "api"}},
                "every": "100ms",
            }
        ],
        "baseline": "1s",
        "duration": "8s",
        "steps": [{"at": "0s", "lose": "a"}],
        "targets": [{"probe": "api", "rto": "10s"}],  # a result needs one check to be scored
    },
}


class _Quiet:
    def planned(self, plan: Any) -> None:
        pass

    def phase(self, name: str, *, until: float | None) -> None:
        pass

    def step(self, record: Any) -> None:
        pass

    def sample(self, sample: Any) -> None:
        pass

    def note(self, message: str) -> None:
        pass


async def lab_run(
    folder: Path, index: int, lab: dict[str, Any], drill: dict[str, Any]
) -> tuple[float, float, ResultDoc]:
    """One drill on the lab: when the service ``api`` went down and came back, and the result."""
    port = await open_lab(Lab.model_validate(lab), lock_dir=folder / "locks")
    cluster = port.cluster
    service = cluster.services["default/api"]
    transitions: list[tuple[float, bool]] = []

    def watch() -> None:
        up = cluster.ready_replicas(service) >= service.min_ready
        if not transitions or transitions[-1][1] != up:
            transitions.append((cluster.now(), up))

    watch()
    cluster.on_change(watch)
    out = folder / f"out-{index}"  # one folder per run: --out refuses a folder holding a run
    settings = RunSettings(run_id=f"bench-{index}", out_dir=out, state_dir=folder)
    run = DrillRun(
        drill=Drill.model_validate(drill), port=port, settings=settings, observer=_Quiet()
    )
    outcome = await run.execute()
    await port.close()
    down = next(t for t, up in transitions if not up)
    back = next(t for t, up in transitions if up and t > down)
    return down, back, outcome.document


async def one_run(folder: Path, index: int) -> tuple[float, float]:
    """Return (true outage seconds, measured RTO seconds) for one power loss."""
    down, back, document = await lab_run(folder, index, LAB, DRILL)
    measured = document.probes[0].rto[0].seconds
    assert measured is not None, "the lab drill's outage never recovered"
    return back - down, measured


async def measure(runs: int = 3) -> list[float]:
    """Print true outage, measured RTO and their difference for each run; return the errors (ms)."""
    errors: list[float] = []
    print("lab power loss, packed service, reschedule 1.5s + startup 2.5s, probe every 100ms:")
    with tempfile.TemporaryDirectory() as tmp:
        for index in range(runs):
            true, measured = await one_run(Path(tmp), index)
            errors.append(round(1000 * (measured - true), 3))
            print(
                f"  run {index}: true outage {true:.4f}s  measured RTO {measured:.4f}s  "
                f"error {1000 * (measured - true):+.1f}ms"
            )
    return errors


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    asyncio.run(measure(parser.parse_args().runs))
