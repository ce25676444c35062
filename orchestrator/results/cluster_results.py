"""Game-day summaries kept in the cluster (the kube target's results ConfigMap).

Written at the end of every game day on a cluster that outlives the run; read by ``gate`` and
``history --from-cluster``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from orchestrator.errors import ClusterError, ZonedrillError
from orchestrator.results.gameday_result import GameDaySummary, add_summary, parse_summaries
from orchestrator.targets.port import ResultsStore
from orchestrator.targets.registry import open_cluster, persistent_target


async def cluster_summaries(settings: Mapping[str, Any], gameday: str) -> list[GameDaySummary]:
    """The summaries the cluster keeps of game day ``gameday``, newest first."""
    target = persistent_target(settings)
    port = await open_cluster(target, settings)
    try:
        if not isinstance(port, ResultsStore):
            raise ClusterError(f"the {target} target keeps no game-day results")
        key = f"{gameday}.json"
        return parse_summaries(await port.read_results(key), source=f"zonedrill-results[{key}]")
    finally:
        await port.close()


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
