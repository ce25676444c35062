"""The ``prometheus`` probe kind: one instant query a sample, judged by its one value.

Failing closed is the point of this kind: an empty answer fails unless the drill says
``noData: pass``, more than one series fails as ambiguous, and NaN, ±Inf, an error answer, a
status of 4xx or 5xx or an answer that is not Prometheus's JSON each fail with their reason.
Network failures are classed as for http probes.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from typing import Any
from urllib.parse import urlencode

import httpx

from orchestrator.drill.prometheus import PrometheusProbe, PromExpect
from orchestrator.probes.grid import SampleOf, why
from orchestrator.probes.http import Connections, Exchange, ProbeClient, answered
from orchestrator.probes.samples import Sample

QUERY_PATH = "/api/v1/query"
SHOWN = 120
"""Characters of an error answer or a series list kept in a sample's detail."""
HTTP_CLIENT_ERROR = 400

Verdict = tuple[str, str] | None
"""None when the answer passes, else the failure class and what was seen."""


def _scalar(result: Any) -> list[tuple[str, Any]]:
    """A scalar's one value (``[time, "value"]``)."""
    return [("scalar", result[1])]


def _vector(result: Any) -> list[tuple[str, Any]]:
    """Each series of an instant vector, with its labels as PromQL writes them."""
    return [(_labels(series["metric"]), series["value"][1]) for series in result]


def _not_instant(kind: str) -> Callable[[Any], list[tuple[str, Any]]]:
    def refuse(_: Any) -> list[tuple[str, Any]]:
        message = f"the query returned a {kind}; expected an instant vector or a scalar"
        raise ValueError(message)

    return refuse


RESULT_TYPES: dict[str, Callable[[Any], list[tuple[str, Any]]]] = {
    "scalar": _scalar,
    "vector": _vector,
    "matrix": _not_instant("range vector"),
    "string": _not_instant("string"),
}
"""How each of the API's result types gives its (series, value) pairs."""


def _labels(metric: dict[str, str]) -> str:
    return "{" + ", ".join(f"{key}={json.dumps(value)}" for key, value in metric.items()) + "}"


def judge(expect: PromExpect, status: int, content: bytes | str) -> Verdict:
    """The verdict on one answer of the query API: its HTTP status and body."""
    try:
        answer = json.loads(content)
    except (ValueError, RecursionError) as exc:
        if status >= HTTP_CLIENT_ERROR:
            return "status", f"status {status}"
        return "answer", f"not Prometheus's JSON: {why(exc)}"
    if not isinstance(answer, dict) or answer.get("status") != "success":
        error = answer.get("error") if isinstance(answer, dict) else None
        return "query", _cut(f"status {status}: {error or 'no error given'}")
    try:
        data = answer["data"]
        series = RESULT_TYPES[data["resultType"]](data["result"])
        values = [(name, float(value)) for name, value in series]
    except ValueError as exc:
        return "answer", _cut(str(exc))
    except (KeyError, TypeError, IndexError) as exc:
        return "answer", f"not Prometheus's query answer: {why(exc)}"
    return _verdict(expect, values)


def _verdict(expect: PromExpect, values: list[tuple[str, float]]) -> Verdict:
    if not values:
        passes = expect.no_data == "pass"
        return None if passes else ("nodata", "the query returned no series (noData: fail)")
    if len(values) > 1:
        names = ", ".join(name for name, _ in values)
        return "ambiguous", _cut(f"{len(values)} series, expected one: {names}")
    value = values[0][1]
    if not math.isfinite(value):
        return "value", f"the value is {value} (not a number to judge)"
    if not expect.value.holds(value):
        return "value", f"{value:g}, expected {expect.value.describe()}"
    return None


def query_path(query: str) -> str:
    """The instant query's path and query string, after the server's base URL."""
    return f"{QUERY_PATH}?{urlencode({'query': query})}"


def _cut(text: str) -> str:
    return text if len(text) <= SHOWN else text[:SHOWN] + "…"


class PrometheusAsker:
    """One prometheus probe: its query request built once."""

    def __init__(
        self, probe: PrometheusProbe, client: ProbeClient, request: httpx.Request | str
    ) -> None:
        self.probe, self._client, self._request = probe, client, request

    async def ask(self, sample: SampleOf, started: float) -> Sample:
        """Run the query; its one value, or the reason it cannot be judged, is the sample."""
        return await answered(
            Exchange(self._client, self._request, self.probe.timeout),
            sample,
            started,
            lambda response, _: judge(self.probe.expect, response.status_code, response.content),
        )


class PrometheusProbes(Connections):
    """The prometheus probes of one run."""

    async def prepare(self, probe: PrometheusProbe) -> PrometheusAsker:
        """Resolve where the server is and build the query request."""
        asked = probe.prometheus
        endpoint, client = await self.open(url=asked.url, service=asked.service)
        url = endpoint.url.rstrip("/") + query_path(asked.query)
        try:
            request: httpx.Request | str = client.build(
                method="GET", url=url, headers=dict(endpoint.headers), timeout=probe.timeout
            )
        except Exception as exc:  # noqa: BLE001 - then every sample fails with this reason
            request = f"the query request cannot be built: {why(exc)}"
        return PrometheusAsker(probe, client, request)
