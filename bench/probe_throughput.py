"""Probe throughput and CPU cost on one core: zonedrill's engine against raw aiohttp.

The client runs pinned to core 0, the loopback servers in a child process on core 1. For each
rate, probes every 100 ms are spread over rate/10 probes for a fixed time. Each engine uses the
same deadline grid; only the HTTP stack differs:

- raw aiohttp: ``ClientSession.get`` directly (the reference);
- zonedrill/httpx+aiohttp: the ProbeRunner with httpx over the httpx-aiohttp transport;
- zonedrill/httpx: the ProbeRunner with httpx's own transport (httpcore).

Every engine gets the same per-request timeout (``TIMEOUT``) and checks the same answer (200
with "ok" in the body). Each rate is measured ``--repeats`` times, each engine leading in turn;
the row is the repeat with the median CPU per passed probe. Reported: the rate of probes that
completed and passed inside the timed window (not the requested rate), CPU share of the core,
CPU µs per passed probe and its ratio to raw aiohttp, and the p99 start error against the grid.

    python -m bench.probe_throughput [--seconds 10] [--rates 200,500,1000]

Results go to bench/results/probe-throughput-<date>.json.
"""

from __future__ import annotations

import argparse
import asyncio
import signal
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import aiohttp

from bench.loopback import pin_to_core, server_process
from bench.record import http_versions, record
from orchestrator.drill.http import HttpProbe
from orchestrator.probes import HttpAsker, ProbeRunner, ResolvedProbe, Transport, make_client
from orchestrator.probes.samples import Sample
from orchestrator.results.scoring import nearest_rank
from orchestrator.targets.port import ServiceEndpoint

EVERY = 0.1
TIMEOUT = 1.0  # the same for every engine


@dataclass
class Figures:
    """What one engine achieved at one rate."""

    samples: int
    completed: int  # passed, with the answer in before the window closed
    cpu: float
    seconds: float
    start_errors: list[float]

    @property
    def per_probe_us(self) -> float:
        """CPU µs per passed probe (inf when none passed)."""
        return 1e6 * self.cpu / self.completed if self.completed else float("inf")

    def record(self, name: str, rate: int, reference: Figures | None) -> dict[str, Any]:
        """The figures of one row, as printed and recorded."""
        ratio = self.per_probe_us / reference.per_probe_us if reference else 1.0
        return {
            "tool": name,
            "requestedRate": rate,
            "completedRate": self.completed / self.seconds,
            "samples": self.samples,
            "completed": self.completed,
            "cpuShare": self.cpu / self.seconds,
            "cpuUsPerPassedProbe": self.per_probe_us,
            "ratioToRawAiohttp": ratio,
            "p99StartErrorMs": 1000 * (nearest_rank(self.start_errors, 99) or 0.0),
        }


def show(row: dict[str, Any]) -> None:
    """One printed line."""
    print(
        f"{row['tool']:<26} {row['requestedRate']:>5}/s  completed {row['completedRate']:7.1f}/s"
        f"  ({row['completed']}/{row['samples']})  cpu {100 * float(row['cpuShare']):5.1f}%  "
        f"{row['cpuUsPerPassedProbe']:6.0f}us/passed probe {row['ratioToRawAiohttp']:5.2f}x  "
        f"p99 start {row['p99StartErrorMs']:7.2f}ms",
        flush=True,
    )


async def zonedrill_engine(transport: Transport, url: str, rate: int, seconds: float) -> Figures:
    """The ProbeRunner over httpx with ``transport``."""
    targets = [
        ResolvedProbe(
            HttpProbe.model_validate(
                {
                    "name": f"p{k}",
                    "http": {"url": url, "timeout": f"{TIMEOUT:g}s"},
                    "every": "100ms",
                    "expect": {"bodyContains": "ok"},  # the same check as raw aiohttp's
                }
            ),
            ServiceEndpoint(url=url),
        )
        for k in range(max(1, int(rate * EVERY)))
    ]
    samples: list[Sample] = []
    loop = asyncio.get_running_loop()
    client = make_client(transport=transport)
    origin = loop.time()
    runner = ProbeRunner(
        askers=[HttpAsker(t, client) for t in targets],
        on_sample=samples.append,
        origin=origin,
    )
    cpu = time.process_time()
    until = 0.2 + seconds
    await runner.run(start=origin + 0.2, until=origin + until)
    await runner.drain()
    used = time.process_time() - cpu
    await client.aclose()
    errors = [s.started - s.scheduled for s in samples]
    completed = sum(s.passed and s.started + (s.latency or 0.0) <= until for s in samples)
    return Figures(len(samples), completed, used, seconds, errors)


async def raw_aiohttp(url: str, rate: int, seconds: float) -> Figures:
    """The same grid with aiohttp's ClientSession and nothing else."""
    loop = asyncio.get_running_loop()
    start = loop.time() + 0.2
    errors: list[float] = []
    passed = 0
    tasks: set[asyncio.Task[None]] = set()
    connector = aiohttp.TCPConnector(limit=2000)
    async with aiohttp.ClientSession(connector=connector) as session:

        async def sample(scheduled: float) -> None:
            nonlocal passed
            errors.append(loop.time() - scheduled)
            try:
                async with asyncio.timeout(TIMEOUT), session.get(url) as response:
                    body = await response.text()
                    ok = response.status == 200 and "ok" in body
                    passed += ok and loop.time() <= start + seconds
            except (aiohttp.ClientError, TimeoutError):
                pass

        async def grid(phase: float) -> None:
            index = 0
            while (deadline := start + phase + index * EVERY) < start + seconds:
                await asyncio.sleep(max(0.0, deadline - loop.time()))
                task = loop.create_task(sample(deadline))
                tasks.add(task)
                task.add_done_callback(tasks.discard)
                index += 1

        cpu = time.process_time()
        count = max(1, int(rate * EVERY))
        await asyncio.gather(*(grid(k / count * EVERY) for k in range(count)))
        while tasks:
            await asyncio.gather(*list(tasks))
        used = time.process_time() - cpu
    return Figures(len(errors), passed, used, seconds, errors)


def median_row(name: str, rate: int, measured: dict[str, list[Figures]]) -> dict[str, Any]:
    """The row of one engine at one rate: the repeat with the median CPU per passed probe."""
    runs = measured[name]
    middle = sorted(runs, key=lambda f: f.per_probe_us)[len(runs) // 2]
    reference = sorted(measured["raw aiohttp"], key=lambda f: f.per_probe_us)[len(runs) // 2]
    return {
        **middle.record(name, rate, reference),
        "qps": rate,
        "size": {"probes": max(1, int(rate * EVERY))},
        "repeats": [round(f.per_probe_us, 1) for f in runs],
        "complete": all(f.completed for f in runs),
    }


async def main(seconds: float, rates: list[int], repeats: int) -> None:
    """Every engine at every rate, in one process, against the same server."""
    with server_process(core=1) as base:
        url = f"{base}/ok"
        engines: list[tuple[str, Callable[[int], Awaitable[Figures]]]] = [
            ("raw aiohttp", lambda r: raw_aiohttp(url, r, seconds)),
            (
                "zonedrill httpx+aiohttp",
                lambda r: zonedrill_engine(Transport.AIOHTTP, url, r, seconds),
            ),
            (
                "zonedrill httpx(httpcore)",
                lambda r: zonedrill_engine(Transport.HTTPCORE, url, r, seconds),
            ),
        ]
        rows: list[dict[str, Any]] = []
        for rate in rates:
            measured: dict[str, list[Figures]] = {name: [] for name, _ in engines}
            for turn in range(repeats):  # each engine leads once every three repeats
                for name, engine in engines[turn % 3 :] + engines[: turn % 3]:
                    measured[name].append(await engine(rate))
            rows += [median_row(name, rate, measured) for name, _ in engines]
            for row in rows[-3:]:
                show(row)
    path = record(
        "probe-throughput",
        rows,
        versions=http_versions(),
        secondsPerRow=seconds,
        timeoutSeconds=TIMEOUT,
    )
    print(f"recorded in {path}")


if __name__ == "__main__":
    # SIGTERM unwinds like Ctrl-C, so every control plane and child is stopped on the way out.
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--rates", default="200,500,1000")
    parser.add_argument("--repeats", type=int, default=3)
    options = parser.parse_args()
    pin_to_core(0)
    rates = [int(r) for r in options.rates.split(",")]
    asyncio.run(main(options.seconds, rates, options.repeats))
