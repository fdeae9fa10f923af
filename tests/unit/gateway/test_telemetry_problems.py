"""Every error the telemetry service can answer reaches HTTP clients with a stable code and a
known status: gateway/problems.py's TELEMETRY_PROBLEMS names each code the service raises (read
from its source), the status follows the gRPC status of the error class that raises it, and
docs/telemetry.md lists them all. The gateway's copies of the service's metric limits stay
equal to the service's (the gateway does not import its handlers)."""

from __future__ import annotations

import ast
import os
import subprocess
import sys
from pathlib import Path

import grpc

from gateway.problems import GRPC_STATUS_MAP, TELEMETRY_PROBLEMS
from services.common import errors

ROOT = Path(__file__).resolve().parents[3]
SERVICE = ROOT / "services" / "telemetry"
DOC = ROOT / "docs" / "telemetry.md"
CLASSES = {
    name: getattr(errors, name).status
    for name in (
        "DomainError",
        "InvalidArgument",
        "NotFound",
        "AlreadyExists",
        "FailedPrecondition",
    )
}


def raised() -> dict[str, grpc.StatusCode]:
    """code → gRPC status of every ``DomainError`` (or subclass) the service constructs."""
    found: dict[str, grpc.StatusCode] = {}
    for path in SERVICE.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Name)
                and node.func.id in CLASSES
                and node.args
                and isinstance(node.args[0], ast.Constant)
            ):
                continue
            status = CLASSES[node.func.id]
            for kw in node.keywords:  # DomainError(..., status=grpc.StatusCode.X)
                if kw.arg == "status" and isinstance(kw.value, ast.Attribute):
                    status = grpc.StatusCode[kw.value.attr]
            found[str(node.args[0].value)] = status
    return found


def test_every_code_the_service_raises_is_in_the_table_with_its_status() -> None:
    codes = raised()
    assert len(codes) > 10, "the scan found the service's errors"
    assert set(codes) == set(TELEMETRY_PROBLEMS), (
        f"not in TELEMETRY_PROBLEMS: {sorted(set(codes) - set(TELEMETRY_PROBLEMS))}; "
        f"no longer raised: {sorted(set(TELEMETRY_PROBLEMS) - set(codes))}"
    )
    for code, status in codes.items():
        assert GRPC_STATUS_MAP[status][0] == TELEMETRY_PROBLEMS[code], code


def test_the_telemetry_page_lists_every_code() -> None:
    text = DOC.read_text(encoding="utf-8")
    missing = [code for code in TELEMETRY_PROBLEMS if f"`{code}`" not in text]
    assert not missing, f"docs/telemetry.md does not name {missing}"


def test_the_gateway_does_not_load_the_services_persistence() -> None:
    """Importing the app must not pull in SQLAlchemy (22 MB of the gateway's idle memory)."""
    code = "import sys, gateway.app; print('sqlalchemy.orm' in sys.modules)"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), str(ROOT / "protos")])}
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT, env=env
    )
    assert done.stdout.strip() == "False"
