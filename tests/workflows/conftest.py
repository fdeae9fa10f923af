"""Fixtures for workflow tests on the time-skipping server (``temporal_env``)."""

from __future__ import annotations

import pytest
from temporalio.client import Client
from temporalio.testing import WorkflowEnvironment

from services.worker.worker import ensure_search_attributes


@pytest.fixture(scope="session")
async def client(temporal_env: WorkflowEnvironment) -> Client:
    """The time-skipping server's client, with Stride's search attributes registered.

    The time-skipping server rejects an upsert of an unregistered attribute ("search attribute
    StrideCycle is not defined") just like a real server, and it implements
    AddSearchAttributes, so the workflows upsert unconditionally and the tests register.
    """
    await ensure_search_attributes(temporal_env.client)
    return temporal_env.client
