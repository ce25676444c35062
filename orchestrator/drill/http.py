"""The ``http`` probe kind's model (spec §1.1): a request, and what a passing answer looks like."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Annotated, ClassVar, Literal
from urllib.parse import urlsplit

from pydantic import Field, field_validator

from orchestrator.drill.probe import MAX_TIMEOUT, Finding, ProbeBase, ServiceRef
from orchestrator.drill.types import Duration, FileModel, duration_bounds
from orchestrator.durations import format_duration
from orchestrator.yamlfile import FieldPath

HEADER_NAME = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+")
HEADER_VALUE = re.compile(r"[\x20-\x7e]*")
PATH_PATTERN = r"^/[\x21-\x7e]*$"
URL_PATTERN = (
    r"^[hH][tT][tT][pP][sS]?://([^/?#@\s]*@)?([^/?#:@\[\]\s]+|\[[0-9A-Fa-f:.]+\])"
    r"(:0*(6553[0-5]|655[0-2][0-9]|65[0-4][0-9]{2}|6[0-4][0-9]{3}|[1-5]?[0-9]{1,4})?)?"
    r"([/?#]\S*)?$"
)
"""An http(s) URL with a host and a port in range: what urlsplit reads as one (``http_url``)."""
DEFAULT_TIMEOUT_CAP = 2.0
HTTP_SUCCESS_CLASS = 2


StatusCode = Annotated[int, Field(strict=True, ge=100, le=599)]
"""An HTTP status code, as a number: "200" or true is not one."""


class HttpCheck(FileModel):
    """Where and how one probe asks."""

    model_config = FileModel.model_config | {
        "json_schema_extra": {"oneOf": [{"required": ["url"]}, {"required": ["service"]}]}
    }

    url: str | None = Field(
        default=None,
        json_schema_extra={"pattern": URL_PATTERN},
        description="An absolute http(s) URL, used as written. Give exactly one of url and "
        "service.",
    )
    service: ServiceRef | None = Field(
        default=None,
        description="A Kubernetes Service (or the lab service of that namespace and name): "
        "reached by cluster DNS in a pod, else through the API server's service proxy or "
        "--service-url.",
    )
    path: str = Field(
        default="/",
        pattern=PATH_PATTERN,
        description="The request path, starting with /.",
    )
    method: Literal["GET", "HEAD", "POST", "PUT", "OPTIONS"] = Field(
        default="GET", description="The HTTP method."
    )
    headers: dict[str, str] = Field(
        default_factory=dict,
        json_schema_extra={
            "propertyNames": {"pattern": f"^{HEADER_NAME.pattern}$"},
            "additionalProperties": {"type": "string", "pattern": f"^{HEADER_VALUE.pattern}$"},
        },
        description="Request headers: names are HTTP tokens, values printable ASCII.",
    )
    timeout: Duration | None = Field(
        default=None,
        json_schema_extra=duration_bounds(above_zero=True, at_most=MAX_TIMEOUT),
        description="How long one sample may take before it fails as a timeout; at most 30s. "
        "Default: min(every, 2s).",
    )

    @field_validator("headers")
    @classmethod
    def _sendable(cls, headers: dict[str, str]) -> dict[str, str]:
        # A header that cannot go on the wire would fail every sample for a reason the drill
        # author can fix now; refuse it here instead.
        for name, value in headers.items():
            if not HEADER_NAME.fullmatch(name):
                raise ValueError(f"header name {name!r} is not an HTTP token (letters, digits, -)")
            if not HEADER_VALUE.fullmatch(value):
                raise ValueError(
                    f"the value of header {name} must be printable ASCII without CR or LF"
                )
        return headers


class Expect(FileModel):
    """What a passing answer looks like."""

    status: list[StatusCode] | None = Field(
        default=None,
        min_length=1,
        description="The status codes that pass (100 to 599). Default: any 2xx.",
    )
    body_contains: str | None = Field(
        default=None, description="Text the answer's body must contain to pass."
    )
    max_latency: Duration | None = Field(
        default=None,
        json_schema_extra=duration_bounds(above_zero=True),
        description="A slower answer is a failed sample (reason: slow).",
    )

    def status_ok(self, code: int) -> bool:
        """Any 2xx unless a status list is given."""
        return code in self.status if self.status else code // 100 == HTTP_SUCCESS_CLASS


class HttpProbe(ProbeBase):
    """One HTTP health probe, sampled on a fixed grid."""

    kind: ClassVar[str] = "http"

    http: HttpCheck = Field(description="Where and how the probe asks.")
    expect: Expect = Field(
        default_factory=Expect,
        description="What a passing answer looks like. Default: any 2xx, nothing else checked.",
    )

    @property
    def timeout(self) -> float:
        """The per-sample timeout: as written, else min(every, 2s)."""
        if self.http.timeout is not None:
            return self.http.timeout
        return min(self.every, DEFAULT_TIMEOUT_CAP)

    def service(self) -> tuple[FieldPath, ServiceRef] | None:
        """``http.service``, when the probe asks a Service."""
        return None if self.http.service is None else (("http", "service"), self.http.service)

    def describe(self) -> str:
        """``GET service ns/name:port/path``, or ``GET url``."""
        http = self.http
        if http.service is not None:
            ref = http.service
            return f"{http.method} service {ref.namespace}/{ref.name}:{ref.port}{http.path}"
        return f"{http.method} {http.url}"

    def could_pass(self, status: int, latency: float) -> bool:
        """An expected status within maxLatency."""
        slow = self.expect.max_latency is not None and latency > self.expect.max_latency
        return self.expect.status_ok(status) and not slow

    def findings(self) -> Iterator[Finding]:
        """Timeout in range, exactly one of url and service, a usable URL and path."""
        http = self.http
        if http.timeout is not None and not 0 < http.timeout <= MAX_TIMEOUT:
            yield (
                ("http", "timeout"),
                f"{format_duration(http.timeout)} is out of range: "
                "expected above 0 and at most 30s",
            )
        if (http.url is None) == (http.service is None):
            yield ("http",), 'expected exactly one of "url" and "service"'
        if http.url is not None and not http_url(http.url):
            yield ("http", "url"), "expected an http:// or https:// URL with a host"
        if self.expect.max_latency is not None and self.expect.max_latency <= 0:
            yield ("expect", "maxLatency"), "expected a duration above 0s"
        if not http.path.startswith("/"):
            yield ("http", "path"), 'expected a path starting with "/"'


def http_url(url: str) -> bool:
    """True for an http(s) URL with a host and a port in range."""
    if not re.fullmatch(URL_PATTERN, url):  # the schema's rule too: a space in a host, two @
        return False
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises ValueError for a port out of range
    except ValueError:
        return False
    return parts.scheme in ("http", "https") and bool(parts.hostname)
