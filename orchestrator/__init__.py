"""zonedrill: datacenter-loss drills for Kubernetes."""

from importlib import import_module
from typing import Any

__version__ = "0.1.0"


def discover(discover_system: bool = True) -> dict[str, Any]:
    """Chaos Toolkit's entry point (``chaos discover --no-install zonedrill``).

    Imported by name when called: the package root must not pull in Chaos Toolkit (an extra)
    or the layers above it.
    """
    found: dict[str, Any] = import_module("orchestrator.ctk").discover(discover_system)
    return found
