"""Generate the Python code for protos/ (``make protos``).

For every ``<name>.proto`` this writes ``<name>_pb2.py`` and ``<name>_pb2_grpc.py`` (grpcio-tools)
and their type stubs ``<name>_pb2.pyi`` and ``<name>_pb2_grpc.pyi`` (mypy-protobuf's ``mypy`` and
``mypy_grpc`` plugins). The gRPC stubs are generated for ``grpc.aio`` only (``only_async``):
every Stride process talks gRPC through asyncio, so a stub takes a ``grpc.aio.Channel``, its
methods return awaitables and a servicer method receives a ``grpc.aio.ServicerContext``.

The generated modules are committed next to the .proto files (package ``stride.<area>.v1``);
``tests/unit/test_protos_fresh.py`` regenerates into a temporary folder and fails when the
committed code is stale. The generators stamp their own version into the code
(``GRPC_GENERATED_VERSION``, ``Protobuf Python Version`` and the runtime check's numbers): a
patch release of grpcio-tools changes those stamps and nothing of the contracts, so the
comparison leaves them out (``without_version_stamps``); a second test holds the stamps to the
lower bounds pyproject.toml pins for grpcio and protobuf, which the generated code requires at
run time.
"""

from __future__ import annotations

import re
import shutil
import sys
from pathlib import Path

from grpc_tools import protoc

ROOT = Path(__file__).resolve().parents[2]
PROTO_ROOT = ROOT / "protos"
GENERATED_SUFFIXES = ("_pb2.py", "_pb2_grpc.py", "_pb2.pyi", "_pb2_grpc.pyi")


def proto_files(root: Path = PROTO_ROOT) -> list[Path]:
    return sorted(root.rglob("*.proto"))


def generated_files(root: Path) -> dict[str, bytes]:
    """Every generated file below ``root`` keyed by its relative path."""
    out: dict[str, bytes] = {}
    for path in sorted(root.rglob("*")):
        if path.is_file() and path.name.endswith(GENERATED_SUFFIXES):
            out[str(path.relative_to(root))] = path.read_bytes()
    return out


# What a generator writes about its own version, not about the .proto files.
_VERSION_STAMPS = (
    re.compile(rb"^GRPC_GENERATED_VERSION = '[^']*'$", re.MULTILINE),
    re.compile(rb"^# Protobuf Python Version: .*$", re.MULTILINE),
    re.compile(
        rb"(_runtime_version\.ValidateProtobufRuntimeVersion\(\s*_runtime_version\.Domain\.PUBLIC,)"
        rb"\s*\d+,\s*\d+,\s*\d+,\s*'[^']*',"
    ),
)


def without_version_stamps(data: bytes) -> bytes:
    """Generated code with the generators' version stamps blanked out."""
    for pattern in _VERSION_STAMPS:
        data = pattern.sub(lambda m: m.group(1) if m.groups() else b"", data)
    return data


def stamped_versions(root: Path = PROTO_ROOT) -> dict[str, set[str]]:
    """The grpcio and protobuf versions the generated code below ``root`` requires at run time."""
    versions: dict[str, set[str]] = {"grpcio": set(), "protobuf": set()}
    for path in sorted(root.rglob("*_pb2*.py")):
        text = path.read_text()
        versions["grpcio"].update(re.findall(r"^GRPC_GENERATED_VERSION = '([^']*)'$", text, re.M))
        versions["protobuf"].update(re.findall(r"^# Protobuf Python Version: (\S+)$", text, re.M))
    return versions


def generate(out_dir: Path, proto_root: Path = PROTO_ROOT) -> None:
    """Run protoc for every .proto below ``proto_root`` writing into ``out_dir``."""
    out_dir.mkdir(parents=True, exist_ok=True)
    include = Path(protoc.__file__).parent / "_proto"
    files = [str(p.relative_to(proto_root)) for p in proto_files(proto_root)]
    plugins = Path(sys.executable).parent
    args = [
        "grpc_tools.protoc",
        f"-I{proto_root}",
        f"-I{include}",
        f"--python_out={out_dir}",
        f"--grpc_python_out={out_dir}",
        f"--plugin=protoc-gen-mypy={plugins / 'protoc-gen-mypy'}",
        f"--mypy_out={out_dir}",
        f"--plugin=protoc-gen-mypy_grpc={plugins / 'protoc-gen-mypy_grpc'}",
        f"--mypy_grpc_out=only_async:{out_dir}",
        *files,
    ]
    code = protoc.main(args)
    if code != 0:
        raise RuntimeError(f"protoc failed with exit code {code}")
    # Every folder holding generated code is a package.
    for rel in files:
        pkg = (out_dir / rel).parent
        while pkg != out_dir:
            (pkg / "__init__.py").touch(exist_ok=True)
            pkg = pkg.parent


def main() -> None:
    # Remove stale output (e.g. a deleted .proto) before generating again.
    for path in generated_files(PROTO_ROOT):
        (PROTO_ROOT / path).unlink()
    generate(PROTO_ROOT)
    for stale in PROTO_ROOT.rglob("__pycache__"):
        shutil.rmtree(stale, ignore_errors=True)
    print(f"generated {len(generated_files(PROTO_ROOT))} files from {len(proto_files())} protos")
    sys.exit(0)


if __name__ == "__main__":
    main()
