"""zonedrill: datacenter-loss drills for Kubernetes."""

__version__ = "0.1.0"
