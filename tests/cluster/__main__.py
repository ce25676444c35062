"""``python -m tests.cluster build|gomod|up|down``: the test control plane by hand."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from tests.cluster import build


def main(argv: list[str]) -> int:
    """Dispatch the subcommand."""
    parser = argparse.ArgumentParser(prog="python -m tests.cluster", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("build", help="build the binaries into the cache (first time only)")
    sub.add_parser("gomod", help="regenerate go.mod from upstream's staging list")
    up = sub.add_parser("up", help="start a control plane in the background; print the kubeconfig")
    up.add_argument("--dir", help="where state, logs and the kubeconfig go")
    up.add_argument(
        "--zones",
        default="pangyo=3,ansan=3,gasan=2",
        help="KWOK nodes per power zone, like pangyo=3,ansan=3",
    )
    down = sub.add_parser("down", help="stop the control plane started by up")
    down.add_argument("--dir", help="the folder given to up, if any")
    fronts = sub.add_parser(
        "fronts", help="serve a lab's Services on loopback; print the --service-url flags"
    )
    fronts.add_argument("--lab", required=True, help="the lab its kube manifest mirrors")
    fronts.add_argument("--dir", help="the folder given to up, if any")
    options = parser.parse_args(argv)
    if options.command == "build":
        print(build.build())
    elif options.command == "gomod":
        build.write_go_mod()
    elif options.command == "fronts":
        from tests.cluster.fronts import serve  # noqa: PLC0415 - needs a running control plane

        folder = Path(options.dir) if options.dir else build.cache_root() / "running"
        return serve(folder / "kubeconfig", Path(options.lab))
    else:
        from tests.cluster import control_plane  # noqa: PLC0415 - needs the built binaries

        return control_plane.cli(options)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
