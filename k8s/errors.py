"""Map the Kubernetes client's exceptions onto zonedrill's one error tree.

The core never sees ``ApiException``: every API failure leaves this package as a ClusterError
subclass that names the verb and the resource, so a missing RBAC permission reads like
``forbidden: cannot patch nodes "pangyo-1"`` rather than a stack trace.
"""

from __future__ import annotations

import json

from kubernetes.client.exceptions import ApiException
from urllib3.exceptions import HTTPError

from orchestrator.errors import (
    ClusterConflictError,
    ClusterError,
    ClusterForbiddenError,
    ClusterNotFoundError,
    ClusterUnreachableError,
    EvictionBlockedError,
)

HTTP_UNAUTHORIZED, HTTP_FORBIDDEN, HTTP_NOT_FOUND = 401, 403, 404
HTTP_CONFLICT, HTTP_TOO_MANY, HTTP_SERVER_ERROR = 409, 429, 500
BY_STATUS: dict[int, type[ClusterError]] = {
    HTTP_NOT_FOUND: ClusterNotFoundError,
    HTTP_CONFLICT: ClusterConflictError,
}


def _causes(exc: ApiException) -> set[str]:
    try:
        details = json.loads(exc.body or "{}").get("details") or {}
    except ValueError:
        return set()
    return {str(c.get("reason")) for c in details.get("causes") or []}


def _message(exc: ApiException) -> str:
    try:
        return str(json.loads(exc.body or "{}").get("message") or exc.reason)
    except ValueError:
        return str(exc.reason)


def _retry_after(exc: ApiException) -> float | None:
    value = (exc.headers or {}).get("Retry-After")
    try:
        return float(value) if value is not None else None
    except ValueError:
        return None


def translate(exc: ApiException | HTTPError | OSError, *, verb: str, what: str) -> ClusterError:
    """The ClusterError for a failed ``verb`` on ``what`` (like ``nodes "pangyo-1"``)."""
    if not isinstance(exc, ApiException):
        return ClusterUnreachableError(f"cannot reach the API server to {verb} {what}: {exc}")
    status, message = exc.status, _message(exc)
    if status == HTTP_FORBIDDEN and "NamespaceTerminating" in _causes(exc):
        # Its namespace is being deleted: the object is on its way out, like a 404.
        return ClusterNotFoundError(f"{what} is going away with its namespace")
    if status in (HTTP_UNAUTHORIZED, HTTP_FORBIDDEN):
        return ClusterForbiddenError(f"forbidden: cannot {verb} {what}: {message}")
    if status == HTTP_TOO_MANY:
        return EvictionBlockedError(
            f"{verb} {what} refused: {message}", retry_after=_retry_after(exc)
        )
    if status in BY_STATUS:
        return BY_STATUS[status](f"{verb} {what}: {message}")
    # A 5xx is the API server (or what is behind it) failing for now: worth a retry.
    failure = ClusterUnreachableError if status >= HTTP_SERVER_ERROR else ClusterError
    return failure(f"{verb} {what} failed ({status}): {message}")
