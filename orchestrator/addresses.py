"""``HOST:PORT`` as the options that serve something take it (``--lab-metrics``, ``--serve``)."""

from __future__ import annotations

from orchestrator.errors import InvalidInputError, Problem

MAX_PORT = 65535


def host_port(given: str, *, option: str) -> tuple[str, int]:
    """``HOST:PORT`` (``[::1]:9464`` for IPv6) as a pair; exit 2 in words when it is not one."""
    host, _, port = given.rpartition(":")
    host = host.removeprefix("[").removesuffix("]")
    if not host or not (port.isascii() and port.isdigit()) or not 0 < int(port) <= MAX_PORT:
        message = f'"{given}" is not HOST:PORT with a port from 1 to 65535, e.g. 127.0.0.1:9464'
        raise InvalidInputError([Problem(option, None, None, "", message)])
    return host, int(port)
