from orchestrator.faults.base import FaultContext, FaultReport, Mode, ResolvedZone, restore, send
from orchestrator.faults.registry import MODES, lose_zone, mode_of

__all__ = [
    "MODES",
    "FaultContext",
    "FaultReport",
    "Mode",
    "ResolvedZone",
    "lose_zone",
    "mode_of",
    "restore",
    "send",
]
