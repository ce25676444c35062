"""plan shows the whole drill, and still shows it, the refusal marked, when safety refuses.

Every step at its time, the automatic restore, the probes and the run's length.
"""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from orchestrator.cli import main
from tests.support import REPO

FLAGSHIP = REPO / "drills" / "pangyo-battery-fire.yaml"


def plan(tmp_path: Path, drill: Path, *args: str) -> tuple[int, str]:
    """``zonedrill plan DRILL ARGS`` in process: exit code and standard output."""
    done = CliRunner().invoke(
        main, ["plan", str(drill), *args], env={"ZONEDRILL_STATE_DIR": str(tmp_path)}
    )
    return done.exit_code, done.stdout


def without_restore(tmp_path: Path, **replace: str) -> Path:
    """The flagship with its restore step dropped (and other text replaced), next to its lab."""
    text = FLAGSHIP.read_text().replace("    - {at: 20s, restore: pangyo}\n", "")
    for old, new in replace.items():
        text = text.replace(old, new)
    drill = tmp_path / "drill.yaml"
    drill.write_text(text)
    (tmp_path / "labs").symlink_to(FLAGSHIP.parent / "labs")
    return drill


THEN_ANSAN = {
    "  steps:\n    - {at: 0s, lose: pangyo, mode: power-loss}\n": (
        "  steps:\n    - {at: 0s, lose: pangyo, mode: power-loss}\n"
        "    - {at: 10s, lose: ansan, mode: power-loss}\n"
    ),
    "maxNodeFraction: 0.5": "maxNodeFraction: 0.8",
}
"""Replacements that make the flagship lose pangyo, then ansan (6 of 8 nodes)."""


def test_plan_lists_every_moment_probe_and_the_length(tmp_path: Path) -> None:
    """Loses and restores at their times, each probe with where, how often and its targets."""
    code, out = plan(tmp_path, FLAGSHIP)
    assert code == 0
    lines = out.splitlines()
    assert "  T-    5s  baseline: every probe must pass" in lines
    assert "  T+    0s  step 0: lose pangyo (power-loss)" in lines
    assert "  T+   20s  step 1: restore pangyo" in lines
    assert (
        "  talk-api: GET service messaging/talk-api:80/healthz every 250ms; "
        "RTO ≤ 5s; availability ≥ 99.00 %; p99 ≤ 200ms"
    ) in lines
    assert "expected length: 35s (baseline and chaos phase), then restore" in lines


def test_plan_shows_the_automatic_restore_at_the_end(tmp_path: Path) -> None:
    """A zone still lost when the chaos phase ends is restored then; the plan says so."""
    code, out = plan(tmp_path, without_restore(tmp_path), "-o", "json")
    assert code == 0
    timeline = json.loads(out)["timeline"]
    assert {
        "atSeconds": 30.0,
        "action": "restore-all",
        "what": "restore pangyo (automatic)",
    } in timeline


def test_a_refused_plan_is_still_shown_with_the_refusal(tmp_path: Path) -> None:
    """maxNodeFraction refuses the drill: exit 2, and the plan is there with the refusal marked."""
    drill = without_restore(tmp_path, **{"maxNodeFraction: 0.5": "maxNodeFraction: 0.1"})
    code, out = plan(tmp_path, drill)
    assert code == 2
    assert "step 0: lose pangyo (power-loss)" in out
    assert "refused: step 0 would have 3 of 8 nodes lost" in out
    code, out = plan(tmp_path, drill, "-o", "json")
    assert code == 2
    assert json.loads(out)["refused"][0].startswith("step 0 would have 3 of 8 nodes lost")


def test_a_later_step_counts_the_pods_that_moved_into_its_zone(tmp_path: Path) -> None:
    """Pangyo's replacements land in ansan and gasan; losing ansan next hits them too.

    Pangyo holds 6 pods, ansan 2. Replacements go round-robin over the 5 nodes still up
    (ansan's 3, gasan's 2), so ansan is expected to hold 2 + 4 when step 1 starts (a lab run
    of this drill deletes 7 there; the plan before this forecast said 2).
    """
    drill = without_restore(
        tmp_path,
        **THEN_ANSAN,
    )
    code, out = plan(tmp_path, drill, "-o", "json")
    assert code == 0, out
    steps = json.loads(out)["steps"]
    assert [(s["zone"], s["pods"], s["movedIn"]) for s in steps] == [
        ("pangyo", 6, 0),
        ("ansan", 6, 4),
    ]


def test_a_zone_lost_again_holds_no_negative_count(tmp_path: Path) -> None:
    """Lose pangyo, restore it, lose it again: its pods left at the first loss and stay away."""
    drill = without_restore(
        tmp_path,
        **{
            "  steps:\n    - {at: 0s, lose: pangyo, mode: power-loss}\n": (
                "  steps:\n    - {at: 0s, lose: pangyo, mode: power-loss}\n"
                "    - {at: 10s, restore: pangyo}\n"
                "    - {at: 15s, lose: pangyo, mode: power-loss}\n"
            ),
        },
    )
    code, out = plan(tmp_path, drill, "-o", "json")
    assert code == 0, out
    steps = json.loads(out)["steps"]
    assert [(s["pods"], s["movedIn"]) for s in steps] == [(6, 0), (0, 0)]


def test_workers_outside_every_zone_take_replacements_too(tmp_path: Path) -> None:
    """A drill naming only pangyo and ansan: gasan's nodes still take pangyo's replacements.

    Six replacements round-robin over gasan's 2 nodes and ansan's 3: 3 land in ansan (all 6
    would, if only the drill's zones were counted).
    """
    drill = without_restore(
        tmp_path,
        **{
            "    gasan:  {nodeSelector: {zonedrill.io/power-zone: gasan}}\n": "",
            **THEN_ANSAN,
        },
    )
    code, out = plan(tmp_path, drill, "-o", "json")
    assert code == 0, out
    ansan = json.loads(out)["steps"][1]
    assert (ansan["pods"], ansan["movedIn"]) == (5, 3)
