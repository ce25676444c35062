"""Lab services answer real HTTP on 127.0.0.1, following the simulated cluster's state."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from aiohttp import web

from orchestrator.drill.lab import LabService
from orchestrator.targets.lab.cluster import LabCluster

ANSWERED_METHODS = ("GET", "HEAD")


@dataclass
class RunningService:
    """One lab service's HTTP server."""

    service: LabService
    runner: web.AppRunner
    port: int


def _handler(
    cluster: LabCluster, service: LabService
) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
    async def answer(request: web.Request) -> web.StreamResponse:
        if request.method not in ANSWERED_METHODS:
            return web.Response(status=405, text="method not allowed\n")
        ready = cluster.ready_replicas(service)
        if ready < service.min_ready:
            return web.Response(
                status=503, text=f"unavailable: {ready} of {service.replicas} ready\n"
            )
        # Fewer ready replicas carry the same load, so each answer takes longer.
        await asyncio.sleep(service.latency * service.replicas / ready)
        return web.Response(status=200, text="ok\n")

    return answer


async def start_service(cluster: LabCluster, service: LabService) -> RunningService:
    """Serve ``service`` on an ephemeral loopback port."""
    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", _handler(cluster, service))
    runner = web.AppRunner(app, access_log=None, handle_signals=False)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0, backlog=1024)
    await site.start()
    port = int(runner.addresses[0][1])
    return RunningService(service=service, runner=runner, port=port)
