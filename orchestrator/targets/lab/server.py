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

    @property
    def hangs(self) -> bool:
        """No answer at all: the request went to a pod whose node has no power."""
        return self.status == NO_ANSWER.status


NO_ANSWER = Answer(0, "", 3600.0)
"""A request to a pod on a node without power: nothing comes back, the client times out."""


def answer_of(cluster: LabCluster, service: LabService, method: str) -> Answer:
    """The lab's rule: 200 while ``minReady`` endpoints are ready, slower as fewer answer.

    Requests go to each endpoint in turn; one whose node lost power answers nothing.
    """
    if method not in ANSWERED_METHODS:
        return Answer(405, "method not allowed\n", 0.0)
    ready = cluster.ready_replicas(service)
    if ready < service.min_ready:
        return Answer(503, f"unavailable: {ready} of {service.replicas} ready\n", 0.0)
    chosen = cluster.endpoint_for_next_request(service)
    if chosen is None or chosen.dark:
        return NO_ANSWER
    # Fewer answering replicas carry the same load, so each answer takes longer.
    return Answer(
        200, "ok\n", service.latency * service.replicas / cluster.answering_replicas(service)
    )


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
