"""The gRPC APIs of the feedback process, and the one place they are wired.

Each module is a thin adapter for one gRPC service (protobuf in → handler → protobuf out):
``feedback`` (FeedbackService: continuous feedback, praise, upward feedback, goal challenges,
frequency, settings), ``rounds`` (RoundService: 360 templates, rounds, nominations,
answers, results), ``archive`` (ArchiveService: performance archive, calibration) and
``talent`` (TalentService: high-potential suggestions, managers' dimensions).
:func:`setup` builds the handlers' dependencies on the runtime's context and registers the
servicers.
"""

from __future__ import annotations

import grpc

from services.common.runtime import ServiceContext
from services.feedback.handlers.archive_shared import archive_deps
from services.feedback.handlers.promotions import promotion_deps
from services.feedback.handlers.round_shared import round_deps
from services.feedback.handlers.shared import deps_of
from services.feedback.handlers.talent import talent_deps
from services.feedback.servicers.archive import ArchiveServicer
from services.feedback.servicers.feedback import FeedbackServicer
from services.feedback.servicers.promotions import PromotionServicer
from services.feedback.servicers.rounds import RoundServicer
from services.feedback.servicers.talent import TalentServicer
from stride.feedback.v1 import (
    archive_pb2,
    archive_pb2_grpc,
    feedback_pb2,
    feedback_pb2_grpc,
    promotions_pb2,
    promotions_pb2_grpc,
    rounds_pb2,
    rounds_pb2_grpc,
    talent_pb2,
    talent_pb2_grpc,
)

SERVICE_NAMES = [
    feedback_pb2.DESCRIPTOR.services_by_name["FeedbackService"].full_name,
    rounds_pb2.DESCRIPTOR.services_by_name["RoundService"].full_name,
    talent_pb2.DESCRIPTOR.services_by_name["TalentService"].full_name,
    archive_pb2.DESCRIPTOR.services_by_name["ArchiveService"].full_name,
    promotions_pb2.DESCRIPTOR.services_by_name["PromotionService"].full_name,
]


async def setup(ctx: ServiceContext, server: grpc.aio.Server) -> None:
    deps = deps_of(ctx)
    feedback_pb2_grpc.add_FeedbackServiceServicer_to_server(FeedbackServicer(deps), server)
    rounds_pb2_grpc.add_RoundServiceServicer_to_server(
        RoundServicer(round_deps(ctx, deps.org)), server
    )
    talent_pb2_grpc.add_TalentServiceServicer_to_server(TalentServicer(talent_deps(deps)), server)
    archive_pb2_grpc.add_ArchiveServiceServicer_to_server(
        ArchiveServicer(archive_deps(ctx, deps.org, deps.goals)), server
    )
    promotions_pb2_grpc.add_PromotionServiceServicer_to_server(
        PromotionServicer(promotion_deps(ctx, deps.org)), server
    )
