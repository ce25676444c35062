"""``zonedrill verify``: whether a run, or a game day and its runs, follows from its evidence.

Exit codes: 0 it does, 1 it does not (each difference named), 2 the files cannot be read.
"""

from __future__ import annotations

import sys
from datetime import UTC, datetime
from pathlib import Path

import click
from securesystemslib.signer import SSlibKey

from orchestrator.cli.common import OUTPUT_OPTION, print_document, print_refusal, refuse
from orchestrator.cli.gate_days import Expected, folder_verdict
from orchestrator.cli.gate_evidence import Judging
from orchestrator.cli.outputs import VerifyOut
from orchestrator.errors import ZonedrillError
from orchestrator.outcomes import Exit, Outcome
from orchestrator.results.gameday_files import (
    FinishedGameDay,
    gameday_file,
    load_finished_gameday,
)
from orchestrator.results.gate import GatePolicy
from orchestrator.results.report.document import FinishedRun, load_result, read_samples_of
from orchestrator.results.signing import load_public_key, unsigned
from orchestrator.results.verify import differences
from orchestrator.text import clean


@click.command()
@click.argument("run_dir", metavar="RUN_DIR", type=click.Path(path_type=Path))
@click.option(
    "--key",
    type=click.Path(path_type=Path, dir_okay=False),
    help="Also require the run to be signed with this PEM public key (run --sign-key), its "
    "result.json and samples.jsonl unchanged since.",
)
@OUTPUT_OPTION
def verify(run_dir: Path, key: Path | None, form: str) -> None:
    """Recompute a run's figures, checks, score and outcome from its samples; exit 0 if they match.

    Reads result.json (its drillSpec, phase boundaries and step times) and samples.jsonl, checks
    the samples against samplesDigest, and names every field that differs (exit 1). Exit 2 when
    the files cannot be read. With --key, an unsigned run, or one signed by another key, or
    changed since it was signed, does not verify either. Given a game day's folder (or its
    gameday.json), every drill run it names must verify and agree with it. -o json|yaml prints
    a VerifyResult document instead of lines.

    \b
      zonedrill verify zonedrill-runs/<run-id>
      zonedrill verify zonedrill-runs/<run-id> --key zonedrill.pub
      zonedrill verify zonedrill-runs/<game-day-id> -o json | jq .matches
    """
    try:
        trusted = None if key is None else load_public_key(key, option="--key")
        day = gameday_file(run_dir)
        if day is None:
            found = _verify_run(load_result(run_dir, with_samples=False), trusted)
        else:
            found = _verify_gameday(load_finished_gameday(day, with_samples=False), trusted)
    except ZonedrillError as exc:
        print_refusal(exc, run_dir, form)
        refuse(exc)
    if form != "text":
        print_document(found, form)
    else:
        for line in found.differences:
            click.echo(clean(f"differs: {line}"))
        for line in found.signature:
            click.echo(clean(f"signature: {line}"))
        click.echo(clean(_verify_line(found)))
    sys.exit(Exit.OK if found.matches else Exit.FAILED)


def _verify_run(finished: FinishedRun, trusted: SSlibKey | None) -> VerifyOut:
    samples, digest = read_samples_of(finished)
    samples_path = finished.path.parent / finished.doc.samples_file
    signature = [] if trusted is None else unsigned(finished.path, [samples_path], trusted)
    diffs = differences(finished.doc, samples, digest)
    return VerifyOut(
        path=str(finished.path),
        matches=not diffs and not signature,
        differences=diffs,
        signature=signature,
        signed=None if trusted is None else not signature,
        samples=len(samples),
    )


def _verify_gameday(day: FinishedGameDay, trusted: SSlibKey | None) -> VerifyOut:
    """Every drill run of the game day verifies and agrees with it (and is signed, with a key)."""
    anything = frozenset(Outcome)  # verify judges evidence, not the outcome
    policy = GatePolicy(outcomes=anything, require_restored=False)
    verdict = folder_verdict(day, Judging(policy, trusted, datetime.now(UTC)), Expected())
    return VerifyOut(
        kind="GameDayVerifyResult",
        path=str(day.path),
        matches=not verdict.reasons,
        differences=verdict.reasons,
        signature=[],
        signed=None if trusted is None else not unsigned(day.path, [], trusted),
        drill_runs=len(day.doc.runs),
    )


def _verify_line(found: VerifyOut) -> str:
    verdict = "matches" if found.matches else "does not match"
    signed = {None: "", True: ", signed by the key", False: ", unsigned"}[found.signed]
    what = (
        f"its {found.samples} samples"
        if found.drill_runs is None
        else f"its {found.drill_runs} drill run(s)"
    )
    return f"{found.path}: {verdict} {what}{signed}"
