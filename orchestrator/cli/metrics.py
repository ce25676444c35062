"""``zonedrill metrics``: the history's verified results as OpenMetrics, printed, pushed or served.

``run`` and ``gameday run`` push too (``--push URL``) once their result is recorded, so that a
fleet of clusters (each running scheduled game days) reports to one Pushgateway.
"""

from __future__ import annotations

import socket
import sys
from http.client import HTTPException
from pathlib import Path
from urllib.error import URLError
from wsgiref.simple_server import WSGIRequestHandler, make_server

import click
from prometheus_client import CollectorRegistry, push_to_gateway
from prometheus_client.exposition import make_wsgi_app
from prometheus_client.openmetrics.exposition import generate_latest

from orchestrator.addresses import host_port
from orchestrator.cli.common import HISTORY_OPTION, history_at, refuse, stderr
from orchestrator.cli.gate_evidence import checked, kept
from orchestrator.errors import InvalidInputError, Problem, ZonedrillError
from orchestrator.results.history import History, RunEntry
from orchestrator.results.metrics import HistoryCollector

JOB = "zonedrill"
"""The Pushgateway job the metrics are pushed under."""
PUSH_TIMEOUT = 10.0


def registry_of(history: History) -> CollectorRegistry:
    """A registry that reads ``history`` on each collection, verified results only."""
    registry = CollectorRegistry(auto_describe=True)
    registry.register(HistoryCollector(history, verified=_verifies))
    return registry


def _verifies(entry: RunEntry) -> bool:
    """What ``verify`` checks: the figures follow from the samples kept beside the result."""
    return not checked(kept(entry), None)


def push(history: History, url: str, *, instance: str) -> None:
    """Replace this machine's group on the Pushgateway at ``url`` with the history's metrics."""
    try:
        push_to_gateway(
            url,
            job=JOB,
            registry=registry_of(history),
            grouping_key={"instance": instance},
            timeout=PUSH_TIMEOUT,
        )
    except (URLError, OSError, ValueError, HTTPException) as exc:
        message = f"cannot push to {url}: {exc}; check the Pushgateway's address (http://HOST:9091)"
        raise InvalidInputError([Problem("--push", None, None, "", message)]) from exc


class _Quiet(WSGIRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        """Scrapes are not news: no line per request."""


def serve(history: History, address: str) -> None:
    """Serve GET /metrics at ``address`` until interrupted."""
    host, port = host_port(address, option="--serve")
    try:
        server = make_server(host, port, make_wsgi_app(registry_of(history)), handler_class=_Quiet)
    except (OSError, ValueError, TypeError) as exc:  # a NUL or an overlong label: TypeError
        message = f"cannot serve at {address}: {getattr(exc, 'strerror', None) or exc}"
        raise InvalidInputError([Problem("--serve", None, None, "", message)]) from exc
    with server:
        stderr().print(f"serving /metrics at http://{address}/metrics; Ctrl-C stops")
        try:
            server.serve_forever()
        except KeyboardInterrupt:
            return


PUSH_OPTION = click.option(
    "--push",
    "push_url",
    metavar="URL",
    help="Then push the history's metrics (zonedrill metrics) to this Pushgateway, e.g. "
    "http://pushgateway.monitoring:9091; a failed push is a warning, the exit code the run's.",
)


def push_after(history: History, url: str | None) -> None:
    """``--push`` of ``run`` and ``gameday run``: after the result is recorded; warn on failure."""
    if url is None:
        return
    try:
        push(history, url, instance=default_instance(history))
    except InvalidInputError as exc:
        stderr().print(f"warning: {exc.problems[0].message}", style="yellow", soft_wrap=True)


@click.command()
@HISTORY_OPTION
@click.option("--push", "push_url", metavar="URL", help="Push to this Pushgateway instead.")
@click.option(
    "--instance",
    default=None,
    help="The Pushgateway group's instance label, which a push replaces. Default: the UID (else "
    "the identity) of the cluster of the newest run, else this machine's host name.",
)
@click.option(
    "--serve",
    "serve_at",
    metavar="HOST:PORT",
    help="Serve GET /metrics here for Prometheus to scrape (read afresh on each scrape).",
)
def metrics(
    history_path: Path | None, push_url: str | None, instance: str | None, serve_at: str | None
) -> None:
    """Print the history's results as OpenMetrics, per drill and game day and cluster.

    Last score (0-100), last outcome, last run and last pass times, each probe's worst RTO and
    availability in the last run, and runs by outcome; only results that verify against their
    samples are exported (the others are counted in zonedrill_unverified_results).

    \b
      zonedrill metrics
      zonedrill metrics --push http://pushgateway.monitoring:9091
      zonedrill metrics --serve 0.0.0.0:9464
    """
    try:
        history = history_at(history_path)
        if push_url and serve_at:
            message = "give one of --push and --serve"
            raise InvalidInputError([Problem("--push", None, None, "", message)])
        if push_url:
            push(history, push_url, instance=instance or default_instance(history))
        elif serve_at:
            serve(history, serve_at)
        else:
            sys.stdout.buffer.write(exposition(registry_of(history)))
    except ZonedrillError as exc:
        refuse(exc)


def exposition(registry: CollectorRegistry) -> bytes:
    """The registry in the OpenMetrics text format."""
    text: bytes = generate_latest(registry)  # type: ignore[no-untyped-call]  # untyped upstream
    return text


def default_instance(history: History) -> str:
    """The group a push replaces: the newest run's cluster (a pod's host name changes each run)."""
    newest = history.runs(last=1)
    cluster = newest[0].doc.cluster if newest else None
    if cluster is None:
        return socket.gethostname()
    return cluster.uid or cluster.identity
