"""Reproducible benchmarks (``make bench``): each prints ratios against raw engine ceilings."""

import os

# Before anything imports grpc: the benchmark forks its stack's processes while gRPC threads
# run (see services/cli/__init__.py).
os.environ.setdefault("GRPC_ENABLE_FORK_SUPPORT", "false")
