"""No evidence, no pass (spec v1.1 §3).

Every exception is a failed sample, and a probe that recorded fewer than half its due samples
makes the run an error, never a score.
"""

from __future__ import annotations

import json
import subprocess
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest

from orchestrator.drill.http import HttpCheck, HttpProbe
from orchestrator.drill.model import Drill
from orchestrator.outcomes import Outcome
from orchestrator.probes import ProbeClient, ResolvedProbe, Transport, make_client
from orchestrator.probes.samples import Sample, due
from orchestrator.results.result import StepRecord, Timeline, derive
from orchestrator.targets.port import ServiceEndpoint
from tests.handmade import DRILL_SPEC, T0, talk_samples
from tests.support import ZONEDRILL, cli_env
from tests.test_probes import probe, run_probes


class Exploding(httpx.AsyncBaseTransport):
    """A transport that fails in a way no network error class covers."""

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        """Raise something unexpected."""
        raise RuntimeError("transport bug")


@pytest.mark.looptime
async def test_an_unexpected_exception_is_a_failed_sample_with_its_reason() -> None:
    """A RuntimeError while sending: every due sample is recorded, failed, with the reason."""
    samples = await run_probes([probe("p", "http://x/")], ProbeClient(Exploding()), seconds=10)
    assert len(samples) == 10
    assert {(s.passed, s.error, s.detail) for s in samples} == {
        (False, "error", "RuntimeError: transport bug")
    }


def unvalidated(headers: dict[str, str], every: float) -> ResolvedProbe:
    """A probe with ``headers`` forced past validation (as a bug or a future field might)."""
    http = HttpCheck.model_construct(
        url="http://127.0.0.1:9/",
        service=None,
        path="/",
        method="GET",
        headers=headers,
        timeout=None,
    )
    expect = probe("p", "http://x/").probe.expect
    return ResolvedProbe(
        HttpProbe.model_construct(name="p", http=http, every=every, expect=expect),
        ServiceEndpoint(url="http://127.0.0.1:9/"),
    )


@pytest.mark.looptime
async def test_a_request_that_cannot_be_built_fails_every_sample() -> None:
    """A non-ASCII header value: httpx cannot build the request; each sample fails, none is lost."""
    samples = await run_probes(
        [unvalidated({"X-A": "메시지"}, 1.0)], ProbeClient(Exploding()), seconds=5
    )
    assert len(samples) == 5
    assert all(not s.passed and "cannot be built" in (s.detail or "") for s in samples)


async def test_a_header_the_transport_refuses_fails_every_sample() -> None:
    """A CRLF header value through the real aiohttp transport: 10 failed samples in 1 s."""
    client = make_client(transport=Transport.AIOHTTP)
    samples = await run_probes([unvalidated({"X-A": "a\r\nInjected: 1"}, 0.1)], client, seconds=1.0)
    assert len(samples) == 10
    assert all(not s.passed and s.detail for s in samples), samples[0]


def handmade_run(
    samples: list[Sample], outcome: str = "graded"
) -> tuple[Outcome, str, float | None]:
    """Derive the handmade run's outcome, reason and score from ``samples``."""
    drill = Drill.model_validate(DRILL_SPEC)
    timeline = Timeline(
        datetime.now(UTC),
        T0 - 5.0,
        T0 - 0.25,
        T0,
        T0 + 30.0,
        T0 + 30.0,
        T0 + 30.0,
    )
    steps = [
        StepRecord(0, "lose", "pangyo", "power-loss", T0),
        StepRecord(1, "restore", "pangyo", None, T0 + 20),
    ]
    derived = derive(drill, samples, steps, timeline, outcome=outcome, reason="")
    return derived.outcome, derived.reason, derived.score


def test_half_the_due_samples_are_enough_evidence() -> None:
    """60 of 120 chaos samples recorded: the run is scored as usual."""
    passing = talk_samples(failing=0)
    kept = [s for s in passing if s.scheduled < T0 or s.index % 2 == 0]
    outcome, reason, score = handmade_run(kept)
    assert (outcome, reason) == (Outcome.PASSED, "")
    assert score == 100.0


@pytest.mark.parametrize("outcome", ["graded", "aborted"])
def test_fewer_than_half_the_due_samples_is_an_error_not_a_pass(outcome: str) -> None:
    """59 of 120 recorded, all passing: outcome error with the reason, and no score."""
    passing = talk_samples(failing=0)
    chaos = [s for s in passing if s.scheduled >= T0][:59]
    outcome_found, reason, score = handmade_run(
        [s for s in passing if s.scheduled < T0] + chaos, outcome
    )
    assert outcome_found is Outcome.ERROR
    assert "recorded 59 of the 120 samples due" in reason
    assert score is None


def test_a_probe_with_no_samples_at_all_is_an_error() -> None:
    """The case of issue 9: zero chaos samples never passes with score 100."""
    outcome, reason, score = handmade_run([s for s in talk_samples() if s.scheduled < T0])
    assert (outcome, score) == (Outcome.ERROR, None)
    assert "recorded 0 of the 120" in reason


@pytest.mark.parametrize(
    ("first", "every", "start", "end", "count"),
    [
        (0.25, 0.25, 5.25, 35.25, 120),
        (0.0, 1.0, 0.0, 10.0, 10),
        (5.0, 1.0, 0.0, 3.0, 0),
        (0.0, 0.1, 0.3, 0.6, 3),
    ],
)
def test_due_counts_grid_points_in_a_window(
    first: float, every: float, start: float, end: float, count: int
) -> None:
    """The grid points in [start, end), boundaries with the grid tolerance."""
    assert due(first, every, start=start, end=end) == count


def test_a_real_run_records_every_due_sample(tmp_path: Path) -> None:
    """The flagship's result says how many samples were due, and all of them were recorded."""
    done = subprocess.run(
        [*ZONEDRILL, "run", "drills/pangyo-drain-pdb.yaml", "--out", str(tmp_path / "r")],
        capture_output=True,
        text=True,
        env=cli_env(tmp_path / "state"),
        check=False,
    )
    result = json.loads((tmp_path / "r" / "result.json").read_text())
    assert done.returncode == 0, done.stdout
    assert all(p["samples"] == p["due"] > 0 for p in result["probes"]), result["probes"]
