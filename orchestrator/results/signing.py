"""Signed results: an in-toto statement over a run's files, in a DSSE envelope (spec §4 issue 19).

A result that verifies still proves only that it agrees with itself: whoever can write the
folder can write a whole consistent run. A pipeline that gates a release on it needs to know the
run came from its own runner, so the runner signs the files' digests with its key and the gate
checks them against the public key it trusts.

The envelope, the signature scheme and the key handling are securesystemslib's and
cryptography's; this module only says which files a statement covers and reads PEM key files
(a PKCS#8 private key, a SubjectPublicKeyInfo public key, as ``openssl genpkey -algorithm
ed25519`` and ``openssl pkey -pubout`` write them).
"""

from __future__ import annotations

import copy
import hashlib
import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from types import MappingProxyType
from typing import Any

from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.serialization import (
    load_pem_private_key,
    load_pem_public_key,
)
from securesystemslib.dsse import Envelope
from securesystemslib.exceptions import VerificationError
from securesystemslib.signer import CryptoSigner, Signer, SSlibKey

from orchestrator.errors import InvalidInputError, Problem
from orchestrator.results.gameday_result import GameDaySummary
from orchestrator.results.storage import write_durably
from orchestrator.yamlfile import read_bounded

PAYLOAD_TYPE = "application/vnd.in-toto+json"
STATEMENT_TYPE = "https://in-toto.io/Statement/v1"
PREDICATE_TYPE = "https://zonedrill.io/attestation/v1"
SIGNED_SUFFIX = ".intoto.json"
"""The envelope of ``result.json`` is ``result.intoto.json`` beside it."""
NONE: Mapping[str, str] = MappingProxyType({})
MAX_KEY_BYTES = 64 * 1024
MAX_ENVELOPE_BYTES = 1024 * 1024


def envelope_path(document: Path) -> Path:
    """Where the signature of ``document`` (and of the files it names) is kept."""
    return document.with_name(document.name.removesuffix(".json") + SIGNED_SUFFIX)


def load_signer(path: Path, *, option: str = "--sign-key") -> Signer:
    """The signer of a PEM private key file; exit 2 (InvalidInputError) naming what is wrong."""
    data = read_bounded(path, limit=MAX_KEY_BYTES)
    try:
        key = load_pem_private_key(data, password=None)
        _strong_enough(key)
        return CryptoSigner(key)
    except (ValueError, TypeError) as exc:
        raise _bad_key(path, option, "a PEM private key without a password", exc) from None


def load_public_key(path: Path, *, option: str) -> SSlibKey:
    """The key of a PEM public key file; exit 2 (InvalidInputError) naming what is wrong."""
    data = read_bounded(path, limit=MAX_KEY_BYTES)
    try:
        key = load_pem_public_key(data)
        _strong_enough(key)
        return SSlibKey.from_crypto(key)
    except (ValueError, TypeError) as exc:
        raise _bad_key(path, option, "a PEM public key", exc) from None


MIN_RSA_BITS = 2048


def _strong_enough(key: object) -> None:
    """RSA below 2048 bits can be factored by a determined forger: refused."""
    if isinstance(key, rsa.RSAPrivateKey | rsa.RSAPublicKey) and key.key_size < MIN_RSA_BITS:
        raise ValueError(f"an RSA key of {key.key_size} bits; use Ed25519 or RSA of 2048 or more")


def _bad_key(path: Path, option: str, wanted: str, exc: Exception) -> InvalidInputError:
    message = (
        f"not {wanted} ({exc}); make one with: openssl genpkey -algorithm ed25519 -out "
        "zonedrill.key && openssl pkey -in zonedrill.key -pubout -out zonedrill.pub"
    )
    return InvalidInputError([Problem(str(path), None, None, option, message)])


def sign(
    document: Path, covered: Sequence[Path], signer: Signer, *, claims: Mapping[str, str] = NONE
) -> Path:
    """Sign ``document``, the files it names (``covered``) and ``claims`` the files lack.

    A run's trigger lives in the history, not in result.json: signed here, a manual run cannot
    be relabelled ``schedule`` in the history to pass ``gate --trigger schedule``.
    """
    subjects = [_subject(document, path) for path in (document, *covered)]
    envelope = signed(subjects, {"document": document.name, **claims}, signer)
    text = json.dumps(envelope, indent=2) + "\n"
    return write_durably(envelope_path(document), text.encode())


def signed(subjects: list[dict[str, Any]], predicate: dict[str, Any], signer: Signer) -> Any:
    """The DSSE envelope (JSON data) of an in-toto statement of ``subjects`` and ``predicate``."""
    statement = {
        "_type": STATEMENT_TYPE,
        "subject": subjects,
        "predicateType": PREDICATE_TYPE,
        "predicate": predicate,
    }
    envelope = Envelope(
        payload=json.dumps(statement, sort_keys=True).encode(),
        payload_type=PAYLOAD_TYPE,
        signatures={},
    )
    envelope.sign(signer)
    return envelope.to_dict()


def _subject(document: Path, path: Path) -> dict[str, Any]:
    name = path.relative_to(document.parent).as_posix()
    with path.open("rb") as handle:  # in chunks: a samples file can be large, or made huge
        found = hashlib.file_digest(handle, "sha256").hexdigest()
    return {"name": name, "digest": {"sha256": found}}


def unsigned(
    document: Path, covered: Sequence[Path], key: SSlibKey, *, claims: Mapping[str, str] = NONE
) -> list[str]:
    """Why ``document``, ``covered`` and ``claims`` are not signed by ``key``: none when they are.

    The statement must name these files, with their digests as they are now, and each claim.
    """
    where = envelope_path(document)
    if not where.is_file():
        return [f"not signed: no {where.name} beside {document.name}"]
    try:
        data = json.loads(read_bounded(where, limit=MAX_ENVELOPE_BYTES))
    except InvalidInputError as exc:
        return [f"{where.name}: not readable ({exc.problems[0].message})"]
    except (ValueError, RecursionError) as exc:  # nested deep enough, json recurses out
        return [f"{where.name}: not readable ({type(exc).__name__})"]
    statement, found = statement_of(data, key, where.name)
    return (
        found
        or _covers(statement, document, covered, where.name)
        or _claims(statement, claims, where.name)
    )


def _claims(statement: dict[str, Any], claims: Mapping[str, str], name: str) -> list[str]:
    predicate = statement.get("predicate")
    signed = predicate if isinstance(predicate, dict) else {}
    return [
        f"{name}: {field} {value!r} is not what was signed ({signed.get(field)!r})"
        for field, value in claims.items()
        if signed.get(field) != value
    ]


def statement_of(envelope: Any, key: SSlibKey, name: str) -> tuple[Any, list[str]]:
    """The in-toto statement ``envelope`` (JSON data) carries, if ``key`` signed it."""
    try:
        opened = Envelope.from_dict(copy.deepcopy(envelope))  # from_dict pops what it reads
        opened.verify([key], 1)
    except VerificationError:
        return None, [f"{name}: not signed by the trusted key {key.keyid[:16]}"]
    except (ValueError, KeyError, TypeError, AttributeError, RecursionError) as exc:
        return None, [f"{name}: not a DSSE envelope ({type(exc).__name__}: {exc})"[:300]]
    if opened.payload_type != PAYLOAD_TYPE:
        return None, [f"{name}: carries {opened.payload_type}, not an in-toto statement"]
    try:
        return json.loads(opened.payload), []
    except (ValueError, RecursionError) as exc:
        return None, [f"{name}: the signed payload is not readable JSON ({type(exc).__name__})"]


def _covers(statement: Any, document: Path, covered: Sequence[Path], name: str) -> list[str]:
    if not isinstance(statement, dict) or statement.get("_type") != STATEMENT_TYPE:
        return [f"{name}: the signed payload is not an in-toto statement"]
    signed = {
        s.get("name"): s.get("digest", {}).get("sha256")
        for s in statement.get("subject", [])
        if isinstance(s, dict) and isinstance(s.get("digest"), dict)
    }
    found = []
    for path in (document, *covered):
        subject = _subject(document, path) if path.is_file() else None
        digest = subject["digest"]["sha256"] if subject else None
        label = path.relative_to(document.parent).as_posix()
        if signed.get(label) is None:
            found.append(f"{name}: {label} is not signed")
        elif signed[label] != digest:
            found.append(f"{name}: {label} changed since it was signed")
    return found


def sign_summary(summary: GameDaySummary, signer: Signer) -> GameDaySummary:
    """``summary`` carrying its own signature: the cluster keeps no file to sign beside it."""
    subject = {"name": "gameday.json", "digest": {"sha256": summary.digest}}
    envelope = signed([subject], _summary_fields(summary), signer)
    return summary.model_copy(update={"signature": envelope})


def summary_unsigned(summary: GameDaySummary, key: SSlibKey) -> list[str]:
    """Why ``summary`` is not signed by ``key`` as it reads now: none when it is."""
    name = f"the cluster's summary of {summary.game_day_id}"
    if summary.signature is None:
        return [f"not signed: {name} carries no signature"]
    statement, found = statement_of(summary.signature, key, name)
    if found:
        return found
    if not isinstance(statement, dict) or statement.get("predicate") != _summary_fields(summary):
        return [f"{name} changed since it was signed"]
    return []


def _summary_fields(summary: GameDaySummary) -> dict[str, Any]:
    fields: dict[str, Any] = summary.model_dump(mode="json", by_alias=True, exclude={"signature"})
    return fields
