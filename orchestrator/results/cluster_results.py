"""Game-day summaries kept in the cluster (the kube target's results ConfigMap).

Written at the end of every game day on a cluster that outlives the run; read by ``gate`` and
``history --from-cluster``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from pydantic import Field, TypeAdapter, ValidationError

from orchestrator.errors import ClusterError, InvalidInputError, Problem, ZonedrillError
from orchestrator.results.document import ResultModel, Stamp
from orchestrator.results.gameday_result import (
    SUMMARIES_KEPT,
    GameDaySummary,
    add_summary,
    parse_summaries,
)
from orchestrator.targets.port import ResultsStore
from orchestrator.targets.registry import open_cluster, persistent_target


@dataclass(frozen=True)
class ClusterRecord:
    """What the cluster keeps of one game day: its summaries and its starts, newest first."""

    summaries: list[GameDaySummary]
    starts: list[ClusterStart]


async def cluster_record(settings: Mapping[str, Any], gameday: str) -> ClusterRecord:
    """The summaries and starts the cluster keeps of game day ``gameday``, read at once."""
    target = persistent_target(settings)
    port = await open_cluster(target, settings)
    try:
        if not isinstance(port, ResultsStore):
            raise ClusterError(f"the {target} target keeps no game-day results")
        summaries, starts = f"{gameday}.json", starts_key(gameday)
        return ClusterRecord(
            parse_summaries(await port.read_results(summaries), source=_where(summaries)),
            parse_starts(await port.read_results(starts), source=_where(starts)),
        )
    finally:
        await port.close()


def _where(key: str) -> str:
    return f"zonedrill-results[{key}]"


async def record_summary(
    summary: GameDaySummary, target: str, settings: Mapping[str, Any]
) -> list[str]:
    """Keep ``summary`` in the cluster; return a warning when that failed (never raise)."""
    key = f"{summary.gameday}.json"
    try:
        port = await open_cluster(target, settings)
    except ZonedrillError as exc:
        return [f"game day not recorded in the cluster: {exc}"]
    try:
        if not isinstance(port, ResultsStore):
            return [f"game day not recorded in the cluster: the {target} target keeps no results"]
        await port.update_results(key, lambda old: add_summary(old, summary, source=key))
    except ZonedrillError as exc:
        return [f"game day not recorded in the cluster: {exc}"]
    finally:
        await port.close()
    return []


class ClusterStart(ResultModel):
    """A game day as started on a cluster, kept before its first drill.

    A CronJob pod that is OOM-killed or evicted writes no summary: this is what tells the gate
    that the newest game day has no verdict, rather than letting the one before stand for it.
    """

    game_day_id: str = Field(min_length=1)
    trigger: str
    started_at: Stamp


_STARTS = TypeAdapter(list[ClusterStart])


def starts_key(gameday: str) -> str:
    """The results ConfigMap's key for a game day's starts (its summaries are ``NAME.json``)."""
    return f"{gameday}.started.json"


async def record_start(
    gameday: str, start: ClusterStart, target: str, settings: Mapping[str, Any]
) -> None:
    """Keep ``start`` in the cluster; raise when that failed (the game day must not begin)."""
    key = starts_key(gameday)
    port = await open_cluster(target, settings)
    try:
        if not isinstance(port, ResultsStore):
            raise ClusterError(f"the {target} target keeps no game-day results")
        await port.update_results(key, lambda old: _with_start(old, start, key))
    finally:
        await port.close()


def _with_start(text: str | None, start: ClusterStart, key: str) -> str:
    try:
        kept = parse_starts(text, source=key)
    except InvalidInputError:
        kept = []  # replaced rather than kept growing broken, as the summaries are
    return _STARTS.dump_json([start, *kept][:SUMMARIES_KEPT], by_alias=True).decode()


def parse_starts(text: str | None, *, source: str) -> list[ClusterStart]:
    """The starts kept under one key, newest first; a damaged list is refused (exit 2)."""
    if text is None:
        return []
    try:
        return _STARTS.validate_json(text)
    except ValidationError as exc:
        problem = Problem(source, None, None, "", f"not a list of game-day starts: {exc}")
        raise InvalidInputError([problem]) from None
