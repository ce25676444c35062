"""zonedrill's errors as a Chaos Toolkit user reads them: activity arguments, not CLI flags.

The adapters say how to fix a problem in the words of the ``zonedrill`` command (``give
--kubeconfig FILE``). Inside ``chaos run`` the same setting is an argument of the activity, so
an activity's failure says that instead. The longest phrases come first.
"""

from __future__ import annotations

CHAOS_WORDS = (
    (
        "give --kubeconfig FILE, or --target lab for a drill with a lab",
        'give the activity a "kubeconfig" argument (a file) or set $KUBECONFIG; '
        "for a drill with a lab, set the configuration key zonedrill_target to lab "
        "(an export reads it from $ZONEDRILL_TARGET)",
    ),
    ("pass --lock-namespace NAMESPACE", 'give the activity a "lock_namespace" argument'),
    (
        "set spec.lab or pass --lab FILE",
        "set spec.lab, or the configuration key zonedrill_lab (an export reads $ZONEDRILL_LAB)",
    ),
    ("no --kubeconfig or $KUBECONFIG", 'no "kubeconfig" argument or $KUBECONFIG'),
    ("--kubeconfig", 'the "kubeconfig" argument'),
    ("--context", 'the "context" argument'),
    ("--lock-namespace", 'the "lock_namespace" argument'),
)


def in_chaos_terms(message: str) -> str:
    """``message`` with each of zonedrill's flags named as the activity argument it is."""
    for flag, argument in CHAOS_WORDS:
        message = message.replace(flag, argument)
    return message
