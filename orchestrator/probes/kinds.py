"""Every probe kind, by the key a probe names it with: a new kind is one module and one line."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

from orchestrator.drill.model import Probe
from orchestrator.probes.grid import Asker
from orchestrator.probes.http import HttpProbes, Transport
from orchestrator.probes.prometheus import PrometheusProbes
from orchestrator.targets.port import ClusterPort


@dataclass(frozen=True)
class ProbeSettings:
    """What a run gives its probe kinds: the port, the HTTP engine, the endpoint overrides."""

    port: ClusterPort
    transport: Transport = Transport.AIOHTTP
    service_urls: dict[str, str] = field(default_factory=dict)


class ProbeKind(Protocol):
    """One kind's probes in one run: prepared once each, closed together at the end."""

    async def prepare(self, probe: Any) -> Asker:  # its own kind's model, nothing else
        """Resolve where ``probe`` asks and make it ready for the grid."""
        ...

    async def aclose(self) -> None:
        """Release what the kind's probes shared (connections)."""
        ...


KINDS: dict[str, Callable[[ProbeSettings], ProbeKind]] = {
    "http": lambda s: HttpProbes(s.port, transport=s.transport, service_urls=s.service_urls),
    "prometheus": lambda s: PrometheusProbes(
        s.port, transport=s.transport, service_urls=s.service_urls
    ),
}


class RunProbes:
    """The probe kinds one run uses, opened on first use."""

    def __init__(self, settings: ProbeSettings) -> None:
        self._settings = settings
        self._open: dict[str, ProbeKind] = {}

    async def prepare(self, probe: Probe) -> Asker:
        """The asker of ``probe``, from its kind."""
        kind = self._open.get(probe.kind)
        if kind is None:
            kind = self._open[probe.kind] = KINDS[probe.kind](self._settings)
        return await kind.prepare(probe)

    async def __aenter__(self) -> RunProbes:
        return self

    async def __aexit__(self, *_: object) -> None:
        """Close every kind opened, whatever ended the block."""
        for kind in self._open.values():
            await kind.aclose()
