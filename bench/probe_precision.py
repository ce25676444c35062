"""Probe-schedule precision: zonedrill's deadline grid against a sleep-after-work loop.

100 probes every 100 ms against loopback servers (most fast, some slow, some dead) for 60 s,
first with zonedrill's ProbeRunner, then, in the same process, with the loop Krkn and Chaos
Toolkit use (request, then sleep `every`). Reports the start-time error of every sample against
the ideal grid: p50, p99, max, and the drift (error of the last sample minus the first).
Then measures a lab power loss: the lab's true outage length against the RTO the probes measure.

    python -m bench.probe_precision [--seconds 60] [--probes 100]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import statistics
from collections.abc import Sequence

import httpx
from httpx_aiohttp import AiohttpTransport

from bench.loopback import free_port, pin_to_core, server_process
from orchestrator.drill.model import Probe
from orchestrator.port import ServiceEndpoint
from orchestrator.probes import ProbeRunner, ProbeTarget, Transport, make_client
from orchestrator.samples import Sample
from orchestrator.scoring import nearest_rank

EVERY = 0.1


def plan_urls(base: str, probes: int) -> list[str]:
    """Mostly fast endpoints, every 10th slow (500 ms), every 10th dead (refused)."""
    dead = f"http://127.0.0.1:{free_port()}/"
    return [
        f"{base}/slow" if k % 10 == 1 else dead if k % 10 == 2 else f"{base}/ok"
        for k in range(probes)
    ]


def summarize(errors_by_probe: dict[str, list[float]]) -> dict[str, float]:
    """p50/p99/max start error in ms and mean drift (last minus first) in ms."""
    errors = [e for values in errors_by_probe.values() for e in values]
    drifts = [values[-1] - values[0] for values in errors_by_probe.values() if values]
    return {
        "samples": len(errors),
        "p50_ms": 1000 * statistics.median(errors),
        "p99_ms": 1000 * (nearest_rank(errors, 99) or 0.0),
        "max_ms": 1000 * max(errors),
        "drift_ms": 1000 * statistics.mean(drifts),
    }


async def grid_run(urls: Sequence[str], seconds: float) -> dict[str, float]:
    """zonedrill's ProbeRunner on the deadline grid."""
    targets = [
        ProbeTarget(
            Probe.model_validate({"name": f"p{k}", "http": {"url": url}, "every": "100ms"}),
            ServiceEndpoint(url=url),
        )
        for k, url in enumerate(urls)
    ]
    samples: list[Sample] = []
    loop = asyncio.get_running_loop()
    origin = loop.time()
    client = make_client(transport=Transport.AIOHTTP)
    runner = ProbeRunner(
        targets=targets, clients={None: client}, on_sample=samples.append, origin=origin
    )
    await runner.run(start=origin + 0.5, until=origin + 0.5 + seconds)
    await runner.drain()
    await client.aclose()
    errors: dict[str, list[float]] = {}
    for sample in sorted(samples, key=lambda s: s.index):
        errors.setdefault(sample.probe, []).append(sample.started - sample.scheduled)
    return summarize(errors)


async def sleep_after_work_run(urls: Sequence[str], seconds: float) -> dict[str, float]:
    """The peers' loop: request (timeout = every), then sleep `every`; start errors vs grid."""
    loop = asyncio.get_running_loop()
    start = loop.time() + 0.5
    errors: dict[str, list[float]] = {}

    async def one(name: str, url: str, client: httpx.AsyncClient) -> None:
        await asyncio.sleep(start - loop.time())
        index = 0
        while loop.time() < start + seconds:
            errors.setdefault(name, []).append(loop.time() - (start + index * EVERY))
            with contextlib.suppress(httpx.HTTPError):
                await client.get(url, timeout=EVERY * 10)
            index += 1
            await asyncio.sleep(EVERY)

    # The peers' loops use a full HTTP client per request; so does this one.
    async with httpx.AsyncClient(transport=AiohttpTransport()) as client:
        await asyncio.gather(*(one(f"p{k}", url, client) for k, url in enumerate(urls)))
    return summarize(errors)


def print_row(name: str, figures: dict[str, float]) -> None:
    """One line of the comparison table."""
    print(
        f"{name:<22} samples={figures['samples']:>6.0f}  p50={figures['p50_ms']:7.2f}ms  "
        f"p99={figures['p99_ms']:7.2f}ms  max={figures['max_ms']:8.2f}ms  "
        f"drift={figures['drift_ms']:9.2f}ms"
    )


async def main(seconds: float, probes: int) -> None:
    """Run both loops against the same servers, then the lab RTO check."""
    with server_process(core=1) as base:
        urls = plan_urls(base, probes)
        print(f"{probes} probes every 100ms for {seconds:g}s (10% slow 500ms, 10% refused)")
        print_row("zonedrill grid", await grid_run(urls, seconds))
        print_row("sleep-after-work loop", await sleep_after_work_run(urls, seconds))
    from bench.lab_rto import measure  # noqa: PLC0415 - separate concern, same report

    await measure()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--probes", type=int, default=100)
    options = parser.parse_args()
    pin_to_core(0)
    asyncio.run(main(options.seconds, options.probes))
