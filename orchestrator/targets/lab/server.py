"""Lab services answer real HTTP on 127.0.0.1, following the simulated cluster's state."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from aiohttp import web
from prometheus_client import CollectorRegistry, Counter, Histogram
from prometheus_client.exposition import choose_encoder

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


class LoadBalancerMetrics:
    """What the lab's load balancer counts, as an ingress controller would: one registry a lab.

    A request to a pod without power is counted as the 504 an ingress answers when its upstream
    never does, at the moment it is sent, so that an error rate shows the outage as it starts.
    """

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self.requests = Counter(
            "zonedrill_lab_requests",
            "Requests to lab services, by the answer's status code.",
            ["namespace", "service", "code"],
            registry=self.registry,
        )
        self.duration = Histogram(
            "zonedrill_lab_request_duration_seconds",
            "How long lab services took to answer (requests that got an answer).",
            ["namespace", "service"],
            buckets=LATENCY_BUCKETS,
            registry=self.registry,
        )

    def record(self, service: LabService, found: Answer) -> None:
        """Count one request and, if it gets an answer, its answer time."""
        code = found.status or GATEWAY_TIMEOUT
        self.requests.labels(service.namespace, service.name, str(code)).inc()
        if found.status:
            self.duration.labels(service.namespace, service.name).observe(found.delay)

    def exposition(self, accept: str) -> tuple[bytes, str]:
        """The metrics in the format ``accept`` asks for (OpenMetrics or Prometheus text)."""
        encoder, content_type = choose_encoder(accept)
        return encoder(self.registry), content_type


LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
GATEWAY_TIMEOUT = 504


def _handler(
    cluster: LabCluster, service: LabService, metrics: LoadBalancerMetrics
) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
    async def answer(request: web.Request) -> web.StreamResponse:
        found = answer_of(cluster, service, request.method)
        metrics.record(service, found)
        await asyncio.sleep(found.delay)  # one that hangs is cut by the client's timeout
        return web.Response(status=found.status or GATEWAY_TIMEOUT, text=found.text)

    return answer


async def _serve(app: web.Application, host: str, port: int) -> tuple[web.AppRunner, int]:
    runner = web.AppRunner(app, access_log=None, handle_signals=False)
    await runner.setup()
    try:
        await web.TCPSite(runner, host, port, backlog=1024).start()
    except BaseException:
        await runner.cleanup()
        raise
    return runner, int(runner.addresses[0][1])


async def start_service(
    cluster: LabCluster, service: LabService, metrics: LoadBalancerMetrics
) -> RunningService:
    """Serve ``service`` on an ephemeral loopback port."""
    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", _handler(cluster, service, metrics))
    runner, port = await _serve(app, "127.0.0.1", 0)
    return RunningService(service=service, runner=runner, port=port)


async def start_metrics(metrics: LoadBalancerMetrics, host: str, port: int) -> web.AppRunner:
    """Serve ``GET /metrics`` at ``host:port``: up while every lab service is down."""

    async def scrape(request: web.Request) -> web.StreamResponse:
        body, content_type = metrics.exposition(request.headers.get("Accept", ""))
        return web.Response(body=body, headers={"Content-Type": content_type})

    app = web.Application()
    app.router.add_get("/metrics", scrape)
    runner, _ = await _serve(app, host, port)
    return runner
