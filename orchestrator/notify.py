"""Game-day notifications (``spec.notify``): the summary POSTed as JSON to each webhook.

A notification never changes an outcome: a webhook that is down, slow or answers an error gives
a warning naming it, and the next webhook is still tried.
"""

from __future__ import annotations

import httpx

from orchestrator import __version__
from orchestrator.gameday_result import GameDayResult

NOTIFY_TIMEOUT = 10.0
"""Seconds one webhook may take; a game day's end should not wait long on a chat server."""


def notify(doc: GameDayResult, webhooks: list[str]) -> list[str]:
    """POST ``doc`` to every webhook; return a warning for each that did not take it."""
    body = doc.model_dump_json(by_alias=True).encode()
    headers = {
        "Content-Type": "application/json",
        "User-Agent": f"zonedrill/{__version__}",
    }
    warnings = []
    with httpx.Client(timeout=NOTIFY_TIMEOUT, follow_redirects=False) as client:
        for url in webhooks:
            try:
                answer = client.post(url, content=body, headers=headers)
            except httpx.HTTPError as exc:
                warnings.append(f"webhook {url} not notified: {type(exc).__name__}: {exc}")
                continue
            if not answer.is_success:
                warnings.append(f"webhook {url} not notified: it answered {answer.status_code}")
    return warnings
