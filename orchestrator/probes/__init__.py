from orchestrator.probes.grid import Asker, ProbeRunner, SampleOf
from orchestrator.probes.http import (
    HttpAsker,
    HttpProbes,
    ProbeClient,
    ResolvedProbe,
    Transport,
    make_client,
)
from orchestrator.probes.kinds import KINDS, ProbeSettings, RunProbes

__all__ = [
    "KINDS",
    "Asker",
    "HttpAsker",
    "HttpProbes",
    "ProbeClient",
    "ProbeRunner",
    "ProbeSettings",
    "ResolvedProbe",
    "RunProbes",
    "SampleOf",
    "Transport",
    "make_client",
]
