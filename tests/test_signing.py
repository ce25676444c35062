"""Signed results: runs and game days signed with --sign-key, checked by verify --key and gate.

A forger who can write the run folder can write a whole result that verifies against its own
samples; only a signature by the runner's key tells it apart. The keys are Ed25519 PEM files as
``openssl genpkey -algorithm ed25519`` and ``openssl pkey -pubout`` write them.
"""

from __future__ import annotations

import json
import shutil
import sqlite3
import subprocess
from dataclasses import replace
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.serialization import (
    Encoding,
    NoEncryption,
    PrivateFormat,
    PublicFormat,
)

from orchestrator.errors import InvalidInputError
from orchestrator.probes.samples import digest, encode_samples, read_samples
from orchestrator.results.gameday_result import (
    add_summary,
    parse_gameday,
    parse_summaries,
    summary_of,
)
from orchestrator.results.signing import (
    load_public_key,
    load_signer,
    sign_summary,
    summary_unsigned,
)
from tests.handmade import graded_document, rescored, write_run
from tests.support import ZONEDRILL, cli_env, key_pair, zonedrill
from tests.test_gameday import run_gameday, write_drill, write_gameday


@pytest.fixture(scope="module")
def signed_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, Path]:
    """One lab run signed with the runner's key: (state folder, run folder, runner's public key)."""
    folder = tmp_path_factory.mktemp("signed")
    private, public = key_pair(folder, "runner")
    drill = folder / write_drill(folder, "quick")
    done = zonedrill(
        folder / "state",
        "run",
        str(drill),
        "--out",
        str(folder / "run"),
        "--sign-key",
        str(private),
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "signed: " in done.stderr
    return folder / "state", folder / "run", public


def test_a_signed_run_verifies_and_passes_a_gate_that_trusts_its_key(
    signed_run: tuple[Path, Path, Path],
) -> None:
    """The key that signed it is trusted by verify and by gate, on the file and in the history."""
    state, run, public = signed_run
    verified = zonedrill(state, "verify", str(run), "--key", str(public))
    assert verified.returncode == 0, verified.stdout + verified.stderr
    assert "signed by the key" in verified.stdout
    for where in ([str(run)], ["--drill", "quick"]):
        gate = zonedrill(state, "gate", *where, "--trusted-key", str(public))
        assert gate.returncode == 0, gate.stdout + gate.stderr


def test_another_key_is_not_trusted(signed_run: tuple[Path, Path, Path], tmp_path: Path) -> None:
    """A run signed by someone else's key fails verify --key and the gate."""
    state, run, _ = signed_run
    _, other = key_pair(tmp_path, "other")
    verified = zonedrill(state, "verify", str(run), "--key", str(other))
    assert verified.returncode == 1
    assert "not signed by the trusted key" in verified.stdout
    gate = zonedrill(state, "gate", str(run), "--trusted-key", str(other))
    assert gate.returncode == 1
    assert "not signed by the trusted key" in gate.stdout


def test_a_whole_result_written_from_scratch_verifies_but_is_not_signed(tmp_path: Path) -> None:
    """The forgery verify alone cannot catch: consistent in every figure, but nobody signed it."""
    _, public = key_pair(tmp_path, "runner")
    write_run(tmp_path / "forged", graded_document("forged", "10s"))
    assert zonedrill(tmp_path, "verify", str(tmp_path / "forged")).returncode == 0
    verified = zonedrill(tmp_path, "verify", str(tmp_path / "forged"), "--key", str(public))
    assert (verified.returncode, "no result.intoto.json" in verified.stdout) == (1, True)
    gate = zonedrill(tmp_path, "gate", str(tmp_path / "forged"), "--trusted-key", str(public))
    assert gate.returncode == 1
    assert "not signed: no result.intoto.json" in gate.stdout


@pytest.fixture(scope="module")
def signed_failure(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A failed lab run signed with the runner's key: (its run folder, the runner's public key)."""
    folder = tmp_path_factory.mktemp("signed-failure")
    private, public = key_pair(folder, "runner")
    drill = folder / write_drill(folder, "packed", service="packed")
    run = folder / "run"
    done = zonedrill(folder, "run", str(drill), "--out", str(run), "--sign-key", str(private))
    assert done.returncode == 1, done.stdout + done.stderr
    return run, public


def forgeable(signed_failure: tuple[Path, Path], tmp_path: Path) -> tuple[Path, Path]:
    """A copy of the signed failed run to forge: (its run folder, the runner's public key)."""
    run, public = signed_failure
    shutil.copytree(run, tmp_path / "run")
    return tmp_path / "run", public


def test_targets_relaxed_after_signing_are_refused(
    signed_failure: tuple[Path, Path], tmp_path: Path
) -> None:
    """A signed failed run, its drill's RTO target relaxed and the figures rescored to match."""
    run, public = forgeable(signed_failure, tmp_path)
    document = json.loads((run / "result.json").read_text())
    document["drillSpec"]["spec"]["targets"][0] |= {"rto": "1h", "availability": "1%"}
    (run / "result.json").write_text(json.dumps(_rescored_from(run, document)))
    assert zonedrill(tmp_path, "verify", str(run)).returncode == 0  # consistent, and a pass
    gate = zonedrill(tmp_path, "gate", str(run), "--trusted-key", str(public))
    assert gate.returncode == 1
    assert "result.json changed since it was signed" in gate.stdout


def test_samples_rewritten_after_signing_are_refused(
    signed_failure: tuple[Path, Path], tmp_path: Path
) -> None:
    """A signed failed run whose failed samples now answer 200 in time: verify alone accepts it."""
    run, public = forgeable(signed_failure, tmp_path)
    samples, _ = read_samples(run / "samples.jsonl")
    answered = [
        replace(s, passed=True, status=200, error=None, detail=None, latency=0.01)
        if not s.passed
        else s
        for s in samples
    ]
    data = encode_samples(answered)
    (run / "samples.jsonl").write_bytes(data)
    document = json.loads((run / "result.json").read_text()) | {"samplesDigest": digest(data)}
    (run / "result.json").write_text(json.dumps(rescored(document, answered)))
    assert zonedrill(tmp_path, "verify", str(run)).returncode == 0  # consistent, and a pass
    gate = zonedrill(tmp_path, "gate", str(run), "--trusted-key", str(public))
    assert (gate.returncode, "changed since it was signed" in gate.stdout) == (1, True)
    verified = zonedrill(tmp_path, "verify", str(run), "--key", str(public))
    assert verified.returncode == 1
    assert "signature: result.intoto.json: samples.jsonl changed since it was signed" in (
        verified.stdout
    )


def _rescored_from(run: Path, document: dict[str, object]) -> dict[str, object]:
    samples, _ = read_samples(run / "samples.jsonl")
    return rescored(document, samples)


def test_a_signed_game_day_passes_and_an_unsigned_record_does_not(tmp_path: Path) -> None:
    """gameday run --sign-key signs gameday.json and each drill run; the gate checks both."""
    private, public = key_pair(tmp_path, "runner")
    gameday = write_gameday(tmp_path, [write_drill(tmp_path, "one")])
    code, _, printed = run_gameday(tmp_path, gameday, "--sign-key", str(private))
    assert code == 0, printed
    gate = zonedrill(tmp_path / "state", "gate", "--gameday", "gd", "--trusted-key", str(public))
    assert gate.returncode == 0, gate.stdout + gate.stderr
    (tmp_path / "out" / "gameday.intoto.json").unlink()
    gate = zonedrill(tmp_path / "state", "gate", "--gameday", "gd", "--trusted-key", str(public))
    assert gate.returncode == 1
    assert "not signed: no gameday.intoto.json" in gate.stdout


@pytest.mark.parametrize("command", [["run", "{drill}"], ["gameday", "run", "{gameday}"]])
def test_a_bad_signing_key_is_refused_before_anything_runs(
    tmp_path: Path, command: list[str]
) -> None:
    """A public key given as --sign-key: exit 2, how to make a key, and no run folder."""
    _, public = key_pair(tmp_path, "runner")
    drill = tmp_path / write_drill(tmp_path, "one")
    names = {"drill": str(drill), "gameday": str(write_gameday(tmp_path, [drill.name]))}
    args = [part.format(**names) for part in command]
    done = zonedrill(
        tmp_path / "state", *args, "--out", str(tmp_path / "out"), "--sign-key", str(public)
    )
    assert done.returncode == 2, done.stdout + done.stderr
    printed = done.stdout + done.stderr
    assert "not a PEM private key" in printed
    assert "openssl genpkey -algorithm ed25519" in printed
    assert not (tmp_path / "out").exists()


def test_a_cluster_summary_carries_its_own_signature(tmp_path: Path) -> None:
    """The summary kept in the cluster is signed whole: any field changed, or another key, fails."""
    private, public = key_pair(tmp_path, "runner")
    _, other = key_pair(tmp_path, "other")
    gameday = write_gameday(tmp_path, [write_drill(tmp_path, "one")])
    code, _, printed = run_gameday(tmp_path, gameday)
    assert code == 0, printed
    day = parse_gameday((tmp_path / "out" / "gameday.json").read_bytes(), source="gameday.json")
    summary = sign_summary(summary_of(day), load_signer(private))
    # As the cluster keeps it: JSON in a ConfigMap, read back.
    (kept,) = parse_summaries(add_summary(None, summary, source="k"), source="k")
    trusted = load_public_key(public, option="--trusted-key")
    assert summary_unsigned(kept, trusted) == []
    assert (
        "not signed by the trusted key"
        in summary_unsigned(kept, load_public_key(other, option="--trusted-key"))[0]
    )
    for forged in ({"trigger": "schedule"}, {"ended_at": day.started_at}):
        changed = kept.model_copy(update=forged)
        assert "changed since it was signed" in summary_unsigned(changed, trusted)[0]
    assert "carries no signature" in summary_unsigned(summary_of(day), trusted)[0]


def test_an_empty_trusted_key_variable_is_refused(signed_run: tuple[Path, Path, Path]) -> None:
    """A CI secret that came out empty must not turn the signature check off."""
    state, run, _ = signed_run
    done = subprocess.run(
        [*ZONEDRILL, "gate", str(run)],
        capture_output=True,
        text=True,
        env={**cli_env(state), "ZONEDRILL_TRUSTED_KEY": ""},
        timeout=60,
        check=False,
    )
    assert done.returncode == 2, done.stdout + done.stderr
    assert "ZONEDRILL_TRUSTED_KEY is set but empty" in done.stdout + done.stderr


def test_an_envelope_nested_deep_is_unsigned_not_a_traceback(
    signed_run: tuple[Path, Path, Path], tmp_path: Path
) -> None:
    """JSON nested 500,000 deep where the envelope belongs: not readable, exit 1."""
    state, run, public = signed_run
    copy = tmp_path / "run"
    shutil.copytree(run, copy)
    (copy / "result.intoto.json").write_text("[" * 500_000 + "]" * 500_000)
    for command in (["verify", str(copy), "--key"], ["gate", str(copy), "--trusted-key"]):
        done = zonedrill(state, *command, str(public))
        assert done.returncode == 1, done.stdout + done.stderr
        assert "result.intoto.json: not readable" in done.stdout


def test_an_rsa_key_under_2048_bits_is_refused(tmp_path: Path) -> None:
    """A 1024-bit RSA key signs nothing a pipeline should trust: exit 2 for either side."""
    weak = rsa.generate_private_key(public_exponent=65537, key_size=1024)  # noqa: S505 - the weak key under test
    private, public = tmp_path / "weak.key", tmp_path / "weak.pub"
    private.write_bytes(weak.private_bytes(Encoding.PEM, PrivateFormat.PKCS8, NoEncryption()))
    public.write_bytes(
        weak.public_key().public_bytes(Encoding.PEM, PublicFormat.SubjectPublicKeyInfo)
    )
    for loading in (lambda: load_signer(private), lambda: load_public_key(public, option="--key")):
        with pytest.raises(InvalidInputError, match="RSA key of 1024 bits"):
            loading()


def test_a_trigger_relabelled_in_the_history_is_not_what_was_signed(
    signed_run: tuple[Path, Path, Path], tmp_path: Path
) -> None:
    """A manual run marked ``schedule`` in the history does not pass a scheduled-runs gate."""
    state, _, public = signed_run
    copy = tmp_path / "state"
    shutil.copytree(state, copy)
    with sqlite3.connect(copy / "history.sqlite") as db:
        db.execute("UPDATE runs SET trigger = 'schedule'")
        db.execute("UPDATE starts SET trigger = 'schedule'")
    gate = zonedrill(
        copy, "gate", "--drill", "quick", "--trigger", "schedule", "--trusted-key", str(public)
    )
    assert gate.returncode == 1, gate.stdout + gate.stderr
    assert "trigger 'schedule' is not what was signed ('manual')" in gate.stdout
