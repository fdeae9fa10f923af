"""Kubernetes manifests (k8s/): every overlay renders with ``kubectl kustomize``, every document
validates against the Kubernetes API schemas, and the rendered objects keep the promises
docs/kubernetes.md makes: one Deployment, ServiceAccount and (except the two Temporal workers)
Service per component, hardened containers with probes and resources, plugin settings and
secrets for the integrations worker alone, and only the documented network flows.

Offline: kubectl renders local files only and kubernetes-validate reads the schemas it ships;
the validation runs with sockets disabled to prove it.
"""

from __future__ import annotations

import base64
import ipaddress
import re
import socket
import subprocess
import tomllib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from functools import cache
from importlib.metadata import EntryPoint
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
import yaml
from kubernetes_validate.utils import all_versions, major_minor

from services.common.binaries import find_binary
from services.common.settings import (
    SERVICE_PORTS,
    GatewaySettings,
    ServiceSettings,
    WorkerSettings,
)
from services.integrations.api import ENTRY_POINT_GROUP, ENV_PREFIX, env_name
from services.integrations.discovery import discover
from services.integrations.settings import IntegrationSettings

ROOT = Path(__file__).resolve().parents[2]
K8S = ROOT / "k8s"
OVERLAYS = sorted(p.parent.name for p in (K8S / "overlays").glob("*/kustomization.yaml"))

# The oldest Kubernetes Stride supports (native gRPC probes GA in 1.27, preStop `sleep` on by
# default from 1.30) and a current one; kubernetes-validate ships the schemas of both.
KUBERNETES_VERSIONS = ("1.30", "1.34")

IMAGE_REPOSITORY = "ghcr.io/stride-okr/stride"
RUN_AS_USER = 10001
GATEWAY_PORT = 8080
WORKER_HEALTH_PORT = 8081
WORKER = "worker"
INTEGRATIONS = "integrations"
GATEWAY = "gateway"
MIGRATE = "migrate"
DATABASE_SECRET = "stride-database"
# The plugins' settings (ConfigMap, generated: its name gets a hash) and tokens (optional Secret).
PLUGINS_CONFIG = PLUGINS_SECRET = "stride-plugins"
# Plugin settings that are secrets by their name: never in a ConfigMap.
SECRET_SUFFIXES = ("_TOKEN", "_PASSWORD", "_SECRET", "_API_KEY")


def grpc_services() -> list[str]:
    """Every service folder with a gRPC server entry point (not the Temporal workers)."""
    return sorted(
        p.parent.name for p in (ROOT / "services").glob("*/server.py") if p.parent.name != WORKER
    )


GRPC_SERVICES = grpc_services()
COMPONENTS = [*GRPC_SERVICES, WORKER, INTEGRATIONS, GATEWAY]
# Temporal workers: only the kubelet connects to them (probes), so they have no Service.
NO_SERVICE = {WORKER, INTEGRATIONS}
# One pod in every environment, no autoscaler (k8s/base/integrations.yaml says why).
SINGLE_REPLICA = {INTEGRATIONS}
# What each container runs (the `stride` console script).
COMMANDS: dict[str, list[str]] = {
    **{name: ["stride", "serve", name] for name in GRPC_SERVICES},
    WORKER: ["stride", "worker"],
    INTEGRATIONS: ["stride", "worker", "--queue", "integrations"],
    GATEWAY: ["stride", "gateway"],
    MIGRATE: ["stride", "migrate"],
}
# Components that need the database URL; the others must not see it.
DATABASE_USERS = {*GRPC_SERVICES, MIGRATE}
# HTTP probes: component → (port, {probe: path}).
HTTP_PROBES = {
    GATEWAY: (
        GATEWAY_PORT,
        {"startupProbe": "/healthz", "readinessProbe": "/readyz", "livenessProbe": "/healthz"},
    ),
    **{
        name: (
            WORKER_HEALTH_PORT,
            {"startupProbe": "/healthz", "readinessProbe": "/readyz", "livenessProbe": "/healthz"},
        )
        for name in (WORKER, INTEGRATIONS)
    },
}

REQUIRED_CONFIG = {
    "STRIDE_NATS_URL",
    "STRIDE_TEMPORAL_ADDRESS",
    "STRIDE_IDENTITY_ADDR",
    "STRIDE_GOALS_ADDR",
    "STRIDE_LOG_FORMAT",
    "STRIDE_OTEL_EXPORTER",
    "STRIDE_TIME_ZONE",
    "STRIDE_GRPC_HOST",
    "STRIDE_HTTP_HOST",
}
SETTINGS_ENV = {
    f"STRIDE_{name.upper()}"
    for cls in (ServiceSettings, GatewaySettings, WorkerSettings, IntegrationSettings)
    for name in cls.model_fields
}

Doc = dict[str, Any]


# --- rendering -------------------------------------------------------------------------------


@cache
def render(overlay: str) -> tuple[Doc, ...]:
    kubectl = find_binary("kubectl")
    proc = subprocess.run(
        [kubectl, "kustomize", str(K8S / "overlays" / overlay)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert proc.returncode == 0, f"kubectl kustomize {overlay} failed:\n{proc.stderr}"
    docs = tuple(d for d in yaml.safe_load_all(proc.stdout) if d)
    assert docs, f"overlay {overlay} rendered nothing"
    return docs


def of_kind(docs: Iterable[Doc], kind: str) -> dict[str, Doc]:
    return {d["metadata"]["name"]: d for d in docs if d["kind"] == kind}


def deployments(overlay: str) -> dict[str, Doc]:
    """Deployments keyed by component (their pods' app.kubernetes.io/name)."""
    found: dict[str, Doc] = {}
    for dep in of_kind(render(overlay), "Deployment").values():
        name = pod_labels(dep)["app.kubernetes.io/name"]
        assert name not in found, f"{overlay}: two Deployments for {name}"
        found[name] = dep
    return found


def pod_labels(workload: Doc) -> dict[str, str]:
    return dict(workload["spec"]["template"]["metadata"]["labels"])


def pod_spec(workload: Doc) -> Doc:
    return dict(workload["spec"]["template"]["spec"])


def workloads(overlay: str) -> Iterator[tuple[str, Doc]]:
    for doc in render(overlay):
        if doc["kind"] in ("Deployment", "Job"):
            yield f"{doc['kind']}/{doc['metadata']['name']}", doc


def namespace_of(overlay: str) -> str:
    names = {d["metadata"].get("namespace") for d in render(overlay) if d["kind"] != "Namespace"}
    assert len(names) == 1 and None not in names, f"{overlay}: one namespace expected, got {names}"
    return str(names.pop())


def selects(selector: Doc | None, labels: dict[str, str]) -> bool:
    """Kubernetes label-selector semantics (matchLabels and matchExpressions)."""
    if selector is None:
        return False
    for key, value in (selector.get("matchLabels") or {}).items():
        if labels.get(key) != value:
            return False
    for expr in selector.get("matchExpressions") or []:
        key, op, values = expr["key"], expr["operator"], expr.get("values") or []
        ok = {
            "In": key in labels and labels[key] in values,
            "NotIn": key not in labels or labels[key] not in values,
            "Exists": key in labels,
            "DoesNotExist": key not in labels,
        }[op]
        if not ok:
            return False
    return True


def container_port(container: Doc, port: int | str) -> int:
    if isinstance(port, int):
        return port
    for p in container.get("ports") or []:
        if p.get("name") == port:
            return int(p["containerPort"])
    raise AssertionError(f"container {container['name']} has no port named {port!r}")


# --- the tests -------------------------------------------------------------------------------


def test_every_environment_has_an_overlay() -> None:
    assert {"dev", "prod"} <= set(OVERLAYS)
    assert {"identity", "goals", "feedback", "telemetry"} <= set(GRPC_SERVICES)
    assert set(GRPC_SERVICES) <= set(SERVICE_PORTS), "every gRPC service needs a default port"


def test_kubernetes_validate_ships_the_schemas_we_validate_against() -> None:
    shipped = {major_minor(v) for v in all_versions()}
    assert set(KUBERNETES_VERSIONS) <= shipped, f"kubernetes-validate ships {sorted(shipped)}"


def test_every_container_command_exists_in_the_stride_cli() -> None:
    """The manifests run `stride ...` commands: each must parse in the real CLI.

    Duck-typed over click's Group/Command, which typer vendors in some versions.
    """
    import typer

    from services.cli import app

    root: Any = typer.main.get_command(app)
    for component, argv in COMMANDS.items():
        assert argv[0] == "stride"
        shown = " ".join(argv)
        command, args = root, argv[1:]
        while hasattr(command, "get_command") and args:
            ctx = command.make_context("stride", [], resilient_parsing=True)
            sub = command.get_command(ctx, args[0])
            assert sub is not None, f"{component}: `{shown}` is not a stride command"
            command, args = sub, args[1:]
        assert not hasattr(command, "get_command"), f"{component}: `{shown}` needs a subcommand"
        try:
            command.make_context(shown, list(args))
        except Exception as exc:
            raise AssertionError(f"{component}: `{shown}` does not parse: {exc}") from exc


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_every_document_is_valid_kubernetes(overlay: str, monkeypatch: pytest.MonkeyPatch) -> None:
    def no_network(*args: object, **kwargs: object) -> None:
        raise AssertionError("schema validation tried to use the network")

    monkeypatch.setattr(socket.socket, "connect", no_network)
    monkeypatch.setattr(socket, "getaddrinfo", no_network)
    errors = []
    for doc in render(overlay):
        for version in KUBERNETES_VERSIONS:
            try:
                kubernetes_validate.validate(doc, version, strict=True)
            except kubernetes_validate.ValidationError as exc:
                where = ".".join(str(p) for p in exc.path)
                errors.append(f"{doc['kind']}/{doc['metadata']['name']} @{version} {where}: {exc}")
            except kubernetes_validate.SchemaNotFoundError as exc:
                errors.append(exc.message)
    assert not errors, "\n".join(errors)


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_the_namespace_enforces_restricted_pod_security(overlay: str) -> None:
    (namespace,) = of_kind(render(overlay), "Namespace").values()
    assert namespace["metadata"]["name"] == namespace_of(overlay)
    assert namespace["metadata"]["labels"]["pod-security.kubernetes.io/enforce"] == "restricted"


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_every_component_has_deployment_service_account_and_service(overlay: str) -> None:
    docs = render(overlay)
    deps = deployments(overlay)
    accounts = of_kind(docs, "ServiceAccount")
    services = of_kind(docs, "Service")
    assert sorted(deps) == sorted(COMPONENTS)
    for name in COMPONENTS:
        dep = deps[name]
        spec = pod_spec(dep)
        assert spec["serviceAccountName"] in accounts, f"{name}: no ServiceAccount"
        assert accounts[spec["serviceAccountName"]].get("automountServiceAccountToken") is False
        assert spec.get("automountServiceAccountToken") is False, f"{name} mounts an API token"
        assert selects(dep["spec"]["selector"], pod_labels(dep))
        (container,) = spec["containers"]
        assert [*container["command"], *container.get("args", [])] == COMMANDS[name]
        matching = [
            s
            for s in services.values()
            if s["spec"].get("selector")
            and selects({"matchLabels": s["spec"]["selector"]}, pod_labels(dep))
        ]
        if name in NO_SERVICE:
            assert not matching, f"only the kubelet talks to {name} (probes): no Service"
            continue
        assert [s["metadata"]["name"] for s in matching] == [name], f"{name}: one Service"
        for port in matching[0]["spec"]["ports"]:
            target = container_port(container, port.get("targetPort", port["port"]))
            assert target in {p["containerPort"] for p in container["ports"]}
    # Service names are what the ConfigMap's addresses point at.
    config = config_map(overlay)
    for name in GRPC_SERVICES:
        service = services[name]
        assert [p["port"] for p in service["spec"]["ports"]] == [SERVICE_PORTS[name]]
        assert config[f"STRIDE_{name.upper()}_ADDR"] == f"{name}:{SERVICE_PORTS[name]}"
        # Headless, so that the callers' round_robin sees every replica.
        assert service["spec"].get("clusterIP") == "None", f"{name}: not headless"


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_every_container_is_hardened_and_sized(overlay: str) -> None:
    images = set()
    for what, workload in workloads(overlay):
        spec = pod_spec(workload)
        pod_sc = spec.get("securityContext") or {}
        assert pod_sc.get("runAsNonRoot") is True, what
        assert pod_sc.get("seccompProfile", {}).get("type") == "RuntimeDefault", what
        tmp_volumes = {v["name"] for v in spec.get("volumes") or [] if "emptyDir" in v}
        for container in [*(spec.get("initContainers") or []), *spec["containers"]]:
            where = f"{what} container {container['name']}"
            sc = container.get("securityContext") or {}
            assert sc.get("runAsNonRoot", pod_sc.get("runAsNonRoot")) is True, where
            assert sc.get("runAsUser", pod_sc.get("runAsUser")) == RUN_AS_USER, where
            assert sc.get("readOnlyRootFilesystem") is True, where
            assert sc.get("allowPrivilegeEscalation") is False, where
            assert sc.get("capabilities", {}).get("drop") == ["ALL"], where
            assert not sc.get("capabilities", {}).get("add"), where
            assert sc.get("privileged") in (None, False), where
            seccomp = sc.get("seccompProfile", pod_sc.get("seccompProfile")) or {}
            assert seccomp.get("type") == "RuntimeDefault", where
            resources = container.get("resources") or {}
            for kind in ("requests", "limits"):
                assert {"cpu", "memory"} <= set(resources.get(kind) or {}), f"{where}: {kind}"
            mounts = {m["mountPath"]: m["name"] for m in container.get("volumeMounts") or []}
            assert mounts.get("/tmp") in tmp_volumes, f"{where}: /tmp must be an emptyDir"
            image = container["image"]
            assert image.startswith(f"{IMAGE_REPOSITORY}:") or image.startswith(
                f"{IMAGE_REPOSITORY}@sha256:"
            ), where
            assert not image.endswith(":latest"), where
            images.add(image)
    assert len(images) == 1, f"{overlay}: one image for every process, got {images}"


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_every_container_has_probes(overlay: str) -> None:
    for name, dep in deployments(overlay).items():
        (container,) = pod_spec(dep)["containers"]
        for probe in ("startupProbe", "readinessProbe", "livenessProbe"):
            assert probe in container, f"{name}: no {probe}"
        env = {e["name"]: e.get("value") for e in container.get("env") or []}
        if name in GRPC_SERVICES:
            port = SERVICE_PORTS[name]
            assert [p["containerPort"] for p in container["ports"]] == [port]
            assert env.get("STRIDE_GRPC_PORT") == str(port), f"{name} must listen on {port}"
            for probe in ("startupProbe", "readinessProbe", "livenessProbe"):
                grpc = container[probe].get("grpc")
                assert grpc is not None, f"{name}: {probe} must be a native gRPC probe"
                assert grpc["port"] == port
                # "" is the server as a whole, which every Stride service reports.
                assert grpc.get("service", "") == ""
            continue
        port, expected = HTTP_PROBES[name]
        paths = {
            probe: container[probe]["httpGet"]["path"]
            for probe in ("startupProbe", "readinessProbe", "livenessProbe")
        }
        assert paths == expected, name
        for probe in expected:
            assert container_port(container, container[probe]["httpGet"]["port"]) == port
        assert [p["containerPort"] for p in container["ports"]] == [port], name
    # The workers serve their health endpoint where the probes look, on every interface.
    for name in (WORKER, INTEGRATIONS):
        (worker,) = pod_spec(deployments(overlay)[name])["containers"]
        env = {e["name"]: e.get("value") for e in worker.get("env") or []}
        assert env.get("STRIDE_HEALTH_PORT") == str(WORKER_HEALTH_PORT), name
        assert env.get("STRIDE_HEALTH_HOST") == "0.0.0.0", name


def config_map(overlay: str, name: str = "stride-config") -> dict[str, str]:
    """The generated ConfigMap ``name`` (kustomize appends a content hash to the name)."""
    maps = [
        m
        for n, m in of_kind(render(overlay), "ConfigMap").items()
        if re.fullmatch(rf"{name}-[a-z0-9]+", n)
    ]
    assert len(maps) == 1, f"{overlay}: one ConfigMap {name}"
    return dict(maps[0].get("data") or {})


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_settings_come_from_the_config_map_and_the_database_secret(overlay: str) -> None:
    docs = render(overlay)
    config = config_map(overlay)
    assert REQUIRED_CONFIG <= set(config), REQUIRED_CONFIG - set(config)
    unknown = {k for k in config if not k.startswith("OTEL_") and k not in SETTINGS_ENV}
    assert not unknown, f"not Stride settings (typo?): {unknown}"
    assert "STRIDE_DATABASE_URL" not in config, "the database URL is a secret"
    assert config["STRIDE_LOG_FORMAT"] == "json"
    assert config["STRIDE_GRPC_HOST"] == config["STRIDE_HTTP_HOST"] == "0.0.0.0"
    config_maps = set(of_kind(docs, "ConfigMap"))
    for what, workload in workloads(overlay):
        component = pod_labels(workload)["app.kubernetes.io/name"]
        (container,) = pod_spec(workload)["containers"]
        env_from = container.get("envFrom") or []
        refs = [e["configMapRef"]["name"] for e in env_from if "configMapRef" in e]
        assert refs and set(refs) <= config_maps, f"{what} must read the Stride ConfigMap"
        assert any(name.startswith("stride-config-") for name in refs), what
        env = {e["name"]: e for e in container.get("env") or []}
        assert not {k for k in env if k not in SETTINGS_ENV}, f"{what}: unknown settings"
        if component in DATABASE_USERS:
            ref = env["STRIDE_DATABASE_URL"]["valueFrom"]["secretKeyRef"]
            assert (ref["name"], ref["key"]) == (DATABASE_SECRET, "url"), what
            assert not ref.get("optional"), f"{what} must not start without the database"
        else:
            assert "STRIDE_DATABASE_URL" not in env, f"{what} has no business with the database"
    secrets = of_kind(docs, "Secret")
    if overlay == "dev":
        # The example Secret for a throw-away cluster; its URL must use the async driver.
        encoded = secrets[DATABASE_SECRET]["data"]["url"]
        assert base64.b64decode(encoded).decode().startswith("postgresql+asyncpg://")
    else:
        assert not secrets, f"{overlay}: Secrets are created by the operator, not committed"
        # Notification e-mail: the relay in the ConfigMap, its password from a Secret, and
        # only the worker (the one process that sends mail) gets the password.
        assert config["STRIDE_SMTP_HOST"] and config["STRIDE_SMTP_TLS"] == "starttls"
        assert "STRIDE_SMTP_PASSWORD" not in config, "the SMTP password is a secret"
        for what, workload in workloads(overlay):
            (container,) = pod_spec(workload)["containers"]
            env = {e["name"]: e for e in container.get("env") or []}
            if pod_labels(workload)["app.kubernetes.io/name"] == WORKER:
                ref = env["STRIDE_SMTP_PASSWORD"]["valueFrom"]["secretKeyRef"]
                assert (ref["name"], ref["key"]) == ("stride-smtp", "password")
            else:
                assert "STRIDE_SMTP_PASSWORD" not in env, what


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_plugin_settings_and_secrets_reach_the_integrations_worker_alone(overlay: str) -> None:
    plugins = config_map(overlay, PLUGINS_CONFIG)
    not_plugin = {k for k in plugins if not k.startswith(ENV_PREFIX)}
    assert not not_plugin, f"{PLUGINS_CONFIG} holds plugin settings only: {not_plugin}"
    secret = {k for k in plugins if k.endswith(SECRET_SUFFIXES)}
    assert not secret, f"plugin secrets belong in Secret {PLUGINS_SECRET}: {secret}"
    config = config_map(overlay)
    assert not {k for k in config if k.startswith(ENV_PREFIX)}, "plugin settings in stride-config"
    # The integrations worker has a Deployment of its own: the worker must not poll its queue too
    # (it has neither the plugin settings nor the egress to the MES / CRM).
    assert config.get("STRIDE_INTEGRATIONS_IN_WORKER", "false").lower() in ("false", "0")
    for what, workload in workloads(overlay):
        (container,) = pod_spec(workload)["containers"]
        env_from = container.get("envFrom") or []
        plugin_maps = [
            e["configMapRef"]["name"]
            for e in env_from
            if e.get("configMapRef", {}).get("name", "").startswith(f"{PLUGINS_CONFIG}-")
        ]
        secrets = [e["secretRef"] for e in env_from if "secretRef" in e]
        if pod_labels(workload)["app.kubernetes.io/name"] == INTEGRATIONS:
            assert len(plugin_maps) == 1, f"{what} must read ConfigMap {PLUGINS_CONFIG}"
            # Optional: the worker starts without it (plugins then pull without a token).
            assert secrets == [{"name": PLUGINS_SECRET, "optional": True}], what
            # Read last, so a token in the Secret wins over a stray one in a ConfigMap.
            assert env_from[-1] == {"secretRef": secrets[0]}, what
        else:
            assert not plugin_maps and not secrets, f"{what} has no business with the plugins"


def example_plugin_entry_points() -> list[EntryPoint]:
    """The entry points of the example plugins in integrations/ (their pyproject.toml)."""
    found = []
    for pyproject in sorted((ROOT / "integrations").glob("*/pyproject.toml")):
        project = tomllib.loads(pyproject.read_text())["project"]
        group = project.get("entry-points", {}).get(ENTRY_POINT_GROUP, {})
        found += [EntryPoint(name, value, ENTRY_POINT_GROUP) for name, value in group.items()]
    return found


def test_the_plugin_settings_example_names_real_settings() -> None:
    """The commented example in the prod overlay (and whatever else k8s/ and the docs show)
    spells the variables the example plugins read, and gives every required one."""
    entries = example_plugin_entry_points()
    assert entries, "no example plugins in integrations/"
    found = discover(entries=lambda: entries)
    assert not found.broken and set(found.plugins) == {e.name for e in entries}, found.broken
    pattern = re.compile(rf"{ENV_PREFIX}[A-Z0-9_]*[A-Z0-9]")
    prefixes = [env_name(name, "") for name in found.plugins]
    texts = {p: p.read_text() for p in [*K8S.rglob("*.yaml"), ROOT / "docs" / "kubernetes.md"]}
    for path, text in texts.items():
        for variable in pattern.findall(text):
            assert any(variable.startswith(prefix) for prefix in prefixes), (
                f"{path.relative_to(ROOT)}: {variable} is no example plugin's setting"
            )
    example = set(pattern.findall(texts[K8S / "overlays" / "prod" / "kustomization.yaml"]))
    required = {
        env_name(plugin.name, key)
        for plugin in found.plugins.values()
        for source in plugin.sources
        for key in source.required_settings
    }
    assert required <= example, f"the prod example misses {required - example}"


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_migrations_job_runs_stride_migrate_once(overlay: str) -> None:
    jobs = of_kind(render(overlay), "Job")
    (job,) = jobs.values()
    spec = pod_spec(job)
    assert spec["restartPolicy"] == "Never"
    assert 0 < job["spec"]["backoffLimit"] <= 6
    assert job["spec"].get("activeDeadlineSeconds"), "a stuck migration must fail, not hang"
    (container,) = spec["containers"]
    assert [*container["command"], *container.get("args", [])] == COMMANDS[MIGRATE]


def min_replicas(overlay: str, name: str) -> int:
    hpas = {
        h["spec"]["scaleTargetRef"]["name"]: h
        for h in of_kind(render(overlay), "HorizontalPodAutoscaler").values()
    }
    dep = deployments(overlay)[name]
    if dep["metadata"]["name"] in hpas:
        return int(hpas[dep["metadata"]["name"]]["spec"]["minReplicas"])
    return int(dep["spec"].get("replicas", 1))


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_disruption_budgets_and_autoscaling(overlay: str) -> None:
    docs = render(overlay)
    deps = deployments(overlay)
    hpas = of_kind(docs, "HorizontalPodAutoscaler")
    for hpa in hpas.values():
        target = hpa["spec"]["scaleTargetRef"]
        assert target["kind"] == "Deployment"
        dep = of_kind(docs, "Deployment")[target["name"]]
        assert "replicas" not in dep["spec"], f"{target['name']}: the HPA owns the replica count"
        assert 1 <= hpa["spec"]["minReplicas"] <= hpa["spec"]["maxReplicas"]
    pdbs = list(of_kind(docs, "PodDisruptionBudget").values())
    for name, dep in deps.items():
        budgets = [p for p in pdbs if selects(p["spec"]["selector"], pod_labels(dep))]
        assert len(budgets) == 1, f"{name}: one PodDisruptionBudget"
        spec = budgets[0]["spec"]
        if "minAvailable" in spec:
            # A budget that can never be met blocks every node drain.
            assert spec["minAvailable"] < min_replicas(overlay, name), name
        else:
            assert spec["maxUnavailable"] >= 1, name
    for name in SINGLE_REPLICA:
        assert deps[name]["spec"].get("replicas") == 1, f"{name}: one pod, wherever it runs"
        scaled = {h["spec"]["scaleTargetRef"]["name"] for h in hpas.values()}
        assert deps[name]["metadata"]["name"] not in scaled, f"{name}: no autoscaler"
    if overlay == "dev":
        assert not hpas
        assert {name: min_replicas(overlay, name) for name in deps} == dict.fromkeys(deps, 1)
    if overlay == "prod":
        scaled = {h["spec"]["scaleTargetRef"]["name"] for h in hpas.values()}
        assert scaled == {deps[GATEWAY]["metadata"]["name"], deps[WORKER]["metadata"]["name"]}
        for name in set(COMPONENTS) - SINGLE_REPLICA:
            assert min_replicas(overlay, name) >= 2, f"{name}: prod runs more than one pod"
        for pdb in pdbs:
            assert "minAvailable" in pdb["spec"], pdb["metadata"]["name"]
        assert config_map(overlay)["STRIDE_OTEL_EXPORTER"] == "otlp"
        # Every process that ensures the streams (services and worker) reads the same count.
        assert config_map(overlay)["STRIDE_NATS_STREAM_REPLICAS"] == "3"
        dev_limits = resources_of("dev")
        for name, limits in resources_of("prod").items():
            assert quantity(limits["memory"]) >= quantity(dev_limits[name]["memory"]), name
            assert quantity(limits["cpu"]) >= quantity(dev_limits[name]["cpu"]), name


def resources_of(overlay: str) -> dict[str, dict[str, str]]:
    return {
        name: pod_spec(dep)["containers"][0]["resources"]["limits"]
        for name, dep in deployments(overlay).items()
    }


def quantity(value: str | int) -> float:
    text = str(value)
    units = {"m": 1e-3, "Ki": 2**10, "Mi": 2**20, "Gi": 2**30}
    for suffix, factor in units.items():
        if text.endswith(suffix):
            return float(text[: -len(suffix)]) * factor
    return float(text)


# --- network policies ------------------------------------------------------------------------


@dataclass
class Endpoint:
    """A pod (or an address outside the cluster) that traffic can come from or go to."""

    name: str
    namespace: str | None  # None: not a pod (an address outside the cluster)
    labels: dict[str, str] = field(default_factory=dict)
    ports: list[tuple[str, int]] = field(default_factory=list)
    ip: str = "192.0.2.1"


# The engines and everything else, as the official Helm charts label their pods. The addresses
# are documentation ranges: nothing is contacted, they only feed the policy evaluation.
OTHERS = [
    Endpoint(
        "nats",
        "nats",
        {"app.kubernetes.io/name": "nats", "app.kubernetes.io/component": "nats"},
        [("TCP", 4222)],
    ),
    Endpoint(
        "temporal-frontend",
        "temporal",
        {"app.kubernetes.io/name": "temporal", "app.kubernetes.io/component": "frontend"},
        [("TCP", 7233)],
    ),
    Endpoint(
        "temporal-history",
        "temporal",
        {"app.kubernetes.io/name": "temporal", "app.kubernetes.io/component": "history"},
        [("TCP", 7234)],
    ),
    Endpoint(
        "postgresql",
        "postgres",
        {"cnpg.io/cluster": "stride-pg", "cnpg.io/instanceRole": "primary"},
        [("TCP", 5432)],
    ),
    Endpoint("dns", "kube-system", {"k8s-app": "kube-dns"}, [("UDP", 53), ("TCP", 53)]),
    Endpoint(
        "otel-collector",
        "observability",
        {"app.kubernetes.io/name": "opentelemetry-collector"},
        [("TCP", 4317)],
    ),
    Endpoint(
        "other-app",
        "other",
        {"app.kubernetes.io/name": "other"},
        [("TCP", p) for p in (80, 443, 4222, 5432, 7233, 8080, 50051)],
    ),
    Endpoint("internet", None, ports=[("TCP", 443), ("TCP", 5432), ("UDP", 53)], ip="203.0.113.7"),
    Endpoint("smtp-relay", None, ports=[("TCP", 587), ("TCP", 25)], ip="198.51.100.25"),
    # A customer's MES or CRM, outside the cluster, that the plugins pull from.
    Endpoint("mes", None, ports=[("TCP", 443), ("TCP", 80), ("TCP", 8443)], ip="198.51.100.80"),
]
# The integrations worker's HTTP(S) egress (prod overlay): TCP 443 and 80 on any address until
# the operator narrows the policy's cidr, as docs/kubernetes.md says.
INTEGRATIONS_EGRESS_PORTS = {443, 80}
INGRESS_CONTROLLER = Endpoint(
    "ingress-controller", "ingress-nginx", {"app.kubernetes.io/name": "ingress-nginx"}
)


def expected_flows(overlay: str) -> set[tuple[str, str, str, int]]:
    stride_pods = [*COMPONENTS, MIGRATE]
    flows = {
        ("ingress-controller", GATEWAY, "TCP", GATEWAY_PORT),
        (GATEWAY, "identity", "TCP", SERVICE_PORTS["identity"]),
        (GATEWAY, "goals", "TCP", SERVICE_PORTS["goals"]),
        ("goals", "identity", "TCP", SERVICE_PORTS["identity"]),
        (WORKER, "identity", "TCP", SERVICE_PORTS["identity"]),
        (WORKER, "goals", "TCP", SERVICE_PORTS["goals"]),
        (GATEWAY, "feedback", "TCP", SERVICE_PORTS["feedback"]),
        (WORKER, "feedback", "TCP", SERVICE_PORTS["feedback"]),
        ("feedback", "identity", "TCP", SERVICE_PORTS["identity"]),
        ("feedback", "goals", "TCP", SERVICE_PORTS["goals"]),
        # Telemetry: the gateway's HTTP ingest and definitions in, key-result values out.
        (GATEWAY, "telemetry", "TCP", SERVICE_PORTS["telemetry"]),
        ("telemetry", "goals", "TCP", SERVICE_PORTS["goals"]),
        # The archive's external metrics: feedback reads bindings and windows.
        ("feedback", "telemetry", "TCP", SERVICE_PORTS["telemetry"]),
        (GATEWAY, "temporal-frontend", "TCP", 7233),
        (WORKER, "temporal-frontend", "TCP", 7233),
        (INTEGRATIONS, "temporal-frontend", "TCP", 7233),
        *((name, "nats", "TCP", 4222) for name in (GATEWAY, WORKER, INTEGRATIONS, *GRPC_SERVICES)),
        *((name, "postgresql", "TCP", 5432) for name in DATABASE_USERS),
        *((name, "dns", proto, 53) for name in stride_pods for proto in ("UDP", "TCP")),
    }
    if overlay == "prod":
        flows |= {(name, "otel-collector", "TCP", 4317) for name in stride_pods}
        # Notification e-mail: the worker alone, submission port only.
        flows.add((WORKER, "smtp-relay", "TCP", 587))
        # The plugins' pulls from the MES / CRM: the integrations worker alone, HTTP(S) only.
        flows |= {
            (INTEGRATIONS, other.name, proto, port)
            for other in OTHERS
            for proto, port in other.ports
            if proto == "TCP" and port in INTEGRATIONS_EGRESS_PORTS
        }
    return flows


def _namespace_labels(namespace: str) -> dict[str, str]:
    return {"kubernetes.io/metadata.name": namespace}


def _peer_matches(peer: Doc, target: Endpoint, policy_namespace: str) -> bool:
    if "ipBlock" in peer:
        block = peer["ipBlock"]
        ip = ipaddress.ip_address(target.ip)
        excluded = any(ip in ipaddress.ip_network(c) for c in block.get("except") or [])
        return ip in ipaddress.ip_network(block["cidr"]) and not excluded
    if target.namespace is None:
        return False
    if "namespaceSelector" in peer:
        in_namespace = selects(peer["namespaceSelector"], _namespace_labels(target.namespace))
    else:
        in_namespace = target.namespace == policy_namespace
    pod_selector = peer.get("podSelector")
    return in_namespace and (pod_selector is None or selects(pod_selector, target.labels))


def _port_matches(rule_ports: list[Doc] | None, proto: str, port: int) -> bool:
    if not rule_ports:
        return True
    for p in rule_ports:
        assert not isinstance(p.get("port"), str), "use port numbers in NetworkPolicies"
        if p.get("protocol", "TCP") != proto:
            continue
        if "port" not in p:
            return True  # every port of that protocol
        low = int(p["port"])
        if low <= port <= int(p.get("endPort", low)):
            return True
    return False


def _allowed(
    policies: list[Doc], namespace: str, src: Endpoint, dst: Endpoint, proto: str, port: int
) -> bool:
    def applying(pod: Endpoint, direction: str) -> list[Doc]:
        if pod.namespace != namespace:
            return []  # not ours: its own namespace's policies are not under test
        return [
            p
            for p in policies
            if direction in p["spec"]["policyTypes"]
            and selects(p["spec"]["podSelector"], pod.labels)
        ]

    egress = applying(src, "Egress")
    if egress and not any(
        _port_matches(rule.get("ports"), proto, port)
        and (not rule.get("to") or any(_peer_matches(peer, dst, namespace) for peer in rule["to"]))
        for policy in egress
        for rule in policy["spec"].get("egress") or []
    ):
        return False
    ingress = applying(dst, "Ingress")
    return not ingress or any(
        _port_matches(rule.get("ports"), proto, port)
        and (
            not rule.get("from")
            or any(_peer_matches(peer, src, namespace) for peer in rule["from"])
        )
        for policy in ingress
        for rule in policy["spec"].get("ingress") or []
    )


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_network_policies_allow_exactly_the_documented_flows(overlay: str) -> None:
    namespace = namespace_of(overlay)
    policies = list(of_kind(render(overlay), "NetworkPolicy").values())
    stride: list[Endpoint] = []
    for _, workload in workloads(overlay):
        labels = pod_labels(workload)
        (container,) = pod_spec(workload)["containers"]
        ports = [
            (p.get("protocol", "TCP"), p["containerPort"]) for p in container.get("ports") or []
        ]
        stride.append(Endpoint(labels["app.kubernetes.io/name"], namespace, labels, ports))
        # Default deny: every Stride pod is isolated in both directions.
        for direction in ("Ingress", "Egress"):
            assert any(
                direction in p["spec"]["policyTypes"] and selects(p["spec"]["podSelector"], labels)
                for p in policies
            ), f"{labels['app.kubernetes.io/name']} is not isolated for {direction}"
    assert {e.name for e in stride} == {*COMPONENTS, MIGRATE}
    allowed = {
        (src.name, dst.name, proto, port)
        for src in [*stride, INGRESS_CONTROLLER]
        # Traffic between two pods that are not Stride's is not these policies' business.
        for dst in ([*stride, *OTHERS] if src in stride else stride)
        for proto, port in dst.ports
        if src is not dst and _allowed(policies, namespace, src, dst, proto, port)
    }
    expected = expected_flows(overlay)
    assert allowed - expected == set(), "flows nobody documented"
    assert expected - allowed == set(), "documented flows that are blocked"
