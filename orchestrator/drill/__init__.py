from orchestrator.drill.lab import Lab
from orchestrator.drill.loader import check_fits_lab, load_drill, load_file, load_lab
from orchestrator.drill.model import Drill, FaultMode, Probe, Step

__all__ = [
    "Drill",
    "FaultMode",
    "Lab",
    "Probe",
    "Step",
    "check_fits_lab",
    "load_drill",
    "load_file",
    "load_lab",
]
