"""kwok's stock stages, with a pod startup delay the tests can set per pod.

The stock ``pod-ready`` stage makes a pod Ready the moment it is bound. Drills that should
match the lab need a startup time, so this adds a delay read from the pod annotation
``pod-ready.stage.kwok.x-k8s.io/delay`` (a Go duration such as ``8s``; none means at once).

The stock ``pod-delete`` stage removes a deleted pod at once, whatever its grace period, which
hides the waits a drain pays for pods that take time to stop. Here a pod goes at its
``deletionTimestamp``: the moment of deletion plus its grace period, as a kubelet would let it.
"""

from __future__ import annotations

import io
from pathlib import Path

from ruamel.yaml import YAML

READY_DELAY_ANNOTATION = "pod-ready.stage.kwok.x-k8s.io/delay"


def with_ready_delay(stock: str) -> str:
    """The stock stage documents with delays added to ``pod-ready`` and ``pod-delete``."""
    yaml = YAML()
    documents = list(yaml.load_all(stock))
    delays = {
        "pod-ready": f'.metadata.annotations["{READY_DELAY_ANNOTATION}"]',
        "pod-delete": ".metadata.deletionTimestamp",
    }
    for name, expression in delays.items():
        stage = [d for d in documents if d and d["metadata"]["name"] == name]
        if len(stage) != 1:
            raise ValueError(f"kwok's stock stages have no single {name} stage to delay")
        stage[0]["spec"]["delay"] = {
            "durationMilliseconds": 0,
            "durationFrom": {"expressionFrom": expression},
        }
    out = io.StringIO()
    yaml.dump_all(documents, out)
    return out.getvalue()


def write_stages(binaries: Path, folder: Path) -> Path:
    """Write the stages kwok runs with into ``folder``; return the file."""
    target = folder / "kwok-stages.yaml"
    target.write_text(with_ready_delay((binaries / "kwok-stages.yaml").read_text()))
    return target
