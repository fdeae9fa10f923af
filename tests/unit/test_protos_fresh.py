"""The committed generated code must equal what the .proto files generate."""

from pathlib import Path

from services.common.protogen import PROTO_ROOT, generate, generated_files


def test_generated_code_is_fresh(tmp_path: Path) -> None:
    generate(tmp_path)
    fresh = generated_files(tmp_path)
    committed = generated_files(PROTO_ROOT)
    assert fresh, "protoc generated nothing"
    stale = sorted(k for k in fresh.keys() | committed.keys() if fresh.get(k) != committed.get(k))
    assert not stale, f"generated code is stale, run `make protos`: {stale}"
