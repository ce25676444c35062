"""One drill, run by zonedrill and by Chaos Toolkit (``chaos run`` of its export), on one cluster.

Each run packs a 3-replica Deployment into pangyo (KWOK ready delay 3 s), probes it through its
loopback front (http://127.0.0.1, up while 2 endpoints are ready) and cuts pangyo's power at T0
for a 12 s chaos phase. Both tools run the same drill file: zonedrill samples every 100 ms on
its grid; Chaos Toolkit samples the exported steady-state hypothesis at the
``--hypothesis-frequency`` of the row (its loop asks, then sleeps). Per run:

- wall time, from the start of the tool's process to its exit;
- API calls, counted by the API server's audit log (User-Agent ``zonedrill/``: Chaos Toolkit's
  zone actions are zonedrill's own), inside that window;
- the sampling period reached (median interval between one probe's samples in the chaos phase,
  from samples.jsonl) and its drift from the period asked for;
- the RTO error: the RTO each result reports minus the true RTO, when the bench's own watch saw
  the second replacement Ready.

    python -m bench.ctk_bench [--rounds 3] [--quick]

Rounds alternate the order of the rows. Results go to bench/results/ctk-<date>.json.
"""

from __future__ import annotations

import argparse
import itertools
import json
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import datetime
from importlib.metadata import version
from pathlib import Path
from typing import Any

from bench.audit import count_calls
from bench.kube_rto import ReadyLog
from bench.record import record
from tests.cluster import versions
from tests.cluster.control_plane import ControlPlane, start
from tests.cluster.stages import READY_DELAY_ANNOTATION
from tests.cluster.zones import Placement, api_client, core_api, create_zones
from tests.kubecase import packed_app
from tests.support import ZONEDRILL, cli_env

READY_DELAY = "3000ms"
DRILL = """\
apiVersion: zonedrill/v1
kind: Drill
metadata: {{name: ctk-bench}}
spec:
  zones:
    pangyo: {{nodeSelector: {{zonedrill.io/power-zone: pangyo}}}}
  probes:
    - {{name: talk, http: {{url: "{url}"}}, every: 100ms}}
  baseline: 1s
  duration: 12s
  steps:
    - {{at: 0s, lose: pangyo}}
  targets:
    - {{probe: talk, rto: 20s}}
"""
ROWS = (
    ("zonedrill run", 0.1, None),
    ("chaos run, --hypothesis-frequency 1", 1.0, 1.0),
    ("chaos run, --hypothesis-frequency 0.1", 0.1, 0.1),
)


def one_run(
    plane: ControlPlane, folder: Path, label: str, asked: float, frequency: float | None
) -> dict[str, Any]:
    """One power loss run by one tool; its figures."""
    kube = api_client(plane)
    placement = Placement(annotations={READY_DELAY_ANNOTATION: READY_DELAY})
    with packed_app(kube, placement=placement) as app:
        drill = folder / "drill.yaml"
        drill.write_text(DRILL.format(url=app["front"].url))
        out = folder / "out"
        command = _command(plane, drill, folder, out, frequency)
        with ReadyLog(plane, app["namespace"]) as log:
            began = time.time()
            subprocess.run(
                command,
                env={**cli_env(folder / "state"), "KUBECONFIG": str(plane.kubeconfig)},
                cwd=folder,
                capture_output=True,
                timeout=600,
                check=False,
            )
            ended = time.time()
    row: dict[str, Any] = {"tool": label, "askedPeriod": asked, "wall": round(ended - began, 2)}
    row["calls"] = count_calls(
        plane.audit_log or Path(), agent="zonedrill/", start=began, end=ended
    ).total
    try:
        result = json.loads((out / "result.json").read_text())
    except (OSError, ValueError) as missing:
        return {**row, "why": repr(missing)}
    step = datetime.fromisoformat(result["steps"][0]["startedAt"]).timestamp()
    back = log.recovered_after(step)
    measured = result["probes"][0]["rto"][0]["seconds"]
    row["rtoError"] = (
        None if back is None or measured is None else round(measured - (back - step), 3)
    )
    row["period"] = _period(out, result)
    row["outcome"] = result["outcome"]
    return row


def _command(
    plane: ControlPlane, drill: Path, folder: Path, out: Path, frequency: float | None
) -> list[str]:
    if frequency is None:
        return [
            *ZONEDRILL,
            "run",
            str(drill),
            "--target",
            "kube",
            "--kubeconfig",
            str(plane.kubeconfig),
            "--out",
            str(out),
        ]
    exported = folder / "experiment.json"
    subprocess.run(
        [*ZONEDRILL, "export", str(drill), "--to", "chaostoolkit", "--output-file", str(exported)],
        check=True,
        capture_output=True,
        env=cli_env(folder / "state"),
    )
    experiment = json.loads(exported.read_text())
    experiment["controls"][0]["provider"]["arguments"] = {"out": str(out)}
    exported.write_text(json.dumps(experiment))
    return [
        sys.executable,
        "-m",
        "chaostoolkit",
        "run",
        str(exported),
        "--hypothesis-frequency",
        str(frequency),
        "--journal-path",
        str(folder / "journal.json"),
    ]


def _period(out: Path, result: dict[str, Any]) -> float | None:
    t0, end = result["timeline"]["t0"], result["timeline"]["chaosEnd"]
    starts = sorted(
        s["started"]
        for s in map(json.loads, (out / "samples.jsonl").read_text().splitlines())
        if s["probe"] == "talk" and t0 <= s["started"] < end
    )
    gaps = [b - a for a, b in itertools.pairwise(starts)]
    return round(statistics.median(gaps), 4) if gaps else None


def main(rounds: int, rows_run: tuple[tuple[str, float, float | None], ...] = ROWS) -> None:
    """Every round on one control plane with an audit log; print each run; record."""
    runs: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory() as tmp:
        plane = start(Path(tmp) / "plane", audit=True)
        try:
            create_zones(plane, {"pangyo": 3, "ansan": 3, "gasan": 2})
            core_api(api_client(plane)).create_namespace({"metadata": {"name": "zonedrill"}})
            for index in range(rounds):
                order = rows_run if index % 2 == 0 else tuple(reversed(rows_run))
                for position, (label, asked, frequency) in enumerate(order):
                    folder = Path(tmp) / f"r{index}-{position}"
                    folder.mkdir()
                    runs.append(one_run(plane, folder, label, asked, frequency) | {"round": index})
                    print(json.dumps(runs[-1]), flush=True)
        finally:
            plane.stop()
    rows = [
        _row(label, asked, [r for r in runs if r["tool"] == label]) for label, asked, _ in rows_run
    ]
    for row in rows:
        print(
            f"{row['tool']:40} wall {row['wall']}  calls {row['calls']}  period {row['period']}  "
            f"RTO error {row['rtoError']}"
        )
    path = record(
        "ctk",
        rows,
        versions={
            "chaostoolkit": version("chaostoolkit"),
            "chaostoolkit-lib": version("chaostoolkit-lib"),
            "kubernetes": versions.KUBERNETES,
            "kwok": versions.KWOK,
        },
        readyDelay=READY_DELAY,
        rounds=rounds,
    )
    print(f"recorded in {path}")


def _row(label: str, asked: float, runs: list[dict[str, Any]]) -> dict[str, Any]:
    def spread(key: str) -> dict[str, float] | None:
        values = [r[key] for r in runs if r.get(key) is not None]
        if not values:
            return None
        return {"min": min(values), "median": statistics.median(values), "max": max(values)}

    return {
        "tool": label,
        "askedPeriod": asked,
        "wall": spread("wall"),
        "calls": spread("calls"),
        "period": spread("period"),
        "rtoError": spread("rtoError"),
        "repeats": runs,
        "complete": all("why" not in r for r in runs),
    }


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument(
        "--quick", action="store_true", help="zonedrill and chaos run at 0.1 s only (the suite's)"
    )
    options = parser.parse_args()
    main(options.rounds, (ROWS[0], ROWS[2]) if options.quick else ROWS)
