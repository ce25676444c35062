from orchestrator.targets.lab.adapter import LabTarget, open_lab

__all__ = ["LabTarget", "open_lab"]
