"""The organisation's feedback settings through the feedback service's real gRPC API (real
database, NATS): the anonymity threshold defaults to 3 and is never set below 3."""

from __future__ import annotations

from pathlib import Path

import grpc
import pytest

from services.common.errors import ERROR_CODE_KEY
from stride.feedback.v1 import feedback_pb2 as pb
from stride.feedback.v1 import feedback_pb2_grpc
from tests.integration.services_fixtures import feedback_stack


def code_of(err: grpc.aio.AioRpcError) -> str:
    return dict(err.trailing_metadata() or ()).get(ERROR_CODE_KEY, "")


async def test_threshold_defaults_to_three_and_never_goes_below(
    database_url: str | None, data_dir: Path, nats_url: str
) -> None:
    async with feedback_stack(database_url, data_dir, nats_url) as stack:
        feedback = feedback_pb2_grpc.FeedbackServiceStub(stack.feedback)
        settings = await feedback.GetSettings(pb.GetSettingsRequest())
        assert settings.anonymity_threshold == 3

        for too_low in (2, 0, -1):
            with pytest.raises(grpc.aio.AioRpcError) as err:
                await feedback.UpdateSettings(pb.UpdateSettingsRequest(anonymity_threshold=too_low))
            assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT
            assert code_of(err.value) == "threshold_below_minimum"
        assert (await feedback.GetSettings(pb.GetSettingsRequest())).anonymity_threshold == 3

        changed = await feedback.UpdateSettings(pb.UpdateSettingsRequest(anonymity_threshold=5))
        assert changed.anonymity_threshold == 5
        again = await feedback.GetSettings(pb.GetSettingsRequest())
        assert again.anonymity_threshold == 5 and again.updated_at
