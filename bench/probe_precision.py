"""Probe-schedule precision: zonedrill's deadline grid against the peers' sleep-after-work loops.

``--probes`` HTTP probes (one in ten slow, 500 ms; one in ten refused; the rest fast) against
loopback servers in a child process, for ``--seconds`` at each period (100 ms, 1 s, 2 s). Three
schedulers run in turn, in the same process, against the same servers:

- **zonedrill grid**: ProbeRunner; every probe on its own deadline grid, its default timeout
  (min(period, 2 s)).
- **Chaos Toolkit loop**: a continuous steady-state hypothesis (``--hypothesis-strategy
  continuously``): the hypothesis's probes one after another, then a sleep of the period;
  chaoslib's HTTP provider sets no timeout.
- **Krkn loop**: its health checks: the URLs one after another, each with a 3 s timeout, then a
  sleep of the period (2 s by default).

The period is the same for all three in a row. Reported per row: the start-time error of every
sample against its ideal slot (p50, p99, max; a peer's slot k is start + k x period, the grid's
is the slot it scheduled, its probes being staggered over the period), the mean drift (error
of a probe's last sample minus its first), samples taken against samples due, and the mean
interval between a probe's samples. Order alternates between periods. Then the lab RTO
check (bench/lab_rto.py).

    python -m bench.probe_precision [--seconds 30] [--probes 10] [--periods 0.1,1,2]

Results go to bench/results/probe-precision-<date>.json.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import itertools
import signal
import statistics
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

import httpx
from httpx_aiohttp import AiohttpTransport

from bench.loopback import free_port, pin_to_core, server_process
from bench.record import http_versions, record
from orchestrator.drill.http import HttpProbe
from orchestrator.probes import HttpAsker, ProbeRunner, ResolvedProbe, Transport, make_client
from orchestrator.probes.samples import Sample
from orchestrator.results.scoring import nearest_rank
from orchestrator.targets.port import ServiceEndpoint

Starts = dict[str, list[float]]  # probe -> times of its samples (starts, or ideal slots), in order
KRKN_TIMEOUT = 3.0


def plan_urls(base: str, probes: int) -> list[str]:
    """Mostly fast endpoints, every 10th slow (500 ms), every 10th dead (refused)."""
    dead = f"http://127.0.0.1:{free_port()}/"
    return [
        f"{base}/slow" if k % 10 == 1 else dead if k % 10 == 2 else f"{base}/ok"
        for k in range(probes)
    ]


def summarize(starts: Starts, slots: Starts, every: float, seconds: float) -> dict[str, float]:
    """Start errors against each sample's ideal slot (ms), drift, coverage and mean interval."""
    errors = {
        p: [t - slot for t, slot in zip(ts, slots[p], strict=True)] for p, ts in starts.items()
    }
    flat = [e for values in errors.values() for e in values]
    gaps = [b - a for ts in starts.values() for a, b in itertools.pairwise(ts)]
    due = len(starts) * int(seconds / every)
    return {
        "samples": len(flat),
        "due": due,
        "p50Ms": 1000 * statistics.median(flat),
        "p99Ms": 1000 * (nearest_rank(flat, 99) or 0.0),
        "maxMs": 1000 * max(flat),
        "driftMs": 1000 * statistics.mean(v[-1] - v[0] for v in errors.values() if v),
        "meanIntervalMs": 1000 * statistics.mean(gaps) if gaps else float("nan"),
    }


async def zonedrill_grid(urls: Sequence[str], every: float, seconds: float) -> dict[str, float]:
    """zonedrill's ProbeRunner on the deadline grid, with its default timeout."""
    targets = [
        ResolvedProbe(
            HttpProbe.model_validate(
                {"name": f"p{k}", "http": {"url": url}, "every": f"{round(every * 1000)}ms"}
            ),
            ServiceEndpoint(url=url),
        )
        for k, url in enumerate(urls)
    ]
    samples: list[Sample] = []
    loop = asyncio.get_running_loop()
    origin = loop.time()
    client = make_client(transport=Transport.AIOHTTP)
    runner = ProbeRunner(
        askers=[HttpAsker(t, client) for t in targets],
        on_sample=samples.append,
        origin=origin,
    )
    start = origin + 0.5
    await runner.run(start=start, until=start + seconds)
    await runner.drain()
    await client.aclose()
    # Each probe has its own slots (the runner staggers probes over the period): each sample
    # is measured against the slot it was scheduled for.
    starts: Starts = {}
    slots: Starts = {}
    for sample in sorted(samples, key=lambda s: s.index):
        starts.setdefault(sample.probe, []).append(sample.started)
        slots.setdefault(sample.probe, []).append(sample.scheduled)
    return summarize(starts, slots, every, seconds)


def sequential_loop(timeout: float | None) -> Callable[..., Awaitable[dict[str, float]]]:
    """A peer's loop: every URL in turn (``timeout`` each), then sleep the period; repeat."""

    async def run(urls: Sequence[str], every: float, seconds: float) -> dict[str, float]:
        loop = asyncio.get_running_loop()
        start = loop.time() + 0.5
        starts: Starts = {}
        async with httpx.AsyncClient(transport=AiohttpTransport()) as client:
            await asyncio.sleep(start - loop.time())
            while loop.time() < start + seconds:
                for k, url in enumerate(urls):
                    starts.setdefault(f"p{k}", []).append(loop.time())
                    with contextlib.suppress(httpx.HTTPError):
                        await client.get(url, timeout=timeout)
                await asyncio.sleep(every)
        slots = {p: [start + k * every for k in range(len(ts))] for p, ts in starts.items()}
        return summarize(starts, slots, every, seconds)

    return run


LOOPS: list[tuple[str, Callable[..., Awaitable[dict[str, float]]], str]] = [
    ("zonedrill grid", zonedrill_grid, "min(period, 2s)"),
    ("Chaos Toolkit loop", sequential_loop(None), "none (chaoslib http provider)"),
    ("Krkn loop", sequential_loop(KRKN_TIMEOUT), f"{KRKN_TIMEOUT:g}s"),
]


def print_row(name: str, every: float, figures: dict[str, Any]) -> None:
    """One line of the comparison table."""
    print(
        f"{name:<20} every {every:>4g}s  samples {figures['samples']:>5}/{figures['due']:<5} "
        f"p50 {figures['p50Ms']:9.2f}ms  p99 {figures['p99Ms']:9.2f}ms  "
        f"max {figures['maxMs']:9.2f}ms  drift {figures['driftMs']:9.2f}ms  "
        f"interval {figures['meanIntervalMs']:8.1f}ms",
        flush=True,
    )


async def main(seconds: float, probes: int, periods: list[float], rto_runs: int) -> None:
    """Every loop at every period against the same servers, then the lab RTO check."""
    rows: list[dict[str, Any]] = []
    with server_process(core=1) as base:
        urls = plan_urls(base, probes)
        print(f"{probes} probes for {seconds:g}s at each period (10% slow 500ms, 10% refused)")
        for turn, every in enumerate(periods):
            for name, loop, timeout in LOOPS if turn % 2 == 0 else LOOPS[::-1]:
                figures = await loop(urls, every, seconds)
                print_row(name, every, figures)
                rows.append(
                    {
                        "tool": name,
                        "every": every,
                        "timeout": timeout,
                        "size": {"probes": probes},
                        "repeats": [figures["p99Ms"]],
                        "complete": figures["samples"] > 0,
                        **figures,
                    }
                )
    from bench.lab_rto import measure  # noqa: PLC0415 - separate concern, same report

    errors = await measure(rto_runs)
    path = record(
        "probe-precision",
        rows,
        versions=http_versions(),
        probes=probes,
        secondsPerRow=seconds,
        labRtoErrorsMs=errors,
    )
    print(f"recorded in {path}")


if __name__ == "__main__":
    # SIGTERM unwinds like Ctrl-C, so every control plane and child is stopped on the way out.
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--probes", type=int, default=10)
    parser.add_argument("--periods", default="0.1,1,2")
    parser.add_argument("--rto-runs", type=int, default=3)
    options = parser.parse_args()
    pin_to_core(0)
    periods = [float(p) for p in options.periods.split(",")]
    asyncio.run(main(options.seconds, options.probes, periods, options.rto_runs))
