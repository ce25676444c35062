"""Drill and game-day results as Prometheus metrics (``zonedrill metrics``), from the history.

Each series is per cluster (``cluster``: the result's cluster identity, else its target;
``cluster_uid``: its kube-system UID, which tells apart clusters whose API servers share an
address, as in-cluster ones do) and per drill or game day, so one Prometheus can watch a fleet.
Only results that verify are exported: the caller says which (``verified``), and the ones left
out are counted, never shown as figures. Names follow Prometheus conventions: units in the
name, ``_total`` for counters, ratios 0-1, and the score on the result's own 0-100 scale.
"""

from __future__ import annotations

import functools
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import get_args

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from orchestrator.outcomes import GameDayOutcome, Outcome
from orchestrator.results.gameday_result import GameDayResult, mean_score
from orchestrator.results.gate import Recorded, disagreement
from orchestrator.results.history import History, RunEntry

PREFIX = "zonedrill"


@dataclass(frozen=True)
class Record:
    """What the families say of one run or game day."""

    score: float | None
    ended: float
    outcome: str


Groups = dict[tuple[str, ...], list[Record]]
"""Records by their labels' values, newest first."""


def cluster_of(entry: RunEntry) -> tuple[str, str]:
    """Where a run ran: its cluster's identity and UID, else its target (a Chaos Toolkit run's)."""
    cluster = entry.doc.cluster
    if cluster is None:
        return entry.doc.target, ""
    return cluster.identity, cluster.uid or ""


def _time(moment: datetime) -> float:
    return moment.timestamp()


def result_families(
    kind: str, labels: list[str], groups: Groups, outcomes: Iterable[str]
) -> Iterator[Metric]:
    """Last score, outcome, run and pass times, and counts by outcome, of each group."""
    name = kind.replace(" ", "")
    family = functools.partial(GaugeMetricFamily, labels=labels)
    score = family(f"{PREFIX}_{name}_last_score", f"Score of the {kind}'s last scored run (0-100).")
    ended = family(
        f"{PREFIX}_{name}_last_run_timestamp_seconds", f"When the {kind} last ended (Unix time)."
    )
    passed = family(
        f"{PREFIX}_{name}_last_pass_timestamp_seconds", f"When the {kind} last passed (Unix time)."
    )
    by_outcome = [*labels, "outcome"]
    outcome = GaugeMetricFamily(
        f"{PREFIX}_{name}_last_outcome",
        f"1 for the outcome of the {kind}'s last run, 0 for the others.",
        labels=by_outcome,
    )
    runs = CounterMetricFamily(
        f"{PREFIX}_{name}_runs", f"Verified runs of the {kind}, by outcome.", labels=by_outcome
    )
    for key, held in sorted(groups.items()):
        at, last = list(key), held[0]
        if last.score is not None:
            score.add_metric(at, last.score)
        ended.add_metric(at, last.ended)
        good = [r.ended for r in held if r.outcome == Outcome.PASSED]
        if good:
            passed.add_metric(at, good[0])
        counts = Counter(r.outcome for r in held)
        for each in outcomes:
            outcome.add_metric([*at, each], float(last.outcome == each))
            runs.add_metric([*at, each], counts[each])
    yield from (score, ended, passed, outcome, runs)


def drill_families(entries: Iterable[RunEntry]) -> Iterator[Metric]:
    """Per drill and cluster: the result families, and each probe's in the last run."""
    groups: Groups = {}
    last: dict[tuple[str, ...], RunEntry] = {}
    for entry in sorted(entries, key=lambda e: e.doc.ended_at, reverse=True):
        doc = entry.doc
        key = (doc.drill, *cluster_of(entry))
        last.setdefault(key, entry)
        groups.setdefault(key, []).append(Record(doc.score, _time(doc.ended_at), str(doc.outcome)))
    labels = ["drill", "cluster", "cluster_uid"]
    yield from result_families("drill", labels, groups, [str(o) for o in Outcome])
    yield from probe_families(last)


def probe_families(last: dict[tuple[str, ...], RunEntry]) -> Iterator[Metric]:
    """Each probe's worst RTO and its availability, in the drill's last run."""
    labels = ["drill", "cluster", "cluster_uid", "probe"]
    rto = GaugeMetricFamily(
        f"{PREFIX}_drill_last_worst_rto_seconds",
        "The probe's longest recovery over the lose steps of the drill's last run.",
        labels=labels,
    )
    recovered = GaugeMetricFamily(
        f"{PREFIX}_drill_last_recovered",
        "1 when the probe recovered after every lose step of the drill's last run, else 0.",
        labels=labels,
    )
    availability = GaugeMetricFamily(
        f"{PREFIX}_drill_last_availability_ratio",
        "The probe's availability over the chaos phase of the drill's last run (0-1).",
        labels=labels,
    )
    for key, entry in sorted(last.items()):
        if entry.doc.outcome not in (Outcome.PASSED, Outcome.FAILED):
            continue  # not steady, aborted or an error: no chaos phase measured to its end
        for probe in entry.doc.probes:
            at = [*key, probe.name]
            seconds = [r.seconds for r in probe.rto]
            if seconds:  # no lose window sampled: nothing to say of its recovery
                back = all(s is not None for s in seconds)
                recovered.add_metric(at, float(back))
                if back:
                    rto.add_metric(at, max(s for s in seconds if s is not None))
            if probe.availability is not None:
                availability.add_metric(at, probe.availability / 100.0)
    yield from (rto, recovered, availability)


def gameday_families(days: Iterable[GameDayResult]) -> Iterator[Metric]:
    """Per game day, target and trigger: the result families (the score is the drills' mean).

    The trigger (manual, schedule, ci) is a label so that an alert can ask for scheduled ones.
    """
    groups: Groups = {}
    for day in sorted(days, key=lambda d: d.ended_at, reverse=True):
        record = Record(day.mean_score, _time(day.ended_at), str(day.outcome))
        groups.setdefault((day.gameday, day.target, day.trigger), []).append(record)
    labels = ["gameday", "cluster", "trigger"]
    yield from result_families("game day", labels, groups, get_args(GameDayOutcome))


class HistoryCollector(Collector):
    """Reads the history afresh on each collection: a scrape sees the runs made since the last."""

    def __init__(
        self,
        history: History,
        *,
        verified: Callable[[RunEntry], bool],
    ) -> None:
        self._history = history
        self._verified = verified

    def collect(self) -> Iterator[Metric]:
        """The drill and game-day families, and how many records were left out."""
        entries = self._history.runs()
        good = {e.doc.run_id: e for e in entries if self._verified(e)}
        days = self._history.gamedays()
        trusted = [d for d in days if _agrees(d, good)]
        yield from drill_families(good.values())
        yield from gameday_families(trusted)
        left_out = GaugeMetricFamily(
            f"{PREFIX}_unverified_results",
            "Records in the history left out because they do not verify.",
            labels=["kind"],
        )
        left_out.add_metric(["run"], len(entries) - len(good))
        left_out.add_metric(["gameday"], len(days) - len(trusted))
        yield left_out


def _agrees(day: GameDayResult, good: dict[str, RunEntry]) -> bool:
    """Each of the game day's runs verifies and is as it says; its mean score is theirs."""
    for run in day.runs:
        entry = good.get(run.run_id)
        if entry is None or disagreement(run, Recorded(entry.doc, [])):
            return False
    return day.mean_score == mean_score(day.runs)
