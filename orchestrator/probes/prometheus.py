"""The ``prometheus`` probe kind: one instant query a sample, judged by its one value.

Failing closed is the point of this kind: an empty answer fails unless the drill says
``noData: pass``, more than one series fails as ambiguous, and NaN, ±Inf, an error answer, a
status of 4xx or 5xx or an answer that is not Prometheus's JSON each fail with their reason.
Network failures are classed as for http probes.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable
from typing import Any
from urllib.parse import urlencode

import httpx

from orchestrator.drill.http import HTTP_SUCCESS_CLASS
from orchestrator.drill.prometheus import PrometheusProbe, PromExpect
from orchestrator.probes.grid import SampleOf
from orchestrator.probes.http import Connections, Exchange, ProbeClient, answered
from orchestrator.probes.samples import Sample

QUERY_PATH = "/api/v1/query"
SHOWN = 120
"""Characters of an error answer or a series list kept in a sample's detail."""

Verdict = tuple[str, str] | None
"""None when the answer passes, else the failure class and what was seen."""


MAX_ANSWER = 1 << 20
"""Bytes: an answer this large is not one series (and parsing it would stall the grid)."""
SAMPLE_VALUE = re.compile(r"[+-]?(?:Inf|NaN|(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?)")
"""A sample value as Prometheus writes it: a decimal string, +Inf, -Inf or NaN, nothing else."""


class NotAnAnswer(ValueError):
    """The API's JSON is not an instant query's answer."""


def _value(pair: Any) -> str:
    """The value of a ``[time, "value"]`` pair."""
    if not isinstance(pair, list) or len(pair) != 2 or not isinstance(pair[1], str):  # noqa: PLR2004
        raise NotAnAnswer(f'expected [time, "value"], got {_cut(json.dumps(pair))}')
    if not SAMPLE_VALUE.fullmatch(pair[1]):
        raise NotAnAnswer(f"{_cut(json.dumps(pair[1]))} is not a sample value")
    return pair[1]


def _scalar(result: Any) -> list[tuple[str, str]]:
    """A scalar's one value (``[time, "value"]``)."""
    return [("scalar", _value(result))]


def _vector(result: Any) -> list[tuple[str, str]]:
    """Each series of an instant vector, with its labels as PromQL writes them."""
    if not isinstance(result, list):
        raise NotAnAnswer("an instant vector's result is not a list")
    found = []
    for series in result:
        metric = series.get("metric") if isinstance(series, dict) else None
        if not isinstance(metric, dict):
            raise NotAnAnswer("a series without its labels")
        found.append((_labels(metric), _value(series.get("value"))))
    return found


def _not_instant(kind: str) -> Callable[[Any], list[tuple[str, str]]]:
    def refuse(_: Any) -> list[tuple[str, str]]:
        message = f"the query returned a {kind}; expected an instant vector or a scalar"
        raise NotAnAnswer(message)

    return refuse


RESULT_TYPES: dict[str, Callable[[Any], list[tuple[str, str]]]] = {
    "scalar": _scalar,
    "vector": _vector,
    "matrix": _not_instant("range vector"),
    "string": _not_instant("string"),
}
"""How each of the API's result types gives its (series, value) pairs."""


def _labels(metric: dict[str, Any]) -> str:
    return "{" + ", ".join(f"{key}={json.dumps(value)}" for key, value in metric.items()) + "}"


def judge(expect: PromExpect, status: int, content: bytes | str) -> Verdict:
    """The verdict on one answer of the query API: its HTTP status and body.

    Only a 2xx answer is judged: whatever a 4xx or 5xx carries (a proxy's page, a cached
    success), it fails with its status.
    """
    if len(content) > MAX_ANSWER:
        return "answer", f"{len(content)} bytes: more than one series can be"
    answer = _json(content)
    refused = _refused(status, answer)
    if refused is not None:
        return refused
    data = answer["data"]
    try:
        values = [
            (name, float(value))
            for name, value in RESULT_TYPES[data["resultType"]](data.get("result"))
        ]
    except NotAnAnswer as exc:
        return "answer", _cut(str(exc))
    return _verdict(expect, values)


def _refused(status: int, answer: Any) -> Verdict:
    """Why an answer is not a successful query's, before its values are read."""
    error = answer.get("error") if isinstance(answer, dict) else None
    if status // 100 != HTTP_SUCCESS_CLASS:
        return "status", _cut(f"status {status}" + (f": {error}" if error else ""))
    if answer is None:
        return "answer", "not Prometheus's JSON"
    if not isinstance(answer, dict) or answer.get("status") != "success":
        return "query", _cut(f"status {status}: {error or 'no error given'}")
    data = answer.get("data")
    kind = data.get("resultType") if isinstance(data, dict) else None
    if not isinstance(kind, str) or kind not in RESULT_TYPES:
        return "answer", "not Prometheus's query answer: no known resultType"
    return None


def _json(content: bytes | str) -> Any:
    try:
        return json.loads(content)
    except (ValueError, RecursionError):
        return None


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
        self.probe = probe
        self._exchange = Exchange(client, request, probe.timeout)

    async def ask(self, sample: SampleOf, started: float) -> Sample:
        """Run the query; its one value, or the reason it cannot be judged, is the sample."""
        return await answered(
            self._exchange,
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
        request = client.build(
            method="GET", url=url, headers=dict(endpoint.headers), timeout=probe.timeout
        )
        return PrometheusAsker(probe, client, request)
