"""Evacuating a zone on KWOK: zonedrill against kubectl drain and chaostoolkit-kubernetes.

Each scenario gets a fresh control plane (tests/cluster) with a zone "lost" full of pods and a
spare zone with room for them all (bench/evacuation.py). Every tool is then run as its own
process, the same way:

- **window**: from the start of the tool's process to **done**, seen by one watch on the pods:
  no pod left on a lost node (terminating ones included) and every replica Ready outside the
  zone. zonedrill's window therefore holds its CLI start-up, preflight, Lease and a 1 s
  baseline; its drill goes on probing after done, and is then interrupted (it restores).
- **calls**: counted by the API server's audit log, by User-Agent, inside the window (watches
  and Event POSTs included); 429s likewise.
- **budgets**: kubectl runs on client-go's default 5 QPS / burst 10 (it has no flag for it),
  on two clients: its audit log shows evictions bursting beside a steady 5 GET polls a second,
  about 10 QPS in all. chaostoolkit-kubernetes uses the Python client, which has no
  client-side limit. zonedrill runs at ``--qps 10`` (kubectl's total: the ratio column),
  ``--qps 5`` (one of kubectl's buckets) and out of the box (100 QPS / burst 200).
- **repeats**: one unrecorded warm-up run on the fresh control plane, then each tool
  ``--repeats`` times, the order of tools reversed on every other round; min / median / max
  printed. A run that is not done within ``--deadline`` (or 60 s after its tool exited) is
  incomplete and printed as such, never as a time.

    python -m bench.drain_bench                      # both scenarios, 3 repeats, recorded
    python -m bench.drain_bench --nodes 50 --pods-per-node 12 --scenarios fast

Results go to bench/results/drain-<date>.json (bench/record.py).
"""

from __future__ import annotations

import argparse
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from importlib.metadata import version
from pathlib import Path
from typing import Any

from bench.audit import Calls, count_calls
from bench.evacuation import (
    ZONE_LABEL,
    DoneWatch,
    Scenario,
    pods_in,
    populate,
    repack,
    slow_pods_by_node,
)
from bench.loopback import server_process
from bench.record import record
from tests.cluster import versions
from tests.cluster.control_plane import ControlPlane, start
from tests.cluster.zones import api_client, core_api

DRILL = """\
apiVersion: zonedrill/v1
kind: Drill
metadata: {{name: drain-bench}}
spec:
  zones:
    lost: {{nodeSelector: {{{label}: lost}}}}
  probes:
    - {{name: up, http: {{url: "{url}"}}, every: 1s}}
  baseline: 1s
  duration: 60m
  steps:
    - {{at: 0s, lose: lost, mode: drain}}
  targets:
    - {{probe: up, availability: "0%"}}
"""

CHAOSTOOLKIT = """\
import sys
from chaosk8s.node.actions import drain_nodes
drain_nodes(label_selector=sys.argv[1], delete_pods_with_local_storage=True, timeout=7200)
"""


@dataclass(frozen=True)
class Tool:
    """One row: how to start the tool, its client budget, and how the server knows it."""

    name: str
    qps: float | None  # per client; None: no client-side limit
    budget: str
    agent: str
    command: Callable[[ControlPlane, Path], list[str]]
    interrupt_after_done: bool = False  # a drill goes on after done: stop it (it restores)
    notes: str = ""  # how it was set up, when that could favour or hinder it


def zonedrill_tool(qps: float, label: str, probe_url: str) -> Tool:
    """``zonedrill run`` of a drain drill on the lost zone, at ``qps``."""

    def command(plane: ControlPlane, folder: Path) -> list[str]:
        drill = folder / "drill.yaml"
        drill.write_text(DRILL.format(label=ZONE_LABEL, url=probe_url))
        return [
            *[sys.executable, "-m", "orchestrator", "run", str(drill), "--target", "kube"],
            *["--kubeconfig", str(plane.kubeconfig), "--qps", f"{qps:g}"],
            *["--out", str(folder / "out"), "--history", str(folder / "history.sqlite")],
        ]

    budget = f"{qps:g} QPS / burst {int(qps * 2)}"
    return Tool(
        f"zonedrill drain {label}",
        qps,
        budget,
        "zonedrill/",
        command,
        interrupt_after_done=True,
        notes="zonedrill run (CLI, preflight, Lease, 1 s baseline) of a drain drill",
    )


def kubectl_tool() -> Tool:
    """``kubectl drain -l`` on the lost zone, from the same Kubernetes release as the server."""

    def command(plane: ControlPlane, _: Path) -> list[str]:
        return plane.kubectl(
            *["drain", "-l", f"{ZONE_LABEL}=lost", "--ignore-daemonsets"],
            *["--delete-emptydir-data", "--force", "--timeout=60m"],
        )

    return Tool(
        "kubectl drain -l",
        5,
        KUBECTL_BUDGET,
        "kubectl/",
        command,
        notes="--ignore-daemonsets --delete-emptydir-data --force --timeout=60m",
    )


def chaostoolkit_tool() -> Tool:
    """chaostoolkit-kubernetes ``drain_nodes`` by label selector."""

    def command(plane: ControlPlane, _: Path) -> list[str]:
        return [sys.executable, "-c", CHAOSTOOLKIT, f"{ZONE_LABEL}=lost"]

    return Tool(
        "chaostoolkit drain_nodes",
        None,
        "no limit (Python client)",
        "OpenAPI-Generator/",
        command,
        notes=(
            "drain_nodes(label_selector, delete_pods_with_local_storage=True, timeout=7200) "
            "from python -c: its default timeout is 120 s per node; every pod has an emptyDir "
            "volume, since 0.39 crashes on pods without volumes"
        ),
    )


# zonedrill's client budgets by name: 10 QPS is kubectl's total, 5 one of its buckets, and
# 100 QPS / burst 200 zonedrill's default.
BUDGETS = {"5": 5.0, "10": 10.0, "default": 100.0}


def _label(budget: str) -> str:
    return "(default)" if budget == "default" else f"--qps {budget}"


REFERENCE = "zonedrill drain --qps 10"  # kubectl's total budget: the ratios' denominator
KUBECTL_BUDGET = "2 clients x 5 QPS / burst 10"
"""client-go's default, twice: the audit log shows kubectl's evictions bursting 10 at a time
beside a steady 5 GET polls a second, so they draw on separate buckets (about 10 QPS in all)."""


@dataclass
class Run:
    """One timed run of one tool."""

    seconds: float | None  # None: not done within the deadline
    calls: Calls
    exit_code: int | None
    slow_pods_by_node: dict[str, int]  # where the slow pods were when the run started
    left_in_zone: int


def run_once(
    plane: ControlPlane, scenario: Scenario, tool: Tool, folder: Path, deadline: float
) -> Run:
    """Start the tool's process, wait for done (or the deadline), count its calls."""
    folder.mkdir(parents=True)
    env = {"KUBECONFIG": str(plane.kubeconfig), "ZONEDRILL_STATE_DIR": str(folder / "state")}
    command = tool.command(plane, folder)
    slow = slow_pods_by_node(plane)
    log = (folder / "output.log").open("w")
    finished: float | None = None
    with DoneWatch(plane, scenario) as done:
        wall, started = time.time(), time.monotonic()
        process = subprocess.Popen(
            command, stdout=log, stderr=subprocess.STDOUT, env=_environment(env)
        )
        try:
            finished = _wait_done(done, process, deadline)
            end_wall = wall + ((finished or time.monotonic()) - started)
            left = 0 if finished else pods_in(plane, scenario.lost_nodes)
        finally:  # on every path, a bench interrupted included: no tool outlives its run
            _stop(process, interrupt=tool.interrupt_after_done or finished is None)
    assert plane.audit_log is not None
    calls = count_calls(plane.audit_log, agent=tool.agent, start=wall, end=end_wall)
    seconds = finished - started if finished is not None else None
    return Run(seconds, calls, process.returncode, slow, left)


SETTLE = 60.0  # after a tool exits, how long its replacements may take to become Ready


def _wait_done(done: DoneWatch, process: subprocess.Popen[bytes], deadline: float) -> float | None:
    """Wait for done, for at most ``deadline`` s, or ``SETTLE`` s after the tool exited."""
    limit = time.monotonic() + deadline
    while (finished := done.wait(1.0)) is None and time.monotonic() < limit:
        if process.poll() is not None:
            limit = min(limit, time.monotonic() + SETTLE)
    return finished


def _environment(extra: dict[str, str]) -> dict[str, str]:
    return {**os.environ, **extra}


def _stop(process: subprocess.Popen[bytes], *, interrupt: bool) -> None:
    """Let a peer finish; interrupt a drill (it restores) or a run past the deadline."""
    if interrupt and process.poll() is None:
        process.send_signal(signal.SIGINT)
    try:
        process.wait(timeout=300)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def measure(
    scenario: Scenario, tools: list[Tool], options: argparse.Namespace
) -> list[dict[str, Any]]:
    """Every tool ``repeats`` times on one fresh control plane; one row per tool."""
    runs: dict[str, list[Run]] = {t.name: [] for t in tools}
    with tempfile.TemporaryDirectory() as tmp:
        plane = start(Path(tmp) / "plane", node_lease_seconds=options.lease_seconds, audit=True)
        try:
            core_api(api_client(plane)).create_namespace({"metadata": {"name": "zonedrill"}})
            populate(plane, scenario, spare=options.spare or scenario.nodes)
            if options.warm_up:
                warm = tools[-1] if tools[-1].name.startswith("zonedrill") else tools[0]
                run_once(plane, scenario, warm, Path(tmp) / "warm-up", options.deadline)
                repack(plane, scenario)
            for repeat in range(options.repeats):
                order = tools if repeat % 2 == 0 else tools[::-1]
                for tool in order:
                    folder = Path(tmp) / f"{repeat}-{tool.name.replace(' ', '_')}"
                    run = run_once(plane, scenario, tool, folder, options.deadline)
                    runs[tool.name].append(run)
                    print(f"  round {repeat + 1}: {tool.name:<26} {_time(run)}", flush=True)
                    repack(plane, scenario)
        finally:
            plane.stop()
    return [row(scenario, tool, runs[tool.name]) for tool in tools]


def _time(run: Run) -> str:
    if run.seconds is None:
        return f"incomplete ({run.left_in_zone} pods still in the zone, exit {run.exit_code})"
    return f"{run.seconds:7.2f}s  {run.calls.total} calls, {run.calls.throttled} x 429"


def row(scenario: Scenario, tool: Tool, runs: list[Run]) -> dict[str, Any]:
    """The recorded row of one tool in one scenario."""
    complete = [r for r in runs if r.seconds is not None]
    done = [r.seconds for r in complete if r.seconds is not None]
    calls = [r.calls.total / scenario.total for r in complete]
    kinds = sum((r.calls.by_kind for r in complete), start=Calls().by_kind)
    return {
        "tool": tool.name,
        "qps": tool.qps,
        "budget": tool.budget,
        "notes": tool.notes,
        "scenario": scenario.label(),
        "size": {"nodes": scenario.nodes, "pods": scenario.total},
        "repeats": [r.seconds for r in runs],
        "complete": len(done) == len(runs),
        "seconds": _spread(done),
        "callsPerPod": statistics.median(calls) if calls else None,
        "callsPerPodByKind": {
            k: round(v / scenario.total / max(1, len(complete)), 3) for k, v in kinds.items()
        },
        "throttled429": [r.calls.throttled for r in runs],
        "slowPodsByNode": [r.slow_pods_by_node for r in runs],
    }


def _spread(values: list[float]) -> dict[str, float] | None:
    if not values:
        return None
    return {"min": min(values), "median": statistics.median(values), "max": max(values)}


def print_table(rows: list[dict[str, Any]], reference: str) -> None:
    """The table of one scenario; ratio = the row's median / ``reference``'s median."""
    base = next((r["seconds"] for r in rows if r["tool"] == reference), None)
    print(f"\n# {rows[0]['scenario']}; done = zone empty and every replica Ready elsewhere")
    print("# budgets: " + "; ".join(f"{r['tool']}: {r['budget']}" for r in rows))
    print(
        f"{'tool':<26} {'client budget':<30} {'min':>8} {'median':>8} {'max':>8}  "
        f"{'calls/pod':>9}  ratio to {reference}"
    )
    for item in rows:
        spread = item["seconds"]
        if not item["complete"] or spread is None:
            figures = f"{'incomplete':>26}"
            ratio = ""
        else:
            figures = " ".join(f"{spread[k]:7.2f}s" for k in ("min", "median", "max"))
            ratio = f"{spread['median'] / base['median']:.2f}x" if base else ""
        print(
            f"{item['tool']:<26} {item['budget']:<30} {figures}  "
            f"{item['callsPerPod'] or float('nan'):9.2f}  {ratio}"
        )
    for item in rows:
        kinds = ", ".join(
            f"{k} {v:.2f}"
            for k, v in sorted(item["callsPerPodByKind"].items(), key=lambda kv: -kv[1])
        )
        print(f"  calls/pod of {item['tool']}: {kinds}")


SCENARIOS = {
    "fast": lambda o: Scenario(o.nodes, o.pods_per_node),
    "grace": lambda o: Scenario(
        o.grace_nodes, o.pods_per_node, grace_seconds=o.grace_seconds, slow_share=0.25
    ),
}


def main(argv: Any = None) -> None:
    """Parse options, run every scenario, print the tables and record them."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scenarios", default="fast,grace", help="fast (grace 0), grace (30s)")
    parser.add_argument("--nodes", type=int, default=20, help="lost-zone nodes (fast scenario)")
    parser.add_argument("--grace-nodes", type=int, default=6, help="lost-zone nodes (grace)")
    parser.add_argument("--grace-seconds", type=int, default=30, help="the slow pods' grace")
    parser.add_argument("--pods-per-node", type=int, default=10)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument(
        "--no-warm-up",
        dest="warm_up",
        action="store_false",
        help="skip the unrecorded warm-up run (the suite's short run, which claims no figure)",
    )
    parser.add_argument("--peers", default="kubectl,chaostoolkit")
    parser.add_argument(
        "--budgets",
        default=",".join(BUDGETS),
        help="zonedrill's client budgets to run, of " + ", ".join(BUDGETS),
    )
    parser.add_argument("--spare", type=int, default=0, help="spare-zone nodes (default: same)")
    parser.add_argument("--lease-seconds", type=int, default=8, help="kwok node lease duration")
    parser.add_argument("--deadline", type=float, default=1800, help="incomplete after s")
    options = parser.parse_args(argv)
    budgets = [b for b in options.budgets.split(",") if b]
    if unknown := sorted(set(budgets) - BUDGETS.keys()):
        parser.error(
            f"--budgets: unknown {', '.join(unknown)}; expected some of {', '.join(BUDGETS)}"
        )
    rows: list[dict[str, Any]] = []
    with server_process(core=None) as base:
        tools = [zonedrill_tool(BUDGETS[b], _label(b), f"{base}/ok") for b in budgets]
        peers = {"kubectl": kubectl_tool, "chaostoolkit": chaostoolkit_tool}
        tools += [peers[p]() for p in options.peers.split(",") if p]
        for name in options.scenarios.split(","):
            scenario = SCENARIOS[name](options)
            print(f"# {scenario.label()}: {options.repeats} rounds", flush=True)
            measured = measure(scenario, tools, options)
            print_table(measured, reference=REFERENCE)
            rows += measured
    path = record(
        "drain",
        rows,
        versions={
            "kubernetes": versions.KUBERNETES,
            "kwok": versions.KWOK,
            # Only a peer that ran is named: without the bench extra it is not installed.
            **(
                {"chaostoolkit-kubernetes": version("chaostoolkit-kubernetes")}
                if "chaostoolkit" in options.peers
                else {}
            ),
        },
        window="process start to done",
        done=DONE,
    )
    print(f"\nrecorded in {path}")


DONE = "no pod of the load on a lost node, terminating ones included; every replica Ready elsewhere"

if __name__ == "__main__":
    # SIGTERM unwinds like Ctrl-C, so every control plane and child is stopped on the way out.
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    main()
