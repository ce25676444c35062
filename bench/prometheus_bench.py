"""PromQL probes on the deadline grid against a real Prometheus, beside a peer's query loop.

``--probes`` prometheus probes (default 100) at ``every: 1s`` for ``--seconds`` against Debian's
Prometheus on loopback (scraping itself every second, so the queries have data), three rows in
one run, each with the same probes, the same queries and the same timed window:

- **zonedrill grid, prometheus**: ProbeRunner, every query on its own deadline grid, all in
  flight together (the kind's default timeout, min(every, 2s)).
- **Krkn-style loop**: the same queries one after another, then a sleep of the period: how Krkn
  runs its SLO checks (krkn#1560: 29 queries take about 23 s a round). Same client budget: one
  connection pool of the same size, the same timeout.
- **zonedrill grid, http**: as many http probes of a loopback server at the same period, for
  the CPU a sample costs beside a query's.

Per row: the start error of each sample against its slot (p50, p99, max), the mean drift (a
probe's last error minus its first), samples taken against due, and the CPU seconds (user +
system) of this process per sample. The goal for the grid: p99 start error ≤ 5 ms, no drift.

    python -m bench.prometheus_bench [--seconds 60] [--probes 100] [--repeats 3]

Results go to bench/results/prometheus-<date>.json.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import resource
import signal
import statistics
import tempfile
import urllib.parse
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path
from typing import Any

import httpx
from httpx_aiohttp import AiohttpTransport

from bench.loopback import pin_to_core, server_process
from bench.probe_precision import Starts, summarize
from bench.record import http_versions, record
from orchestrator.drill.http import HttpProbe
from orchestrator.drill.prometheus import PrometheusProbe
from orchestrator.probes import ProbeRunner, ProbeSettings, RunProbes
from orchestrator.probes.grid import Asker
from orchestrator.probes.samples import Sample
from tests.prometheus import prometheus

QUERIES = (
    "sum(rate(prometheus_http_requests_total[1m]))",
    "max(up)",
    "sum(prometheus_tsdb_head_series)",
    "vector(0.001)",
)
"""What the probes ask in turn: rates and sums over what Prometheus scrapes of itself."""
GOAL_P99_MS = 5.0


def cpu_seconds() -> float:
    """User + system CPU of this process so far."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def prometheus_probes(url: str, count: int) -> list[PrometheusProbe]:
    """``count`` probes every 1s, the queries in turn, each below a bound it meets."""
    return [
        PrometheusProbe.model_validate(
            {
                "name": f"q{k}",
                "prometheus": {"url": url, "query": QUERIES[k % len(QUERIES)]},
                "expect": {"value": {"below": 1e12}},
            }
        )
        for k in range(count)
    ]


def http_probes(base: str, count: int) -> list[HttpProbe]:
    """``count`` http probes of the loopback server's /ok, every 1s."""
    return [
        HttpProbe.model_validate({"name": f"h{k}", "http": {"url": f"{base}/ok"}})
        for k in range(count)
    ]


async def grid(probes: Sequence[Any], seconds: float) -> dict[str, float]:
    """The probes on zonedrill's grid for ``seconds``; figures and CPU per sample."""
    samples: list[Sample] = []
    # url probes never ask the cluster port for an endpoint: there is no cluster here.
    async with RunProbes(ProbeSettings(port=None)) as kinds:  # type: ignore[arg-type]
        askers: list[Asker] = [await kinds.prepare(p) for p in probes]
        loop = asyncio.get_running_loop()
        origin = loop.time()
        runner = ProbeRunner(askers=askers, on_sample=samples.append, origin=origin)
        used = cpu_seconds()
        await runner.run(start=origin + 0.5, until=origin + 0.5 + seconds)
        await runner.drain()
        used = cpu_seconds() - used
    starts: Starts = {}
    slots: Starts = {}
    for sample in sorted(samples, key=lambda s: s.index):
        starts.setdefault(sample.probe, []).append(sample.started)
        slots.setdefault(sample.probe, []).append(sample.scheduled)
    figures = summarize(starts, slots, 1.0, seconds)
    passed = sum(s.passed for s in samples)
    return figures | {"passed": passed, "cpuMsPerSample": 1000 * used / max(1, len(samples))}


def query_loop(url: str, count: int) -> Callable[..., Awaitable[dict[str, float]]]:
    """Krkn's way: each query in turn (2 s timeout each), then sleep the period; repeat."""
    addresses = [
        f"{url}/api/v1/query?{urllib.parse.urlencode({'query': QUERIES[k % len(QUERIES)]})}"
        for k in range(count)
    ]

    async def run(seconds: float) -> dict[str, float]:
        loop = asyncio.get_running_loop()
        start = loop.time() + 0.5
        starts: Starts = {}
        limits = httpx.Limits(max_connections=2000, max_keepalive_connections=2000)
        used = cpu_seconds()
        async with httpx.AsyncClient(transport=AiohttpTransport(limits=limits)) as client:
            await asyncio.sleep(start - loop.time())
            while loop.time() < start + seconds:
                for k, address in enumerate(addresses):
                    starts.setdefault(f"q{k}", []).append(loop.time())
                    with contextlib.suppress(httpx.HTTPError):  # a failed query is a sample too
                        await client.get(address, timeout=2.0)
                await asyncio.sleep(1.0)
        used = cpu_seconds() - used
        slots = {p: [start + k * 1.0 for k in range(len(ts))] for p, ts in starts.items()}
        figures = summarize(starts, slots, 1.0, seconds)
        taken = int(figures["samples"])
        return figures | {"passed": taken, "cpuMsPerSample": 1000 * used / max(1, taken)}

    return run


def line(name: str, figures: dict[str, Any]) -> str:
    """One row of the table."""
    return (
        f"{name:<28} samples {figures['samples']:>6}/{figures['due']:<6} "
        f"p50 {figures['p50Ms']:8.2f}ms  p99 {figures['p99Ms']:9.2f}ms  "
        f"max {figures['maxMs']:9.2f}ms  drift {figures['driftMs']:9.2f}ms  "
        f"CPU {figures['cpuMsPerSample']:.3f}ms/sample"
    )


async def main(seconds: float, count: int, repeats: int) -> list[dict[str, Any]]:
    """Every row ``repeats`` times, in alternating order, against one Prometheus."""
    rows: list[dict[str, Any]] = []
    with (
        tempfile.TemporaryDirectory() as scratch,
        server_process(core=1) as base,
        prometheus(Path(scratch) / "prometheus", self_scrape=True) as server,
    ):
        for query in QUERIES:  # scraped (its first scrape comes seconds after the start)
            await asyncio.to_thread(server.answer, query, 30.0)
        queried = prometheus_probes(server.url, count)
        tools: list[tuple[str, Callable[[], Awaitable[dict[str, float]]]]] = [
            ("zonedrill grid, prometheus", lambda: grid(queried, seconds)),
            ("Krkn-style loop, prometheus", lambda: query_loop(server.url, count)(seconds)),
            ("zonedrill grid, http", lambda: grid(http_probes(base, count), seconds)),
        ]
        for repeat in range(repeats):
            for name, measure in tools if repeat % 2 == 0 else tools[::-1]:
                figures = await measure()
                print(line(name, figures), flush=True)
                rows.append({"tool": name, "repeat": repeat, "probes": count, **figures})
    return rows


def summary(rows: list[dict[str, Any]]) -> dict[str, dict[str, float]]:
    """Per tool: the median over repeats of p99, drift and CPU per sample; the worst p99."""
    tools = sorted({r["tool"] for r in rows})
    found = {}
    for tool in tools:
        mine = [r for r in rows if r["tool"] == tool]
        found[tool] = {
            "p99MsMedian": statistics.median(r["p99Ms"] for r in mine),
            "p99MsWorst": max(r["p99Ms"] for r in mine),
            "driftMsMedian": statistics.median(r["driftMs"] for r in mine),
            "cpuMsPerSampleMedian": statistics.median(r["cpuMsPerSample"] for r in mine),
        }
    return found


if __name__ == "__main__":
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--probes", type=int, default=100)
    parser.add_argument("--repeats", type=int, default=3)
    options = parser.parse_args()
    pin_to_core(0)
    measured = asyncio.run(main(options.seconds, options.probes, options.repeats))
    found = summary(measured)
    for tool, figures in found.items():
        print(f"{tool}: {figures}")
    grid_p99 = found["zonedrill grid, prometheus"]["p99MsWorst"]
    verdict = "met" if grid_p99 <= GOAL_P99_MS else "NOT met"
    print(f"goal p99 start error <= {GOAL_P99_MS} ms: {verdict}")
    path = record(
        "prometheus",
        measured,
        versions=http_versions(),
        summary=found,
        secondsPerRow=options.seconds,
        goalP99Ms=GOAL_P99_MS,
    )
    print(f"recorded in {path}")
