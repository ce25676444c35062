"""``zonedrill schedule FILE``: the manifests that run a game day on its schedule (spec §6)."""

from __future__ import annotations

import io
import json
import sys
from pathlib import Path

import click
from ruamel.yaml import YAML

from orchestrator.cli.common import stderr
from orchestrator.drill import load_gameday
from orchestrator.errors import ZonedrillError
from orchestrator.gameday.cronjob import STATE_DIR, ScheduleRequest, manifests, state_claim
from orchestrator.run.console import fail


@click.command()
@click.argument("file", metavar="GAMEDAY", type=click.Path(path_type=Path, dir_okay=False))
@click.option(
    "--image",
    required=True,
    help="zonedrill's container image, as your nodes pull it (docs/gameday.md builds one).",
)
@click.option(
    "--namespace",
    default="zonedrill",
    show_default=True,
    help="Where the CronJob, its ServiceAccount, the drill Lease and the results live.",
)
@click.option(
    "--sign-key-secret",
    metavar="NAME",
    help="Sign every result with the PEM private key in this Secret's zonedrill.key (made "
    "with: kubectl -n NAMESPACE create secret generic NAME --from-file=zonedrill.key); gate "
    "with --trusted-key and the public key.",
)
@click.option(
    "--push",
    "push_url",
    metavar="URL",
    help="Push the metrics (zonedrill metrics) to this Pushgateway at the end of each game day, "
    "so that a fleet of clusters reports to one Prometheus.",
)
def schedule(
    file: Path, image: str, namespace: str, sign_key_secret: str | None, push_url: str | None
) -> None:
    """Print the manifests that run a game day on its spec.schedule inside the cluster.

    A ConfigMap with the game day and its drills, a CronJob (concurrencyPolicy Forbid, the
    schedule's time zone) running zonedrill gameday run --target kube, a volume for journals
    and history, and the least-privilege ServiceAccount of k8s/rbac.yaml. Each game day's
    summary is kept in the ConfigMap zonedrill-results, for gate --gameday NAME --from-cluster.

    \b
      zonedrill schedule drills/weekly-dc-loss.gameday.yaml \\
        --image registry.example/zonedrill:0.1.0 | kubectl apply -f -
      kubectl -n zonedrill create job --from=cronjob/zonedrill-weekly-dc-loss try-now
    """
    console = stderr()
    try:
        gameday_model, drills = load_gameday(file)
        request = ScheduleRequest(
            gameday_model, file, drills, image, namespace, sign_key_secret, push_url
        )
        documents = manifests(request)
    except ZonedrillError as exc:
        sys.exit(fail(console, exc))
    name = gameday_model.metadata.name
    click.echo(
        # The path is the user's text: JSON-quoted, a newline in it cannot end the comment.
        f"# Printed by: zonedrill schedule {json.dumps(str(file))} --image {image} "
        f"--namespace {namespace}\n"
        f"# Game day {name}, run by a CronJob on its schedule. Apply: kubectl apply -f FILE\n"
        f"# Image {image}: zonedrill's image (k8s/image/build.py), pushed to your registry\n"
        f"#   with skopeo copy oci-archive:zonedrill-0.1.0.oci.tar docker://{image}"
        " (docs/gameday.md).\n"
        f"# Journals and history: volume {state_claim(request)} ({STATE_DIR}). Each game day's "
        "summary:\n"
        f"#   ConfigMap {namespace}/zonedrill-results; gate on it from anywhere with\n"
        f"#   zonedrill gate --gameday {name} --from-cluster --lock-namespace {namespace}"
        " --trigger schedule --max-age 7d"
    )
    if sign_key_secret is not None:  # checked by manifests(): a Secret's name, no newline
        click.echo(
            f"# Results signed with Secret {namespace}/{sign_key_secret}, created first with\n"
            f"#   kubectl -n {namespace} create secret generic {sign_key_secret} "
            "--from-file=zonedrill.key"
        )
    yaml = YAML()
    yaml.default_flow_style = False
    stream = io.StringIO()
    yaml.dump_all(documents, stream)
    click.echo(stream.getvalue(), nl=False)
