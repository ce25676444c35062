"""Reading a finished run back: ``result.json`` as typed values, and its raw samples.

Reports, the gate and the history all start here, so a foreign or damaged file is refused in one
place, with the file, the line and column (bad JSON) or the field path (wrong shape).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, ValidationError
from pydantic.alias_generators import to_camel

from orchestrator.errors import InvalidInputError, Problem
from orchestrator.samples import Sample, read_samples

RESULT_FILE = "result.json"
Outcome = Literal["passed", "failed", "aborted", "not-steady", "error"]


class ResultModel(BaseModel):
    """camelCase keys; fields zonedrill may add later are ignored by older readers."""

    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, frozen=True)


class CheckDoc(ResultModel):
    """One scored check."""

    probe: str
    metric: Literal["rto", "availability", "p99Latency"]
    target: float
    observed: float | None
    credit: float
    weight: float = 1.0
    passed: bool


class RtoDoc(ResultModel):
    """A probe's recovery after one lose step."""

    step: int
    zone: str
    seconds: float | None
    recovered_by: Literal["failover", "restore"] | None = None


class LatencyDoc(ResultModel):
    """Nearest-rank latency percentiles over passed samples, in seconds."""

    p50: float | None = None
    p95: float | None = None
    p99: float | None = None


class ProbeDoc(ResultModel):
    """A probe's figures over the chaos phase."""

    name: str
    samples: int
    passed: int
    availability: float | None
    downtime: float | None
    latency: LatencyDoc
    rto: list[RtoDoc]


class StepDoc(ResultModel):
    """A lose or restore step as it happened; ``offset`` is seconds after T0."""

    index: int | None
    action: Literal["lose", "restore"]
    zone: str
    mode: str | None = None
    nodes: list[str] = []
    pods_deleted: int = 0
    pods_evicted: int = 0
    evictions_blocked: int = 0
    started_at: datetime | None = None
    ended_at: datetime | None = None
    offset: float | None = None
    note: str = ""


class TimelineDoc(ResultModel):
    """Phase boundaries in seconds on the samples' clock."""

    baseline_start: float
    baseline_end: float
    t0: float
    chaos_end: float
    figures_end: float


class ResultDoc(ResultModel):
    """A DrillResult (spec §4) with zonedrill's additions."""

    api_version: Literal["zonedrill/v1"]
    kind: Literal["DrillResult"]
    run_id: str
    drill: str
    description: str = ""
    target: str
    started_at: datetime
    ended_at: datetime
    outcome: Outcome
    reason: str | None = None
    score: float | None
    checks: list[CheckDoc]
    probes: list[ProbeDoc]
    steps: list[StepDoc]
    restored: bool
    risks: list[str] = []
    timeline: TimelineDoc | None = None
    samples_file: str | None = None


@dataclass(frozen=True)
class FinishedRun:
    """A result document, where it was read from, and its raw samples (if kept)."""

    doc: ResultDoc
    path: Path
    samples: list[Sample]


def result_path(given: Path) -> Path:
    """``given`` itself, or the result.json inside it when it is a run folder."""
    return given / RESULT_FILE if given.is_dir() else given


def parse_result(text: str, *, source: str) -> ResultDoc:
    """Parse a result document; raise InvalidInputError naming every problem."""
    try:
        raw = json.loads(text)
    except json.JSONDecodeError as exc:
        problem = Problem(source, exc.lineno, exc.colno, "", f"not JSON: {exc.msg}")
        raise InvalidInputError([problem]) from exc
    if not isinstance(raw, dict) or raw.get("kind") != "DrillResult":
        kind = raw.get("kind") if isinstance(raw, dict) else type(raw).__name__
        message = f"not a zonedrill result: expected kind DrillResult, got {kind!r}"
        raise InvalidInputError([Problem(source, None, None, "kind", message)])
    try:
        return ResultDoc.model_validate(raw)
    except ValidationError as exc:
        raise InvalidInputError(
            [
                Problem(source, None, None, _dotted(e["loc"]), f"{e['msg']} (got {e['input']!r})")
                for e in exc.errors()
            ]
        ) from exc


def _dotted(location: tuple[int | str, ...]) -> str:
    path = ""
    for part in location:
        path += f"[{part}]" if isinstance(part, int) else (f".{part}" if path else str(part))
    return path


def load_result(given: Path, *, with_samples: bool = True) -> FinishedRun:
    """Read a result (file or run folder) and, if asked and kept, its samples."""
    path = result_path(given)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        problem = Problem(str(path), None, None, "", f"cannot read the result: {exc}")
        raise InvalidInputError([problem]) from exc
    doc = parse_result(text, source=str(path))
    samples: list[Sample] = []
    if with_samples and doc.samples_file:
        samples = _samples(path.parent / doc.samples_file)
    return FinishedRun(doc=doc, path=path, samples=samples)


def _samples(path: Path) -> list[Sample]:
    try:
        return read_samples(path)
    except (OSError, ValueError, TypeError) as exc:
        problem = Problem(str(path), None, None, "", f"cannot read the raw samples: {exc}")
        raise InvalidInputError([problem]) from exc
