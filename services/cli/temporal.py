"""``stride temporal ...``: Temporal chores for operators.

- ``stride temporal setup``: prepare a namespace for Stride (idempotent).
- ``stride temporal replay FILE...``: replay workflow histories (``temporal workflow show
  --output json``) against this installation's workflow code; non-zero exit when one of
  them would not replay (a nondeterministic change). docs/runbook.md.

``setup`` registers Stride's search attributes (StrideCycle, StrideDepartment, StridePhase,
StrideRiskLevel; Keyword) on the namespace and, with ``--create-namespace``, registers the
namespace first. Address, namespace and TLS come from the STRIDE_TEMPORAL_* settings; the
options override them. Running it again changes nothing. See docs/kubernetes.md.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Annotated, Any

import typer
from google.protobuf.duration_pb2 import Duration
from rich.console import Console
from temporalio.api.workflowservice.v1 import (
    DescribeNamespaceRequest,
    RegisterNamespaceRequest,
)
from temporalio.client import Client
from temporalio.service import RPCError, RPCStatusCode

from services.cli.exiting import connect_temporal, used_temporal
from services.common.settings import StrideSettings
from workflows.search_attributes import SEARCH_ATTRIBUTES

temporal_app = typer.Typer(help="Temporal for Stride: namespace and search attributes.")

# A namespace Temporal has just registered takes a moment to be usable on every frontend.
NAMESPACE_WAIT_SECONDS = 60.0


class SetupError(Exception):
    """What an operator must fix (a missing namespace, missing permission)."""


@dataclass
class SetupResult:
    namespace: str
    namespace_created: bool = False
    registered: list[str] = field(default_factory=list)
    present: list[str] = field(default_factory=list)


async def _namespace_exists(client: Client, namespace: str) -> bool:
    try:
        await client.workflow_service.describe_namespace(
            DescribeNamespaceRequest(namespace=namespace)
        )
    except RPCError as err:
        if err.status == RPCStatusCode.NOT_FOUND:
            return False
        raise
    return True


async def setup_temporal(
    settings: StrideSettings,
    *,
    create_namespace: bool = False,
    retention: timedelta = timedelta(days=30),
    wait: float = NAMESPACE_WAIT_SECONDS,
) -> SetupResult:
    """Create the namespace (if asked and missing), then register missing search attributes."""
    from services.worker.worker import ensure_search_attributes

    namespace = settings.temporal_namespace
    client = await connect_temporal(settings, identity="stride-temporal-setup")
    result = SetupResult(namespace)
    if not await _namespace_exists(client, namespace):
        if not create_namespace:
            raise SetupError(
                f"namespace {namespace!r} does not exist: create it (--create-namespace) "
                "or ask the Temporal operators to"
            )
        try:
            await client.workflow_service.register_namespace(
                RegisterNamespaceRequest(
                    namespace=namespace,
                    description="Stride: OKR cycles, approvals, escalations",
                    workflow_execution_retention_period=Duration(
                        seconds=int(retention.total_seconds())
                    ),
                )
            )
            result.namespace_created = True
        except RPCError as err:
            if err.status != RPCStatusCode.ALREADY_EXISTS:  # created meanwhile: fine
                raise
    loop = asyncio.get_running_loop()
    deadline = loop.time() + wait
    while True:
        try:
            result.registered = await ensure_search_attributes(client)
            break
        except RPCError as err:
            # A fresh namespace: NOT_FOUND until the frontends' namespace cache has it.
            if err.status != RPCStatusCode.NOT_FOUND or loop.time() > deadline:
                raise
            await asyncio.sleep(1.0)
    result.present = [k.name for k in SEARCH_ATTRIBUTES if k.name not in result.registered]
    return result


@temporal_app.callback()
def _group() -> None:
    """Temporal for Stride: namespace and search attributes."""


@temporal_app.command("setup")
def setup_command(
    address: Annotated[
        str | None, typer.Option(help="Temporal frontend host:port (STRIDE_TEMPORAL_ADDRESS).")
    ] = None,
    namespace: Annotated[
        str | None, typer.Option(help="Namespace (STRIDE_TEMPORAL_NAMESPACE).")
    ] = None,
    create_namespace: Annotated[
        bool, typer.Option(help="Register the namespace when it does not exist.")
    ] = False,
    retention_days: Annotated[
        int, typer.Option(min=1, help="Retention of closed workflows in a created namespace.")
    ] = 30,
    tls: Annotated[
        bool | None, typer.Option(help="TLS to the frontend (STRIDE_TEMPORAL_TLS).")
    ] = None,
    tls_ca: Annotated[
        Path | None, typer.Option(help="CA certificate, PEM (STRIDE_TEMPORAL_TLS_CA).")
    ] = None,
    tls_cert: Annotated[
        Path | None, typer.Option(help="Client certificate, PEM (STRIDE_TEMPORAL_TLS_CERT).")
    ] = None,
    tls_key: Annotated[
        Path | None, typer.Option(help="Client key, PEM (STRIDE_TEMPORAL_TLS_KEY).")
    ] = None,
    tls_server_name: Annotated[
        str | None, typer.Option(help="Server name to verify (STRIDE_TEMPORAL_TLS_SERVER_NAME).")
    ] = None,
) -> None:
    """Register Stride's search attributes (and optionally the namespace) on a Temporal
    cluster. Idempotent: what exists is left as it is."""
    overrides: dict[str, Any] = {
        "temporal_address": address,
        "temporal_namespace": namespace,
        "temporal_tls": tls,
        "temporal_tls_ca": tls_ca,
        "temporal_tls_cert": tls_cert,
        "temporal_tls_key": tls_key,
        "temporal_tls_server_name": tls_server_name,
    }
    settings = StrideSettings(**{k: v for k, v in overrides.items() if v is not None})
    console = Console()
    try:
        result = asyncio.run(
            setup_temporal(
                settings,
                create_namespace=create_namespace,
                retention=timedelta(days=retention_days),
            )
        )
    except SetupError as err:
        console.print(f"[red]{err}[/red]")
        raise typer.Exit(1) from err
    except RPCError as err:
        status = err.status.name if err.status is not None else "error"
        console.print(
            f"[red]Temporal at {settings.temporal_address} refused ({status}): {err.message}[/red]"
        )
        raise typer.Exit(1) from err
    state = "created" if result.namespace_created else "exists"
    console.print(f"namespace [bold]{result.namespace}[/bold]: {state}")
    if result.registered:
        console.print(f"search attributes registered: {', '.join(result.registered)}")
    if result.present:
        console.print(f"search attributes already there: {', '.join(result.present)}")


async def replay_histories(paths: list[Path]) -> dict[Path, str]:
    """path → "" when its history replays against the current workflow code, else why not."""
    from temporalio.client import WorkflowHistory

    from services.worker.worker import build_replayer

    used_temporal()
    replayer = build_replayer()
    results: dict[Path, str] = {}
    for path in paths:
        try:
            history = WorkflowHistory.from_json(path.stem, path.read_text())
            outcome = await replayer.replay_workflow(history, raise_on_replay_failure=False)
        except Exception as err:  # unreadable file, not a history
            results[path] = f"{type(err).__name__}: {err}"
            continue
        failure = outcome.replay_failure
        results[path] = f"{type(failure).__name__}: {failure}" if failure else ""
    return results


@temporal_app.command("replay")
def replay_command(
    files: Annotated[
        list[Path],
        typer.Argument(
            exists=True, dir_okay=False, help="JSON histories (temporal workflow show -o json)."
        ),
    ],
) -> None:
    """Replay workflow histories against this version's workflow code (determinism check)."""
    console = Console()
    results = asyncio.run(replay_histories(files))
    for path, problem in results.items():
        if problem:
            console.print(f"[red]FAILED[/red] {path}: {problem}", soft_wrap=True)
        else:
            console.print(f"[green]ok[/green] {path}", soft_wrap=True)
    if any(results.values()):
        raise typer.Exit(1)
