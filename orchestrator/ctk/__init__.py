"""zonedrill as a Chaos Toolkit extension (spec §7): activities, a control, export and import.

``chaos discover --no-install zonedrill`` finds ``discover`` here (and in ``k8s``: chaoslib maps
the distribution to whichever of its two top-level packages it meets first).
"""

from __future__ import annotations

from typing import Any

from orchestrator import __version__


def discover(discover_system: bool = True) -> dict[str, Any]:
    """What zonedrill offers Chaos Toolkit: its actions and probes."""
    del discover_system  # the cluster is described by zonedrill plan, not here
    from chaoslib.discovery import (  # noqa: PLC0415 - only with the chaostoolkit extra
        discover_actions,
        discover_probes,
        initialize_discovery_result,
    )

    discovery: dict[str, Any] = initialize_discovery_result("zonedrill", __version__, "zonedrill")
    discovery["activities"].extend(discover_actions("orchestrator.ctk.actions"))
    discovery["activities"].extend(discover_probes("orchestrator.ctk.probes"))
    return discovery
