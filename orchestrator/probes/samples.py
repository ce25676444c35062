"""Raw probe samples: the single source every figure is derived from."""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Iterable
from dataclasses import dataclass, fields
from pathlib import Path

from orchestrator.yamlfile import not_a_file

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
    failure class when it did not (timeout, refused, reset, tls, protocol, error, late) or why a
    received answer failed (status, body, slow); ``detail`` says more, such as the exception
    that made a sample fail.

    A sample taken while failing (``whileFailing``, spec §1.1 v1.1) has a ``burst``: it is the
    k-th point of the fast grid ``scheduled(index) + k·whileFailing`` that sample ``index`` of the
    every grid started by failing. Samples of the every grid have none.
    """

    probe: str
    index: int
    scheduled: float
    started: float
    passed: bool
    latency: float | None = None
    status: int | None = None
    error: str | None = None
    detail: str | None = None
    burst: int | None = None

    @property
    def cause(self) -> str:
        """Why the sample failed, in a few words: ``status 503``, ``timeout``, ``body: …``."""
        if self.error == "status":
            return self.detail or f"status {self.status}"
        if self.error == "timeout" or not self.detail:
            return self.error or "failed"
        return f"{self.error}: {self.detail}"


def grid_start(start: float, every: float, *, position: int, count: int) -> float:
    """Where probe ``position`` of ``count`` starts its grid.

    Each grid is offset by position/count of its period, so that ``count`` probes do not all
    fire in the same loop tick.
    """
    return start + position / count * every


def due(first: float, every: float, *, start: float, end: float) -> int:
    """How many points of the grid ``first + k·every`` (k >= 0) fall in [start, end)."""
    low = _first_at_or_after(first, every, start)
    high = _first_at_or_after(first, every, end)
    return max(0, high - low)


def _first_at_or_after(first: float, every: float, moment: float) -> int:
    """The smallest k >= 0 whose grid point is not before ``moment`` (with the tolerance)."""
    k = max(0, math.floor((moment - first) / every) - 1)
    while before(first + k * every, moment):
        k += 1
    return k


SAMPLE_FIELDS = tuple(f.name for f in fields(Sample))
"""In order; every one a plain value, so a dict of them needs no deep copy (asdict's)."""


def encode_samples(samples: Iterable[Sample]) -> bytes:
    """Samples as JSON lines, in grid order per probe: the bytes of samples.jsonl.

    A sample of the every grid is written without ``burst``, as before sampling while failing.
    """
    ordered = sorted(samples, key=order)
    return b"".join(
        json.dumps(
            {f: v for f in SAMPLE_FIELDS if (v := getattr(s, f)) is not None or f != "burst"},
            separators=(",", ":"),
            allow_nan=False,
        ).encode()
        + b"\n"
        for s in ordered
    )


def order(sample: Sample) -> tuple[str, int, int]:
    """A probe's samples in grid order: each of the every grid, then the fast grid it started."""
    return sample.probe, sample.index, sample.burst or 0


def digest(data: bytes) -> str:
    """The hex sha256 of samples.jsonl as written (the result's samplesDigest, spec §4)."""
    return hashlib.sha256(data).hexdigest()


MAX_SAMPLE_LINE = 4096


def read_samples(path: Path) -> tuple[list[Sample], str]:
    """The samples in ``path`` and the digest of its bytes; ValueError naming the bad line."""
    samples, hashed = [], hashlib.sha256()
    if not path.is_file():
        raise ValueError(f"{path}: {not_a_file(path)}")
    with path.open("rb") as handle:
        for number, line in enumerate(iter(lambda: handle.readline(MAX_SAMPLE_LINE + 1), b"")):
            hashed.update(line)
            if len(line) > MAX_SAMPLE_LINE:
                raise ValueError(f"line {number + 1} is longer than {MAX_SAMPLE_LINE} bytes")
            if line.strip():
                samples.append(_sample(line, number + 1))
    return samples, hashed.hexdigest()


def _sample(line: bytes, number: int) -> Sample:
    try:
        fields = json.loads(line)
    except (ValueError, RecursionError) as exc:
        raise ValueError(f"line {number} is not JSON: {exc}") from None
    if not isinstance(fields, dict) or set(fields) - _KINDS.keys():
        raise ValueError(f"line {number} is not a sample")
    for name, ok in _KINDS.items():
        if not ok(fields.get(name)):
            raise ValueError(f"line {number}: {name} {fields.get(name)!r} is not a valid value")
    return Sample(**fields)


def _count(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def _seconds(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def _text_or_none(value: object) -> bool:
    return value is None or isinstance(value, str)


def _latency(value: object) -> bool:
    return value is None or (_seconds(value) and float(value) >= 0)  # type: ignore[arg-type]


def _status(value: object) -> bool:
    return value is None or (_count(value) and int(value) < HTTP_STATUS_END)  # type: ignore[call-overload]


HTTP_STATUS_END = 1000


def _burst(value: object) -> bool:
    return value is None or (_count(value) and value != 0)


_KINDS = {
    "probe": lambda v: isinstance(v, str),
    "index": _count,
    "scheduled": _seconds,
    "started": _seconds,
    "passed": lambda v: isinstance(v, bool),
    "latency": _latency,
    "status": _status,
    "error": _text_or_none,
    "detail": _text_or_none,
    "burst": _burst,
}
"""What each field of a stored sample must be: ``"passed": "false"`` is not a pass."""
