"""Chaos Toolkit probes: a Service asked as a drill asks it, and judgements of recorded runs.

The judgements read a zonedrill result: the folder or file given as ``result``, else the newest
run of ``drill`` in zonedrill's history. With no result to read they fail: no evidence, no pass.
While the zonedrill control of this ``chaos run`` has not yet scored its chaos phase (the
hypothesis before the method, and during it), they answer true: there is nothing to judge yet,
and the verdict comes in the hypothesis after the method.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from chaoslib.exceptions import ActivityFailed
from pydantic import ValidationError

from orchestrator.ctk import recording
from orchestrator.ctk.session import ZoneSession, call_on
from orchestrator.ctk.words import in_chaos_terms
from orchestrator.drill.http import HTTP_SUCCESS_CLASS
from orchestrator.drill.probe import ServiceRef
from orchestrator.drill.prometheus import PromExpect, ValueBound
from orchestrator.errors import ZonedrillError
from orchestrator.faults.journal import state_dir
from orchestrator.probes.prometheus import judge, query_path
from orchestrator.results.document import ClusterDoc, ResultDoc
from orchestrator.results.history import History, default_path
from orchestrator.results.report.document import load_result

__all__ = [
    "answer_ok",
    "drill_passed",
    "prometheus_query",
    "rto_within",
    "score_at_least",
    "service_status",
    "value_ok",
]


def drill_passed(
    drill: str = "",
    result: str = "",
    this_run: bool = False,
    configuration: dict[str, Any] | None = None,
) -> bool:
    """True when the drill's recorded run passed every target.

    drill: the drill's name (metadata.name): its newest run in zonedrill's history. result:
    a run folder or result.json instead. this_run: judge only the run the zonedrill control
    records in this chaos run (an export sets it), never an earlier one.
    """
    doc = _recorded(drill, result, this_run, recording.of(configuration))
    return doc is None or doc.outcome == "passed"


def rto_within(
    seconds: float,
    probe: str,
    drill: str = "",
    result: str = "",
    this_run: bool = False,
    configuration: dict[str, Any] | None = None,
) -> bool:
    """True when every recovery of ``probe`` in the recorded run took at most ``seconds``.

    A probe that never recovered, or that the run did not measure, is not within. drill,
    result, this_run: which run, as for drill_passed.
    """
    doc = _recorded(drill, result, this_run, recording.of(configuration))
    if doc is None:
        return True
    found = [p for p in doc.probes if p.name == probe]
    rtos = [r.seconds for p in found for r in p.rto]
    return bool(rtos) and all(r is not None and r <= seconds for r in rtos)


def score_at_least(
    score: float,
    drill: str = "",
    result: str = "",
    this_run: bool = False,
    configuration: dict[str, Any] | None = None,
) -> bool:
    """True when the recorded run's score (0-100) is at least ``score``.

    drill, result, this_run: which run, as for drill_passed.
    """
    doc = _recorded(drill, result, this_run, recording.of(configuration))
    return doc is None or (doc.score is not None and doc.score >= score)


def service_status(
    namespace: str,
    name: str,
    port: int = 80,
    path: str = "/",
    method: str = "GET",
    timeout: float = 2.0,
    kubeconfig: str = "",
    context: str = "",
    configuration: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Ask a Kubernetes Service as a drill's probe does; return its status and body.

    Inside the cluster through cluster DNS, outside through the API server's service proxy; on
    a run whose zonedrill_target is the lab, the lab's own service. The answer has the shape of
    Chaos Toolkit's HTTP provider's ({"status", "body"}), so the same tolerances apply. A
    request that gets no answer (refused, timed out) fails the probe.
    """
    settings = {"kubeconfig": kubeconfig, "context": context}
    current = recording.of(configuration)
    noting = current if current is not None and current.cluster is None else None
    ref = ServiceRef(namespace=namespace, name=name, port=port)
    try:
        return call_on(
            configuration,
            lambda zones: _ask(zones, ref, Request(path, method, timeout), settings, noting),
        )
    except (httpx.HTTPError, ZonedrillError) as exc:
        message = f"service {namespace}/{name}: {type(exc).__name__}: {exc}"
        raise ActivityFailed(in_chaos_terms(message)) from exc


@dataclass(frozen=True)
class Request:
    """What ``service_status`` asks of the Service."""

    path: str
    method: str
    timeout: float


async def _ask(
    zones: ZoneSession,
    ref: ServiceRef,
    request: Request,
    settings: dict[str, Any],
    noting: recording.Recording | None,
) -> dict[str, Any]:
    """The Service's answer; ``noting`` (a run yet to reach a cluster) learns which it reached."""
    cluster = await zones.reach(settings)
    try:
        endpoint = await cluster.service_endpoint(ref=ref)
        if noting is not None:
            noting.reached(ClusterDoc(identity=cluster.identity, uid=await cluster.cluster_uid()))
    finally:
        await zones.let_go(cluster)
    verify: str | bool = endpoint.ca_file or True
    async with httpx.AsyncClient(timeout=request.timeout, verify=verify) as client:
        answer = await client.request(
            request.method, endpoint.url + request.path, headers=dict(endpoint.headers)
        )
    return {"status": answer.status_code, "body": answer.text}


def answer_ok(
    value: dict[str, Any] | None = None, status: list[int] | None = None, body_contains: str = ""
) -> bool:
    """A tolerance: the answer passes as a drill's probe would judge it.

    value: an HTTP answer ({"status", "body"}, as the HTTP provider and service_status give);
    Chaos Toolkit passes it when the function is a tolerance.
    status: the codes that pass (default: any 2xx). body_contains: text the body must hold.
    """
    if not isinstance(value, dict) or not isinstance(value.get("status"), int):
        return False
    code = value["status"]
    if not (code in status if status else code // 100 == HTTP_SUCCESS_CLASS):
        return False
    body = value.get("body", "")
    return not body_contains or (isinstance(body, str) and body_contains in body)


def prometheus_query(
    query: str,
    url: str = "",
    namespace: str = "",
    name: str = "",
    port: int = 9090,
    timeout: float = 2.0,
    kubeconfig: str = "",
    context: str = "",
    configuration: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Run a PromQL instant query as a drill's prometheus probe does; return the answer.

    url: the Prometheus server's base URL; or namespace, name and port of its Service, reached
    as service_status reaches one. The answer is {"status", "body"}, judged by value_ok.
    """
    path = query_path(query)
    if not url:
        return service_status(
            namespace, name, port, path, "GET", timeout, kubeconfig, context, configuration
        )
    try:
        with httpx.Client(timeout=timeout) as client:
            answer = client.get(url.rstrip("/") + path)
    except httpx.HTTPError as exc:
        message = f"Prometheus at {url}: {type(exc).__name__}: {exc}"
        raise ActivityFailed(in_chaos_terms(message)) from exc
    return {"status": answer.status_code, "body": answer.text}


def value_ok(
    value: dict[str, Any] | None = None,
    below: float | None = None,
    above: float | None = None,
    at_most: float | None = None,
    at_least: float | None = None,
    equals: float | None = None,
    no_data: str = "fail",
) -> bool:
    """A tolerance: the query's answer passes as a drill's prometheus probe would judge it.

    value: prometheus_query's answer. One bound of below, above, at_most, at_least, equals;
    no_data: "fail" (an empty answer fails) or "pass". More than one series, NaN, ±Inf, an
    error answer or anything but Prometheus's JSON fails.
    """
    if not isinstance(value, dict) or not isinstance(value.get("status"), int):
        return False
    bounds = {"below": below, "above": above, "at_most": at_most, "at_least": at_least}
    try:
        expect = PromExpect(
            value=ValueBound(**bounds, equals=equals),
            no_data=no_data,
        )
    except ValidationError:
        return False
    if len(expect.value.given()) != 1:  # as a drill's expect.value: exactly one bound
        return False
    body = value.get("body")
    return isinstance(body, str) and judge(expect, value["status"], body) is None


def _recorded(
    drill: str, result: str, this_run: bool, current: recording.Recording | None
) -> ResultDoc | None:
    """The result to judge; None while this chaos run's control has not scored yet."""
    if this_run and current is None:
        message = "the zonedrill control is not recording this chaos run: nothing to judge"
        raise ActivityFailed(message)
    if not result and current is not None and drill in ("", current.drill.metadata.name):
        if current.result_dir:
            result = current.result_dir
        elif current.chaos_end is None:
            return None  # the chaos phase is not over: nothing to judge yet
        else:
            message = "the zonedrill control could not score this run: see chaostoolkit.log"
            raise ActivityFailed(message)
    try:
        if result:
            return _of_drill(load_result(Path(result), with_samples=False).doc, drill)
        runs = History(default_path(state_dir())).runs(drill=drill, last=1)
    except ZonedrillError as exc:
        raise ActivityFailed(str(exc)) from exc
    if not runs:
        raise ActivityFailed(f"no run of drill {drill!r} is recorded: nothing to judge")
    return runs[0].doc


def _of_drill(doc: ResultDoc, drill: str) -> ResultDoc:
    if drill and doc.drill != drill:
        raise ActivityFailed(f"the result is a run of {doc.drill}, not of {drill}")
    return doc
