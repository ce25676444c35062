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


@dataclass(frozen=True)
class Answer:
    """What a lab service answers now: the status, the body, and how long it takes."""

    status: int
    text: str
    delay: float


NO_ANSWER = Answer(0, "", 3600.0)
"""A request to a pod on a node without power: nothing comes back, the client times out."""


def answer_of(cluster: LabCluster, service: LabService, method: str) -> Answer:
    """The lab's rule: 200 while ``minReady`` endpoints are ready, slower as fewer answer.

    Requests go to each endpoint in turn; one whose node lost power answers nothing.
    """
    if method not in ANSWERED_METHODS:
        return Answer(405, "method not allowed\n", 0.0)
    endpoints = cluster.endpoints(service)
    ready = len(endpoints.pods)
    if ready < service.min_ready:  # minReady >= 1: past here there is one to pick
        return Answer(503, f"unavailable: {ready} of {service.replicas} ready\n", 0.0)
    if cluster.next_endpoint(service, endpoints.pods).dark:
        return NO_ANSWER
    # Fewer answering replicas carry the same load, so each answer takes longer.
    return Answer(200, "ok\n", service.latency * service.replicas / endpoints.answering)


def _handler(
    cluster: LabCluster, service: LabService
) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
    async def answer(request: web.Request) -> web.StreamResponse:
        found = answer_of(cluster, service, request.method)
        await asyncio.sleep(found.delay)  # one that hangs is cut by the client's timeout
        return web.Response(status=found.status or 504, text=found.text)

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
