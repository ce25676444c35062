"""Result integrity (spec v1.1 §4): forged results are refused, verify recomputes every figure."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from orchestrator.cli import main
from orchestrator.probes.samples import Sample
from tests.handmade import (
    DRILL_SPEC,
    graded_document,
    rescored,
    result_document,
    talk_samples,
    write_run,
)
from tests.test_gate import gate, stamp


def passed(**changes: Any) -> dict[str, Any]:
    """A consistent passed result, one hour old, with ``changes``."""
    return (
        graded_document(
            "run-ok",
            "10s",
            startedAt=stamp(timedelta(hours=1, minutes=1)),
            endedAt=stamp(timedelta(hours=1)),
        )
        | changes
    )


TIMELINE: dict[str, float] = result_document()["timeline"]
PROBE: dict[str, Any] = result_document()["probes"][0]


def failed_check() -> dict[str, Any]:
    """A check with no credit."""
    return {**passed()["checks"][0], "credit": 0.0, "passed": False}


FORGED = [
    ("score 150", {"score": 150.0}, "score"),
    ("score NaN", {"score": float("nan")}, "score"),
    ("score as text", {"score": "100"}, "score"),
    ("passed with a failed check", {"checks": [failed_check()], "score": 0.0}, "failed checks"),
    ("passed without checks", {"checks": [], "score": None}, "no checks"),
    ("passed without probes", {"probes": []}, "no probes"),
    ("ended in 2099", {"endedAt": "2099-01-01T00:00:00.000Z"}, "in the future"),
    ("ended before it started", {"endedAt": "2020-01-01T00:00:00.000Z"}, "before startedAt"),
    ("restored as text", {"restored": "yes"}, "restored"),
    ("naive date", {"endedAt": "2026-11-25T10:00:00"}, "timezone"),
    ("score against its checks", {"checks": [failed_check()] * 2, "outcome": "failed"}, "follow"),
    ("a check dropped", {"checks": []}, "no checks"),
    ("samples file elsewhere", {"samplesFile": "gone.jsonl"}, "samplesFile"),
    ("year 1", {"startedAt": "0001-01-01T00:30:00+01:00"}, "UTC"),
    ("timeline moved", {"timeline": {**TIMELINE, "t0": TIMELINE["t0"] + 12}}, "t0 - baselineEnd"),
    ("chaos shortened", {"timeline": {**TIMELINE, "chaosEnd": -1e308}}, "chaosEnd - t0"),
    ("too few samples", {"probes": [{**PROBE, "samples": 3, "passed": 3}]}, "fewer than half"),
]


@pytest.mark.parametrize(("case", "changes", "words"), FORGED, ids=[f[0] for f in FORGED])
def test_gate_refuses_forged_results_with_exit_2(
    tmp_path: Path, case: str, changes: dict[str, Any], words: str
) -> None:
    """Each forged or inconsistent result: exit 2 and the reason, never a pass."""
    folder = tmp_path / "run"
    folder.mkdir()
    write_run(folder, passed())
    (folder / "result.json").write_text(json.dumps(passed(**changes)))
    code, output = gate(tmp_path, str(folder), "--min-score", "90")
    assert code == 2, f"{case}: {output}"
    assert words in output, output


def test_a_probe_dropped_with_its_checks_is_refused(tmp_path: Path) -> None:
    """A result missing a probe (and so its checks) the drill has: exit 2."""
    spec = result_document()["drillSpec"]
    two = {
        **spec,
        "spec": {
            **spec["spec"],
            "probes": [
                *spec["spec"]["probes"],
                {"name": "auth-api", "http": {"url": "http://127.0.0.1:9/"}, "every": "250ms"},
            ],
        },
    }
    folder = tmp_path / "run"
    write_run(folder, passed(drillSpec=two))
    code, output = gate(tmp_path, str(folder))
    assert code == 2, output
    assert "not the drill's" in output


def test_the_consistent_result_passes_the_gate(tmp_path: Path) -> None:
    """The base of every forged case passes, so each refusal above is the forgery's doing."""
    code, output = gate(tmp_path, str(write_run(tmp_path / "run", passed())), "--min-score", "90")
    assert code == 0, output


def test_json_nested_100000_deep_is_refused(tmp_path: Path) -> None:
    """A document nested 100,000 deep is an input error, not a RecursionError."""
    bad = tmp_path / "result.json"
    bad.write_text("[" * 100_000 + "]" * 100_000)
    code, output = gate(tmp_path, str(bad))
    assert code == 2, output
    assert "Traceback" not in output


def test_samples_that_do_not_match_the_digest_are_refused(tmp_path: Path) -> None:
    """A sample flipped after the fact: the gate refuses the run (exit 2)."""
    path = write_run(tmp_path / "run", passed())
    samples = tmp_path / "run" / "samples.jsonl"
    samples.write_text(samples.read_text().replace('"passed":false', '"passed":true', 1))
    code, output = gate(tmp_path, str(path))
    assert (code, "samplesDigest" in output) == (2, True)


def verify(folder: Path) -> tuple[int, str]:
    """Run ``zonedrill verify`` in process."""
    done = CliRunner().invoke(main, ["verify", str(folder)])
    return done.exit_code, done.output


def test_verify_matches_an_honest_result(tmp_path: Path) -> None:
    """The hand-built run (computed by hand in tests/handmade.py) verifies."""
    write_run(tmp_path / "run", result_document())
    code, output = verify(tmp_path / "run")
    assert code == 0, output
    assert "matches its 141 samples" in output
    done = CliRunner().invoke(main, ["verify", str(tmp_path / "run"), "-o", "json"])
    document = json.loads(done.stdout)
    assert (done.exit_code, document["kind"], document["matches"]) == (0, "VerifyResult", True)
    assert (document["samples"], document["differences"], document["signed"]) == (141, [], None)


@pytest.mark.parametrize(
    ("edit", "field"),
    [
        (lambda d: d["probes"][0].update(availability=99.0), "probes[0].availability"),
        (lambda d: d["checks"][0].update(observed=4.0), "checks[0].observed"),
        (lambda d: d["probes"][0]["rto"][0].update(seconds=1.0), "probes[0].rto[0].seconds"),
    ],
    ids=["availability", "check", "rto"],
)
def test_verify_names_each_field_that_differs(tmp_path: Path, edit: Any, field: str) -> None:
    """An edited figure: exit 1 and the field named with both values."""
    document = result_document()
    edit(document)
    write_run(tmp_path / "run", document)
    code, output = verify(tmp_path / "run")
    assert code == 1, output
    assert f"differs: {field}: stored" in output


def test_verify_names_a_digest_mismatch_and_the_figures_it_moves(tmp_path: Path) -> None:
    """A flipped sample: the digest and the passed count differ."""
    write_run(tmp_path / "run", result_document())
    samples = tmp_path / "run" / "samples.jsonl"
    samples.write_text(samples.read_text().replace('"passed":false', '"passed":true', 1))
    code, output = verify(tmp_path / "run")
    assert code == 1
    assert "samplesDigest" in output
    assert "probes[0].passed: stored 80, recomputed 81" in output


def test_verify_finds_a_timeline_moved_with_the_samples_grid(tmp_path: Path) -> None:
    """Every phase moved 12 s later (consistent with the drill): the samples are off its grid."""
    moved = {key: value + 12 for key, value in TIMELINE.items()}
    write_run(tmp_path / "run", result_document(timeline=moved))
    code, output = verify(tmp_path / "run")
    assert code == 1, output
    assert "scheduled off the drill's grid" in output


def test_verify_refuses_samples_of_the_wrong_type(tmp_path: Path) -> None:
    """``"passed": "false"`` is not a pass: the samples cannot be read, exit 2."""
    write_run(tmp_path / "run", result_document())
    samples = tmp_path / "run" / "samples.jsonl"
    samples.write_text(samples.read_text().replace('"passed":false', '"passed":"false"', 1))
    code, output = verify(tmp_path / "run")
    assert code == 2, output
    assert "passed 'false' is not a valid value" in output


def test_verify_exits_2_when_files_cannot_be_read(tmp_path: Path) -> None:
    """No result, or samples gone: exit 2."""
    assert verify(tmp_path / "nothing")[0] == 2
    write_run(tmp_path / "run", result_document())
    (tmp_path / "run" / "samples.jsonl").unlink()
    assert verify(tmp_path / "run")[0] == 2


@pytest.mark.parametrize("command", [["gate"], ["report"], ["verify"]])
def test_dev_zero_is_refused_by_every_reader(command: list[str]) -> None:
    """/dev/zero as a result: exit 2 at once, never read into memory."""
    done = CliRunner().invoke(main, [*command, "/dev/zero"])
    assert done.exit_code == 2, done.output
    assert "not a regular file" in done.output


def _dropped_outage(samples: list[Sample]) -> list[Sample]:
    """The outage's failed samples gone: two thirds of the chaos phase is still "enough"."""
    return [s for s in samples if s.passed]


def _repeated(samples: list[Sample]) -> list[Sample]:
    """One passing sample written eight times under one index, the failures removed."""
    passing = next(s for s in samples if s.passed)
    kept = [s for s in samples if s.passed and s.index != passing.index]
    return [*kept, *[passing] * 8]


def _passed_on_503(samples: list[Sample]) -> list[Sample]:
    """Failed samples relabelled passed, their own status and error left saying otherwise."""
    return [
        replace(s, passed=True, status=503, error="status", latency=0.001) if not s.passed else s
        for s in samples
    ]


STEPS: list[dict[str, Any]] = result_document()["steps"]


def _forged_steps(*changes: dict[str, Any]) -> dict[str, Any]:
    """``steps`` with each step's fields changed; an empty change deletes that step."""
    return {"steps": [s | c for s, c in zip(STEPS, changes, strict=True) if c != {"gone": True}]}


def _outage_in_baseline(samples: list[Sample]) -> list[Sample]:
    """The outage moved before T0: chaos samples all answer, the first baseline ones fail."""
    answered = [
        replace(s, passed=True, status=200, error=None, latency=0.02) if not s.passed else s
        for s in samples
    ]
    return [
        replace(s, passed=False, status=None, error="refused", latency=None) if s.index < 8 else s
        for s in answered
    ]


def _slow_probes() -> dict[str, Any]:
    """The drill as run with its probes' timeouts raised to 30 s, as if rounds could be long."""
    spec = DRILL_SPEC["spec"]
    probes = [{**p, "http": {**p["http"], "timeout": "30s"}} for p in spec["probes"]]
    return {**DRILL_SPEC, "spec": {**spec, "probes": probes}}


FRAMING_FORGERIES = [
    ({"drill": "other"}, None, "drill: stored 'other', drillSpec is"),
    ({"runner": "chaostoolkit"}, _dropped_outage, "samples: talk-api unasked from 5.250 to 15"),
    (
        {
            "runner": "chaostoolkit",
            "drillSpec": _slow_probes(),
            "timeline": {**TIMELINE, "baselineStart": -29.75, "baselineEnd": -24.75},
        },
        _dropped_outage,
        "talk-api unasked from 5.250 to 15.250 s, longer than a round (1.50 s)",
    ),
    ({"timeline": {**TIMELINE, "figuresEnd": TIMELINE["t0"] + 0.2}}, None, "figuresEnd: stored"),
    ({}, _dropped_outage, "samples: talk-api lacks indices"),
    ({}, _repeated, "samples: talk-api has indices recorded twice"),
    ({}, _passed_on_503, "marked passed on a failed answer"),
    (_forged_steps({"offset": 9.0}, {}), None, "steps[0].offset: 9.0, due at 0.0"),
    (_forged_steps({"gone": True}, {}), None, "steps: taken as [1], not the drill's steps"),
    (_forged_steps({"zone": "ansan"}, {}), None, "lose ansan (power-loss) where the drill's"),
    ({"runner": "chaostoolkit", "target": "lab2"}, _dropped_outage, "talk-api unasked from 5.250"),
    ({}, _outage_in_baseline, "samples: 8 failed in the baseline of a passed run"),
    ({"cluster": {"identity": "kube/https://10.0.0.1", "uid": None}}, None, "not a lab cluster"),
]
"""Issue 19's forgeries of a failed run: an edit, the samples it goes with, what verify names."""


@pytest.mark.parametrize(
    ("changes", "samples", "named"),
    FRAMING_FORGERIES,
    ids=[
        "renamed",
        "runner",
        "runner-with-long-timeouts",
        "figures-end",
        "dropped",
        "repeated",
        "passed-on-503",
        "step-moved",
        "step-deleted",
        "zone-swapped",
        "runner-on-unknown-target",
        "outage-in-baseline",
        "cluster-of-another-target",
    ],
)
def test_verify_and_gate_refuse_each_forgery_of_framing_or_samples(
    tmp_path: Path, changes: dict[str, Any], samples: Any, named: str
) -> None:
    """Each forgery with the figures rewritten to what verify recomputes: neither passes it.

    The failed run (RTO 10 s against a 5 s target) rescored from the forged samples reads as a
    pass in every figure, so only the framing and sample checks stand between it and the gate.
    """
    edited = samples(talk_samples()) if samples else talk_samples()
    document = rescored(graded_document("run-forged", "5s", **changes), edited)
    write_run(tmp_path / "run", document, edited)
    code, output = verify(tmp_path / "run")
    assert code == 1, output
    assert named in output.replace("\n", " ")
    assert document["outcome"] == "passed" or not samples  # the forged samples read as a pass
    code, output = gate(tmp_path, str(tmp_path / "run"), "--require-outcome", "passed")
    assert code == 1, output
    assert "does not verify: " in output
