"""A Chaos Toolkit run as zonedrill sees it: samples, zone steps and phase times.

The control (``orchestrator.ctk.control``) fills it in from Chaos Toolkit's run records; the
probes on the recorded result ask it whether the chaos phase has been scored yet. It rides in
the run's configuration under ``KEY``: controls get that mapping itself, and activities that
declare a ``configuration`` parameter a shallow copy of it, so both reach the same recording.
Times are seconds from the experiment's start on the wall clock, the only clock Chaos Toolkit's
records carry.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from orchestrator.drill.model import Drill
from orchestrator.probes.samples import Sample
from orchestrator.results.document import ClusterDoc
from orchestrator.results.result import StepRecord


@dataclass
class Recording:
    """One ``chaos run`` being recorded."""

    drill: Drill
    started: datetime
    run_id: str
    out_dir: Path
    hypothesis: set[str]
    """The names of the steady-state hypothesis' probes: their results are samples."""
    target: str = "kube"
    """The target its zone actions and Service probes reach (``zonedrill_target``)."""
    steady: bool = True
    """Whether the hypothesis before the method was met."""
    refused: str = ""
    """Why this run cannot be scored, when the experiment itself makes its samples untrustworthy."""
    carried: bool = False
    """The drill is the one the experiment carries in ``extensions`` (an export), so lose_zone
    can run it from any folder, whatever its relative drill path."""
    samples: list[Sample] = field(default_factory=list)
    steps: list[StepRecord] = field(default_factory=list)
    t0: float | None = None
    chaos_end: float | None = None
    result_dir: str = ""
    cluster: ClusterDoc | None = None
    """The cluster a zone action or a Service probe reached; None: none did (yet)."""
    lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def probes(self) -> set[str]:
        """The names of the drill's probes: only their results are samples."""
        return {p.name for p in self.drill.spec.probes}

    def at(self, stamp: str) -> float:
        """Seconds from the start to an ISO 8601 time of a run record."""
        return (datetime.fromisoformat(stamp) - self.started).total_seconds()

    def now(self) -> float:
        """Seconds from the start to now."""
        return (datetime.now(UTC) - self.started).total_seconds()

    def reached(self, cluster: ClusterDoc) -> None:
        """Note the cluster the run touched, the first time anything reaches it."""
        with self.lock:
            self.cluster = self.cluster or cluster

    def add_sample(self, probe: str, started: float, passed: bool, error: str | None) -> None:
        """One probe result (hypothesis probes run from several threads when continuous)."""
        with self.lock:
            index = sum(1 for s in self.samples if s.probe == probe)
            self.samples.append(
                Sample(
                    probe=probe,
                    index=index,
                    scheduled=started,
                    started=started,
                    passed=passed,
                    error=error,
                )
            )


KEY = "zonedrill.recording"
"""The recording's key in a chaos run's configuration (a dot: never a ``${...}`` name)."""


def of(configuration: dict[str, Any] | None) -> Recording | None:
    """The run the zonedrill control records, if it records one."""
    found = (configuration or {}).get(KEY)
    return found if isinstance(found, Recording) else None
