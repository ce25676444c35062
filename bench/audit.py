"""Counting a client's requests at the API server, from its audit log.

Every tool is counted the same way, by the server, whatever its own logging: each request is
one audit ID, attributed by its User-Agent (``zonedrill/``, ``kubectl/``, ``OpenAPI-Generator/``
for the Python client that chaostoolkit-kubernetes uses) and kept if the server received it
inside the timed window. Watches count once, like any other request.
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path


@dataclass
class Calls:
    """A client's requests in a window: by ``verb resource[/subresource]``, and its 429s."""

    by_kind: Counter[str] = field(default_factory=Counter)
    throttled: int = 0

    @property
    def total(self) -> int:
        """Every request."""
        return sum(self.by_kind.values())

    def breakdown(self, per: int) -> str:
        """``verb resource`` counts per ``per`` (pods), largest first, for the printed table."""
        return ", ".join(f"{kind} {count / per:.2f}" for kind, count in self.by_kind.most_common())


def count_calls(log: Path, *, agent: str, start: float, end: float) -> Calls:
    """Requests whose User-Agent starts with ``agent``, received in [start, end] (epoch s).

    A request may be logged at several stages (a watch at ResponseStarted and again at
    ResponseComplete): it counts once, and as throttled if any stage answered 429.
    """
    kinds: dict[str, str] = {}
    throttled: set[str] = set()
    with log.open(encoding="utf-8") as lines:
        for line in lines:
            event = json.loads(line)
            if not event.get("userAgent", "").startswith(agent):
                continue
            received = datetime.fromisoformat(event["requestReceivedTimestamp"]).timestamp()
            if not start <= received <= end:
                continue
            kinds[event["auditID"]] = _kind(event)
            if (event.get("responseStatus") or {}).get("code") == THROTTLED:
                throttled.add(event["auditID"])
    return Calls(by_kind=Counter(kinds.values()), throttled=len(throttled))


THROTTLED = 429


def _kind(event: dict[str, object]) -> str:
    ref = event.get("objectRef") or {}
    assert isinstance(ref, dict)
    resource = ref.get("resource", "(non-resource)")
    if ref.get("subresource"):
        resource = f"{resource}/{ref['subresource']}"
    return f"{event['verb']} {resource}"
