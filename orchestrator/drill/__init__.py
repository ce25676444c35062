from orchestrator.drill.gameday import GameDay
from orchestrator.drill.lab import Lab
from orchestrator.drill.loader import (
    check_fits_lab,
    lab_for,
    load_drill,
    load_file,
    load_gameday,
    load_lab,
)
from orchestrator.drill.model import Drill, FaultMode, Probe, Step

__all__ = [
    "Drill",
    "FaultMode",
    "GameDay",
    "Lab",
    "Probe",
    "Step",
    "check_fits_lab",
    "lab_for",
    "load_drill",
    "load_file",
    "load_gameday",
    "load_lab",
]
