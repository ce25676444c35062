"""Game-day summaries kept in the cluster (the kube target's results ConfigMap).

Written at the end of every kube game day; read by ``gate`` and ``history --from-cluster``.
"""

from __future__ import annotations

from orchestrator.errors import ClusterError, ZonedrillError
from orchestrator.results.gameday_result import GameDaySummary, add_summary, parse_summaries
from orchestrator.targets.port import ClusterOptions, ResultsStore
from orchestrator.targets.registry import open_cluster


async def cluster_summaries(options: ClusterOptions, gameday: str) -> list[GameDaySummary]:
    """The summaries the cluster keeps of game day ``gameday``, newest first."""
    port = await open_cluster("kube", options)
    try:
        if not isinstance(port, ResultsStore):
            raise ClusterError("the kube adapter keeps no game-day results")
        key = f"{gameday}.json"
        return parse_summaries(await port.read_results(key), source=f"zonedrill-results[{key}]")
    finally:
        await port.close()


async def record_summary(summary: GameDaySummary, options: ClusterOptions) -> list[str]:
    """Keep ``summary`` in the cluster; return a warning when that failed (never raise)."""
    key = f"{summary.gameday}.json"
    try:
        port = await open_cluster("kube", options)
    except ZonedrillError as exc:
        return [f"game day not recorded in the cluster: {exc}"]
    try:
        if not isinstance(port, ResultsStore):
            return ["game day not recorded in the cluster: the kube adapter keeps no results"]
        await port.update_results(key, lambda old: add_summary(old, summary, source=key))
    except ZonedrillError as exc:
        return [f"game day not recorded in the cluster: {exc}"]
    finally:
        await port.close()
    return []
