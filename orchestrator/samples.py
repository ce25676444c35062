"""Raw probe samples: the single source every figure is derived from."""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from pathlib import Path

GRID_TOLERANCE = 1e-6
"""Seconds. Grid times are sums of floats built in different orders; a sample scheduled at a
phase boundary may land a hair on either side of it. Boundaries compare with this slack."""


def before(moment: float, boundary: float) -> bool:
    """True when ``moment`` is earlier than ``boundary`` by more than the grid tolerance."""
    return moment < boundary - GRID_TOLERANCE


def in_range(moment: float, start: float, end: float) -> bool:
    """True when ``moment`` lies in [start, end), boundaries taken with the grid tolerance."""
    return not before(moment, start) and before(moment, end)


@dataclass(frozen=True, slots=True)
class Sample:
    """One probe request.

    Times are seconds on the run's monotonic clock, counted from the run's clock origin:
    ``scheduled`` is the grid point (T_start + k·every), ``started`` when the request went out.
    ``latency`` is set when an answer arrived (even an unexpected one); ``error`` names the
    failure class when it did not (timeout, refused, reset, tls, protocol, error) or why a
    received answer failed (status, body, slow).
    """

    probe: str
    index: int
    scheduled: float
    started: float
    passed: bool
    latency: float | None = None
    status: int | None = None
    error: str | None = None


def write_samples(path: Path, samples: Iterable[Sample]) -> None:
    """Write samples as JSON lines, in grid order per probe."""
    ordered = sorted(samples, key=lambda s: (s.probe, s.index))
    with path.open("w", encoding="utf-8") as handle:
        for sample in ordered:
            handle.write(json.dumps(asdict(sample), separators=(",", ":")) + "\n")


def read_samples(path: Path) -> list[Sample]:
    """Read samples written by ``write_samples``."""
    with path.open(encoding="utf-8") as handle:
        return [Sample(**json.loads(line)) for line in handle if line.strip()]
