"""Sampling while failing (spec §1.1 and §3, v1.1): RTO to the fast grid, time-weighted figures.

One real lab run of the flagship's lab with talk-api sampled every 1s and every 20ms while
failing; its true recovery is known (1s reschedule + 9s startup after the loss). ``verify``
accepts it as it is and refuses it with the fast grid forged.
"""

from __future__ import annotations

import json
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from ruamel.yaml import YAML

from orchestrator.cli import main
from orchestrator.probes.samples import Sample, read_samples
from orchestrator.results.scoring import time_weighted
from tests.handmade import rescored, write_run
from tests.support import REPO, zonedrill

FLAGSHIP = REPO / "drills" / "pangyo-battery-fire.yaml"
TRUE_RTO = 10.0
"""Seconds: talk-api, packed in pangyo, is back ``reschedule`` + ``startup`` after the loss."""


@pytest.fixture(scope="module")
def fast_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The run's folder: talk-api every 1s, whileFailing 20ms; pangyo lost for 12 of 15 s."""
    folder = tmp_path_factory.mktemp("while-failing")
    data = YAML(typ="safe").load(FLAGSHIP.read_text())
    spec = data["spec"]
    talk = spec["probes"][0]
    talk["every"], talk["whileFailing"] = "1s", "20ms"
    spec.update(baseline="1s", duration="15s", stopIf=[])
    spec["steps"][1]["at"] = "12s"
    (folder / "labs").symlink_to(FLAGSHIP.parent / "labs")
    drill = folder / "fast.yaml"
    drill.write_text(json.dumps(data))  # JSON is YAML
    done = zonedrill(folder / "state", "run", str(drill), "--out", str(folder / "run"))
    assert done.returncode == 1, done.stdout + done.stderr  # the flagship's talk-api fails
    return folder / "run"


def talk(run: Path) -> dict[str, Any]:
    """talk-api's figures in the run's result."""
    result = json.loads((run / "result.json").read_text())
    return next(p for p in result["probes"] if p["name"] == "talk-api")


def test_rto_is_as_precise_as_the_fast_grid(fast_run: Path) -> None:
    """RTO within the fast period (and the loop's lag) of the truth, not within 1 s."""
    figures = talk(fast_run)
    seconds = figures["rto"][0]["seconds"]
    assert TRUE_RTO - 0.02 <= seconds <= TRUE_RTO + 0.1, seconds
    samples, _ = read_samples(fast_run / "samples.jsonl")
    fast = [s for s in samples if s.probe == "talk-api" and s.burst is not None]
    # One fast grid, for the outage only: at most outage / 20ms + a couple past the recovery.
    assert len({s.index for s in fast}) == 1
    assert len(fast) <= seconds / 0.02 + 3
    # Time-weighted: down for the RTO (less the 1s grid's first failing point's lead).
    assert abs(figures["downtime"] - seconds) < 1.0 + 0.05


def test_verify_accepts_the_run(fast_run: Path) -> None:
    """Every figure recomputed from both grids matches."""
    done = CliRunner().invoke(main, ["verify", str(fast_run)])
    assert done.exit_code == 0, done.output


def _forged(samples: list[Sample]) -> list[Sample]:
    return [s for s in samples if s.probe == "talk-api" and s.burst is not None]


def _early_pass(samples: list[Sample]) -> list[Sample]:
    """A fast sample in the middle of the outage answered 200: availability bought."""
    middle = _forged(samples)[len(_forged(samples)) // 2]
    honest = replace(middle, passed=True, status=200, error=None, detail=None, latency=0.02)
    return [honest if s is middle else s for s in samples]


def _slow_pass(samples: list[Sample]) -> list[Sample]:
    """The early pass again, claiming an answer that took a day: its fast grid's end unchecked."""
    middle = _forged(samples)[len(_forged(samples)) // 2]
    slow = replace(middle, passed=True, status=200, error=None, detail=None, latency=86400.0)
    return [slow if s is middle else s for s in samples]


def _cut_short(samples: list[Sample]) -> list[Sample]:
    """The fast grid's last hundred points dropped, its passes too: less time down."""
    fast = _forged(samples)
    dropped = {id(s) for s in fast[-100:]}
    return [s for s in samples if id(s) not in dropped]


def _holed(samples: list[Sample]) -> list[Sample]:
    """Ten failing fast points dropped from the middle."""
    fast = _forged(samples)
    dropped = {id(s) for s in fast[100:110]}
    return [s for s in samples if id(s) not in dropped]


def _on_auth(samples: list[Sample]) -> list[Sample]:
    """A fast sample on auth-api, which does not sample while failing."""
    auth = next(s for s in samples if s.probe == "auth-api" and not s.burst)
    return [*samples, replace(auth, burst=1, scheduled=auth.scheduled + 0.02)]


@pytest.mark.parametrize(
    ("forge", "named"),
    [
        (_early_pass, "runs on after a pass"),
        (_slow_pass, "marked passed on a failed answer"),
        (_cut_short, "stops before a pass"),
        (_holed, "has holes"),
        (_on_auth, "auth-api has fast-grid samples but no whileFailing"),
    ],
    ids=["early-pass", "slow-pass", "cut-short", "holed", "fast-without-whileFailing"],
)
def test_verify_refuses_a_forged_fast_grid(
    fast_run: Path, tmp_path: Path, forge: Any, named: str
) -> None:
    """Each forgery with every figure rewritten to what the forged samples give."""
    samples, _ = read_samples(fast_run / "samples.jsonl")
    edited = forge(samples)
    document = json.loads((fast_run / "result.json").read_text())
    write_run(tmp_path / "run", rescored(document, edited), edited)
    done = CliRunner().invoke(main, ["verify", str(tmp_path / "run")])
    assert done.exit_code == 1, done.output
    assert named in done.output.replace("\n", " ")


def test_time_weighted_figures_equal_the_count_on_an_even_grid() -> None:
    """Spec §3: each sample stands until the next is due; on an even grid that is the count."""
    samples = [
        Sample("p", k, scheduled=0.5 * k, started=0.5 * k, passed=k not in (3, 4, 5))
        for k in range(20)
    ]
    availability, downtime = time_weighted(samples, 0.0, 10.0)
    assert (availability, downtime) == (85.0, 1.5)
    fast = [*samples[:4], Sample("p", 3, 1.52, 1.52, passed=True, burst=1), *samples[4:]]
    availability, downtime = time_weighted(sorted(fast, key=lambda s: s.scheduled), 0.0, 10.0)
    assert downtime == pytest.approx(1.5 - 0.48)


def test_an_abort_while_failing_ends_the_run_at_once_and_verifies(tmp_path: Path) -> None:
    """The guardrail example, sampled every 20ms while failing: aborted after 5 s down.

    The fast grid stops with the abort (it does not sample on to the end of the 40 s phase),
    and the aborted run, its fast grid cut short, verifies.
    """
    source = REPO / "drills" / "pangyo-guardrail-abort.yaml"
    data = YAML(typ="safe").load(source.read_text())
    data["spec"]["probes"][0]["whileFailing"] = "20ms"
    (tmp_path / "labs").symlink_to(source.parent / "labs")
    drill = tmp_path / "abort.yaml"
    drill.write_text(json.dumps(data))  # JSON is YAML
    started = time.monotonic()
    done = zonedrill(tmp_path / "state", "run", str(drill), "--out", str(tmp_path / "run"))
    took = time.monotonic() - started
    assert done.returncode == 3, done.stdout + done.stderr  # aborted by its guardrail
    assert took < 25, took  # 3 s baseline + 5 s down + restore, not the 40 s phase
    verified = CliRunner().invoke(main, ["verify", str(tmp_path / "run")])
    assert verified.exit_code == 0, verified.output
