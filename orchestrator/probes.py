"""Deadline-scheduled HTTP probes.

Sample k of a probe starts at ``start + k·every`` on the loop's monotonic clock, whatever
happened to earlier samples: a slow or dead service never shifts the grid, and samples overlap
up to their timeout. Every failure, a network one or any exception while building or sending
the request, is a failed sample with its reason, never an exception of the run or a lost sample.
"""

from __future__ import annotations

import asyncio
import functools
import ssl
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum

import aiohttp
import httpx

from orchestrator import __version__
from orchestrator.drill.model import Probe
from orchestrator.port import ServiceEndpoint
from orchestrator.samples import Sample, grid_start
from orchestrator.samples import before as is_before

MAX_BODY_BYTES = 64 * 1024
LATE_LIMIT = 1.0
"""Seconds: a sample starting later than this (or its timeout) after its slot is not measured."""
MAX_CAUSE_DEPTH = 10


class Transport(StrEnum):
    """Which HTTP engine sits under httpx (chosen by bench/probe_throughput.py)."""

    AIOHTTP = "aiohttp"
    HTTPCORE = "httpcore"


@dataclass(frozen=True)
class ProbeTarget:
    """A probe with its resolved endpoint."""

    probe: Probe
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
    ) -> httpx.Request:
        """A request to send again and again; its timeout rides in the extensions."""
        merged = {"User-Agent": f"zonedrill/{__version__}", **headers}
        return httpx.Request(
            method, url, headers=merged, extensions={"timeout": httpx.Timeout(timeout).as_dict()}
        )

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


class ProbeRunner:
    """Samples every probe on its grid between ``start`` and ``until``."""

    def __init__(
        self,
        *,
        targets: list[ProbeTarget],
        clients: dict[str | None, ProbeClient],
        on_sample: Callable[[Sample], None],
        origin: float,
    ) -> None:
        self._targets = targets
        self._clients = clients
        self._on_sample = on_sample
        self._origin = origin
        self._in_flight: dict[asyncio.Task[None], float] = {}

    async def run(self, *, start: float, until: float) -> None:
        """Schedule samples in [start, until); return when the last one is started.

        Probe i of N runs on its own grid, offset by i/N of its period, so that N probes do not
        all fire in the same loop tick and queue behind each other.
        """
        count = len(self._targets)
        async with asyncio.TaskGroup() as group:
            for position, target in enumerate(self._targets):
                first = grid_start(start, target.probe.every, position=position, count=count)
                group.create_task(self._grid(target, start=first, until=until))

    async def drain(self) -> None:
        """Wait for samples still in flight (each is bounded by its timeout)."""
        while self._in_flight:
            await asyncio.gather(*list(self._in_flight), return_exceptions=True)

    async def settle(self, *, before: float) -> None:
        """Wait for the samples scheduled before ``before`` (on the loop clock) to answer."""
        waiting = [t for t, moment in self._in_flight.items() if is_before(moment, before)]
        if waiting:
            await asyncio.gather(*waiting, return_exceptions=True)

    def cancel(self) -> None:
        """Abandon samples in flight (used when the run is aborted)."""
        for task in list(self._in_flight):
            task.cancel()

    async def _grid(self, target: ProbeTarget, *, start: float, until: float) -> None:
        loop = asyncio.get_running_loop()
        every = target.probe.every
        client = self._clients[target.endpoint.ca_file]
        request = _prebuilt(client, target)
        index = 0
        while is_before(deadline := start + index * every, until):
            delay = deadline - loop.time()
            if delay > 0:
                await asyncio.sleep(delay)
            task = loop.create_task(self._sample(target, client, request, index, deadline))
            self._in_flight[task] = deadline
            task.add_done_callback(self._forget)
            index += 1

    def _forget(self, task: asyncio.Task[None]) -> None:
        self._in_flight.pop(task, None)

    async def _sample(
        self,
        target: ProbeTarget,
        client: ProbeClient,
        request: httpx.Request | str,
        index: int,
        scheduled: float,
    ) -> None:
        loop = asyncio.get_running_loop()
        started = loop.time()
        sample = functools.partial(
            Sample, target.probe.name, index, scheduled - self._origin, started - self._origin
        )
        late = started - scheduled
        if late > max(target.probe.timeout, LATE_LIMIT):
            # zonedrill itself was stalled (a stopped process, a starved host): this moment was
            # never measured, and a measurement that did not happen must not count as a pass.
            detail = f"started {late:.2f}s after its slot: zonedrill was stalled"
            self._on_sample(sample(passed=False, error="late", detail=detail))
            return
        try:
            self._on_sample(await _ask(target.probe, client, request, sample, started))
        except (httpx.HTTPError, aiohttp.ClientError, OSError, TimeoutError) as exc:
            self._on_sample(sample(passed=False, error=classify(exc), detail=_why(exc)))
        except Exception as exc:  # noqa: BLE001 - no evidence is lost: any failure is a failed sample
            self._on_sample(sample(passed=False, error="error", detail=_why(exc)))


def _prebuilt(client: ProbeClient, target: ProbeTarget) -> httpx.Request | str:
    """The request every sample sends, built once; or why it cannot be built."""
    try:
        return client.build(
            method=target.probe.http.method,
            url=target.url,
            headers={**target.endpoint.headers, **target.probe.http.headers},
            timeout=target.probe.timeout,
        )
    except Exception as exc:  # noqa: BLE001 - then every sample fails with this reason
        return f"the request cannot be built: {_why(exc)}"


async def _ask(
    probe: Probe,
    client: ProbeClient,
    request: httpx.Request | str,
    sample: Callable[..., Sample],
    started: float,
) -> Sample:
    if isinstance(request, str):
        return sample(passed=False, error="error", detail=request)
    async with asyncio.timeout(probe.timeout):
        response = await client.send(request)
    latency = asyncio.get_running_loop().time() - started
    verdict = _judge(probe, response, latency)
    return sample(
        passed=verdict is None, latency=latency, status=response.status_code, error=verdict
    )


MAX_DETAIL = 200


def _why(exc: BaseException) -> str:
    text = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
    return text[:MAX_DETAIL]


def _judge(probe: Probe, response: httpx.Response, latency: float) -> str | None:
    """None when the answer passes, else why not."""
    expect = probe.expect
    if not expect.status_ok(response.status_code):
        return "status"
    if (
        expect.body_contains is not None
        and expect.body_contains not in response.text[:MAX_BODY_BYTES]
    ):
        return "body"
    if expect.max_latency is not None and latency > expect.max_latency:
        return "slow"
    return None
