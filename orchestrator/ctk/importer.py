"""A Chaos Toolkit experiment as a drill (``zonedrill import EXPERIMENT``).

What carries over: HTTP probes of the steady-state hypothesis (with status and body
tolerances), zonedrill's own ``service_status`` probes, chaostoolkit-kubernetes node actions by
label selector (``cordon_node``, ``drain_nodes``, ``uncordon_node``) and zonedrill's own
``lose_zone``/``restore_zone``, with their pauses as step times. Each steady-state probe gets
an ``availability: "100%"`` target. Everything else is named with its path
(``method[1].provider``) and why it cannot be carried over.

An experiment zonedrill exported carries its drill in ``extensions``: what the activities
cannot say (zone selectors, targets, timing of the baseline, safety) is taken from there; the
probes and steps are read from the activities all the same.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from orchestrator.ctk.prometheus_import import is_prometheus, prometheus_probe
from orchestrator.ctk.shapes import as_dict, as_list, is_seconds, name_of
from orchestrator.ctk.tolerance import expect_of
from orchestrator.drill.http import DEFAULT_TIMEOUT_CAP
from orchestrator.durations import parse_duration
from orchestrator.faults import MODES

CHAOSK8S_NODES = "chaosk8s.node.actions"

NODE_ACTIONS = {
    (CHAOSK8S_NODES, mode.chaos_toolkit): str(mode.name)
    for mode in MODES.values()
    if mode.chaos_toolkit
}
UNCORDON = (CHAOSK8S_NODES, "uncordon_node")
ZONEDRILL_ACTIONS, ZONEDRILL_PROBES = "orchestrator.ctk.actions", "orchestrator.ctk.probes"
JUDGEMENTS = {"drill_passed", "rto_within", "score_at_least"}
DEFAULT_TAIL = 30.0
"""Seconds of chaos phase after the last step when the experiment says nothing (no pause)."""


SHAPES: dict[str, type[dict[str, Any]] | type[list[Any]]] = {
    "steady-state-hypothesis": dict,
    "method": list,
    "extensions": list,
}
SHAPE_NAMES: dict[type, str] = {dict: "mapping", list: "list"}


@dataclass
class Imported:
    """The drill's plain data, and every part that could not be carried over."""

    data: dict[str, Any]
    left_out: list[tuple[str, str]] = field(default_factory=list)


def drill_data(experiment: dict[str, Any]) -> Imported:
    """The drill an experiment becomes (plain data, validated by the caller's loader).

    Any shape Chaos Toolkit accepts is read: a part zonedrill cannot carry over is named with
    its path in ``left_out``, never an exception.
    """
    embedded = _embedded(experiment)
    found = Imported(data={})
    for key, shape in SHAPES.items():
        if experiment.get(key) is not None and not isinstance(experiment[key], shape):
            found.left_out.append((key, f"not a {SHAPE_NAMES[shape]}: nothing in it is read"))
    probes = _probes(experiment, found)
    own = as_dict(embedded.get("spec"))
    zones: dict[str, Any] = dict(as_dict(own.get("zones")))
    steps, duration = _steps(experiment, zones, found)
    spec: dict[str, Any] = {
        "zones": zones,
        "probes": probes,
        "duration": _seconds_text(duration),
        "steps": steps,
    }
    for key in ("lab", "baseline", "targets", "stopIf", "safety"):
        if key in own:
            spec[key] = own[key]
    if "targets" not in own:
        spec["targets"] = [{"probe": p["name"], "availability": "100%"} for p in probes]
    if own.get("duration"):
        spec["duration"] = own["duration"]
    for probe in probes:
        probe.update(_timing_of(own, probe["name"]))
        _drop_default_timeout(probe)
    metadata = as_dict(embedded.get("metadata")) or {"name": _name(experiment)}
    if "description" not in metadata and experiment.get("description"):
        metadata = {**metadata, "description": str(experiment["description"])}
    found.data = {"apiVersion": "zonedrill/v1", "kind": "Drill", "metadata": metadata, "spec": spec}
    return found


def _drop_default_timeout(probe: dict[str, Any]) -> None:
    """An export writes each timeout out; the drill's default (min(every, 2s)) goes unwritten."""
    asked = probe.get("http") or probe.get("prometheus") or {}
    timeout = asked.get("timeout")
    if timeout is None:
        return
    try:
        every = parse_duration(str(probe.get("every", "1s")))
        default = parse_duration(timeout) == min(every, DEFAULT_TIMEOUT_CAP)
    except ValueError:
        return  # an every or timeout out of bounds: the loader names it with its path
    if default:
        del asked["timeout"]


def _embedded(experiment: dict[str, Any]) -> dict[str, Any]:
    for extension in as_list(experiment.get("extensions")):
        if isinstance(extension, dict) and extension.get("name") == "zonedrill":
            drill = extension.get("drill")
            if isinstance(drill, dict):
                return drill
    return {}


def _timing_of(spec: dict[str, Any], name: str) -> dict[str, Any]:
    """The embedded drill's every and whileFailing of probe ``name``, which Chaos Toolkit lacks."""
    for probe in as_list(spec.get("probes")):
        if isinstance(probe, dict) and probe.get("name") == name:
            return {k: probe[k] for k in ("every", "whileFailing") if probe.get(k) is not None}
    return {}


def _probes(experiment: dict[str, Any], found: Imported) -> list[dict[str, Any]]:
    hypothesis = as_dict(experiment.get("steady-state-hypothesis"))
    configuration = as_dict(experiment.get("configuration"))
    probes = []
    for index, activity in enumerate(as_list(hypothesis.get("probes"))):
        path = f"steady-state-hypothesis.probes[{index}]"
        provider = as_dict(as_dict(activity).get("provider"))
        if (
            name_of(provider, "module") == ZONEDRILL_PROBES
            and name_of(provider, "func") in JUDGEMENTS
        ):
            continue  # the targets, which the drill holds as targets
        name = _dns_label(str(as_dict(activity).get("name", "")))
        if is_prometheus(provider):
            where = (path, configuration)
            probe = prometheus_probe(name, as_dict(activity), provider, where, found.left_out)
        else:
            probe = _probe(name, activity, provider, path, found)
        if probe is not None:
            probes.append(_with_timeout(probe, provider))
    return probes


def _with_timeout(probe: dict[str, Any], provider: dict[str, Any]) -> dict[str, Any]:
    """The provider's timeout on the probe of either kind (an export writes each one out)."""
    timeout = provider.get("timeout", as_dict(provider.get("arguments")).get("timeout"))
    if is_seconds(timeout):
        (probe.get("http") or probe["prometheus"])["timeout"] = _seconds_text(float(timeout))
    return probe


def _probe(
    name: str, activity: Any, provider: dict[str, Any], path: str, found: Imported
) -> dict[str, Any] | None:
    arguments = as_dict(provider.get("arguments"))
    if provider.get("type") == "http" and isinstance(provider.get("url"), str):
        http: dict[str, Any] = {"url": provider["url"], "method": provider.get("method", "GET")}
        if provider.get("headers"):
            http["headers"] = provider["headers"]
    elif (name_of(provider, "module"), name_of(provider, "func")) == (
        ZONEDRILL_PROBES,
        "service_status",
    ):
        service = {k: arguments[k] for k in ("namespace", "name", "port") if k in arguments}
        http = {
            "service": service,
            "path": arguments.get("path", "/"),
            "method": arguments.get("method", "GET"),
        }
    else:
        found.left_out.append(
            (
                f"{path}.provider",
                "only HTTP probes, zonedrill's service_status and prometheus_query, and "
                "chaosprometheus's query are probes a drill can run",
            )
        )
        return None
    probe: dict[str, Any] = {"name": name, "http": http}
    expect = expect_of(as_dict(activity).get("tolerance"), f"{path}.tolerance", found.left_out)
    if expect:
        probe["expect"] = expect
    return probe


@dataclass
class _Clock:
    at: float = 0.0
    lost: dict[str, str] = field(default_factory=dict)  # selector text -> zone


def _steps(
    experiment: dict[str, Any], zones: dict[str, Any], found: Imported
) -> tuple[list[dict[str, Any]], float]:
    clock = _Clock()
    steps: list[dict[str, Any]] = []
    for index, activity in enumerate(as_list(experiment.get("method"))):
        path = f"method[{index}]"
        if not isinstance(activity, dict):
            found.left_out.append((path, "not an activity"))
            continue
        pauses = activity.get("pauses")
        clock.at += _pause(pauses, "before", path, found)
        step = _step(activity, zones, clock, path, found)
        if step is not None and not _merged(step, steps, path, found):
            steps.append({"at": _seconds_text(clock.at), **step})
        clock.at += _pause(pauses, "after", path, found)
    tail = DEFAULT_TAIL if steps and clock.at <= _last_at(steps) else 0.0
    return steps, clock.at + tail


SEVERITY = {str(mode.name): mode.severity for mode in MODES.values()}


def _merged(step: dict[str, Any], steps: list[dict[str, Any]], path: str, found: Imported) -> bool:
    """A second loss of a zone still lost (a cordon, then a drain) folds into the first.

    A drill loses a zone once, in one mode; a drain cordons first anyway.
    """
    if "lose" not in step:
        return False
    open_ = {}
    for earlier in steps:
        if "lose" in earlier:
            open_[earlier["lose"]] = earlier
        else:
            open_.pop(earlier.get("restore"), None)
    first = open_.get(step["lose"])
    if first is None:
        return False
    if SEVERITY.get(str(step["mode"]), 2) > SEVERITY.get(str(first["mode"]), 2):
        first["mode"] = step["mode"]
    found.left_out.append(
        (
            f"{path}.provider",
            f"zone {step['lose']} is lost already: folded "
            f"into the step at {first['at']}, as {first['mode']}",
        )
    )
    return True


def _step(
    activity: dict[str, Any], zones: dict[str, Any], clock: _Clock, path: str, found: Imported
) -> dict[str, Any] | None:
    provider = as_dict(activity.get("provider"))
    arguments = as_dict(provider.get("arguments"))
    key = (name_of(provider, "module"), name_of(provider, "func"))
    step = _zone_step(key, arguments, zones, clock)
    if step is not None:
        used = USED_ARGUMENTS.get(key[1], {"label_selector"})
        for name in sorted(set(arguments) - used, key=str):
            why = "ignored: the drill loses the whole zone its way (see Fault modes in the docs)"
            found.left_out.append((f"{path}.provider.arguments.{name}", why))
        return step
    why = (
        "a node action needs a label_selector of plain key=value parts (a zone is a node "
        "pool a drill names by its labels)"
        if key in NODE_ACTIONS or key == UNCORDON
        else f"{_provider_name(provider)}: not a zone action a drill can run"
    )
    if activity.get("type") == "probe":
        why = "a probe in the method: a drill probes all the time, so it is not needed"
    found.left_out.append((f"{path}.provider", why))
    return None


def _provider_name(provider: dict[str, Any]) -> str:
    """``python provider m.f``, ``process provider echo``, ``http provider URL``."""
    kind = provider.get("type", "?")
    if kind == "python":
        return f"python provider {provider.get('module', '')}.{provider.get('func', '')}"
    return f"{kind} provider {provider.get('path', provider.get('url', ''))}"


USED_ARGUMENTS = {
    "lose_zone": {"drill", "zone", "mode", "kubeconfig", "context", "lock_namespace"},
    "restore_zone": {"zone"},
}
"""The arguments of zonedrill's own actions a drill holds (or that say where it runs); a node
action's is its label_selector. Every other argument is named as ignored."""


def _zone_step(
    key: tuple[str, str], arguments: dict[str, Any], zones: dict[str, Any], clock: _Clock
) -> dict[str, Any] | None:
    """The lose or restore step an activity is, or None when it is none a drill can take."""
    if key[0] == ZONEDRILL_ACTIONS and key[1] in ("lose_zone", "restore_zone"):
        zone = str(arguments.get("zone", ""))
        if key[1] == "restore_zone":
            return {"restore": zone}
        return {"lose": zone, "mode": arguments.get("mode", "power-loss")}
    selector = arguments.get("label_selector")
    readable = isinstance(selector, str) and selector_labels(selector) is not None
    if (key in NODE_ACTIONS or key == UNCORDON) and isinstance(selector, str) and readable:
        zone = clock.lost.get(selector) or zone_for(selector, zones)
        if key == UNCORDON:
            return {"restore": zone}
        clock.lost[selector] = zone
        return {"lose": zone, "mode": NODE_ACTIONS[key]}
    return None


PLAIN_LABEL = re.compile(r"\s*([A-Za-z0-9./_-]+)\s*==?\s*([A-Za-z0-9._-]*)\s*")


def selector_labels(selector: str) -> dict[str, str] | None:
    """``k=v,k2==v2`` as labels; None when a part is anything else (``!=``, ``in (...)``)."""
    labels = {}
    for part in selector.split(","):
        matched = PLAIN_LABEL.fullmatch(part)
        if matched is None:
            return None
        labels[matched.group(1)] = matched.group(2)
    return labels or None


def zone_for(selector: str, zones: dict[str, Any]) -> str:
    """The zone a plain label selector names: found, or added as its value (else zone-N).

    Call with a selector ``selector_labels`` reads; another zone of the same name but other
    labels gets a new name, never its labels overwritten.
    """
    labels = selector_labels(selector) or {}
    for name, zone in zones.items():
        if isinstance(zone, dict) and zone.get("nodeSelector") == labels:
            return str(name)
    value = next(iter(labels.values()), "") if len(labels) == 1 else ""
    base = _dns_label(value) if value else "zone"
    name = base if base not in zones and base != "zone" else f"{base}-{len(zones) + 1}"
    zones[name] = {"nodeSelector": labels}
    return name


def _last_at(steps: list[dict[str, Any]]) -> float:
    return parse_duration(steps[-1]["at"])


def _pause(pauses: Any, which: str, path: str, found: Imported) -> float:
    """Seconds of one pause; one that is no number of seconds is named as not carried over."""
    value = pauses.get(which) if isinstance(pauses, dict) else None
    if value is None:
        if pauses is not None and not isinstance(pauses, dict) and which == "before":
            found.left_out.append((f"{path}.pauses", f"not a mapping of pauses: {pauses!r}"))
        return 0.0
    if value == 0 and not isinstance(value, bool):
        return 0.0
    if not is_seconds(value):
        shown = repr(value)[:40]
        why = f"not a pause in seconds up to a week: {shown}"
        found.left_out.append((f"{path}.pauses.{which}", why))
        return 0.0
    return float(value)


def _seconds_text(seconds: float) -> str:
    return f"{round(seconds * 1000)}ms" if seconds % 1 else f"{int(seconds)}s"


def _name(experiment: dict[str, Any]) -> str:
    return _dns_label(str(experiment.get("title", ""))) or "imported-experiment"


def _dns_label(text: str) -> str:
    label = re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")[:63].strip("-")
    return label or "probe"


def drill_is_runnable(data: dict[str, Any]) -> bool:
    """At least a probe and a lose step: something a drill can run."""
    spec = data["spec"]
    return bool(spec["probes"]) and any("lose" in step for step in spec["steps"])
