"""The ``prometheus`` probe kind's model (spec §1.1 v1.1): an instant query and its bound.

A sample passes when the answer is one scalar or exactly one series whose value meets
``expect.value``; an empty answer passes only with ``noData: pass``.
"""

from __future__ import annotations

import math
import operator
from collections.abc import Callable, Iterator
from typing import Annotated, ClassVar, Literal

from pydantic import Field

from orchestrator.drill.http import DEFAULT_TIMEOUT_CAP, HTTP_SUCCESS_CLASS, URL_PATTERN, http_url
from orchestrator.drill.probe import MAX_TIMEOUT, Finding, ProbeBase, ServiceRef
from orchestrator.drill.types import Duration, FileModel, NonEmptyStr, duration_bounds
from orchestrator.durations import format_duration
from orchestrator.yamlfile import FieldPath

Bound = Annotated[float, Field(strict=True, allow_inf_nan=False)]
"""A finite number (an integer is one); ``"0.01"`` or ``true`` is not."""

COMPARISONS: dict[str, tuple[str, Callable[[float, float], bool]]] = {
    "below": ("<", operator.lt),
    "above": (">", operator.gt),
    "at_most": ("<=", operator.le),
    "at_least": (">=", operator.ge),
    "equals": ("==", operator.eq),
}
"""Each bound's field, with its sign in messages and its test."""


class PromQuery(FileModel):
    """Which Prometheus server to ask, and what."""

    model_config = FileModel.model_config | {
        "json_schema_extra": {"oneOf": [{"required": ["url"]}, {"required": ["service"]}]}
    }

    url: str | None = Field(
        default=None,
        json_schema_extra={"pattern": URL_PATTERN},
        description="The Prometheus server's base URL (http://prometheus.monitoring:9090); "
        "queries go to its /api/v1/query. Give exactly one of url and service.",
    )
    service: ServiceRef | None = Field(
        default=None,
        description="The Prometheus Service, reached as an http probe's service is.",
    )
    query: NonEmptyStr = Field(description="The PromQL expression, run as an instant query.")
    timeout: Duration | None = Field(
        default=None,
        json_schema_extra=duration_bounds(above_zero=True, at_most=MAX_TIMEOUT),
        description="How long one query may take before the sample fails as a timeout; at "
        "most 30s. Default: min(every, 2s).",
    )


class ValueBound(FileModel):
    """What the query's value must be: exactly one of the five comparisons."""

    model_config = FileModel.model_config | {
        "json_schema_extra": {
            "oneOf": [
                {"required": [key]} for key in ("below", "above", "atMost", "atLeast", "equals")
            ]
        }
    }

    below: Bound | None = Field(default=None, description="Passes when the value is below this.")
    above: Bound | None = Field(default=None, description="Passes when the value is above this.")
    at_most: Bound | None = Field(default=None, description="Passes at or below this.")
    at_least: Bound | None = Field(default=None, description="Passes at or above this.")
    equals: Bound | None = Field(default=None, description="Passes when the value is exactly this.")

    def given(self) -> list[tuple[str, float]]:
        """The comparisons written, as (field, bound)."""
        return [(key, value) for key in COMPARISONS if (value := getattr(self, key)) is not None]

    def holds(self, value: float) -> bool:
        """True when ``value`` meets the comparisons given, and there is one (NaN meets none)."""
        given = self.given()
        return (
            bool(given)
            and not math.isnan(value)
            and all(COMPARISONS[key][1](value, bound) for key, bound in given)
        )

    def describe(self) -> str:
        """``< 0.01``."""
        return " and ".join(f"{COMPARISONS[key][0]} {bound:g}" for key, bound in self.given())


class PromExpect(FileModel):
    """What a passing answer is."""

    value: ValueBound = Field(description="The bound the one value must meet.")
    no_data: Literal["fail", "pass"] = Field(
        default="fail",
        description="What an empty answer means: fail (the default; no evidence, no pass) or pass.",
    )


class PrometheusProbe(ProbeBase):
    """One PromQL instant query, sampled on a fixed grid."""

    kind: ClassVar[str] = "prometheus"
    measures_latency: ClassVar[bool] = False
    simulated: ClassVar[bool] = False

    prometheus: PromQuery = Field(description="Which server to ask, and the query.")
    expect: PromExpect = Field(description="The bound the query's value must meet.")

    @property
    def timeout(self) -> float:
        """The per-sample timeout: as written, else min(every, 2s)."""
        if self.prometheus.timeout is not None:
            return self.prometheus.timeout
        return min(self.every, DEFAULT_TIMEOUT_CAP)

    def service(self) -> tuple[FieldPath, ServiceRef] | None:
        """``prometheus.service``, when the probe asks a Service."""
        ref = self.prometheus.service
        return None if ref is None else (("prometheus", "service"), ref)

    def describe(self) -> str:
        """``query <expr> < 0.01 at <where>``."""
        asked = self.prometheus
        ref = asked.service
        where = asked.url if ref is None else f"service {ref.namespace}/{ref.name}:{ref.port}"
        return f"query {asked.query} {self.expect.value.describe()} at {where}"

    def could_pass(self, status: int, latency: float) -> bool:  # latency: not judged
        """A 2xx answer: the API answers its successful queries with 200."""
        return status // 100 == HTTP_SUCCESS_CLASS

    def findings(self) -> Iterator[Finding]:
        """Timeout in range, exactly one of url and service, one comparison."""
        asked = self.prometheus
        if asked.timeout is not None and not 0 < asked.timeout <= MAX_TIMEOUT:
            yield (
                ("prometheus", "timeout"),
                f"{format_duration(asked.timeout)} is out of range: "
                "expected above 0 and at most 30s",
            )
        if (asked.url is None) == (asked.service is None):
            yield ("prometheus",), 'expected exactly one of "url" and "service"'
        if asked.url is not None and not http_url(asked.url):
            yield ("prometheus", "url"), "expected an http:// or https:// URL with a host"
        if len(self.expect.value.given()) != 1:
            yield (
                ("expect", "value"),
                "expected exactly one of below, above, atMost, atLeast and equals",
            )
