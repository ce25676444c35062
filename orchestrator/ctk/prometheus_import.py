"""Prometheus probes of an experiment as a drill's ``prometheus`` probes, where they carry over.

Two providers are read: zonedrill's own ``prometheus_query`` (what ``export`` writes, with its
``value_ok`` tolerance) and chaostoolkit-prometheus's ``chaosprometheus.probes.query``, whose
answer is Prometheus's JSON. Its tolerance carries over when it pins the one value: a jsonpath
tolerance on ``$.data.result[0].value[1]`` (or a scalar's ``$.data.result[1]``) whose
``expect`` is a number becomes ``expect.value.equals``. Anything else is named in ``left_out``
and the probe is not carried: a drill never judges a query more loosely than the experiment.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

from orchestrator.ctk.shapes import as_dict, is_number, name_of

LeftOut = list[tuple[str, str]]
ZONEDRILL_PROBES = "orchestrator.ctk.probes"
CHAOSPROMETHEUS = ("chaosprometheus.probes", "query")
CHAOSPROMETHEUS_URL = "http://localhost:9090"
"""chaostoolkit-prometheus's server when the configuration names none."""
VALUE_PATHS = {"$.data.result[0].value[1]", "$.data.result[1]"}
"""The jsonpaths that read the one value of an instant vector or a scalar."""
BOUNDS = {"below": "below", "above": "above", "at_most": "atMost", "at_least": "atLeast"}


def is_prometheus(provider: dict[str, Any]) -> bool:
    """Whether ``provider`` runs a Prometheus query this module reads."""
    key = (name_of(provider, "module"), name_of(provider, "func"))
    return key in READERS


def prometheus_probe(
    name: str,
    activity: dict[str, Any],
    provider: dict[str, Any],
    where: tuple[str, dict[str, Any]],
    left_out: LeftOut,
) -> dict[str, Any] | None:
    """The drill probe; None (with the reason in ``left_out``) when it does not carry over.

    ``where``: the activity's path in the experiment, and the experiment's configuration.
    """
    path, configuration = where
    arguments = as_dict(provider.get("arguments"))
    query = arguments.get("query")
    if not isinstance(query, str) or not query.strip():
        left_out.append((f"{path}.provider.arguments.query", "a Prometheus probe needs a query"))
        return None
    key = (name_of(provider, "module"), name_of(provider, "func"))
    asked = READERS[key](arguments, configuration, path, left_out)
    expect = TOLERANCES[key](as_dict(activity.get("tolerance")), f"{path}.tolerance", left_out)
    if asked is None or expect is None:
        return None
    # The timeout is read by the importer, for probes of either kind.
    return {"name": name, "prometheus": {**asked, "query": query}, "expect": expect}


def _own_where(
    arguments: dict[str, Any], _: dict[str, Any], path: str, left_out: LeftOut
) -> dict[str, Any] | None:
    url = arguments.get("url")
    if isinstance(url, str) and url:
        return {"url": url}
    service = {k: arguments[k] for k in ("namespace", "name", "port") if k in arguments}
    if isinstance(service.get("namespace"), str) and isinstance(service.get("name"), str):
        return {"service": service}
    left_out.append((f"{path}.provider.arguments", "expected url, or namespace and name"))
    return None


def _chaosprometheus_where(
    arguments: dict[str, Any], configuration: dict[str, Any], path: str, left_out: LeftOut
) -> dict[str, Any] | None:
    if arguments.get("when") not in (None, "", "now"):
        left_out.append((f"{path}.provider.arguments.when", "a drill's query asks about now"))
        return None
    url = configuration.get("prometheus_base_url")
    if isinstance(url, str) and url:
        return {"url": url}
    if url is not None:
        message = "prometheus_base_url is not a literal URL: the probe asks localhost:9090"
        left_out.append(("configuration.prometheus_base_url", message))
    return {"url": CHAOSPROMETHEUS_URL}


def _value_ok(tolerance: dict[str, Any], path: str, left_out: LeftOut) -> dict[str, Any] | None:
    provider = as_dict(tolerance.get("provider"))
    if (name_of(provider, "module"), name_of(provider, "func")) != (ZONEDRILL_PROBES, "value_ok"):
        left_out.append((path, "expected zonedrill's value_ok tolerance"))
        return None
    arguments = as_dict(provider.get("arguments"))
    given = {key: value for key, value in arguments.items() if key in (*BOUNDS, "equals")}
    no_data = arguments.get("no_data", "fail")
    if len(given) != 1 or not all(is_number(v) for v in given.values()):
        message = "expected one numeric bound of below, above, at_most, at_least, equals"
        left_out.append((f"{path}.provider.arguments", message))
        return None
    if no_data not in ("fail", "pass"):
        left_out.append((f"{path}.provider.arguments.no_data", 'expected "fail" or "pass"'))
        return None
    bounds = {BOUNDS.get(key, key): value for key, value in given.items()}
    return {"value": bounds, "noData": no_data}


def _jsonpath(tolerance: dict[str, Any], path: str, left_out: LeftOut) -> dict[str, Any] | None:
    if tolerance.get("type") != "jsonpath" or tolerance.get("path") not in VALUE_PATHS:
        left_out.append(
            (path, "only a jsonpath tolerance on the one value ($.data.result[0].value[1]) maps")
        )
        return None
    expected = tolerance.get("expect")
    try:
        value = float(expected)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        value = math.nan
    if isinstance(expected, bool) or not math.isfinite(value):
        left_out.append((f"{path}.expect", "expected the number the value must equal"))
        return None
    return {"value": {"equals": value}}


Reader = Callable[[dict[str, Any], dict[str, Any], str, LeftOut], dict[str, Any] | None]
READERS: dict[tuple[str, str], Reader] = {
    (ZONEDRILL_PROBES, "prometheus_query"): _own_where,
    CHAOSPROMETHEUS: _chaosprometheus_where,
}
TOLERANCES: dict[tuple[str, str], Callable[[dict[str, Any], str, LeftOut], Any]] = {
    (ZONEDRILL_PROBES, "prometheus_query"): _value_ok,
    CHAOSPROMETHEUS: _jsonpath,
}
