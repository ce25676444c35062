"""Random zones (spec §1.1 v1.1): pick the zone of every ``lose: {anyOf: [...]}`` step.

The pick is made once, before preflight, from one seed, so that a run can be repeated exactly
(``--seed N``) and the result says which zone was lost. Everything after the pick sees a drill
whose steps all name their zone.
"""

from __future__ import annotations

import hashlib
import random
import secrets
from dataclasses import dataclass, field

from orchestrator.drill.model import AnyOf, Drill, SameAs, Step

SEED_BITS = 32
"""Fresh seeds stay small enough to type back in."""


@dataclass(frozen=True)
class ZonePicks:
    """The seed and, for each random step (by index), its candidates as written."""

    seed: int | None = None
    candidates: dict[int, tuple[str, ...]] = field(default_factory=dict)

    def note(self, index: int) -> str:
        """``, picked by seed 7 from pangyo, ansan`` for a random step, else nothing."""
        options = self.candidates.get(index)
        if options is None:
            return ""
        return f", picked by seed {self.seed} from {', '.join(options)}"


def drill_seed(seed: int, position: int) -> int:
    """The seed of the drill at ``position`` (from 0) of a game day seeded ``seed``.

    Each drill picks with its own seed, so that three "any site" drills do not lose the same
    site; the game day's seed alone still repeats every pick.
    """
    text = f"zonedrill game day {seed} drill {position}".encode()
    return int.from_bytes(hashlib.sha256(text).digest()[: SEED_BITS // 8], "big")


def is_random(drill: Drill) -> bool:
    """True when some step's zone is picked at random."""
    return any(isinstance(s.lose, AnyOf) for s in drill.spec.steps)


def pick_zones(drill: Drill, seed: int | None = None) -> tuple[Drill, ZonePicks]:
    """The drill with every zone named, and what was picked.

    A drill without random steps is returned as it is, with no seed.
    """
    if not is_random(drill):
        return drill, ZonePicks()
    chosen = secrets.randbits(SEED_BITS) if seed is None else seed
    rng = random.Random(chosen)  # noqa: S311 - repeatable picks, not secrets
    steps: list[Step] = []
    lost: set[str] = set()
    candidates: dict[int, tuple[str, ...]] = {}
    for index, step in enumerate(drill.spec.steps):
        zone = _zone_of(step, steps, lost, rng)
        if isinstance(step.lose, AnyOf):
            candidates[index] = tuple(step.lose.any_of)
        if step.is_lose:
            lost.add(zone)
            steps.append(step.model_copy(update={"lose": zone}))
        else:
            lost.discard(zone)
            steps.append(step.model_copy(update={"restore": zone}))
    spec = drill.spec.model_copy(update={"steps": steps})
    return drill.model_copy(update={"spec": spec}), ZonePicks(chosen, candidates)


def _zone_of(step: Step, done: list[Step], lost: set[str], rng: random.Random) -> str:
    if isinstance(step.lose, AnyOf):
        # Validation guarantees a free candidate; a zone already down cannot be lost again.
        free = [z for z in step.lose.any_of if z not in lost]
        return rng.choice(free)
    if isinstance(step.restore, SameAs):
        return done[step.restore.same_as].zone
    return step.zone
