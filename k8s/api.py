"""The one place that calls the Kubernetes API.

The official client is synchronous, so calls run in a thread pool; a token bucket keeps them
within ``qps`` (with a burst), the budget ``--qps`` sets. Every failure is translated by
``k8s.errors``. Every call has a timeout, so a stalled connection cannot hold a drill (or its
restore) past its deadlines, and a transient failure (a reset, a timeout, a 5xx, an API Priority
and Fairness 429) is retried a few times with backoff before it is raised.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, TypeVar

from kubernetes import client
from kubernetes.client.exceptions import ApiException
from urllib3.exceptions import HTTPError

from k8s.errors import translate
from k8s.target import DEFAULT_QPS
from orchestrator.errors import ClusterError, ClusterUnreachableError, EvictionBlockedError

T = TypeVar("T")
REQUEST_TIMEOUT = (5.0, 30.0)
"""Seconds to connect, and to wait between bytes of an answer."""
LIST_PAGE = 500
"""Items per page of a list, as kubectl asks: no one answer holds a whole large cluster."""
ATTEMPTS = 4
BACKOFF_FIRST = 0.25


@dataclass(frozen=True)
class ApiSettings:
    """How hard zonedrill may hit the API server."""

    qps: float = DEFAULT_QPS
    burst: int = 200
    workers: int = 64
    watchers: int = 256
    """Threads for watches (one per lost node, each blocked until its pods are gone): a pool of
    their own, so that a zone of many nodes never starves the calls, the Lease's among them."""

    @property
    def connections(self) -> int:
        """Connections to keep: one per thread, as watches hold theirs while they run."""
        return self.workers + self.watchers


class RateBudget:
    """A token bucket on the monotonic clock: ``qps`` tokens a second, at most ``burst`` saved."""

    def __init__(self, *, qps: float, burst: int) -> None:
        self.qps, self.burst = qps, burst
        self._tokens = float(burst)
        self._stamp = time.monotonic()
        self._lock = asyncio.Lock()

    async def take(self) -> None:
        """Wait for one token."""
        async with self._lock:
            now = time.monotonic()
            self._tokens = min(self.burst, self._tokens + (now - self._stamp) * self.qps)
            self._stamp = now
            if self._tokens < 1:
                await asyncio.sleep((1 - self._tokens) / self.qps)
                self._stamp = time.monotonic()
                self._tokens = 1.0
            self._tokens -= 1


class KubeApi:
    """Typed-enough access to the API groups zonedrill uses."""

    def __init__(self, api_client: client.ApiClient, settings: ApiSettings) -> None:
        self.api_client = api_client
        self.core: Any = client.CoreV1Api(api_client)
        self.coordination: Any = client.CoordinationV1Api(api_client)
        self.policy: Any = client.PolicyV1Api(api_client)
        self.version: Any = client.VersionApi(api_client)
        self._budget = RateBudget(qps=settings.qps, burst=settings.burst)
        self._pool = ThreadPoolExecutor(max_workers=settings.workers, thread_name_prefix="kube")
        self._watches = ThreadPoolExecutor(
            max_workers=settings.watchers, thread_name_prefix="kube-watch"
        )
        self.calls = 0

    async def call(
        self,
        function: Callable[..., T],
        *args: Any,
        verb: str,
        what: str,
        throttle_retry: bool = True,
        budgeted: bool = True,
        **kwargs: Any,
    ) -> T:
        """Run one API call in the pool, within the rate budget, with errors translated.

        Transient failures are retried up to ATTEMPTS times; a 429 only when
        ``throttle_retry`` (an eviction's 429 is a PodDisruptionBudget's answer, for the caller).
        Unbudgeted calls (the Lease's, one every few seconds) do not queue behind a drain.
        """
        kwargs.setdefault("_request_timeout", REQUEST_TIMEOUT)
        loop = asyncio.get_running_loop()
        delay = BACKOFF_FIRST
        for attempt in range(1, ATTEMPTS + 1):
            if budgeted:
                await self._budget.take()
            self.calls += 1
            try:
                return await loop.run_in_executor(self._pool, lambda: function(*args, **kwargs))
            except (ApiException, HTTPError, OSError) as exc:
                error = translate(exc, verb=verb, what=what)
                if attempt == ATTEMPTS or not _transient(error, throttle_retry=throttle_retry):
                    raise error from exc
            retry_after = error.retry_after if isinstance(error, EvictionBlockedError) else None
            await asyncio.sleep(retry_after or delay)
            delay *= 2
        raise AssertionError("unreachable")  # pragma: no cover - the loop returns or raises

    async def list_all(self, function: Callable[..., Any], *, what: str) -> list[Any]:
        """Every item of a list, LIST_PAGE at a time: each page one call within the budget."""
        return await self._paged(function, what, lambda page: (page.items, page.metadata._continue))

    async def list_json(self, function: Callable[..., Any], *, what: str) -> list[dict[str, Any]]:
        """As ``list_all``, but each item the API server's JSON (camelCase keys), no model.

        The client's models cost more to build than a page of pods takes to arrive: 12,000
        pods as models took a snapshot 13 s, most of it in deserialization.
        """

        def fetch(**kwargs: Any) -> Any:
            return json.loads(function(_preload_content=False, **kwargs).data)

        def split(page: dict[str, Any]) -> tuple[list[Any], str | None]:
            return page.get("items") or [], (page.get("metadata") or {}).get("continue")

        return await self._paged(fetch, what, split)

    async def _paged(
        self, function: Callable[..., Any], what: str, split: Callable[[Any], tuple[list[Any], Any]]
    ) -> list[Any]:
        items: list[Any] = []
        token: str | None = None
        while True:
            page = await self.call(
                function, verb="list", what=what, limit=LIST_PAGE, _continue=token
            )
            found, token = split(page)
            items.extend(found)
            if not token:
                return items

    async def stream(
        self, function: Callable[..., T], *args: Any, verb: str, what: str, **kwargs: Any
    ) -> T:
        """Run a long call (a watch) on the watch threads, without spending the budget per event.

        Its failures are translated as a call's are, so the core never sees the client's own.
        """
        loop = asyncio.get_running_loop()
        try:
            return await loop.run_in_executor(self._watches, lambda: function(*args, **kwargs))
        except (ApiException, HTTPError, OSError) as exc:
            raise translate(exc, verb=verb, what=what) from exc

    def close(self) -> None:
        """Stop the pool and the connection pool."""
        self._pool.shutdown(wait=False, cancel_futures=True)
        self._watches.shutdown(wait=False, cancel_futures=True)
        self.api_client.close()  # type: ignore[no-untyped-call]


def _transient(error: ClusterError, *, throttle_retry: bool) -> bool:
    if isinstance(error, EvictionBlockedError):
        return throttle_retry
    return isinstance(error, ClusterUnreachableError)
