"""An HTTP front for a Service: kube-proxy plus the app, for clusters whose pods run nothing.

It answers 200 ``ok`` while the Service's EndpointSlices hold at least ``min_ready`` ready
endpoints and 503 otherwise, so probes see exactly what the real cluster's endpoints say; and
``GET /metrics`` gives the ready count as ``zonedrill_front_ready_endpoints`` for a Prometheus
to scrape (the test's prometheus probes ask it). A
watch keeps the count current; the server runs on 127.0.0.1 in a thread of its own.

A front that breaks (any exception but the API's and the network's, which it retries) must not
freeze its count, which would pass "no impact" checks: it answers 500 from then on, ``ready``
raises, and ``stop()`` fails the test with the exception.
"""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from kubernetes import client, watch
from kubernetes.client.exceptions import ApiException
from prometheus_client import CollectorRegistry, Gauge, generate_latest
from urllib3.exceptions import HTTPError

from tests.cluster.zones import discovery_api

SERVICE_NAME_LABEL = "kubernetes.io/service-name"


class ServiceFront:
    """Serve one Service's health on loopback, following its EndpointSlices."""

    def __init__(
        self, api: client.ApiClient, *, namespace: str, name: str, min_ready: int = 1
    ) -> None:
        self.namespace, self.name, self.min_ready = namespace, name, min_ready
        self._discovery = discovery_api(api)
        self._ready_by_slice: dict[str, int] = {}
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self.broken: BaseException | None = None
        self.metrics = CollectorRegistry(auto_describe=True)
        Gauge(
            "zonedrill_front_ready_endpoints",
            "Ready endpoints of the Service, as its EndpointSlices say.",
            ["namespace", "service"],
            registry=self.metrics,
        ).labels(namespace, name).set_function(lambda: self.ready)
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._server.daemon_threads = True
        self._threads = [
            threading.Thread(target=self._server.serve_forever, daemon=True),
            threading.Thread(target=self._follow, daemon=True),
        ]

    @property
    def url(self) -> str:
        """Where probes should go."""
        return f"http://127.0.0.1:{self._server.server_address[1]}/"

    @property
    def ready(self) -> int:
        """Ready endpoints right now, over all the Service's slices."""
        self._check()
        with self._lock:
            return sum(self._ready_by_slice.values())

    def start(self) -> ServiceFront:
        """Start serving and watching."""
        for thread in self._threads:
            thread.start()
        return self

    def stop(self) -> None:
        """Stop serving and watching; fail if the front broke on the way."""
        self._stopping.set()
        self._server.shutdown()
        self._server.server_close()
        self._check()

    def _check(self) -> None:
        if self.broken is not None:
            raise AssertionError(f"the front for {self.name} broke: {self.broken!r}") from (
                self.broken
            )

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        front = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                if self.path == "/metrics":
                    self._answer(200, generate_latest(front.metrics))
                    return
                try:
                    ready = front.ready
                except AssertionError as error:
                    status, body = 500, f"{error}\n".encode()
                else:
                    up = ready >= front.min_ready
                    status = 200 if up else 503
                    body = b"ok\n" if up else f"unavailable: {ready} ready\n".encode()
                self._answer(status, body)

            def _answer(self, status: int, body: bytes) -> None:
                self.send_response(status)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: Any) -> None:
                pass

        return Handler

    def _follow(self) -> None:
        try:
            self._watch()
        except BaseException as error:  # noqa: BLE001 - kept and raised by ready/stop
            self.broken = error

    def _watch(self) -> None:
        selector = f"{SERVICE_NAME_LABEL}={self.name}"
        while not self._stopping.is_set():
            try:
                listing = self._discovery.list_namespaced_endpoint_slice(
                    self.namespace, label_selector=selector
                )
                with self._lock:
                    self._ready_by_slice = {s.metadata.name: _ready(s) for s in listing.items}
                stream = watch.Watch().stream(  # type: ignore[no-untyped-call]
                    self._discovery.list_namespaced_endpoint_slice,
                    self.namespace,
                    label_selector=selector,
                    resource_version=listing.metadata.resource_version,
                    timeout_seconds=30,
                )
                for event in stream:
                    self._apply(event["type"], event["object"])
                    if self._stopping.is_set():
                        return
            except (ApiException, HTTPError, OSError):
                self._stopping.wait(0.5)

    def _apply(self, kind: str, item: Any) -> None:
        with self._lock:
            if kind == "DELETED":
                self._ready_by_slice.pop(item.metadata.name, None)
            else:
                self._ready_by_slice[item.metadata.name] = _ready(item)


def _ready(endpoint_slice: Any) -> int:
    return sum(
        1
        for e in endpoint_slice.endpoints or []
        if e.conditions is None or e.conditions.ready is not False
    )
