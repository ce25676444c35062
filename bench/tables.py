"""Markdown tables from recorded bench results, for docs/benchmarks.md and the README.

    python -m bench.tables bench/results/drain-2026-11-26.json [...]

Each bench's rows are printed as they were recorded: nothing is computed here but ratios of
medians within one file (one run, one machine).
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

REFERENCE = "zonedrill drain --qps 10"  # kubectl's total budget (bench/drain_bench.py)


def drain(document: dict[str, Any]) -> str:
    """One table per scenario: budget, min/median/max, ratio to the equal-budget row, calls."""
    out = []
    for scenario in dict.fromkeys(r["scenario"] for r in document["rows"]):
        rows = [r for r in document["rows"] if r["scenario"] == scenario]
        base = next(r for r in rows if r["tool"] == REFERENCE)["seconds"]["median"]
        out.append(f"**{scenario}**, {len(rows[0]['repeats'])} rounds\n")
        out.append(
            "| tool | client budget | min | median | max | ÷ zonedrill at 10 QPS | calls/pod |"
        )
        out.append("|---|---|---|---|---|---|---|")
        for row in rows:
            spread = row["seconds"]
            if not row["complete"] or spread is None:
                out.append(f"| {row['tool']} | {row['budget']} | incomplete | | | | |")
                continue
            times = " | ".join(f"{spread[k]:.1f} s" for k in ("min", "median", "max"))
            ratio = spread["median"] / base
            out.append(
                f"| {row['tool']} | {row['budget']} | {times} | {ratio:.2f}x | "
                f"{row['callsPerPod']:.2f} |"
            )
        out.append("")
    return "\n".join(out)


def precision(document: dict[str, Any]) -> str:
    """Start errors against the ideal slot, per loop and period."""
    out = [
        "| loop | period | timeout | samples / due | p50 | p99 | max | drift | mean interval |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for r in document["rows"]:
        out.append(
            f"| {r['tool']} | {r['every']:g} s | {r['timeout']} | {r['samples']} / {r['due']} | "
            f"{r['p50Ms']:.2f} ms | {r['p99Ms']:.2f} ms | {r['maxMs']:.1f} ms | "
            f"{r['driftMs']:.1f} ms | {r['meanIntervalMs']:.1f} ms |"
        )
    errors = ", ".join(f"{e:+.1f} ms" for e in document.get("labRtoErrorsMs", []))
    return "\n".join(out) + f"\n\nLab RTO error (measured - true): {errors}\n"


def throughput(document: dict[str, Any]) -> str:
    """Completed rate, CPU and CPU per passed probe against raw aiohttp."""
    out = [
        "| engine | requested | completed | CPU of a core | µs CPU per passed probe "
        "| ÷ raw aiohttp | p99 start error |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in document["rows"]:
        out.append(
            f"| {r['tool']} | {r['requestedRate']}/s | {r['completedRate']:.1f}/s | "
            f"{100 * r['cpuShare']:.1f} % | {r['cpuUsPerPassedProbe']:.0f} | "
            f"{r['ratioToRawAiohttp']:.2f}x | {r['p99StartErrorMs']:.2f} ms |"
        )
    return "\n".join(out) + "\n"


def kube_rto(document: dict[str, Any]) -> str:
    """Every run, then the error distribution."""
    tool = document["rows"][0]["tool"] if document["rows"] else "zonedrill"
    out = [f"{tool}, probes every {document['probeEveryMs']} ms, seed {document['seed']}", ""]
    out += ["| ready delay | true RTO | measured RTO | error |", "|---|---|---|---|"]
    for r in document["rows"]:
        if r["error"] is None:
            out.append(f"| {r['readyDelay']:.2f} s | incomplete | | |")
            continue
        out.append(
            f"| {r['readyDelay']:.2f} s | {r['true']:.3f} s | {r['measured']:.3f} s | "
            f"{1000 * r['error']:+.0f} ms |"
        )
    summary = ", ".join(f"{k} {v:+.0f} ms" for k, v in document["errorMs"].items())
    return "\n".join(out) + f"\n\nError: {summary}.\n"


def ctk(document: dict[str, Any]) -> str:
    """zonedrill run against chaos run of the export: time, calls, period reached, RTO error."""
    out = [
        f"one power loss, KWOK ready delay {document['readyDelay']}, {document['rounds']} rounds "
        "(min / median / max)",
        "",
        "| tool | period asked | period reached | RTO error | wall time | API calls |",
        "|---|---|---|---|---|---|",
    ]
    for r in document["rows"]:
        out.append(
            f"| {r['tool']} | {r['askedPeriod']:g} s | {_spread(r['period'], 's', 3)} | "
            f"{_spread(r['rtoError'], 's', 3)} | {_spread(r['wall'], 's', 1)} | "
            f"{_spread(r['calls'], '', 0)} |"
        )
    return "\n".join(out) + "\n"


def rehearsal(document: dict[str, Any]) -> str:
    """Snapshot, simulate and each-zone wall times, the goals, and the snapshot's peer ratio."""
    size, rows = document["size"], document["rows"]
    peer = next(r for r in rows if r["tool"].startswith("kubectl"))["seconds"]["median"]
    out = [
        f"{size['nodes']} nodes, {size['pods']} pods, {size['zones']} zones, {size['services']} "
        f"Services, {size['probes']} probed; {len(rows[0]['repeats'])} rounds after a warm-up "
        "(min / median / max)",
        "",
        "| command | client budget | wall time | goal | ÷ kubectl get | API calls | 429s |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        first = r["repeats"][0]
        ratio = f"{r['seconds']['median'] / peer:.2f}x" if r["what"] == "snapshot" else ""
        goal = f"≤ {r['goal']:g} s" if r["goal"] is not None else ""
        out.append(
            f"| {r['tool']} | {r['budget']} | {_spread(r['seconds'], 's', 2)} | {goal} | {ratio} "
            f"| {first.get('calls', '')} | {first.get('throttled', '')} |"
        )
    return "\n".join(out) + "\n"


def prometheus(document: dict[str, Any]) -> str:
    """Start errors, drift and CPU per sample of each row and repeat, then the medians."""
    out = [
        f"{document['rows'][0]['probes']} probes every 1 s, {document['secondsPerRow']:g} s a "
        "row, rows alternating",
        "",
        "| tool | repeat | samples / due | p50 | p99 | max | drift | CPU per sample |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for r in document["rows"]:
        out.append(
            f"| {r['tool']} | {r['repeat']} | {r['samples']} / {r['due']} | "
            f"{r['p50Ms']:.2f} ms | {r['p99Ms']:.2f} ms | {r['maxMs']:.1f} ms | "
            f"{r['driftMs']:.1f} ms | {r['cpuMsPerSample']:.3f} ms |"
        )
    return "\n".join(out) + "\n"


def while_failing(document: dict[str, Any]) -> str:
    """RTO error of each row over the runs, and the fast grid's extra samples."""
    runs = document["runs"]
    within = sum(bool(r["withinBound"]) for r in runs)
    out = [
        f"{len(runs)} lab runs, true recovery at random phases (seed {document['seed']})",
        "",
        "| probe | runs | p50 error | p99 error | max error | mean (signed) |",
        "|---|---|---|---|---|---|",
    ]
    for r in document["rows"]:
        out.append(
            f"| {r['tool']} | {r['runs']} | {r['p50Ms']:.1f} ms | {r['p99Ms']:.1f} ms | "
            f"{r['maxMs']:.1f} ms | {r['meanSignedMs']:+.1f} ms |"
        )
    extra = max((r["fastExtraSamples"] for r in runs), default=0)
    return (
        "\n".join(out)
        + f"\n\nFast-grid samples per run: at most {extra}; within outage / 20ms + 3 in {within}"
        + f" of {len(runs)} runs.\n"
    )


def _spread(values: dict[str, float] | None, unit: str, digits: int) -> str:
    if values is None:
        return "incomplete"
    low, mid, high = (f"{values[k]:.{digits}f}" for k in ("min", "median", "max"))
    return f"{low} / {mid} / {high}{' ' + unit if unit else ''}"


TABLES: dict[str, Callable[[dict[str, Any]], str]] = {
    "ctk": ctk,
    "drain": drain,
    "probe-precision": precision,
    "probe-throughput": throughput,
    "kube-rto": kube_rto,
    "rehearsal": rehearsal,
    "prometheus": prometheus,
    "while-failing": while_failing,
}


def main(paths: list[str]) -> int:
    """Print the table of each results file."""
    for path in paths:
        document = json.loads(Path(path).read_text())
        print(f"<!-- {path} -->")
        print(TABLES[document["bench"]](document))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
