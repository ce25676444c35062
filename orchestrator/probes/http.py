"""The ``http`` probe kind: one request a sample, judged by its status, body and latency.

Each probe's request is built once and sent straight to an httpx transport. Every failure, a
network one or any exception while building or sending the request, is a failed sample with its
class and reason (refused, reset, timeout, tls, protocol, error).
"""

from __future__ import annotations

import asyncio
import json
import ssl
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum

import aiohttp
import httpx

from orchestrator import __version__
from orchestrator.drill.http import HttpProbe
from orchestrator.drill.probe import ServiceRef
from orchestrator.probes.grid import SampleOf, why
from orchestrator.probes.samples import Sample
from orchestrator.targets.port import ClusterPort, ServiceEndpoint

MAX_BODY_BYTES = 64 * 1024
SHOWN_BODY = 60
"""Characters of an unexpected body kept in a sample's detail: enough to see what came back."""
MAX_CAUSE_DEPTH = 10


class Transport(StrEnum):
    """Which HTTP engine sits under httpx (chosen by bench/probe_throughput.py)."""

    AIOHTTP = "aiohttp"
    HTTPCORE = "httpcore"


@dataclass(frozen=True)
class ResolvedProbe:
    """A probe with its resolved endpoint."""

    probe: HttpProbe
    endpoint: ServiceEndpoint

    @property
    def url(self) -> str:
        """The full URL a sample requests."""
        base = self.endpoint.url.rstrip("/")
        if self.probe.http.url is not None:
            return self.probe.http.url
        return base + self.probe.http.path


class ProbeClient:
    """Sends prebuilt httpx requests straight to an httpx transport.

    httpx's AsyncClient adds cookie extraction, auth and redirect handling to every send;
    probes use none of them, and skipping them is most of the CPU a probe costs over raw aiohttp
    (see bench/probe_throughput.py). The transport is the seam: tests pass their own.
    """

    def __init__(self, transport: httpx.AsyncBaseTransport) -> None:
        self._transport = transport

    def build(
        self, *, method: str, url: str, headers: dict[str, str], timeout: float
    ) -> httpx.Request | str:
        """A request to send again and again, or why it cannot be built (every sample fails).

        Its timeout rides in the extensions.
        """
        merged = {"User-Agent": f"zonedrill/{__version__}", **headers}
        try:
            extensions = {"timeout": httpx.Timeout(timeout).as_dict()}
            return httpx.Request(method, url, headers=merged, extensions=extensions)
        except Exception as exc:  # noqa: BLE001 - then every sample fails with this reason
            return f"the request cannot be built: {why(exc)}"

    async def send(self, request: httpx.Request) -> httpx.Response:
        """Send ``request`` and read the whole answer."""
        response = await self._transport.handle_async_request(request)
        try:
            await response.aread()
        finally:
            await response.aclose()
        return response

    async def aclose(self) -> None:
        """Close the transport's connections."""
        await self._transport.aclose()


def make_client(*, transport: Transport, ca_file: str | None = None) -> ProbeClient:
    """A probe client over the chosen transport, sized for many concurrent probes."""
    limits = httpx.Limits(max_connections=2000, max_keepalive_connections=2000)
    verify: ssl.SSLContext | bool = ssl.create_default_context(cafile=ca_file) if ca_file else True
    if transport is Transport.AIOHTTP:
        from httpx_aiohttp import AiohttpTransport  # noqa: PLC0415 - optional engine, loaded on use

        return ProbeClient(AiohttpTransport(verify=verify, limits=limits))
    return ProbeClient(httpx.AsyncHTTPTransport(verify=verify, limits=limits))


def classify(exc: BaseException) -> str:
    """Name the failure class of a request that got no answer."""
    chain: list[BaseException] = []
    current: BaseException | None = exc
    while current is not None and len(chain) < MAX_CAUSE_DEPTH:
        chain.append(current)
        current = current.__cause__ or current.__context__
    kinds = (
        ((ssl.SSLError, aiohttp.ClientSSLError), "tls"),
        ((ConnectionRefusedError,), "refused"),
        (
            (ConnectionResetError, aiohttp.ServerDisconnectedError, httpx.RemoteProtocolError),
            "reset",
        ),
        ((TimeoutError, httpx.TimeoutException, aiohttp.ServerTimeoutError), "timeout"),
        ((httpx.ProtocolError, aiohttp.ClientPayloadError), "protocol"),
    )
    for types, name in kinds:
        if any(isinstance(item, types) for item in chain):
            return name
    return "error"


Judge = Callable[[httpx.Response, float], tuple[str, str] | None]
"""A kind's verdict on an answer and its latency: None, or the failure class and what was seen."""


@dataclass(frozen=True)
class Exchange:
    """One probe's prebuilt request (or why it could not be built), its client and timeout."""

    client: ProbeClient
    request: httpx.Request | str
    timeout: float


async def answered(exchange: Exchange, sample: SampleOf, started: float, judge: Judge) -> Sample:
    """Send the request; the judged answer, or the failure class and reason, is the sample."""
    if isinstance(exchange.request, str):
        return sample(passed=False, error="error", detail=exchange.request)
    try:
        async with asyncio.timeout(exchange.timeout):
            response = await exchange.client.send(exchange.request)
    except (httpx.HTTPError, aiohttp.ClientError, OSError, TimeoutError) as exc:
        return sample(passed=False, error=classify(exc), detail=why(exc))
    latency = asyncio.get_running_loop().time() - started
    error, detail = judge(response, latency) or (None, None)
    return sample(
        passed=error is None,
        latency=latency,
        status=response.status_code,
        error=error,
        detail=detail,
    )


class HttpAsker:
    """One http probe, its endpoint resolved and its request built once."""

    def __init__(self, resolved: ResolvedProbe, client: ProbeClient) -> None:
        self.resolved = resolved
        request = client.build(
            method=resolved.probe.http.method,
            url=resolved.url,
            headers={**resolved.endpoint.headers, **resolved.probe.http.headers},
            timeout=resolved.probe.timeout,
        )
        self._exchange = Exchange(client, request, resolved.probe.timeout)

    @property
    def probe(self) -> HttpProbe:
        """The probe as declared."""
        return self.resolved.probe

    async def ask(self, sample: SampleOf, started: float) -> Sample:
        """Send the request; the answer, or the failure class and reason, is the sample."""
        return await answered(
            self._exchange,
            sample,
            started,
            lambda response, latency: _judge(self.probe, response, latency),
        )


class Connections:
    """What one run's probes that ask over HTTP share: the port, the overrides, a client per CA."""

    def __init__(
        self, port: ClusterPort, *, transport: Transport, service_urls: dict[str, str]
    ) -> None:
        self._port, self._transport, self._service_urls = port, transport, service_urls
        self._clients: dict[str | None, ProbeClient] = {}
        self._own: list[ProbeClient] = []

    async def open(
        self, *, url: str | None, service: ServiceRef | None
    ) -> tuple[ServiceEndpoint, ProbeClient]:
        """Where a probe asks (``--service-url``, else the port) and the client that reaches it."""
        endpoint = await self._endpoint(url, service)
        if endpoint.transport is not None:  # answered in this process: its own client
            own = ProbeClient(endpoint.transport)
            self._own.append(own)
            return endpoint, own
        client = self._clients.get(endpoint.ca_file)
        if client is None:
            client = make_client(transport=self._transport, ca_file=endpoint.ca_file)
            self._clients[endpoint.ca_file] = client
        return endpoint, client

    async def _endpoint(self, url: str | None, service: ServiceRef | None) -> ServiceEndpoint:
        if service is None:
            return ServiceEndpoint(url=url or "")
        override = self._service_urls.get(f"{service.namespace}/{service.name}")
        if override is not None:
            return ServiceEndpoint(url=override)
        return await self._port.service_endpoint(ref=service)

    async def aclose(self) -> None:
        """Close every client's connections."""
        for client in [*self._clients.values(), *self._own]:
            await client.aclose()


class HttpProbes(Connections):
    """The http probes of one run."""

    async def prepare(self, probe: HttpProbe) -> HttpAsker:
        """Resolve the probe's endpoint and build its asker."""
        endpoint, client = await self.open(url=probe.http.url, service=probe.http.service)
        return HttpAsker(ResolvedProbe(probe, endpoint), client)


def _judge(probe: HttpProbe, response: httpx.Response, latency: float) -> tuple[str, str] | None:
    """None when the answer passes, else the failure class and what was seen."""
    expect = probe.expect
    if not expect.status_ok(response.status_code):
        return "status", f"status {response.status_code}"
    body = response.text[:MAX_BODY_BYTES]
    if expect.body_contains is not None and expect.body_contains not in body:
        return "body", f"expected {_quoted(expect.body_contains)}, got {_quoted(body)}"
    if expect.max_latency is not None and latency > expect.max_latency:
        return "slow", f"answered in {latency:.3f}s, maxLatency {expect.max_latency:g}s"
    return None


def _quoted(text: str) -> str:
    """A body or an expectation as one escaped, quoted line, cut short when long."""
    cut = text if len(text) <= SHOWN_BODY else text[:SHOWN_BODY] + "…"
    return json.dumps(cut, ensure_ascii=False)
