"""Hand-built results and samples for the report, gate and history tests.

The flagship-like run: talk-api probed every 250 ms for a 5 s baseline, a 250 ms settle and a
30 s chaos phase (141 samples). pangyo is lost at T0 and talk-api fails for exactly 40 samples
(10.00 s), then recovers. So: 120 chaos samples, 80 passed, availability 66.67 %, downtime
10.00 s, RTO 10.00 s.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from orchestrator.outcomes import Outcome
from orchestrator.probes.samples import Sample, digest, encode_samples
from orchestrator.results.document import ResultDoc
from orchestrator.results.verify import recompute

EVERY, T0, BASELINE, CHAOS = 0.25, 5.25, 5.0, 30.0
BASELINE_START = T0 - EVERY - BASELINE
"""The baseline starts one settle period (the probe's timeout, 250 ms) plus its length before T0."""
FAILING = 40  # samples from T0 on


def talk_samples(
    *, every: float = EVERY, chaos: float = CHAOS, failing: int = FAILING
) -> list[Sample]:
    """talk-api: passing baseline, ``failing`` failed samples from T0, then passing again."""
    samples = []
    start = BASELINE_START
    count = round((T0 - BASELINE_START + chaos) / every)
    for index in range(count):
        scheduled = start + index * every
        chaos_index = round((scheduled - T0) / every)
        down = 0 <= chaos_index < failing
        latency = None if down else 0.020 + (index % 5) * 0.001
        samples.append(
            Sample(
                probe="talk-api",
                index=index,
                scheduled=scheduled,
                started=scheduled + 0.0004,
                passed=not down,
                latency=latency,
                status=None if down else 200,
                error="refused" if down else None,
            )
        )
    return samples


def result_document(**changes: Any) -> dict[str, Any]:
    """The result of the run the samples describe; ``changes`` override top-level fields."""
    started = datetime(2026, 11, 25, 10, 0, 0, tzinfo=UTC)
    document: dict[str, Any] = {
        "apiVersion": "zonedrill/v1",
        "kind": "DrillResult",
        "runId": "handmade-20261125T100000Z-0001",
        "drill": "handmade",
        "description": "Pangyo loses power; talk-api is down for 10 s.",
        "target": "lab",
        "startedAt": _stamp(started),
        "endedAt": _stamp(started + timedelta(seconds=36)),
        "outcome": "failed",
        "reason": None,
        "score": 33.3,
        "checks": [
            _check("rto", 5.0, 10.0, 0.0, 2.0),
            _check("availability", 99.0, 66.666667, 0.0, 2.0),
            _check("p99Latency", 0.2, 0.024, 1.0, 2.0),
        ],
        "probes": [
            {
                "name": "talk-api",
                "samples": 120,
                "passed": 80,
                "availability": 66.6667,
                "downtime": 10.0,
                "latency": {"p50": 0.022, "p95": 0.024, "p99": 0.024},
                "rto": [{"step": 0, "zone": "pangyo", "seconds": 10.0, "recoveredBy": "failover"}],
                "due": 120,
                "every": EVERY,
                "timeout": EVERY,
            }
        ],
        "steps": [
            _step(0, "lose", "power-loss", 0.0, pods=4),
            _step(1, "restore", None, 20.0, pods=0),
        ],
        "restored": True,
        "risks": ["step 0 (power-loss pangyo): predicted outage of messaging/talk-api"],
        "timeline": {
            "baselineStart": BASELINE_START,
            "baselineEnd": BASELINE_START + BASELINE,
            "t0": T0,
            "chaosEnd": T0 + CHAOS,
            "figuresEnd": T0 + CHAOS,
        },
        "samplesFile": "samples.jsonl",
        "samplesDigest": digest(encode_samples(talk_samples())),
        "drillSpec": DRILL_SPEC,
    }
    return document | changes


DRILL_SPEC: dict[str, Any] = {
    "apiVersion": "zonedrill/v1",
    "kind": "Drill",
    "metadata": {"name": "handmade"},
    "spec": {
        "zones": {
            "pangyo": {"nodeSelector": {"zonedrill.io/power-zone": "pangyo"}},
            "ansan": {"nodeSelector": {"zonedrill.io/power-zone": "ansan"}},
        },
        "probes": [
            {
                "name": "talk-api",
                "http": {"service": {"namespace": "messaging", "name": "talk-api"}},
                "every": "250ms",
            }
        ],
        "baseline": "5s",
        "duration": "30s",
        "steps": [{"at": "0s", "lose": "pangyo"}, {"at": "20s", "restore": "pangyo"}],
        "targets": [
            {
                "probe": "talk-api",
                "rto": "5s",
                "availability": "99%",
                "p99Latency": "200ms",
                "weight": 2,
            }
        ],
    },
}
"""The drill the hand-built run ran (the result's drillSpec)."""


def hour_long_document() -> dict[str, Any]:
    """The hand-built result stretched to an hour probed every 100 ms (36,000 chaos samples)."""
    spec = DRILL_SPEC["spec"]
    probe = {**spec["probes"][0], "every": "100ms"}
    drill = {**DRILL_SPEC, "spec": {**spec, "duration": "1h", "probes": [probe]}}
    timeline = {
        "baselineStart": T0 - 5.1,
        "baselineEnd": T0 - 0.1,
        "t0": T0,
        "chaosEnd": T0 + 3600.0,
        "figuresEnd": T0 + 3600.0,
    }
    return result_document(drillSpec=drill, timeline=timeline)


def graded_document(run_id: str, rto: str, *, outcome: str = "", **changes: Any) -> dict[str, Any]:
    """The hand-built run judged by one RTO target, ``rto``, with figures derived from its samples.

    Its 10 s outage passes a target of 10s and earns less credit below that, so a gate sees a
    result that verifies. ``outcome`` "aborted" (or another ungraded end) is kept as given.
    """
    spec = {**DRILL_SPEC["spec"], "targets": [{"probe": "talk-api", "rto": rto}]}
    document = result_document(runId=run_id, drillSpec={**DRILL_SPEC, "spec": spec}) | changes
    return rescored(document, talk_samples(), outcome=outcome)


def rescored(
    document: dict[str, Any], samples: list[Sample], *, outcome: str = ""
) -> dict[str, Any]:
    """``document`` with the figures, checks, score and outcome ``verify`` derives from ``samples``.

    What a forger writes in after editing a result, so that only the framing checks can catch it.
    """
    read = ResultDoc.model_validate_json(json.dumps(_unscored(document)))
    # The model refuses a graded result without checks, so it is read ungraded, then graded.
    graded = read.model_copy(update={"outcome": Outcome(outcome or "failed")})
    derived = recompute(graded, samples)
    return document | {
        "probes": [p.model_dump(mode="json", by_alias=True) for p in derived.probes],
        "checks": [c.model_dump(mode="json", by_alias=True) for c in derived.checks],
        "score": derived.score,
        "outcome": str(derived.outcome),
        "reason": derived.reason or None,
    }


def _unscored(document: dict[str, Any]) -> dict[str, Any]:
    """``document`` as the model accepts it before its figures are known."""
    return document | {"checks": [], "score": None, "outcome": "error"}


def scored_document(run_id: str, outcome: str, score: float, **changes: Any) -> dict[str, Any]:
    """A hand-built result with one check whose credit gives ``score`` (so the two agree)."""
    credit = score / 100
    check = _check("rto", 5.0, 5.0 * (2 - credit), credit, 1.0)
    spec = {**DRILL_SPEC["spec"], "targets": [{"probe": "talk-api", "rto": "5s"}]}
    drill = {**DRILL_SPEC, "spec": spec}
    document = result_document(
        runId=run_id, outcome=outcome, score=score, checks=[check], drillSpec=drill
    )
    return document | changes


def _stamp(moment: datetime) -> str:
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _check(
    metric: str, target: float, observed: float, credit: float, weight: float
) -> dict[str, Any]:
    return {
        "probe": "talk-api",
        "metric": metric,
        "target": target,
        "observed": observed,
        "credit": credit,
        "weight": weight,
        "passed": credit == 1.0,
    }


def _step(
    index: int | None, action: str, mode: str | None, offset: float, *, pods: int
) -> dict[str, Any]:
    return {
        "index": index,
        "action": action,
        "zone": "pangyo",
        "mode": mode,
        "nodes": ["pangyo-1", "pangyo-2", "pangyo-3"],
        "podsDeleted": pods,
        "podsEvicted": 0,
        "evictionsBlocked": 0,
        "startedAt": None,
        "endedAt": None,
        "offset": offset,
        "note": "",
    }


def write_run(folder: Path, document: dict[str, Any], samples: list[Sample] | None = None) -> Path:
    """Write result.json and samples.jsonl into ``folder``; return the result file.

    Given ``samples`` replace the run's own, and the digest follows them.
    """
    folder.mkdir(parents=True, exist_ok=True)
    data = encode_samples(talk_samples() if samples is None else samples)
    (folder / "samples.jsonl").write_bytes(data)
    if samples is not None:
        document = document | {"samplesDigest": digest(data)}
    path = folder / "result.json"
    path.write_text(json.dumps(document, indent=2))
    return path
