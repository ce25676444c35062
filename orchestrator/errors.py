"""The one exception tree of zonedrill.

ZonedrillError
├── InvalidInputError        bad files or arguments; exit 2, nothing touched
├── SafetyRefusalError       zonedrill refuses to act and says why; exit 2
├── LockHeldError            another drill holds the target's lock; exit 4
├── UnrestoredRunError       a journal of an earlier run still has changes; exit 4
├── JournalError             the journal cannot be written; the run restores and exits 4
├── HistoryBusyError         the history stayed locked by a writer; exit 4, try again
├── ResultWriteError         the result cannot be written after the run; exit 4
└── ClusterError             the target failed us; exit 4
    ├── ClusterUnreachableError
    ├── ClusterNotFoundError
    ├── ClusterConflictError
    ├── ClusterForbiddenError
    └── EvictionBlockedError  a PodDisruptionBudget said "not now" (HTTP 429)
"""

from __future__ import annotations

from dataclasses import dataclass


class ZonedrillError(Exception):
    """Base of every error zonedrill raises on purpose."""


@dataclass(frozen=True)
class Problem:
    """One finding in an input file, located precisely enough to fix it."""

    file: str
    line: int | None
    column: int | None
    path: str
    message: str

    def __str__(self) -> str:
        where = self.file
        if self.line is not None:
            where += f":{self.line}:{self.column or 1}"
        field = f" {self.path}:" if self.path else ""
        return f"{where}:{field} {self.message}"


class InvalidInputError(ZonedrillError):
    """Input files or arguments are wrong; carries every problem found."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = problems
        super().__init__("\n".join(str(p) for p in problems))


class SafetyRefusalError(ZonedrillError):
    """zonedrill will not act because acting could do harm it cannot rule out."""


class LockHeldError(ZonedrillError):
    """Another drill is running against the same target."""


class UnrestoredRunError(ZonedrillError):
    """An earlier run left changes that were never restored."""


class JournalError(ZonedrillError):
    """The change journal cannot be written, so no further change may be made."""


class HistoryBusyError(ZonedrillError):
    """Another process kept the history database locked for too long."""


class ResultWriteError(ZonedrillError):
    """The run ended (and restored) but its result could not be written."""


class ClusterError(ZonedrillError):
    """The target cluster failed a request."""


class ClusterUnreachableError(ClusterError):
    """The target cannot be reached at all."""


class ClusterNotFoundError(ClusterError):
    """The object asked for does not exist (HTTP 404)."""


class ClusterConflictError(ClusterError):
    """The object changed under us (HTTP 409)."""


class ClusterForbiddenError(ClusterError):
    """The credentials lack a permission (HTTP 403); the message names verb and resource."""


class EvictionBlockedError(ClusterError):
    """An eviction was refused by a PodDisruptionBudget (HTTP 429)."""

    def __init__(self, message: str, *, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after
