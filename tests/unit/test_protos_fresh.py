"""The committed generated code must equal what the .proto files generate."""

import tomllib
from pathlib import Path

from packaging.requirements import Requirement
from packaging.version import Version

from services.common.protogen import (
    GENERATED_SUFFIXES,
    PROTO_ROOT,
    ROOT,
    generate,
    generated_files,
    proto_files,
    stamped_versions,
    without_version_stamps,
)


def test_generated_code_is_fresh(tmp_path: Path) -> None:
    generate(tmp_path)
    fresh = {k: without_version_stamps(v) for k, v in generated_files(tmp_path).items()}
    committed = {k: without_version_stamps(v) for k, v in generated_files(PROTO_ROOT).items()}
    assert fresh, "protoc generated nothing"
    stale = sorted(k for k in fresh.keys() | committed.keys() if fresh.get(k) != committed.get(k))
    assert not stale, f"generated code is stale, run `make protos`: {stale}"


GRPC_MODULE = b"""import grpc
GRPC_GENERATED_VERSION = '1.85.1'
class GoalsStub(object):
    def RecordCheckIn(self, request): ...
"""

PB2_MODULE = b"""# source: stride/goals/v1/goals.proto
# Protobuf Python Version: 7.35.1
_runtime_version.ValidateProtobufRuntimeVersion(
    _runtime_version.Domain.PUBLIC,
    7,
    35,
    1,
    '',
    'stride/goals/v1/goals.proto'
)
"""


def test_a_generator_patch_release_is_not_a_stale_contract() -> None:
    """grpcio-tools 1.85.4 stamps '1.85.4' where 1.85.1 stamped '1.85.1': same contracts."""
    newer = GRPC_MODULE.replace(b"1.85.1", b"1.85.4")
    assert without_version_stamps(newer) == without_version_stamps(GRPC_MODULE)
    newer_pb2 = PB2_MODULE.replace(b"7.35.1", b"7.36.2").replace(b"35,\n    1,", b"36,\n    2,")
    assert newer_pb2 != PB2_MODULE
    assert without_version_stamps(newer_pb2) == without_version_stamps(PB2_MODULE)
    # Everything else still counts: a renamed method or another source is stale.
    renamed = GRPC_MODULE.replace(b"RecordCheckIn", b"RecordCheckIns")
    assert without_version_stamps(renamed) != without_version_stamps(GRPC_MODULE)
    moved = PB2_MODULE.replace(b"goals/v1/goals.proto'", b"goals/v2/goals.proto'")
    assert without_version_stamps(moved) != without_version_stamps(PB2_MODULE)


def test_pyproject_requires_the_runtimes_the_generated_code_checks_for() -> None:
    """The generated modules refuse to import under an older grpcio or protobuf than stamped."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    lower = {}
    for line in project["dependencies"]:
        req = Requirement(line)
        bounds = [Version(s.version) for s in req.specifier if s.operator == ">="]
        if bounds:
            lower[req.name] = max(bounds)
    stamped = stamped_versions()
    assert stamped["grpcio"] and stamped["protobuf"], "no version stamps found"
    for package, versions in stamped.items():
        needed = max(Version(v) for v in versions)
        assert lower.get(package, Version("0")) >= needed, (
            f"pyproject.toml lets {package} < {needed} install, which the generated code refuses"
        )


def test_every_proto_has_typed_messages_and_grpc_stubs() -> None:
    """Messages and gRPC stubs, each with its .pyi, so mypy checks the code calling them."""
    committed = generated_files(PROTO_ROOT)
    stems = [str(proto.relative_to(PROTO_ROOT)).removesuffix(".proto") for proto in proto_files()]
    expected = [stem + suffix for stem in stems for suffix in GENERATED_SUFFIXES]
    missing = [name for name in expected if name not in committed]
    assert not missing, f"run `make protos`: {missing}"


def test_grpc_stubs_are_typed_for_grpc_aio() -> None:
    """Every Stride process uses grpc.aio: stubs take an aio channel, servicers an aio context."""
    stubs = sorted(PROTO_ROOT.rglob("*_pb2_grpc.pyi"))
    with_services = [p for p in stubs if "Servicer" in p.read_text()]
    assert with_services, "no typed gRPC stubs were generated"
    for path in with_services:
        text = path.read_text()
        assert "def __init__(self, channel: _aio.Channel)" in text, path
        assert "context: _aio.ServicerContext[" in text, path
