"""Score a recorded Chaos Toolkit run through zonedrill's own formulas, and write it.

The result's drill is the drill the run was recorded against, with what the run actually did:
each probe sampled at the hypothesis period Chaos Toolkit kept (measured from the samples), the
chaos phase as long as the method, the steps at the times they happened. The timeline follows
the same rules as a drill's, so ``zonedrill verify`` recomputes every figure from the samples.
"""

from __future__ import annotations

from orchestrator.ctk.recording import Recording
from orchestrator.drill.model import Drill, FaultMode, Step
from orchestrator.outcomes import GRADED
from orchestrator.probes.samples import digest, encode_samples
from orchestrator.results.ctk_rounds import MIN_PERIOD, measured_period, unscorable
from orchestrator.results.result import (
    RunFacts,
    StepRecord,
    Timeline,
    derive,
    result_document,
    write_result,
)
from orchestrator.results.storage import write_durably
from orchestrator.run.engine import RunOutcome

STOPPED = {"interrupted": "aborted", "aborted": "aborted", "failed": "error"}
NEVER_REACHED = (
    "the run never reached a cluster: no zone was lost and no Service probe got through the "
    "API server (check the kubeconfig and context the activities use)"
)


def write(current: Recording, *, ended: str) -> RunOutcome:
    """Score the run, write result.json and samples.jsonl; ``ended``: "method" or CTK's status."""
    now = current.now()
    t0 = current.t0 if current.t0 is not None else now
    chaos_end = current.chaos_end if current.chaos_end is not None else max(now, t0)
    chaos_end = max(chaos_end, t0 + MIN_PERIOD)  # an empty method still has a phase to score
    period = measured_period(current.samples, t0, chaos_end)
    drill = _as_run(current, period, t0, chaos_end)
    settle = max(p.timeout for p in drill.spec.probes)
    timeline = Timeline(
        wall_origin=current.started,
        baseline_start=t0 - settle - drill.spec.baseline,
        baseline_end=t0 - settle,
        t0=t0,
        chaos_end=chaos_end,
        figures_end=chaos_end,
        ended=max(now, chaos_end),
    )
    facts = _facts(current, ended, period, unscorable(drill, current.samples, t0, chaos_end))
    steps = [s for s in current.steps if s.index is not None]
    derived = derive(
        drill, current.samples, steps, timeline, outcome=facts.outcome, reason=facts.reason
    )
    data = encode_samples(current.samples)
    document = result_document(
        drill, facts, derived, timeline=timeline, steps=current.steps, samples_digest=digest(data)
    )
    current.out_dir.mkdir(parents=True, exist_ok=True)
    write_durably(current.out_dir / "samples.jsonl", data)
    write_result(current.out_dir, document)
    current.result_dir = str(current.out_dir)
    return RunOutcome(document, derived.outcome.exit_code, current.out_dir)


def _facts(current: Recording, ended: str, period: float, unasked: str) -> RunFacts:
    """The outcome before scoring: the first of the reasons below that holds, else graded."""
    outcome, reason = GRADED, ""
    failed = [s for s in current.steps if s.note]
    lost = [s for s in current.steps if s.action == "lose" and s.index is not None and not s.note]
    if current.refused:
        outcome, reason = "error", current.refused
    elif current.cluster is None and not lost:
        outcome, reason = "error", NEVER_REACHED
    elif not current.steady:
        outcome, reason = "not-steady", "the steady-state hypothesis was not met before the method"
    elif ended in STOPPED:
        outcome, reason = STOPPED[ended], f"the Chaos Toolkit run ended {ended}"
    elif failed:
        outcome = "error"
        reason = "; ".join(f"{s.action} {s.zone} failed" for s in failed)
    elif not lost:
        outcome, reason = "error", "no zone was lost in the method: nothing to score"
    elif unasked:
        outcome, reason = "error", unasked
    limits = [
        f"RTO resolution: one hypothesis period ({period:.2f} s). Chaos Toolkit asks the probes "
        "one after another and then sleeps, so a recovery is seen up to a period late.",
        "Latency is not measured (Chaos Toolkit's records carry none): a p99Latency check "
        "fails for want of evidence.",
        "Times are on the wall clock of Chaos Toolkit's records, not a monotonic clock.",
        "Chaos Toolkit stops a hypothesis at the first probe out of tolerance: while one "
        "probe fails, the probes after it are not asked: a probe with a target unasked for "
        "longer than a round leaves the run without evidence, and it is an error.",
    ]
    return RunFacts(
        current.run_id,
        current.target,
        outcome,
        _restored(current, ended),
        reason,
        runner="chaostoolkit",
        limits=limits,
        cluster=current.cluster,
    )


def _restored(current: Recording, ended: str) -> bool:
    """Every zone lost was restored later by an action that succeeded (after the rollbacks)."""
    if ended == "method":
        return False  # the rollbacks have not run yet; the end says
    for lost in (s for s in current.steps if s.action == "lose"):
        if not any(_undoes(s, lost) for s in current.steps):
            return False
    return True


def _undoes(step: StepRecord, lost: StepRecord) -> bool:
    return (
        step.action == "restore"
        and step.zone == lost.zone
        and step.started >= lost.started
        and not step.note
    )


def _as_run(current: Recording, period: float, t0: float, chaos_end: float) -> Drill:
    spec = current.drill.spec
    probes = [p.model_copy(update={"every": period}) for p in spec.probes]
    steps = [
        Step.model_construct(
            at=max(0.0, s.started - t0), lose=s.zone, mode=FaultMode(s.mode or "power-loss")
        )
        if s.action == "lose"
        else Step.model_construct(at=max(0.0, s.started - t0), restore=s.zone)
        for s in current.steps
        if s.index is not None
    ]
    runs = spec.model_copy(
        update={
            "probes": probes,
            "steps": steps,
            "duration": chaos_end - t0,
            "baseline": period,
        }
    )
    return current.drill.model_copy(update={"spec": runs})
