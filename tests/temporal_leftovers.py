"""Workflows a test left running on the shared time-skipping server, ended after it.

The time-skipping server is one per session (``temporal_env``), each test brings its own
worker on its own task queue. A workflow a test leaves running keeps its timers; when time
skips past one, its workflow task waits for a worker that is gone, and the server does not
skip time while a workflow task is outstanding — so a later test that waits for time to pass
(``handle.result()`` of a quarter-long cycle) waits in real time, for days. Every workflow
started through the environment's client is recorded here (a client interceptor), and what
is still running is terminated after each test module (after each test in tests/workflows).

Terminating is not always enough: a workflow whose first workflow task never reached a worker
(started through a gateway with no worker on its queue) keeps the server from skipping time
even once terminated. After each module :meth:`StartedWorkflows.check_time_skips` makes sure
the server still skips time, and warns naming that module otherwise (pytest's warnings
summary; a warning rather than a failure until a full run shows no module left): the module
must run such workflows to their end (tests/integration/test_authz_matrix.py ``_finish_workflows``).
Unnoticed, every later test that waits on a timer or a retry waits in real time (the org-sync
outage tests once took 40 s each instead of a fraction of a second).
"""

from __future__ import annotations

import asyncio
import contextlib
import warnings
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

from temporalio.client import (
    Client,
    Interceptor,
    OutboundInterceptor,
    StartWorkflowInput,
    WorkflowExecutionStatus,
    WorkflowHandle,
)
from temporalio.service import RPCError
from temporalio.testing import WorkflowEnvironment

from services.common.binaries import find_binary

# Time asked to skip after a module, and how long (real time) skipping it may take: a server
# that skips answers in milliseconds, one that cannot would take the minute.
SKIP_PROBE = timedelta(minutes=1)
SKIP_PROBE_PATIENCE = 10.0


class TimeSkippingStuck(UserWarning):
    """The shared time-skipping server stopped skipping time after a module."""


class StartedWorkflows(Interceptor):
    """Records the id of every workflow the client starts."""

    def __init__(self) -> None:
        self.ids: list[str] = []
        # The environment and its client, while the environment runs.
        self.client: Client | None = None
        self.env: WorkflowEnvironment | None = None
        # The first module after which the server no longer skipped time (reported once).
        self.stuck_after = ""

    def intercept_client(self, next: OutboundInterceptor) -> OutboundInterceptor:
        return _Recording(next, self.ids)

    async def end_leftovers(self) -> None:
        """Terminate every recorded workflow that is still running; forget them all."""
        ids, self.ids[:] = list(dict.fromkeys(self.ids)), []
        if self.client is None:
            return
        for workflow_id in ids:
            handle = self.client.get_workflow_handle(workflow_id)
            with contextlib.suppress(Exception):  # already gone, or never really started
                if (await handle.describe()).status == WorkflowExecutionStatus.RUNNING:
                    await handle.terminate("the test that started it is over")

    async def check_time_skips(self, where: str) -> None:
        """A :class:`TimeSkippingStuck` warning naming ``where`` (pytest's warnings summary)
        when the server no longer skips time; reported once, for the first such module."""
        if self.env is None or self.stuck_after:
            return
        try:
            await asyncio.wait_for(self.env.sleep(SKIP_PROBE), SKIP_PROBE_PATIENCE)
        except RPCError:
            return  # the call lost its connection (a loaded machine): no verdict
        except TimeoutError:
            self.stuck_after = where
            warnings.warn(
                f"{where} left the shared time-skipping server unable to skip time: a workflow "
                "it started still waits for a worker (run it to its end in the module; "
                "terminating it is not enough), so every later timer runs in real time",
                TimeSkippingStuck,
                stacklevel=1,
            )


class _Recording(OutboundInterceptor):
    def __init__(self, next: OutboundInterceptor, ids: list[str]) -> None:
        super().__init__(next)
        self._ids = ids

    async def start_workflow(self, input: StartWorkflowInput) -> WorkflowHandle[Any, Any]:
        handle = await super().start_workflow(input)
        self._ids.append(input.id)
        return handle


# The one recorder of the test session (tests/conftest.py gives it to the environment).
STARTED = StartedWorkflows()


@contextlib.asynccontextmanager
async def time_skipping_env() -> AsyncIterator[WorkflowEnvironment]:
    """A time-skipping test server whose started workflows :data:`STARTED` records (and ends
    after each test or module), its client the recorder's while it runs."""
    env = await WorkflowEnvironment.start_time_skipping(
        test_server_existing_path=find_binary("temporal-test-server"), interceptors=[STARTED]
    )
    outer = STARTED.client, STARTED.env
    STARTED.client, STARTED.env = env.client, env
    try:
        yield env
    finally:
        await STARTED.end_leftovers()
        STARTED.client, STARTED.env = outer
        await env.shutdown()
