"""The zonedrill control: a Chaos Toolkit run recorded, scored and reported as a drill.

Declared in an experiment (``zonedrill export`` adds it) or given to ``chaos run
--control-file``. It records every steady-state and background probe result as a zonedrill
sample (its start time, passed or failed by the probe's own tolerance), takes the method's zone
actions as steps (zonedrill's lose_zone/restore_zone, chaostoolkit-kubernetes' node actions),
and when the method ends scores the chaos phase into ``result.json`` and ``samples.jsonl``.
When the experiment ends it adds whether every zone was restored, writes the reports and
records the run in zonedrill's history: ``zonedrill report``, ``verify``, ``gate`` and
``history`` then serve it like a drill's run.

The drill it scores against is the one an export carries in ``extensions``, else the one
``zonedrill import`` makes of the experiment. The run's target is the configuration's
``zonedrill_target``: a lab is opened when the run starts and kept up to its end. Chaos
Toolkit samples the hypothesis one probe after another and then sleeps, so the result says
what that costs (``limits``).
"""

from __future__ import annotations

import logging
import secrets
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from chaoslib.hypothesis import within_tolerance
from rich.console import Console

from orchestrator.ctk import recording, scoring_ctk, session
from orchestrator.ctk.importer import drill_data, selector_labels, zone_for
from orchestrator.ctk.shapes import as_dict, as_list
from orchestrator.ctk.words import in_chaos_terms
from orchestrator.drill.lab import Lab
from orchestrator.drill.model import Drill
from orchestrator.errors import InvalidInputError, Problem
from orchestrator.faults import MODES
from orchestrator.faults.journal import state_dir
from orchestrator.results.history import History, default_path
from orchestrator.results.result import StepRecord
from orchestrator.run.runner import Aftermath, report_and_record
from orchestrator.targets.registry import Target, Where, target_named, target_names

logger = logging.getLogger("chaostoolkit")
EXTENSION_DRILL = "extensions[zonedrill].drill"
"""Where an export carries its drill: the file named in problems with a lab it carries."""
IMPORTED_DRILL = "<the experiment's drill>"
"""The file named in problems of a drill made from the experiment (never a file's name)."""
JUDGEMENTS = {"drill_passed", "rto_within", "score_at_least"}
ZONE_ACTIONS = {
    ("orchestrator.ctk.actions", "lose_zone"): "lose",
    ("orchestrator.ctk.actions", "restore_zone"): "restore",
    ("chaosk8s.node.actions", "uncordon_node"): "restore",
    **{
        ("chaosk8s.node.actions", mode.chaos_toolkit): "lose"
        for mode in MODES.values()
        if mode.chaos_toolkit
    },
}


def configure_control(
    experiment: dict[str, Any],
    configuration: dict[str, Any] | None = None,
    out: str = "",
    **_: Any,
) -> None:
    """Start the run: the session its zone actions share, and the recording when it is a drill."""
    if configuration is None:  # chaoslib always passes the run's mapping; say so if it did not
        logger.warning("zonedrill: no configuration to keep this run's session in")
        return
    if session.KEY in configuration:  # the control declared twice (experiment, global)
        return
    zones = configuration[session.KEY] = session.ZoneSession()
    drill, carried = _drill_of(experiment)
    target, refused = _stand(zones, configuration, drill, _carried_lab(experiment))
    if drill is None:
        return
    stamp = f"{datetime.now(UTC):%Y%m%dT%H%M%SZ}-{secrets.token_hex(2)}"
    run_id = f"ctk-{drill.metadata.name}-{stamp}"
    configuration[recording.KEY] = recording.Recording(
        drill=drill,
        started=datetime.now(UTC),
        run_id=run_id,
        out_dir=Path(out) if out else Path("zonedrill-runs") / run_id,
        hypothesis=_hypothesis_names(experiment),
        target=target,
        refused=refused or _repeated_probes(experiment, drill),
        carried=carried,
    )
    logger.info(f"zonedrill: recording run {run_id} of drill {drill.metadata.name} on {target}")


def _stand(
    zones: session.ZoneSession,
    configuration: dict[str, Any],
    drill: Drill | None,
    carried: Lab | None,
) -> tuple[str, str]:
    """The run's target, opened now when it lives with the process; why it cannot be, if so.

    A lab must be up before the hypothesis first asks its services, and stay up to the end.
    """
    given = configuration.get(session.TARGET_KEY)
    name = session.KUBE if given is None else str(given)
    try:
        target = _target(name)
        if target.lives_with_process:
            given = configuration.get(session.LAB_KEY) or carried
            where = Where(
                settings={"lab": given} if given else {},
                state_dir=state_dir(),
                drill=drill,
                drill_path=Path(EXTENSION_DRILL if carried else IMPORTED_DRILL),
            )
            zones.call(zones.stand(target.prepare(where)))
    except InvalidInputError as exc:
        zones.refuse(exc)
        why = in_chaos_terms(str(exc))
        logger.error(f"zonedrill: the run's target ({session.TARGET_KEY} {name}): {why}")  # noqa: TRY400 (a refusal, not a crash: no traceback)
        return name, why
    return name, ""


def after_hypothesis_control(
    context: Any, state: Any, configuration: dict[str, Any] | None = None, **_: Any
) -> None:
    """The hypothesis before the method: whether the system was steady at all."""
    current = recording.of(configuration)
    if current is not None and current.t0 is None and isinstance(state, dict):
        current.steady = bool(state.get("steady_state_met"))


def before_method_control(
    context: Any, configuration: dict[str, Any] | None = None, **_: Any
) -> None:
    """T0: the chaos phase starts with the method."""
    current = recording.of(configuration)
    if current is not None:
        current.t0 = current.now()


def after_method_control(
    context: Any, configuration: dict[str, Any] | None = None, **_: Any
) -> None:
    """The chaos phase ends: score it, so the hypothesis after the method can judge it."""
    current = recording.of(configuration)
    if current is None or current.t0 is None:
        return
    current.chaos_end = current.now()
    try:
        scoring_ctk.write(current, ended="method")
    except Exception:  # the judgements then fail (no result): say why here, once
        logger.exception("zonedrill: the chaos phase could not be scored")
        raise


def after_activity_control(
    context: dict[str, Any],
    state: dict[str, Any],
    configuration: Any = None,
    secrets: Any = None,
    **_: Any,
) -> None:
    """A probe result becomes a sample; a zone action a step."""
    current = recording.of(configuration)
    if current is None or not isinstance(state, dict):
        return
    provider = context.get("provider") or {}
    if context.get("type") == "probe" and _sampled(context, provider, current):
        _sample(current, context, state, configuration, secrets)
    elif context.get("type") == "action" and _zone_action(provider) in ZONE_ACTIONS:
        _step(current, provider, state)


def after_experiment_control(
    context: Any, state: Any, configuration: dict[str, Any] | None = None, **_: Any
) -> None:
    """The end: restored or not, the reports, the history; an idle session's thread stopped."""
    _close_idle(configuration or {})
    current = recording.of(configuration)
    if current is None:
        return
    journal = state if isinstance(state, dict) else {}
    outcome = scoring_ctk.write(current, ended=str(journal.get("status", "")))
    after = Aftermath(history=History(default_path(state_dir())), trigger="chaostoolkit")
    report_and_record(outcome, after, Console(stderr=True))
    del (configuration or {})[recording.KEY]


def _close_idle(configuration: dict[str, Any]) -> None:
    """Stop the session's loop unless it still holds a lost zone.

    One that does keeps its Lease renewed while the process lives, and its journal open for
    ``zonedrill rollback``, as for a killed run.
    """
    zones = session.of(configuration)
    if zones is not None and zones.idle:
        zones.close()
        del configuration[session.KEY]


def _zone_action(provider: dict[str, Any]) -> tuple[str, str]:
    return (str(provider.get("module")), str(provider.get("func")))


def _mode(func: str, arguments: dict[str, Any]) -> str:
    named = {mode.chaos_toolkit: str(mode.name) for mode in MODES.values() if mode.chaos_toolkit}
    return str(arguments.get("mode") or named.get(func, "power-loss"))


def _target(name: str) -> Target:
    """The installed target ``name``, refused in the words of the configuration key."""
    if name not in target_names():
        message = f'"{name}" is not a target; give one of: {", ".join(target_names())}'
        raise InvalidInputError([Problem(session.TARGET_KEY, None, None, "", message)])
    return target_named(name)


def _extension(experiment: dict[str, Any]) -> dict[str, Any] | None:
    """zonedrill's extension of the experiment: what an export carries."""
    for extension in as_list(experiment.get("extensions")):
        if isinstance(extension, dict) and extension.get("name") == "zonedrill":
            return extension
    return None


def _carried_lab(experiment: dict[str, Any]) -> Lab | None:
    """The lab an export of a drill with a lab carries, if it carries one."""
    extension = _extension(experiment) or {}
    if extension.get("lab") is None:
        return None
    try:
        return Lab.model_validate(extension["lab"])
    except ValueError as exc:
        logger.warning(f"zonedrill: the lab in extensions cannot be read: {exc}")
        return None


def _drill_of(experiment: dict[str, Any]) -> tuple[Drill | None, bool]:
    """The drill the run is scored against, and whether the experiment carries it (an export)."""
    extension = _extension(experiment)
    if extension is not None:
        try:
            return Drill.model_validate(extension.get("drill")), True
        except ValueError as exc:
            logger.warning(f"zonedrill: the drill in extensions cannot be read: {exc}")
            return None, False
    imported = drill_data(experiment)
    try:
        return Drill.model_validate(imported.data), False
    except ValueError as exc:
        logger.warning(f"zonedrill: this experiment is not a drill zonedrill can score: {exc}")
        return None, False


def _repeated_probes(experiment: dict[str, Any], drill: Drill) -> str:
    """Why the samples could not be trusted: a probe of the drill asked by two activities."""
    hypothesis = as_dict(experiment.get("steady-state-hypothesis"))
    names = [str(p.get("name")) for p in as_list(hypothesis.get("probes")) if isinstance(p, dict)]
    names += [
        str(a.get("name"))
        for a in as_list(experiment.get("method"))
        if isinstance(a, dict) and a.get("type") == "probe" and a.get("background")
    ]
    twice = sorted({n for n in names if names.count(n) > 1} & {p.name for p in drill.spec.probes})
    return f"probe {', '.join(twice)} is asked by more than one activity" if twice else ""


def _hypothesis_names(experiment: dict[str, Any]) -> set[str]:
    hypothesis = as_dict(experiment.get("steady-state-hypothesis"))
    return {str(p.get("name")) for p in as_list(hypothesis.get("probes")) if isinstance(p, dict)}


def _sampled(
    activity: dict[str, Any], provider: dict[str, Any], current: recording.Recording
) -> bool:
    if provider.get("module") == "orchestrator.ctk.probes" and provider.get("func") in JUDGEMENTS:
        return False  # a judgement of the result, not a sample of the system
    if activity.get("name") not in current.probes:
        return False  # only the drill's own probes are scored
    return activity.get("name") in current.hypothesis or bool(activity.get("background"))


def _sample(
    current: recording.Recording,
    activity: dict[str, Any],
    run: dict[str, Any],
    configuration: Any,
    secrets: Any,
) -> None:
    error = None
    if run.get("status") != "succeeded":
        trace = run.get("exception") or ["failed"]
        error = f"failed: {str(trace[-1]).strip()[:200]}"
    elif "tolerance" in activity and not within_tolerance(
        activity["tolerance"], run.get("output"), configuration=configuration, secrets=secrets
    ):
        error = "tolerance"
    current.add_sample(str(activity.get("name")), current.at(run["start"]), error is None, error)


def _step(current: recording.Recording, provider: dict[str, Any], run: dict[str, Any]) -> None:
    arguments = provider.get("arguments") or {}
    given = run.get("output")
    output: dict[str, Any] = given if isinstance(given, dict) else {}
    action = ZONE_ACTIONS[_zone_action(provider)]
    zone = str(arguments.get("zone") or "")
    selector = arguments.get("label_selector")
    if not zone and isinstance(selector, str) and selector_labels(selector) is not None:
        zones = current.drill.model_dump(mode="json", by_alias=True)["spec"]["zones"]
        zone = zone_for(selector, zones)
    in_method = current.chaos_end is None
    record = StepRecord(
        index=len([s for s in current.steps if s.index is not None]) if in_method else None,
        action=action,
        zone=zone,
        mode=_mode(str(provider.get("func")), arguments) if action == "lose" else None,
        started=current.at(run["start"]),
        ended=current.at(run["end"]),
        nodes=list(output.get("nodes") or []),
        pods_deleted=int(output.get("podsDeleted") or 0),
        pods_evicted=int(output.get("podsEvicted") or 0),
        evictions_blocked=int(output.get("evictionsBlocked") or 0),
        note="" if run.get("status") == "succeeded" else "the action failed",
    )
    current.steps.append(record)
