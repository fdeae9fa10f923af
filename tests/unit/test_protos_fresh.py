"""The committed generated code must equal what the .proto files generate."""

from pathlib import Path

from services.common.protogen import (
    GENERATED_SUFFIXES,
    PROTO_ROOT,
    generate,
    generated_files,
    proto_files,
)


def test_generated_code_is_fresh(tmp_path: Path) -> None:
    generate(tmp_path)
    fresh = generated_files(tmp_path)
    committed = generated_files(PROTO_ROOT)
    assert fresh, "protoc generated nothing"
    stale = sorted(k for k in fresh.keys() | committed.keys() if fresh.get(k) != committed.get(k))
    assert not stale, f"generated code is stale, run `make protos`: {stale}"


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
