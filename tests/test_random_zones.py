"""Random zones (spec §1.1 v1.1).

Picks repeat by seed, every seed gives a valid drill, and the result records the seed and the
zone lost.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from orchestrator.drill import load_drill
from orchestrator.drill.picks import pick_zones
from tests.support import zonedrill
from tests.test_validation import edit, problems_of

RANDOM = edit("lose: a}", "lose: {anyOf: [a, b]}}").replace("restore: a}", "restore: {sameAs: 0}}")


def drill_at(tmp_path: Path, text: str = RANDOM) -> Path:
    """Write a drill file and return its path."""
    path = tmp_path / "drill.yaml"
    path.write_text(text)
    return path


def test_one_seed_always_picks_the_same_zone(tmp_path: Path) -> None:
    """A seed repeats its pick; sameAs follows it; over seeds every candidate comes up."""
    drill = load_drill(drill_at(tmp_path))
    for seed in range(20):
        first, picks = pick_zones(drill, seed)
        again, _ = pick_zones(drill, seed)
        assert [s.zone for s in first.spec.steps] == [s.zone for s in again.spec.steps]
        assert picks.seed == seed
        assert first.spec.steps[1].zone == first.spec.steps[0].zone  # sameAs follows the pick
    zones = {pick_zones(drill, seed)[0].spec.steps[0].zone for seed in range(20)}
    assert zones == {"a", "b"}  # the seed does pick: both candidates come up


def test_a_fresh_seed_is_chosen_and_given_back(tmp_path: Path) -> None:
    """Without --seed a seed is drawn, and returned so the run can record it."""
    _, picks = pick_zones(load_drill(drill_at(tmp_path)))
    assert picks.seed is not None
    assert picks.candidates == {0: ("a", "b")}


def test_a_drill_without_random_steps_has_no_seed(tmp_path: Path) -> None:
    """A drill that names every zone is left alone and records no seed."""
    drill = load_drill(drill_at(tmp_path, edit("", "")))
    same, picks = pick_zones(drill, 5)
    assert same is drill
    assert picks.seed is None


def test_a_second_random_loss_never_picks_a_zone_already_down(tmp_path: Path) -> None:
    """Two open random losses never pick the same zone."""
    text = RANDOM.replace(
        "    b: {nodeSelector: {zone: b}}",
        "    b: {nodeSelector: {zone: b}}\n    c: {nodeSelector: {zone: c}}",
    ).replace("{at: 30s, restore: {sameAs: 0}}", "{at: 10s, lose: {anyOf: [a, b]}}")
    drill = load_drill(drill_at(tmp_path, text))
    for seed in range(30):
        picked, _ = pick_zones(drill, seed)
        assert picked.spec.steps[0].zone != picked.spec.steps[1].zone


@pytest.mark.parametrize(
    ("old", "new", "path", "words"),
    [
        (
            "lose: {anyOf: [a, b]}}",
            "lose: {anyOf: [a, x]}}",
            "spec.steps[0].lose.anyOf[1]",
            'no zone named "x"',
        ),
        (
            "restore: {sameAs: 0}}",
            "restore: a}",
            "spec.steps[1].restore",
            "restored with {sameAs: 0}",
        ),
        (
            "restore: {sameAs: 0}}",
            "restore: {sameAs: 1}}",
            "spec.steps[1].restore.sameAs",
            "earlier anyOf step",
        ),
        (
            "restore: {sameAs: 0}}",
            "lose: b}",
            "spec.steps[1].lose",
            "may be lost already by step 0",
        ),
        (
            "lose: {anyOf: [a, b]}}",
            "lose: {anyOf: [a, a]}}",
            "spec.steps[0].lose.anyOf",
            "listed twice",
        ),
        (
            "lose: {anyOf: [a, b]}}",
            "lose: {anyOf: []}}",
            "spec.steps[0].lose.anyOf",
            "at least 1 item",
        ),
    ],
)
def test_random_steps_that_some_seed_would_break_are_refused(
    tmp_path: Path, old: str, new: str, path: str, words: str
) -> None:
    """Validation counts a random step as losing any of its candidates."""
    assert old in RANDOM
    found = problems_of(tmp_path, RANDOM.replace(old, new))
    assert any(p.path == path and words in p.message for p in found), found


LAB_DRILL = """\
apiVersion: zonedrill/v1
kind: Drill
metadata: {name: random-site}
spec:
  lab: lab.yaml
  zones:
    pangyo: {nodeSelector: {zonedrill.io/power-zone: pangyo}}
    ansan: {nodeSelector: {zonedrill.io/power-zone: ansan}}
    gasan: {nodeSelector: {zonedrill.io/power-zone: gasan}}
  probes:
    - {name: api, http: {service: {namespace: m, name: api}}, every: 100ms}
  baseline: 1s
  duration: 2s
  steps:
    - {at: 0s, lose: {anyOf: [pangyo, ansan, gasan]}}
    - {at: 1s, restore: {sameAs: 0}}
  targets:
    - {probe: api, availability: "50%"}
"""
LAB = """\
apiVersion: zonedrill/v1
kind: Lab
metadata: {name: three}
spec:
  zones:
    pangyo: {nodes: 1, podsPerNode: 4}
    ansan: {nodes: 1, podsPerNode: 4}
    gasan: {nodes: 1, podsPerNode: 4}
  services:
    - {name: api, namespace: m, replicas: 3, spread: zones, reschedule: 1s, startup: 1s}
"""


def lab_drill(tmp_path: Path) -> Path:
    """A short random-zone drill on a three-site lab."""
    (tmp_path / "lab.yaml").write_text(LAB)
    return drill_at(tmp_path, LAB_DRILL)


def test_the_result_records_the_seed_and_the_zone_lost(tmp_path: Path) -> None:
    """The run's result names the seed, the zone and the candidates, and verifies."""
    drill = lab_drill(tmp_path)
    expected, _ = pick_zones(load_drill(drill), 11)
    zone = expected.spec.steps[0].zone
    done = zonedrill(
        tmp_path / "state",
        "run",
        str(drill),
        "--seed",
        "11",
        "--out",
        str(tmp_path / "run"),
        "--json",
    )
    assert done.returncode in (0, 1), done.stderr
    result = json.loads(done.stdout)
    assert result["seed"] == 11
    assert [(s["action"], s["zone"]) for s in result["steps"]] == [
        ("lose", zone),
        ("restore", zone),
    ]
    assert result["steps"][0]["pickedFrom"] == ["pangyo", "ansan", "gasan"]
    assert f"lose {zone} (power-loss), picked by seed 11 from pangyo, ansan, gasan" in done.stderr
    verified = zonedrill(tmp_path / "state", "verify", str(tmp_path / "run"))
    assert verified.returncode == 0, verified.stdout + verified.stderr


def test_plan_shows_every_candidate(tmp_path: Path) -> None:
    """plan names the pick and every candidate."""
    done = zonedrill(tmp_path / "state", "plan", str(lab_drill(tmp_path)), "--seed", "4")
    assert done.returncode == 0, done.stderr
    assert "picked by seed 4 from pangyo, ansan, gasan" in done.stdout
