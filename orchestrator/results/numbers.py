"""How reports write numbers, so HTML, Markdown and JUnit say the same thing the same way."""

from __future__ import annotations

from orchestrator.durations import format_duration
from orchestrator.results.document import CheckDoc

METRIC_NAMES = {"rto": "RTO", "availability": "availability", "p99Latency": "p99 latency"}


def seconds(value: float | None) -> str:
    """A time as files write durations: ``10.24s``, ``1m30s``, ``21ms`` below a second; ``—``.

    To the hundredth of a second (the millisecond below one): a drill's ``5s`` target prints as
    ``5s``, and a measured ``10.2449`` as ``10.24s``.
    """
    if value is None:
        return "—"
    sign, size = ("-" if value < 0 else ""), abs(value)
    if 0 < size < 1:
        return f"{sign}{size * 1000:.0f}ms"
    return sign + format_duration(round(size, 2))


def percent(value: float | None) -> str:
    """``99.95 %`` (two decimals), ``—`` when there is no value."""
    return "—" if value is None else f"{value:.2f} %"


def score(value: float | None) -> str:
    """``55.6`` out of 100, ``—`` when nothing was scored."""
    return "—" if value is None else f"{value:.1f}"


def metric_value(metric: str, value: float | None) -> str:
    """A check's target or observed value in its unit."""
    if metric == "availability":
        return percent(value)
    if metric == "rto":
        return rto(value)
    return seconds(value)


def rto(value: float | None) -> str:
    """``no outage`` (0), ``not recovered`` (none), else the time: one wording everywhere."""
    if value is None:
        return "not recovered"
    return "no outage" if value == 0 else seconds(value)


EVICTIONS_REFUSED = "evictions refused by a PDB"
"""The one name of the count of evictions a PodDisruptionBudget answered with 429."""


def check_name(check: CheckDoc) -> str:
    """``talk-api RTO ≤ 5s`` (availability is a lower bound)."""
    bound = "≥" if check.metric == "availability" else "≤"
    target = metric_value(check.metric, check.target)
    return f"{check.probe} {METRIC_NAMES[check.metric]} {bound} {target}"


def check_verdict(check: CheckDoc) -> str:
    """``observed 10.24s, target 5s, credit 0.00``."""
    observed = metric_value(check.metric, check.observed)
    target = metric_value(check.metric, check.target)
    return f"observed {observed}, target {target}, credit {check.credit:.2f}"
