"""HR's training course catalogue (identity stores it; the escalation ladder's HR notice
recommends from it)."""

from __future__ import annotations

from typing import Any

from gateway.convert import to_dict
from gateway.deps import RpcDep
from gateway.routes import ResourceRouter, StrideRoute
from gateway.schemas.training import CourseList, CoursesPut
from gateway.security import Allow
from stride.identity.v1 import identity_pb2 as pb

router = ResourceRouter(tags=["training"], route_class=StrideRoute)


def _list(msg: pb.ListTrainingCoursesResponse) -> dict[str, Any]:
    return {"courses": [to_dict(c) for c in msg.courses], "updated_at": msg.updated_at}


@router.get(
    "/training/courses",
    response_model=CourseList,
    name="list_training_courses",
    dependencies=[Allow("training_course.read")],
    description="HR's training course catalogue, in HR's order.",
)
async def list_courses(rpc: RpcDep) -> dict[str, Any]:
    return _list(await rpc(rpc.identity.ListTrainingCourses, pb.ListTrainingCoursesRequest()))


@router.put(
    "/training/courses",
    response_model=CourseList,
    name="put_training_courses",
    dependencies=[Allow("training_course.update")],
    description="Replaces the catalogue. Ids are unique (422 duplicate_course), titles "
    "1..200 characters, urls https (422 invalid_course_url).",
)
async def put_courses(body: CoursesPut, rpc: RpcDep) -> dict[str, Any]:
    msg = await rpc(
        rpc.identity.PutTrainingCourses,
        pb.PutTrainingCoursesRequest(
            courses=[
                pb.TrainingCourse(
                    id=c.id, title_zh=c.title_zh, title_en=c.title_en, topics=c.topics, url=c.url
                )
                for c in body.courses
            ]
        ),
    )
    return _list(msg)
