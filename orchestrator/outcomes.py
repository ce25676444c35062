"""How every command ends: the outcomes of runs and game days, and the one table of exit codes.

Spec §5 gives ``run``'s codes; every other command uses the same numbers for the same meanings,
and every error zonedrill raises maps onto them through ``exit_for``.
"""

from __future__ import annotations

from enum import IntEnum, StrEnum
from typing import Literal

from orchestrator.errors import InvalidInputError, SafetyRefusalError, ZonedrillError


class Exit(IntEnum):
    """Exit codes, one meaning each, whatever the command."""

    OK = 0
    """Passed: a drill, a game day, a gate, a check."""
    FAILED = 1
    """Targets missed, or a gate or check said no."""
    INVALID = 2
    """Input zonedrill cannot use, or a safety refusal; nothing was touched."""
    STOPPED = 3
    """Aborted (a signal, a guardrail, a lost lock) or not steady before the fault."""
    ERROR = 4
    """zonedrill or the cluster failed; whether the cluster was restored is printed."""


class Outcome(StrEnum):
    """How a run ended."""

    PASSED = "passed"
    FAILED = "failed"
    ABORTED = "aborted"
    NOT_STEADY = "not-steady"
    ERROR = "error"

    @property
    def exit_code(self) -> Exit:
        """The exit code of ``run`` (and of ``gameday run``) for this outcome."""
        return EXIT_CODES[self]

    @property
    def scored(self) -> bool:
        """False for runs not scored (spec §3: score null): an abort cut its RTO windows short."""
        return self in (Outcome.PASSED, Outcome.FAILED)


EXIT_CODES = {
    Outcome.PASSED: Exit.OK,
    Outcome.FAILED: Exit.FAILED,
    Outcome.ABORTED: Exit.STOPPED,
    Outcome.NOT_STEADY: Exit.STOPPED,
    Outcome.ERROR: Exit.ERROR,
}

GRADED = "graded"
"""Where the phases end when the drill ran to its end: the targets then say passed or failed."""

DrillOutcome = Literal["passed", "failed", "aborted", "not-steady", "error"]
"""An Outcome as written in files (a game day's ``continueAfter``)."""

GameDayOutcome = Literal["passed", "failed", "aborted", "error"]
"""A game day's outcome: a drill that was not steady stops it as aborted."""


def exit_for(exc: ZonedrillError) -> Exit:
    """The exit code for an error: 2 for input and safety refusals, 4 for everything else."""
    if isinstance(exc, InvalidInputError | SafetyRefusalError):
        return Exit.INVALID
    return Exit.ERROR
