"""Game-day notifications (``spec.notify``): the summary POSTed as JSON to each webhook.

A notification never changes an outcome: a webhook that is down, slow or answers an error gives
a warning naming it, and the next webhook is still tried. Each webhook has NOTIFY_SECONDS in all,
however slowly it trickles its answer: the game day's end never waits on a chat server.
"""

from __future__ import annotations

import asyncio

import httpx

from orchestrator import __version__
from orchestrator.results.gameday_result import GameDayResult

NOTIFY_SECONDS = 10.0


async def notify(doc: GameDayResult, webhooks: list[str]) -> list[str]:
    """POST ``doc`` to every webhook; return a warning for each that did not take it."""
    body = doc.model_dump_json(by_alias=True).encode()
    headers = {"Content-Type": "application/json", "User-Agent": f"zonedrill/{__version__}"}
    warnings: list[str] = []
    if not webhooks:
        return warnings
    async with httpx.AsyncClient(timeout=NOTIFY_SECONDS, follow_redirects=False) as client:
        for url in webhooks:
            shown = shown_url(url)
            try:
                async with asyncio.timeout(NOTIFY_SECONDS):
                    answer = await client.post(url, content=body, headers=headers)
            except TimeoutError:
                warnings.append(
                    f"webhook {shown} not notified: no answer within {NOTIFY_SECONDS:g}s"
                )
                continue
            except httpx.HTTPError as exc:
                why = str(exc).replace(url, shown)
                warnings.append(f"webhook {shown} not notified: {type(exc).__name__}: {why}")
                continue
            if not answer.is_success:
                warnings.append(f"webhook {shown} not notified: it answered {answer.status_code}")
    return warnings


def shown_url(url: str) -> str:
    """Scheme, host and port only: a webhook's path and credentials are often its secret."""
    try:
        parsed = httpx.URL(url)
    except httpx.InvalidURL:
        return "(an invalid URL)"
    port = f":{parsed.port}" if parsed.port is not None else ""
    return f"{parsed.scheme}://{parsed.host}{port}/…"
