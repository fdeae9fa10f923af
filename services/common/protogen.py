"""Generate the Python code for protos/ (``make protos``).

For every ``<name>.proto`` this writes ``<name>_pb2.py`` and ``<name>_pb2_grpc.py`` (grpcio-tools)
and their type stubs ``<name>_pb2.pyi`` and ``<name>_pb2_grpc.pyi`` (mypy-protobuf's ``mypy`` and
``mypy_grpc`` plugins). The gRPC stubs are generated for ``grpc.aio`` only (``only_async``):
every Stride process talks gRPC through asyncio, so a stub takes a ``grpc.aio.Channel``, its
methods return awaitables and a servicer method receives a ``grpc.aio.ServicerContext``.

The generated modules are committed next to the .proto files (package ``stride.<area>.v1``),
with the versions of the generators that wrote them (``generated-with.json``).
``tests/unit/test_protos_fresh.py`` checks them two ways:

- the contracts: the descriptor protoc builds from each .proto must equal the one the
  committed ``_pb2`` module carries (a .proto edited without ``make protos`` fails here,
  whatever generator versions are installed);
- the code: regenerated into a temporary folder, every file must equal the committed one —
  run only where the installed generators are the recorded ones, since another release
  writes the same contracts differently (grpcio-tools stamps its own version into every
  ``_pb2_grpc.py``; the registry's newest one is what a clean CI installs).

The generated code refuses to import under an older grpcio or protobuf than the one it was
generated for (``stamped_versions``); a third test holds pyproject.toml's lower bounds to that.
"""

from __future__ import annotations

import importlib
import json
import re
import shutil
import sys
import tempfile
from collections.abc import Iterable
from importlib import metadata
from pathlib import Path

from google.protobuf import descriptor_pb2
from grpc_tools import protoc

ROOT = Path(__file__).resolve().parents[2]
PROTO_ROOT = ROOT / "protos"
GENERATED_SUFFIXES = ("_pb2.py", "_pb2_grpc.py", "_pb2.pyi", "_pb2_grpc.pyi")
GENERATORS_FILE = PROTO_ROOT / "generated-with.json"
# The packages whose releases decide the generated text (protoc comes with grpcio-tools).
GENERATORS = ("grpcio-tools", "mypy-protobuf")


def generator_versions() -> dict[str, str]:
    """The installed versions of :data:`GENERATORS`."""
    return {name: metadata.version(name) for name in GENERATORS}


def recorded_generator_versions() -> dict[str, str]:
    """The versions that generated the committed code (written by ``make protos``)."""
    recorded: dict[str, str] = json.loads(GENERATORS_FILE.read_text())
    return recorded


def _without_json_names(messages: Iterable[descriptor_pb2.DescriptorProto]) -> None:
    for message in messages:
        for field in (*message.field, *message.extension):
            field.ClearField("json_name")
        _without_json_names(message.nested_type)


def fresh_descriptors(proto_root: Path = PROTO_ROOT) -> dict[str, bytes]:
    """Each .proto's descriptor as protoc builds it, serialized as the ``_pb2`` modules embed
    it (protoc's descriptor set adds ``json_name`` to every field; the modules leave it out)."""
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "descriptors.pb"
        _protoc(proto_root, f"--descriptor_set_out={out}")
        found = descriptor_pb2.FileDescriptorSet.FromString(out.read_bytes())
    descriptors = {}
    for file in found.file:
        _without_json_names(file.message_type)
        for field in file.extension:
            field.ClearField("json_name")
        descriptors[file.name] = file.SerializeToString()
    return descriptors


def committed_descriptors(proto_root: Path = PROTO_ROOT) -> dict[str, bytes]:
    """Each .proto's descriptor as its committed ``_pb2`` module carries it."""
    descriptors = {}
    for proto in proto_files(proto_root):
        name = str(proto.relative_to(proto_root))
        module = importlib.import_module(name.removesuffix(".proto").replace("/", ".") + "_pb2")
        descriptors[name] = bytes(module.DESCRIPTOR.serialized_pb)
    return descriptors


def proto_files(root: Path = PROTO_ROOT) -> list[Path]:
    return sorted(root.rglob("*.proto"))


def generated_files(root: Path) -> dict[str, bytes]:
    """Every generated file below ``root`` keyed by its relative path."""
    out: dict[str, bytes] = {}
    for path in sorted(root.rglob("*")):
        if path.is_file() and path.name.endswith(GENERATED_SUFFIXES):
            out[str(path.relative_to(root))] = path.read_bytes()
    return out


def stamped_versions(root: Path = PROTO_ROOT) -> dict[str, set[str]]:
    """The grpcio and protobuf versions the generated code below ``root`` requires at run time."""
    versions: dict[str, set[str]] = {"grpcio": set(), "protobuf": set()}
    for path in sorted(root.rglob("*_pb2*.py")):
        text = path.read_text()
        versions["grpcio"].update(re.findall(r"^GRPC_GENERATED_VERSION = '([^']*)'$", text, re.M))
        versions["protobuf"].update(re.findall(r"^# Protobuf Python Version: (\S+)$", text, re.M))
    return versions


def _protoc(proto_root: Path, *outputs: str) -> list[str]:
    """Run protoc with ``outputs`` over every .proto below ``proto_root``; the files given."""
    include = Path(protoc.__file__).parent / "_proto"
    files = [str(p.relative_to(proto_root)) for p in proto_files(proto_root)]
    code = protoc.main(["grpc_tools.protoc", f"-I{proto_root}", f"-I{include}", *outputs, *files])
    if code != 0:
        raise RuntimeError(f"protoc failed with exit code {code}")
    return files


def generate(out_dir: Path, proto_root: Path = PROTO_ROOT) -> None:
    """Run protoc for every .proto below ``proto_root`` writing into ``out_dir``."""
    out_dir.mkdir(parents=True, exist_ok=True)
    plugins = Path(sys.executable).parent
    files = _protoc(
        proto_root,
        f"--python_out={out_dir}",
        f"--grpc_python_out={out_dir}",
        f"--plugin=protoc-gen-mypy={plugins / 'protoc-gen-mypy'}",
        f"--mypy_out={out_dir}",
        f"--plugin=protoc-gen-mypy_grpc={plugins / 'protoc-gen-mypy_grpc'}",
        f"--mypy_grpc_out=only_async:{out_dir}",
    )
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
    GENERATORS_FILE.write_text(json.dumps(generator_versions(), indent=2) + "\n")
    for stale in PROTO_ROOT.rglob("__pycache__"):
        shutil.rmtree(stale, ignore_errors=True)
    print(f"generated {len(generated_files(PROTO_ROOT))} files from {len(proto_files())} protos")
    sys.exit(0)


if __name__ == "__main__":
    main()
