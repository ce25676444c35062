"""The probe scheduler: a fixed deadline grid, overlap, and every failure a failed sample."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from aiohttp import web

from orchestrator.drill.http import HttpProbe
from orchestrator.probes import (
    HttpAsker,
    ProbeClient,
    ProbeRunner,
    ResolvedProbe,
    Transport,
    make_client,
)
from orchestrator.probes.samples import Sample
from orchestrator.targets.port import ServiceEndpoint


def probe(name: str, url: str, **fields: Any) -> ResolvedProbe:
    """A probe on ``url`` with overridable fields (every defaults to 1s)."""
    data = {"name": name, "http": {"url": url}, "every": "1s", **fields}
    return ResolvedProbe(HttpProbe.model_validate(data), ServiceEndpoint(url=url))


class LoopTimeTransport(httpx.AsyncBaseTransport):
    """Answers after a per-host delay in loop time; 'blackhole' never answers."""

    def __init__(self, delays: dict[str, float]) -> None:
        self.delays = delays

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        """Sleep the host's delay (forever for a blackhole), then answer 200 ok."""
        delay = self.delays.get(request.url.host, 0.0)
        await asyncio.sleep(delay if delay >= 0 else 10**6)
        return httpx.Response(200, text="ok")


async def run_probes(
    targets: list[ResolvedProbe], client: ProbeClient, *, seconds: float, start_in: float = 0.0
) -> list[Sample]:
    """Run the grid for ``seconds`` from now + ``start_in`` and wait for every answer."""
    samples: list[Sample] = []
    loop = asyncio.get_running_loop()
    origin = loop.time()
    runner = ProbeRunner(
        askers=[HttpAsker(t, client) for t in targets],
        on_sample=samples.append,
        origin=origin,
    )
    await runner.run(start=origin + start_in, until=origin + start_in + seconds)
    await runner.drain()
    await client.aclose()
    return samples


@pytest.mark.looptime
async def test_grid_is_exact_and_slow_answers_do_not_shift_it() -> None:
    """With 3s answers and a 1s grid, samples still start at exactly k·every and overlap."""
    client = ProbeClient(LoopTimeTransport({"slow": 3.0}))
    targets = [probe("slow", "http://slow/", http={"url": "http://slow/", "timeout": "5s"})]
    samples = await run_probes(targets, client, seconds=10)
    assert [s.scheduled for s in sorted(samples, key=lambda s: s.index)] == [
        float(k) for k in range(10)
    ]
    assert all(s.started == s.scheduled for s in samples)
    assert all(s.passed and s.latency == pytest.approx(3.0) for s in samples)


@pytest.mark.looptime
async def test_timeouts_fail_samples_without_stopping_the_grid() -> None:
    """A blackholed host times out every sample at `timeout`; the count stays duration/every."""
    client = ProbeClient(LoopTimeTransport({"hole": -1}))
    target = probe(
        "hole", "http://hole/", every="500ms", http={"url": "http://hole/", "timeout": "2s"}
    )
    samples = await run_probes([target], client, seconds=5)
    assert len(samples) == 10
    assert {s.error for s in samples} == {"timeout"}
    assert not any(s.passed for s in samples)


@pytest.mark.looptime
async def test_default_timeout_is_min_of_every_and_2s() -> None:
    """Without http.timeout, a 1s probe times out at 1s and a 5s probe at 2s."""
    assert probe("a", "http://a/").probe.timeout == 1.0
    assert probe("b", "http://b/", every="5s").probe.timeout == 2.0


@pytest.mark.looptime
async def test_max_latency_fails_slow_answers() -> None:
    """An answer slower than expect.maxLatency is a failed sample marked slow."""
    client = ProbeClient(LoopTimeTransport({"s": 0.3}))
    target = probe("s", "http://s/", expect={"maxLatency": "200ms"})
    samples = await run_probes([target], client, seconds=3)
    assert [s.error for s in samples] == ["slow"] * 3
    assert samples[0].cause.startswith("slow: answered in 0.3")
    assert "maxLatency 0.2s" in samples[0].cause


@pytest.mark.looptime
async def test_many_probes_keep_their_own_phase_spread_grids() -> None:
    """Probe i of N samples at start + (i/N)*every + k*every: exact grids, phases spread."""
    client = ProbeClient(LoopTimeTransport({}))
    targets = [probe("fast", "http://f/", every="100ms"), probe("slow", "http://s/", every="3s")]
    samples = await run_probes(targets, client, seconds=6, start_in=0.5)
    fast = sorted(s.scheduled for s in samples if s.probe == "fast")
    assert len(fast) == 60
    assert fast[0] == 0.5
    assert fast[-1] == pytest.approx(0.5 + 5.9)
    assert sorted(s.scheduled for s in samples if s.probe == "slow") == [2.0, 5.0]


# --- real loopback servers -------------------------------------------------------------------


@pytest.fixture
async def servers() -> AsyncIterator[dict[str, str]]:
    """Loopback servers (ok, slow, 503, resetting) plus a refused and a blackholed port."""

    async def ok(_: web.Request) -> web.Response:
        return web.Response(text="ok")

    async def slow(_: web.Request) -> web.Response:
        await asyncio.sleep(2.0)
        return web.Response(text="ok")

    async def down(_: web.Request) -> web.Response:
        return web.Response(status=503, text="down")

    async def reset(request: web.Request) -> web.Response:
        assert request.transport is not None
        request.transport.abort()
        return web.Response(text="never sent")

    app = web.Application()
    for path, handler in (("/ok", ok), ("/slow", slow), ("/down", down), ("/reset", reset)):
        app.router.add_get(path, handler)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    base = f"http://127.0.0.1:{runner.addresses[0][1]}"
    with blackhole() as hole_port, closed_port() as refused_port:
        yield {
            "base": base,
            "hole": f"http://127.0.0.1:{hole_port}/",
            "refused": f"http://127.0.0.1:{refused_port}/",
        }
    await runner.cleanup()


def _socket() -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    return sock


def blackhole() -> Any:
    """A listening socket that never accepts: connections hang until the client gives up."""

    class _Hole:
        def __enter__(self) -> int:
            self.sock = _socket()
            self.sock.listen(64)
            return int(self.sock.getsockname()[1])

        def __exit__(self, *exc: object) -> None:
            self.sock.close()

    return _Hole()


def closed_port() -> Any:
    """A port nobody listens on: connections are refused."""

    class _Closed:
        def __enter__(self) -> int:
            sock = _socket()
            port = int(sock.getsockname()[1])
            sock.close()
            return port

        def __exit__(self, *exc: object) -> None:
            pass

    return _Closed()


@pytest.mark.parametrize("engine", [Transport.AIOHTTP, Transport.HTTPCORE])
async def test_failure_classes_on_loopback(servers: dict[str, str], engine: Transport) -> None:
    """Refused, reset, timeout, 503 and body mismatch are failed samples with their class."""
    base = servers["base"]
    targets = [
        probe("ok", f"{base}/ok", every="200ms", expect={"bodyContains": "ok"}),
        probe(
            "slow", f"{base}/slow", every="200ms", http={"url": f"{base}/slow", "timeout": "300ms"}
        ),
        probe("down", f"{base}/down", every="200ms"),
        probe("body", f"{base}/ok", every="200ms", expect={"bodyContains": "healthy"}),
        probe("reset", f"{base}/reset", every="200ms"),
        probe("refused", servers["refused"], every="200ms"),
        probe(
            "hole",
            servers["hole"],
            every="200ms",
            http={"url": servers["hole"], "timeout": "300ms"},
        ),
    ]
    samples = await run_probes(targets, make_client(transport=engine), seconds=1.0, start_in=0.05)
    by_probe = {t.probe.name: [s for s in samples if s.probe == t.probe.name] for t in targets}
    assert all(len(v) == 5 for v in by_probe.values()), {k: len(v) for k, v in by_probe.items()}
    assert all(s.passed for s in by_probe["ok"])
    expected = {
        "slow": "timeout",
        "down": "status",
        "body": "body",
        "reset": "reset",
        "refused": "refused",
        "hole": "timeout",
    }
    for name, error in expected.items():
        assert {s.error for s in by_probe[name]} == {error}, name
        assert not any(s.passed for s in by_probe[name])
    causes = {name: by_probe[name][0].cause for name in expected}
    assert causes["down"] == "status 503"
    assert causes["body"] == 'body: expected "healthy", got "ok"'
    assert causes["slow"] == causes["hole"] == "timeout"
    assert causes["refused"].startswith("refused: ")


async def test_slow_server_does_not_delay_the_next_samples(servers: dict[str, str]) -> None:
    """A 2s answer on a 200ms grid: later samples still start on time (no sleep-after-work)."""
    target = probe(
        "slow",
        f"{servers['base']}/slow",
        every="200ms",
        http={"url": f"{servers['base']}/slow", "timeout": "3s"},
    )
    samples = await run_probes([target], make_client(transport=Transport.AIOHTTP), seconds=1.0)
    assert len(samples) == 5
    # With sleep-after-work the last sample would start about 8s late; on a grid it starts on time.
    assert max(s.started - s.scheduled for s in samples) < 0.2
    assert all(s.passed for s in samples)
