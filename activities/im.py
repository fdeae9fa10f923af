"""The IM group robot channel: DingTalk and WeCom custom robots (HTTPS webhooks), configured
per department in identity (``PUT /departments/{id}/robots/{kind}``).

Two activities, so that an IM failure is retried on its own (the e-mail of the step is a
separate, finished activity and is never sent again):

- ``im_targets``: which robots reach a step's recipients (their departments'), as ids only;
- ``notify_im``: one post to one robot. It reads the webhook and the secret from identity at
  send time (they never enter a workflow history), renders the template in the robot's
  language (the same texts as the e-mail, without the recipient's personal "your"), signs a
  DingTalk webhook (:func:`dingtalk_signed_url`) and posts. HTTP 5xx, a timeout, a refused
  connection or ``errcode != 0`` in the answer fail the attempt (retryable; the workflow's
  retry policy backs off); another 4xx is a configuration error and is not retried.

Idempotent per step and robot: the workflow schedules one ``notify_im`` per (step, robot) and a
finished activity is never run again; only a worker crash between the robot's answer and the
activity's completion can repeat a post.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import time
from typing import Any
from urllib.parse import quote_plus

import grpc
import httpx
import structlog
from temporalio import activity
from temporalio.exceptions import ApplicationError

from activities.clients import (
    CALL_TIMEOUT_SECONDS,
    channel,
    metadata,
    to_application_error,
    workflow_actor,
)
from activities.labels import labels
from activities.messages import Texts, render
from services.common.settings import WorkerSettings
from stride.identity.v1 import identity_pb2, identity_pb2_grpc
from workflows.notifications import (
    IM_ACTIVITY,
    IM_TARGETS_ACTIVITY,
    IM_TEMPLATES,
    ImMessage,
    ImResult,
    ImTarget,
    ImTargetsInput,
)

log = structlog.get_logger(__name__)

ERROR_REFUSED = "RobotRefused"
ERROR_UNAVAILABLE = "RobotUnavailable"
DINGTALK = "dingtalk"
WECOM = "wecom"


def dingtalk_sign(secret: str, timestamp_ms: int) -> str:
    """DingTalk's robot signature: base64(HMAC-SHA256(key=secret, msg="<timestamp>\\n<secret>")),
    URL-encoded."""
    message = f"{timestamp_ms}\n{secret}".encode()
    digest = hmac.new(secret.encode(), message, hashlib.sha256).digest()
    return quote_plus(base64.b64encode(digest).decode())


def dingtalk_signed_url(url: str, secret: str, timestamp_ms: int) -> str:
    """The webhook with ``&timestamp=..&sign=..`` appended (unchanged without a secret)."""
    if not secret:
        return url
    sep = "&" if "?" in url else "?"
    return f"{url}{sep}timestamp={timestamp_ms}&sign={dingtalk_sign(secret, timestamp_ms)}"


def group_texts(texts: Texts, language: str) -> tuple[str, str]:
    """(title, body) in the robot's language."""
    if language.startswith("en"):
        return texts.title_en, texts.body_en
    return texts.title_zh, texts.body_zh


def robot_payload(kind: str, title: str, body: str, url: str) -> dict[str, Any]:
    """The JSON a robot takes: a markdown message with the title, the text and the link."""
    link = f"\n\n[{url}]({url})" if url else ""
    if kind == DINGTALK:
        return {
            "msgtype": "markdown",
            "markdown": {"title": title, "text": f"#### {title}\n\n{body}{link}"},
        }
    return {"msgtype": "markdown", "markdown": {"content": f"**{title}**\n\n{body}{link}"}}


def group_params(params: dict[str, str]) -> dict[str, str]:
    """A recipient's template parameters for a group: without their role, so the text reads
    "a key result …" rather than "your key result …"."""
    return {k: v for k, v in params.items() if k != "role"}


class ImActivities:
    def __init__(self, settings: WorkerSettings) -> None:
        self.settings = settings

    async def _targets(self, employee_ids: list[str]) -> identity_pb2.RobotTargets:
        async with channel(self.settings.identity_addr) as ch:
            identity = identity_pb2_grpc.IdentityServiceStub(ch)
            try:
                return await identity.GetRobotTargets(
                    identity_pb2.GetRobotTargetsRequest(employee_ids=employee_ids),
                    timeout=CALL_TIMEOUT_SECONDS,
                    metadata=metadata(workflow_actor()),
                )
            except grpc.aio.AioRpcError as err:
                raise to_application_error("identity", err, ERROR_REFUSED) from err

    @activity.defn(name=IM_TARGETS_ACTIVITY)
    async def targets(self, input: ImTargetsInput) -> list[ImTarget]:
        found = await self._targets(list(input.recipient_ids))
        return [
            ImTarget(t.department_id, t.kind, t.employee_ids[0])
            for t in found.targets
            if t.employee_ids
        ]

    @activity.defn(name=IM_ACTIVITY)
    async def post(self, message: ImMessage) -> ImResult:
        if message.template not in IM_TEMPLATES:
            raise ApplicationError(
                f"template {message.template!r} is not posted to robots",
                type=ERROR_REFUSED,
                non_retryable=True,
            )
        found = await self._targets([message.recipient_id])
        robot = next(
            (
                t
                for t in found.targets
                if t.department_id == message.department_id and t.kind == message.kind
            ),
            None,
        )
        if robot is None:
            log.info("robot gone, nothing posted", key=message.key)
            return ImResult(posted=False)
        params = group_params(message.params)
        texts = render(
            message.template, params, await labels(self.settings, [params], people=False)
        )
        title, body = group_texts(texts, robot.language)
        link = f"{self.settings.web_url.rstrip('/')}{texts.link}" if texts.link else ""
        url = robot.webhook_url
        if robot.kind == DINGTALK:
            url = dingtalk_signed_url(url, robot.secret, int(time.time() * 1000))
        await self._send(url, robot_payload(robot.kind, title, body, link), message.key)
        return ImResult(posted=True)

    async def _send(self, url: str, payload: dict[str, Any], key: str) -> None:
        # The URL carries the robot's token and signature: never logged or put in an error.
        try:
            async with httpx.AsyncClient(timeout=self.settings.im_timeout_seconds) as http:
                response = await http.post(url, json=payload)
        except httpx.HTTPError as err:
            raise ApplicationError(
                f"robot unreachable: {type(err).__name__}", type=ERROR_UNAVAILABLE
            ) from None
        if response.status_code >= 500 or response.status_code == 429:
            raise ApplicationError(
                f"robot answered HTTP {response.status_code}", type=ERROR_UNAVAILABLE
            )
        if response.status_code >= 400:
            raise ApplicationError(
                f"robot refused the post: HTTP {response.status_code}",
                type=ERROR_REFUSED,
                non_retryable=True,
            )
        try:
            answer = response.json()
        except ValueError:
            answer = {}
        errcode = answer.get("errcode", 0) if isinstance(answer, dict) else 0
        if errcode != 0:
            errmsg = str(answer.get("errmsg", ""))[:200]
            raise ApplicationError(f"robot errcode {errcode}: {errmsg}", type=ERROR_UNAVAILABLE)
        log.info("robot message posted", key=key)
