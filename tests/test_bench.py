"""Short runs of every bench: they run, reach their end condition and record what they measured.

The figures themselves are claimed in bench/results/, never asserted as timings here; these
tests check what must hold whatever the machine: every pod evicted at least once, as the API
server counted; no evacuation done before its slow pods' grace ran out; a sequential
sleep-after-work loop slower than the work it does; results written where asked, never over the
recorded ones.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from bench.audit import count_calls
from bench.record import RESULTS_ENV
from bench.tables import TABLES
from tests.support import REPO


def run_bench(tmp_path: Path, module: str, *args: str, timeout: float = 600) -> dict[str, Any]:
    """Run ``python -m MODULE ARGS`` recording into ``tmp_path``; return its results file."""
    env = {**os.environ, RESULTS_ENV: str(tmp_path)}
    done = subprocess.run(
        [sys.executable, "-m", module, *args],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    (written,) = tmp_path.glob("*.json")
    document: dict[str, Any] = json.loads(written.read_text())
    assert document["machine"]["cores"] >= 1
    assert document["versions"]["zonedrill"]
    table = TABLES[document["bench"]](document)  # what docs/benchmarks.md prints from it
    assert all(row["tool"] in table for row in document["rows"] if "tool" in row)
    return document


@pytest.mark.cluster
def test_drain_bench_reaches_done_for_every_tool(tmp_path: Path) -> None:
    """The grace scenario, zonedrill at kubectl's budget and kubectl: every run done.

    No run may be done before its slow pods' grace ran out (ignoring it takes ~5 s here). The
    other budgets run the same code with other numbers; the recorded bench runs them all.
    """
    grace = 8
    document = run_bench(
        tmp_path,
        "bench.drain_bench",
        *["--scenarios", "grace", "--grace-nodes", "2", "--pods-per-node", "4"],
        *["--repeats", "1", "--grace-seconds", str(grace), "--peers", "kubectl"],
        *["--budgets", "10", "--no-warm-up"],
    )
    rows = document["rows"]
    assert {r["tool"] for r in rows} == {"zonedrill drain --qps 10", "kubectl drain -l"}
    assert document["versions"]["kubernetes"].startswith("v1.")
    for row in rows:
        assert row["size"] == {"nodes": 2, "pods": 8}, row
        assert row["complete"], row
        assert len(row["repeats"]) == 1, row
        assert row["callsPerPodByKind"]["create pods/eviction"] >= 1.0, row
        assert row["seconds"]["min"] >= grace, row
        assert sum(row["slowPodsByNode"][0].values()) == 2, row  # a quarter of 8 pods


def test_audit_counts_one_client_inside_the_window(tmp_path: Path) -> None:
    """By User-Agent, inside [start, end], each audit ID once over its stages, 429 at any stage."""
    log = tmp_path / "audit.log"

    def event(audit_id: str, agent: str, at: str, code: int | None = 200, **ref: str) -> str:
        stage = {"responseStatus": {"code": code}} if code else {"stage": "ResponseStarted"}
        return json.dumps(
            {
                "auditID": audit_id,
                "userAgent": agent,
                "verb": ref.pop("verb", "get"),
                "objectRef": ref,
                "requestReceivedTimestamp": f"2026-11-26T10:00:{at}Z",
                **stage,
            }
        )

    log.write_text(
        "\n".join(
            [
                event("a", "zonedrill/0.1.0", "01.000000", resource="pods", subresource="eviction"),
                event("b", "zonedrill/0.1.0", "02.000000", None, resource="pods", verb="create"),
                event("b", "zonedrill/0.1.0", "02.000000", 429, resource="pods", verb="create"),
                event("c", "zonedrill/0.1.0", "02.500000", None, resource="pods", verb="watch"),
                event("c", "zonedrill/0.1.0", "02.500000", resource="pods", verb="watch"),
                event("d", "kubectl/v1.36.3", "02.000000", resource="pods"),
                event("e", "zonedrill/0.1.0", "09.000000", resource="nodes"),
            ]
        )
        + "\n"
    )
    start = datetime(2026, 11, 26, 10, 0, 1, tzinfo=UTC).timestamp()
    calls = count_calls(log, agent="zonedrill/", start=start, end=start + 2)
    assert dict(calls.by_kind) == {"get pods/eviction": 1, "create pods": 1, "watch pods": 1}
    assert calls.throttled == 1


@pytest.mark.cluster
def test_kube_rto_bench_measures_against_the_cluster(tmp_path: Path) -> None:
    """A power loss: its RTO measured and compared with the pods' own Ready times."""
    document = run_bench(tmp_path, "bench.kube_rto", "--runs", "1")
    assert len(document["rows"]) == 1
    for row in document["rows"]:
        assert row["true"] is not None, row
        assert row["true"] >= row["readyDelay"], row
        assert row["measured"] is not None, row
        # Probes every 100 ms through the front: the error is bounded by a period plus the
        # endpoint propagation, far below a second unless something is wrong.
        assert abs(row["error"]) < 1.0, row


def test_probe_precision_bench_runs_every_loop_at_every_period(tmp_path: Path) -> None:
    """Three schedulers at two periods; the grid keeps its count, the loops drift."""
    document = run_bench(
        tmp_path,
        "bench.probe_precision",
        *["--seconds", "2", "--probes", "3", "--periods", "0.1,1", "--rto-runs", "2"],
    )
    rows = {(r["tool"], r["every"]): r for r in document["rows"]}
    assert set(rows) == {
        (tool, every)
        for tool in ("zonedrill grid", "Chaos Toolkit loop", "Krkn loop")
        for every in (0.1, 1.0)
    }
    grid = rows["zonedrill grid", 0.1]
    assert grid["samples"] == grid["due"]
    assert grid["meanIntervalMs"] == pytest.approx(100, abs=10)  # one slot per period
    for tool in ("Chaos Toolkit loop", "Krkn loop"):
        # One probe after another, then the sleep: a cycle holds the 500 ms slow probe too.
        assert rows[tool, 0.1]["meanIntervalMs"] > 550, rows[tool, 0.1]
    assert len(document["labRtoErrorsMs"]) == 2  # two runs share a folder: each its own --out


def test_probe_throughput_bench_reports_the_completed_rate(tmp_path: Path) -> None:
    """Three engines at two rates; completed probes never outnumber the samples sent."""
    document = run_bench(
        tmp_path, "bench.probe_throughput", "--seconds", "1", "--rates", "20,40", "--repeats", "1"
    )
    rows = document["rows"]
    assert {r["tool"] for r in rows} == {
        "raw aiohttp",
        "zonedrill httpx+aiohttp",
        "zonedrill httpx(httpcore)",
    }
    for row in rows:
        assert 0 < row["completed"] <= row["samples"], row
        assert row["complete"], row
        assert len(row["repeats"]) == 1, row


@pytest.mark.cluster
def test_ctk_bench_runs_both_tools_on_one_cluster(tmp_path: Path) -> None:
    """One round: every row completes and reaches about the period it asked for."""
    document = run_bench(tmp_path, "bench.ctk_bench", "--rounds", "1", "--quick", timeout=900)
    rows = {row["tool"]: row for row in document["rows"]}
    assert all(row["complete"] for row in rows.values()), rows
    for row in rows.values():
        assert row["period"]["median"] >= row["askedPeriod"] * 0.95, row
        assert row["rtoError"]["median"] > -0.2, row  # a recovery is never seen early
    assert rows["zonedrill run"]["period"]["median"] < 0.11


@pytest.mark.cluster
def test_rehearsal_bench_snapshots_and_predicts_a_cluster(tmp_path: Path) -> None:
    """A small cluster: every command ran to exit 0, the snapshot's lists paged, none throttled.

    The snapshot reads nodes, pods and PDBs in pages of 500, so a cluster of 120 pods takes a
    call per list (the recorded bench's 12,000 pods take 24 for pods).
    """
    document = run_bench(
        tmp_path,
        "bench.rehearsal_bench",
        *["--nodes", "20", "--pods", "120", "--zones", "2", "--services", "2", "--repeats", "1"],
    )
    rows = {r["tool"]: r for r in document["rows"]}
    assert {r["what"] for r in rows.values()} == {"snapshot", "simulate", "each-zone"}
    assert document["size"] == {"nodes": 20, "pods": 120, "zones": 2, "services": 2, "probes": 2}
    for name in ("zonedrill snapshot", "zonedrill snapshot --qps 5"):
        (run,) = rows[name]["repeats"]
        assert run["byKind"]["list pods"] == 1, run
        assert run["throttled"] == 0, run
    assert rows["kubectl get nodes,pods,pdb,services -A -o json"]["repeats"][0]["calls"] >= 4


def test_prometheus_bench_keeps_the_grid_against_a_real_server(tmp_path: Path) -> None:
    """The three rows against Debian's Prometheus; the grid's queries all answered, on time."""
    document = run_bench(
        tmp_path, "bench.prometheus_bench", "--seconds", "3", "--probes", "10", "--repeats", "1"
    )
    rows = {r["tool"]: r for r in document["rows"]}
    grid = rows["zonedrill grid, prometheus"]
    assert grid["samples"] == grid["due"] == grid["passed"], grid
    assert rows["Krkn-style loop, prometheus"]["driftMs"] > grid["driftMs"]
    assert set(document["summary"]) == set(rows)


def test_while_failing_bench_measures_both_rows_in_each_run(tmp_path: Path) -> None:
    """One run: the fast row within 100 ms of the truth, its extra samples within the bound."""
    document = run_bench(
        tmp_path, "bench.while_failing_bench", "--runs", "1", "--old-runs", "1", timeout=300
    )
    (run,) = document["runs"]
    assert abs(run["fastErrorMs"]) < 100, run
    assert run["withinBound"], run
    assert [r["tool"] for r in document["rows"]][:2] == ["every 1s", "every 1s, whileFailing 20ms"]
