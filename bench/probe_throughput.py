"""Probe throughput and CPU cost on one core: zonedrill's engine against raw aiohttp.

The client runs pinned to core 0, the loopback servers in a child process on core 1. For each
rate, probes every 100 ms are spread over rate/10 probes for a fixed time. Each engine uses the
same deadline grid; only the HTTP stack differs:

- raw aiohttp: ``ClientSession.get`` directly (the reference);
- zonedrill/httpx+aiohttp: the ProbeRunner with httpx over the httpx-aiohttp transport;
- zonedrill/httpx: the ProbeRunner with httpx's own transport (httpcore).

Reports achieved samples/s, CPU share of the core, CPU µs per probe, its ratio to raw aiohttp,
and the p99 start error against the grid.

    python -m bench.probe_throughput [--seconds 10] [--rates 200,500,1000]
"""

from __future__ import annotations

import argparse
import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import aiohttp

from bench.loopback import pin_to_core, server_process
from orchestrator.drill.model import Probe
from orchestrator.port import ServiceEndpoint
from orchestrator.probes import ProbeRunner, ProbeTarget, Transport, make_client
from orchestrator.samples import Sample
from orchestrator.scoring import nearest_rank

EVERY = 0.1


@dataclass
class Figures:
    """What one engine achieved at one rate."""

    samples: int
    passed: int
    cpu: float
    seconds: float
    start_errors: list[float]

    def row(self, name: str, rate: int, reference: Figures | None) -> str:
        """One printed line."""
        per_probe = 1e6 * self.cpu / max(1, self.samples)
        ratio = ""
        if reference is not None and reference.samples:
            ratio = f"{per_probe / (1e6 * reference.cpu / reference.samples):5.2f}x"
        p99 = 1000 * (nearest_rank(self.start_errors, 99) or 0.0)
        return (
            f"{name:<24} {rate:>5}/s  done {self.samples / self.seconds:7.1f}/s  "
            f"ok {self.passed}/{self.samples}  cpu {100 * self.cpu / self.seconds:5.1f}%  "
            f"{per_probe:6.0f}us/probe {ratio:>6}  p99 start {p99:7.2f}ms"
        )


async def zonedrill_engine(transport: Transport, url: str, rate: int, seconds: float) -> Figures:
    """The ProbeRunner over httpx with ``transport``."""
    targets = [
        ProbeTarget(
            Probe.model_validate({"name": f"p{k}", "http": {"url": url}, "every": "100ms"}),
            ServiceEndpoint(url=url),
        )
        for k in range(max(1, int(rate * EVERY)))
    ]
    samples: list[Sample] = []
    loop = asyncio.get_running_loop()
    client = make_client(transport=transport)
    origin = loop.time()
    runner = ProbeRunner(
        targets=targets, clients={None: client}, on_sample=samples.append, origin=origin
    )
    cpu = time.process_time()
    await runner.run(start=origin + 0.2, until=origin + 0.2 + seconds)
    await runner.drain()
    used = time.process_time() - cpu
    await client.aclose()
    errors = [s.started - s.scheduled for s in samples]
    return Figures(len(samples), sum(s.passed for s in samples), used, seconds, errors)


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
                async with asyncio.timeout(EVERY * 10), session.get(url) as response:
                    body = await response.text()
                    passed += response.status == 200 and "ok" in body
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


async def main(seconds: float, rates: list[int]) -> None:
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
        for rate in rates:
            reference: Figures | None = None
            for name, engine in engines:
                figures = await engine(rate)
                print(figures.row(name, rate, reference), flush=True)
                reference = reference or figures


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--rates", default="200,500,1000")
    options = parser.parse_args()
    pin_to_core(0)
    asyncio.run(main(options.seconds, [int(r) for r in options.rates.split(",")]))
