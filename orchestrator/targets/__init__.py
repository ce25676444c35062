"""Cluster targets: the port the core talks to, the registry of targets, the lab."""
