"""Scoring on hand-computed sample series (spec §3)."""

from __future__ import annotations

import pytest

from orchestrator.probes.samples import Sample
from orchestrator.results.scoring import (
    Check,
    LoseWindow,
    availability_credit,
    in_window,
    nearest_rank,
    probe_figures,
    recovery,
    score,
    upper_bound_credit,
)


def series(pattern: str, *, every: float = 1.0, start: float = 0.0) -> list[Sample]:
    """Samples from a string: '.' passed, 'x' failed, one per ``every`` from ``start``."""
    return [
        Sample(
            "p",
            k,
            start + k * every,
            start + k * every,
            ch == ".",
            latency=0.01 * (k + 1) if ch == "." else None,
            error=None if ch == "." else "status",
        )
        for k, ch in enumerate(pattern)
    ]


def window(start: float = 0.0, end: float = 10.0, restored_at: float | None = None) -> LoseWindow:
    """A lose-step window for step 0 in zone z."""
    return LoseWindow(0, "z", start, end, restored_at)


def test_no_impact_gives_rto_zero_and_full_availability() -> None:
    """A window without failures has RTO 0 and 100% availability."""
    samples = series("..........")
    figures = probe_figures("p", 1.0, samples, t0=0, end=10, windows=[window()], first=0.0)
    assert figures.recoveries[0].seconds == 0.0
    assert figures.availability == 100.0
    assert figures.downtime == 0.0


def test_single_outage_rto_is_time_to_first_passing_sample() -> None:
    """Down for samples 1..3: back at t=4, so RTO is 4s from a step at 0."""
    samples = series(".xxx......")
    result = recovery(window(), samples)
    assert result.seconds == 4.0
    assert result.recovered_by == "failover"
    figures = probe_figures("p", 1.0, samples, t0=0, end=10, windows=[window()], first=0.0)
    assert figures.availability == 70.0
    assert figures.downtime == 3.0


def test_flapping_counts_from_the_final_passing_run() -> None:
    """Up at t=3 then down again at t=5: recovery is the last run, starting at t=7."""
    assert recovery(window(), series("xxx..xx...")).seconds == 7.0


def test_never_recovered_gives_null_rto_and_zero_credit() -> None:
    """A window ending on a failed sample has RTO null, and an rto check gets credit 0."""
    result = recovery(window(), series("...xxxxxxx"))
    assert result.seconds is None
    assert result.recovered_by is None
    assert upper_bound_credit(None, 60.0) == 0.0


def test_recovery_only_after_restore_says_restore() -> None:
    """Zone restored at t=6 and service back at t=7: recoveredBy is restore."""
    result = recovery(window(restored_at=6.0), series("xxxxxxx..."))
    assert (result.seconds, result.recovered_by) == (7.0, "restore")


def test_recovery_before_restore_says_failover() -> None:
    """Service back at t=3 while the zone is restored only at t=6: failover."""
    assert recovery(window(restored_at=6.0), series("xxx.......")).recovered_by == "failover"


def test_rto_is_measured_from_the_step_start_not_the_grid() -> None:
    """A step that started at 0.4 with service back at 4.0 has RTO 3.6."""
    assert recovery(window(start=0.4), series("xxxx......")).seconds == pytest.approx(3.6)


def test_windows_end_at_the_next_lose_step() -> None:
    """Each lose step is judged only on samples inside its own window."""
    samples = series("xx...xxxx.")
    first = recovery(LoseWindow(0, "a", 0.0, 5.0, None), samples)
    second = recovery(LoseWindow(1, "b", 5.0, 10.0, None), samples)
    assert (first.seconds, second.seconds) == (2.0, 4.0)


def test_nearest_rank_percentiles() -> None:
    """Nearest rank: p50 of 1..10 is 5, p95 and p99 are 10, p10 is 1."""
    values = [float(v) for v in range(10, 0, -1)]
    assert nearest_rank(values, 50) == 5.0
    assert nearest_rank(values, 95) == 10.0
    assert nearest_rank(values, 99) == 10.0
    assert nearest_rank(values, 10) == 1.0
    assert nearest_rank([], 99) is None


def test_latency_percentiles_use_passed_samples_only() -> None:
    """Failed samples carry no latency and do not enter p50."""
    figures = probe_figures("p", 1.0, series("..x.."), t0=0, end=5, windows=[], first=0.0)
    assert figures.p50 == pytest.approx(0.02)
    assert figures.p99 == pytest.approx(0.05)


@pytest.mark.parametrize(
    ("observed", "target", "credit"),
    [
        (30.0, 60.0, 1.0),
        (60.0, 60.0, 1.0),
        (90.0, 60.0, 0.5),
        (120.0, 60.0, 0.0),
        (200.0, 60.0, 0.0),
    ],
)
def test_upper_bound_credit_at_and_past_target(
    observed: float, target: float, credit: float
) -> None:
    """1 within target, 2 - observed/target past it, never below 0."""
    assert upper_bound_credit(observed, target) == pytest.approx(credit)


@pytest.mark.parametrize(
    ("observed", "target", "credit"),
    [
        (99.5, 99.0, 1.0),
        (99.0, 99.0, 1.0),
        (98.5, 99.0, 0.5),
        (98.0, 99.0, 0.0),
        (90.0, 99.0, 0.0),
        (100.0, 100.0, 1.0),
        (99.99, 100.0, 0.0),
    ],
)
def test_availability_credit_by_error_budget(observed: float, target: float, credit: float) -> None:
    """Budget B = 100 - target, used U = 100 - observed; 100% is all or nothing."""
    assert availability_credit(observed, target) == pytest.approx(credit)


def test_score_is_weighted_and_rounded_to_one_decimal() -> None:
    """Score = 100 * sum(w*credit)/sum(w): (2*0.5 + 1*1 + 1*0)/4 = 50.0; 2/3 rounds to 66.7."""
    checks = [
        Check("a", "rto", 1, 1.5, 0.5, 2.0),
        Check("a", "availability", 99, 99, 1.0, 1.0),
        Check("b", "rto", 1, None, 0.0, 1.0),
    ]
    assert score(checks) == 50.0
    thirds = [
        Check("a", "rto", 1, 1, 1.0, 1.0),
        Check("a", "rto", 1, 1, 1.0, 1.0),
        Check("b", "rto", 1, None, 0.0, 1.0),
    ]
    assert score(thirds) == 66.7
    assert score([]) is None


def test_chaos_window_excludes_baseline_samples() -> None:
    """Only samples scheduled in [t0, end) count toward availability."""
    samples = series("xx........", start=0.0)
    figures = probe_figures("p", 1.0, samples, t0=2.0, end=10.0, windows=[], first=0.0)
    assert (figures.samples, figures.availability) == (8, 100.0)


def test_grid_boundaries_tolerate_float_noise() -> None:
    """A sample a hair before T0 (float noise) counts as in; one a hair before the end as out."""
    t0, end = 5.25, 35.25
    noisy = [
        Sample("p", 0, t0 - 1e-12, t0, True),
        Sample("p", 1, end - 1e-12, end, True),
        Sample("p", 2, t0 - 0.01, t0, True),
    ]
    assert [s.index for s in in_window(noisy, t0, end)] == [0]
    inside = probe_figures("p", 0.25, noisy, t0=t0, end=end, windows=[], first=0.0)
    assert inside.samples == 1
