"""A drill as a Chaos Toolkit experiment (``zonedrill export DRILL --to chaostoolkit``).

- The steady-state hypothesis is the drill's probes: a ``url`` probe is an HTTP provider, a
  ``service`` probe a call of zonedrill's own probe (the HTTP provider needs a literal URL);
  each is judged by zonedrill's own rule (``answer_ok``: the status codes, the body text).
  Then the targets, as probes on the result the zonedrill control records after the method.
- The method is the steps, at their offsets by pauses; the rollbacks restore every zone lost,
  and run on every exit (``runtime.rollbacks.strategy: always``).
- The hypothesis is sampled during the method too (``continuously``), and the control records
  every sample, so zonedrill scores the run.
- The drill itself rides along in ``extensions``, for the control and for ``zonedrill import``,
  with its lab when it names one: the run's target is ``zonedrill_target`` in the configuration
  ($ZONEDRILL_TARGET, by default the lab when the drill has one, as ``zonedrill run`` decides).
"""

from __future__ import annotations

from collections.abc import Iterator
from functools import singledispatch
from typing import Any

from orchestrator.ctk.session import KUBE, LAB_KEY, TARGET_KEY
from orchestrator.drill.http import HttpProbe
from orchestrator.drill.lab import Lab
from orchestrator.drill.model import Drill, Step
from orchestrator.drill.picks import ZonePicks
from orchestrator.drill.probe import ProbeBase
from orchestrator.drill.prometheus import PrometheusProbe
from orchestrator.errors import InvalidInputError, Problem

ACTIONS, PROBES = "orchestrator.ctk.actions", "orchestrator.ctk.probes"
CONTROL = "orchestrator.ctk.control"


def experiment_of(
    drill: Drill, drill_file: str, picks: ZonePicks, lab: Lab | None
) -> tuple[dict[str, Any], list[str]]:
    """The experiment, and what the drill has that it does not carry (for stderr)."""
    lost = sorted({step.zone for step in drill.spec.steps if step.is_lose})
    extension = {
        "name": "zonedrill",
        "drill": drill.model_dump(mode="json", by_alias=True, exclude_none=True),
    }
    if lab is not None:
        extension["lab"] = lab.model_dump(mode="json", by_alias=True, exclude_none=True)
    experiment: dict[str, Any] = {
        "version": "1.0.0",
        "title": f"zonedrill drill {drill.metadata.name}",
        "description": drill.metadata.description or f"The zonedrill drill {drill_file}.",
        "tags": ["zonedrill", "datacenter-loss"],
        "extensions": [extension],
        "configuration": {
            TARGET_KEY: {"type": "env", "key": "ZONEDRILL_TARGET", "default": _target(lab)},
            LAB_KEY: {"type": "env", "key": "ZONEDRILL_LAB", "default": ""},
        },
        "controls": [{"name": "zonedrill", "provider": {"type": "python", "module": CONTROL}}],
        "runtime": {
            "hypothesis": {"strategy": "continuously"},
            "rollbacks": {"strategy": "always"},
        },
        "steady-state-hypothesis": {
            "title": "the drill's probes answer, and after the method its targets are met",
            "probes": [*map(_probe, drill.spec.probes), *_targets(drill)],
        },
        "method": _method(drill, drill_file),
        "rollbacks": [_restore(zone) for zone in lost],
    }
    if picks.seed is not None:
        experiment["tags"].append(f"seed-{picks.seed}")
    return experiment, _not_carried(drill, picks)


def _target(lab: Lab | None) -> str:
    """Where ``chaos run`` drills by default: on its lab, as ``zonedrill run`` would."""
    return "lab" if lab is not None else KUBE


@singledispatch
def _probe(probe: ProbeBase) -> dict[str, Any]:
    """The probe as a steady-state probe: one function per kind, registered below."""
    message = (
        f"{probe.name}: a {probe.kind} probe has no Chaos Toolkit export yet; export the drill "
        "without it, or run it with zonedrill run"
    )
    raise InvalidInputError([Problem("spec.probes", None, None, "", message)])


@singledispatch
def _probe_notes(probe: ProbeBase, at: str) -> Iterator[str]:
    """What of the probe (at field path ``at``) the experiment does not carry."""
    return iter(())


@_probe.register
def _http_probe(probe: HttpProbe) -> dict[str, Any]:
    http = probe.http
    if http.url is not None:
        provider: dict[str, Any] = {
            "type": "http",
            "url": http.url,
            "method": http.method,
            "timeout": probe.timeout,
        }
        if http.headers:
            provider["headers"] = dict(http.headers)
    else:
        assert http.service is not None  # validation: exactly one of url and service
        arguments = {
            "namespace": http.service.namespace,
            "name": http.service.name,
            "port": http.service.port,
            "path": http.path,
            "method": http.method,
            "timeout": probe.timeout,
        }
        provider = {
            "type": "python",
            "module": PROBES,
            "func": "service_status",
            "arguments": arguments,
        }
    judged: dict[str, Any] = {}
    if probe.expect.status:
        judged["status"] = list(probe.expect.status)
    if probe.expect.body_contains:
        judged["body_contains"] = probe.expect.body_contains
    tolerance = {
        "type": "probe",
        "name": f"{probe.name} answers as the drill expects",
        "provider": {"type": "python", "module": PROBES, "func": "answer_ok", "arguments": judged},
    }
    return {"type": "probe", "name": probe.name, "tolerance": tolerance, "provider": provider}


@_probe.register
def _prometheus_probe(probe: PrometheusProbe) -> dict[str, Any]:
    asked = probe.prometheus
    arguments: dict[str, Any] = {"query": asked.query, "timeout": probe.timeout}
    if asked.url is not None:
        arguments["url"] = asked.url
    else:
        assert asked.service is not None  # validation: exactly one of url and service
        ref = asked.service
        arguments |= {"namespace": ref.namespace, "name": ref.name, "port": ref.port}
    judged: dict[str, Any] = dict(probe.expect.value.given())
    judged["no_data"] = probe.expect.no_data
    tolerance = {
        "type": "probe",
        "name": f"{probe.name} answers as the drill expects",
        "provider": {"type": "python", "module": PROBES, "func": "value_ok", "arguments": judged},
    }
    provider = {
        "type": "python",
        "module": PROBES,
        "func": "prometheus_query",
        "arguments": arguments,
    }
    return {"type": "probe", "name": probe.name, "tolerance": tolerance, "provider": provider}


@_probe_notes.register
def _http_notes(probe: HttpProbe, at: str) -> Iterator[str]:
    if probe.http.service is not None and probe.http.headers:
        yield f"{at}.http.headers: service_status sends none"
    if probe.expect.max_latency is not None:
        yield f"{at}.expect.maxLatency: Chaos Toolkit's HTTP answer has no latency to judge"
    if probe.http.url is not None and probe.http.path != "/":
        yield f"{at}.http.path: a url probe asks its url as written"


def _targets(drill: Drill) -> list[dict[str, Any]]:
    name = drill.metadata.name
    found = [_judgement("drill-passed", "drill_passed", {"drill": name, "this_run": True})]
    for target in drill.spec.targets:
        if target.rto is not None:
            arguments = {
                "seconds": target.rto,
                "probe": target.probe,
                "drill": name,
                "this_run": True,
            }
            found.append(_judgement(f"{target.probe}-rto", "rto_within", arguments))
    return found


def _judgement(name: str, func: str, arguments: dict[str, Any]) -> dict[str, Any]:
    return {
        "type": "probe",
        "name": name,
        "tolerance": True,
        "provider": {"type": "python", "module": PROBES, "func": func, "arguments": arguments},
    }


def _method(drill: Drill, drill_file: str) -> list[dict[str, Any]]:
    activities: list[dict[str, Any]] = []
    previous = 0.0
    for index, step in enumerate(drill.spec.steps):
        activity = _lose(step, drill_file) if step.is_lose else _restore(step.zone)
        activity["name"] = f"step {index}: {activity['name']}"
        if step.at > previous:
            activity["pauses"] = {"before": step.at - previous}
        previous = step.at
        activities.append(activity)
    if drill.spec.duration > previous:  # the chaos phase lasts its duration after the last step
        activities[-1].setdefault("pauses", {})["after"] = drill.spec.duration - previous
    return activities


def _lose(step: Step, drill_file: str) -> dict[str, Any]:
    arguments = {"drill": drill_file, "zone": step.zone, "mode": str(step.fault_mode)}
    return {
        "type": "action",
        "name": f"lose {step.zone} ({step.fault_mode})",
        "provider": {
            "type": "python",
            "module": ACTIONS,
            "func": "lose_zone",
            "arguments": arguments,
        },
    }


def _restore(zone: str) -> dict[str, Any]:
    return {
        "type": "action",
        "name": f"restore {zone}",
        "provider": {
            "type": "python",
            "module": ACTIONS,
            "func": "restore_zone",
            "arguments": {"zone": zone},
        },
    }


def _not_carried(drill: Drill, picks: ZonePicks) -> list[str]:
    notes = [
        "spec.probes[].every: Chaos Toolkit asks every --hypothesis-frequency (default 1s), "
        "one probe after another",
        "spec.baseline: Chaos Toolkit checks the steady state once before the method",
    ]
    for index, target in enumerate(drill.spec.targets):
        if target.p99_latency is not None:
            notes.append(
                f"spec.targets[{index}].p99Latency: Chaos Toolkit records no latency; "
                "the check fails for want of evidence"
            )
    for index, probe in enumerate(drill.spec.probes):
        notes.extend(_probe_notes(probe, f"spec.probes[{index}]"))
        if probe.while_failing is not None:
            notes.append(
                f"spec.probes[{index}].whileFailing: Chaos Toolkit asks at its own frequency, "
                "failing or not"
            )
    for index, guard in enumerate(drill.spec.stop_if):
        notes.append(
            f"spec.stopIf[{index}]: Chaos Toolkit has no guardrail that aborts on "
            f"{guard.probe} failing; the rollbacks still restore on every exit"
        )
    for index in picks.candidates:
        notes.append(
            f"spec.steps[{index}].lose: picked at export{picks.note(index)}; Chaos "
            "Toolkit loses that zone on every run"
        )
    return notes
