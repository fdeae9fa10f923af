"""Fixtures for workflow tests on the time-skipping server (``temporal_env``)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from temporalio.client import Client
from temporalio.testing import WorkflowEnvironment

from services.worker.worker import ensure_search_attributes
from tests.temporal_leftovers import STARTED, time_skipping_env


@pytest.fixture
async def temporal_env() -> AsyncIterator[WorkflowEnvironment]:
    """Each workflow test's own time-skipping server (one starts in ~0.1 s). The session's is
    shared with integration and gateway tests whose workflows (and schedules) skip its clock
    far ahead, and one shared by these tests alone was once past 2100 on a loaded CI machine
    (where no cycle may lie) after some test's workflow let time skip to a far timer; these
    tests plan their calendars from the server's time, so none may inherit another's clock."""
    async with time_skipping_env() as env:
        yield env


@pytest.fixture(autouse=True)
async def _end_leftover_workflows_per_test() -> AsyncIterator[None]:
    """Each test here has its own worker: what it left running cannot go on after it (see
    tests/temporal_leftovers.py)."""
    yield
    await STARTED.end_leftovers()


@pytest.fixture
async def client(temporal_env: WorkflowEnvironment) -> Client:
    """The time-skipping server's client, with Stride's search attributes registered.

    The time-skipping server rejects an upsert of an unregistered attribute ("search attribute
    StrideCycle is not defined") just like a real server, and it implements
    AddSearchAttributes, so the workflows upsert unconditionally and the tests register.
    """
    await ensure_search_attributes(temporal_env.client)
    return temporal_env.client
