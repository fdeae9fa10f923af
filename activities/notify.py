"""The notification activity every workflow uses: an in-app inbox item per recipient
(identity's InboxService) plus an e-mail copy over SMTP.

Idempotent per workflow step: each recipient's delivery key is ``<workflow id>/<step>/
<recipient>`` (:func:`workflows.notifications.delivery_key`; the run id is not part of it).
The inbox row is unique by key, so a retried activity finds it and creates nothing; the
e-mail is sent only while the row has no ``emailed_at`` and is recorded there right after
sending, with the key as its Message-ID; that record is retried within the attempt while
identity is unavailable (a restart), since failing the attempt there would send the mail again.
(A crash of the worker itself between the SMTP server accepting the mail and the record leaves
one window, milliseconds wide, in which a retry re-sends it, with the same Message-ID.)

A recipient out of the pilot (their department, or one above it, does not have Stride enabled:
:mod:`services.common.pilot`) gets nothing: identity writes no inbox item and says so, and
no e-mail is sent (counted in :attr:`NotifyResult.out_of_pilot`). A recipient identity does
not know is skipped (logged); identity or the SMTP server being
down fails the attempt, and the retry picks up where it stopped.

A request with an :class:`~workflows.notifications.Invitation` attaches the same ``.ics``
(``text/calendar; method=REQUEST``, :mod:`activities.ics`) to each of its e-mails, with the
invited people's addresses looked up in identity; its UID is the workflow's, so a retry
re-sends one event, never a second.

A request naming only the ``inbox`` channel creates the inbox items and sends no e-mail (a
workflow in the organisation's quiet hours; it asks again with ``email`` when they end, and
the stored items are found and e-mailed then). IM robots are another activity
(activities/im.py).

A request with a :class:`~workflows.notifications.BriefAttachment` attaches the stored
month-end briefs (goals) to each e-mail as PDFs in the recipient's language.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from email.message import EmailMessage
from typing import Any

import aiosmtplib
import grpc
import structlog
from temporalio import activity
from temporalio.exceptions import ApplicationError

from activities.clients import (
    CALL_TIMEOUT_SECONDS,
    channel,
    error_code,
    metadata,
    to_application_error,
    workflow_actor,
)
from activities.ics import Attendee, invitation_ics
from activities.labels import labels
from activities.messages import email_message, render
from activities.monthly_brief import brief_pdfs
from services.common.settings import WorkerSettings
from stride.identity.v1 import identity_pb2, identity_pb2_grpc, inbox_pb2, inbox_pb2_grpc
from workflows.notifications import (
    CHANNEL_EMAIL,
    NOTIFY_ACTIVITY,
    TEMPLATES,
    Invitation,
    NotifyRequest,
    NotifyResult,
    delivery_key,
)

log = structlog.get_logger(__name__)

ERROR_REFUSED = "NotificationRefused"

Sender = Callable[[EmailMessage], Awaitable[None]]


class Mailer:
    """One SMTP connection for the e-mails of one activity run, opened on first use."""

    def __init__(self, settings: WorkerSettings) -> None:
        self.settings = settings
        self._smtp: aiosmtplib.SMTP | None = None

    @property
    def enabled(self) -> bool:
        return bool(self.settings.smtp_host)

    async def send(self, message: EmailMessage) -> None:
        if self._smtp is None:
            s = self.settings
            smtp = aiosmtplib.SMTP(
                hostname=s.smtp_host,
                port=s.smtp_port,
                timeout=s.smtp_timeout_seconds,
                use_tls=s.smtp_tls == "tls",
                start_tls=True if s.smtp_tls == "starttls" else False,
            )
            await smtp.connect()
            if s.smtp_username:
                password = s.smtp_password.get_secret_value() if s.smtp_password else ""
                await smtp.login(s.smtp_username, password)
            self._smtp = smtp
        await self._smtp.send_message(message)

    async def close(self) -> None:
        if self._smtp is not None:
            try:
                await self._smtp.quit()
            except aiosmtplib.SMTPException:
                self._smtp.close()
            self._smtp = None


class NotifyActivities:
    def __init__(self, settings: WorkerSettings) -> None:
        self.settings = settings

    @activity.defn(name=NOTIFY_ACTIVITY)
    async def notify(self, request: NotifyRequest) -> NotifyResult:
        if request.template not in TEMPLATES:
            raise ApplicationError(
                f"unknown template {request.template!r}", type=ERROR_REFUSED, non_retryable=True
            )
        result = NotifyResult()
        # The inbox item always; the e-mail unless the workflow holds it back (quiet hours).
        email = not request.channels or CHANNEL_EMAIL in request.channels
        mailer = Mailer(self.settings)
        md = metadata(workflow_actor())
        try:
            async with channel(self.settings.identity_addr) as ch:
                inbox = inbox_pb2_grpc.InboxServiceStub(ch)
                ics = await self._invitation(ch, request.invitation, md)
                names = await labels(self.settings, (m.params for m in request.messages))
                # Month-end briefs by language, loaded once per activity run.
                briefs: dict[str, list[tuple[str, bytes]]] = {}
                for done, message in enumerate(request.messages):
                    _heartbeat(done)
                    key = delivery_key(request.key, message.recipient_id)
                    texts = render(request.template, message.params, names)
                    try:
                        delivered = await inbox.Deliver(
                            inbox_pb2.DeliverRequest(
                                key=key,
                                recipient_id=message.recipient_id,
                                template=request.template,
                                title_zh=texts.title_zh,
                                title_en=texts.title_en,
                                body_zh=texts.body_zh,
                                body_en=texts.body_en,
                                link=texts.link,
                            ),
                            timeout=CALL_TIMEOUT_SECONDS,
                            metadata=md,
                        )
                    except grpc.aio.AioRpcError as err:
                        if err.code() == grpc.StatusCode.INVALID_ARGUMENT:
                            log.warning("notification skipped", key=key, reason=error_code(err))
                            continue
                        raise to_application_error("identity", err, ERROR_REFUSED) from err
                    if delivered.out_of_pilot:
                        # Out of the pilot (services/common/pilot.py): no item, no e-mail.
                        result.out_of_pilot += 1
                        continue
                    if delivered.created:
                        result.delivered += 1
                    else:
                        result.already_delivered += 1
                    item = delivered.item
                    if item.emailed_at or not email:
                        continue
                    if not (mailer.enabled and delivered.email):
                        result.inbox_only += 1
                        continue
                    mail = email_message(
                        texts,
                        key=key,
                        sender=self.settings.smtp_from,
                        to=delivered.email,
                        locale=delivered.locale,
                        web_url=self.settings.web_url,
                    )
                    if ics is not None:
                        mail.add_attachment(
                            ics,
                            maintype="text",
                            subtype="calendar",
                            filename="invite.ics",
                            params={"method": "REQUEST", "charset": "utf-8"},
                        )
                    if request.attachment is not None:
                        locale = delivered.locale
                        if locale not in briefs:
                            briefs[locale] = await brief_pdfs(
                                self.settings.goals_addr,
                                request.attachment.month,
                                request.attachment.department_ids,
                                locale,
                                md,
                            )
                        for filename, pdf in briefs[locale]:
                            mail.add_attachment(
                                pdf, maintype="application", subtype="pdf", filename=filename
                            )
                    try:
                        await mailer.send(mail)
                    except (aiosmtplib.SMTPException, OSError) as err:
                        raise ApplicationError(
                            f"SMTP: {type(err).__name__}: {err}", type="SmtpUnavailable"
                        ) from err
                    # Sent: from here on a failed attempt would send it again on retry, so
                    # the record is retried here (identity restarting) rather than failing.
                    await _mark_emailed(inbox, item.id, md, done)
                    result.emailed += 1
        finally:
            await mailer.close()
        return result

    async def _invitation(
        self, ch: grpc.aio.Channel, invitation: Invitation | None, md: Any
    ) -> bytes | None:
        """The ``.ics`` of ``invitation`` with the attendees' addresses (None: no invitation)."""
        if invitation is None:
            return None
        identity = identity_pb2_grpc.IdentityServiceStub(ch)
        attendees: list[Attendee] = []
        for employee_id in invitation.attendee_ids:
            try:
                person = await identity.GetEmployee(
                    identity_pb2.GetEmployeeRequest(id=employee_id),
                    timeout=CALL_TIMEOUT_SECONDS,
                    metadata=md,
                )
            except grpc.aio.AioRpcError as err:
                if err.code() == grpc.StatusCode.NOT_FOUND:
                    continue
                raise to_application_error("identity", err, ERROR_REFUSED) from err
            if person.email:
                attendees.append(Attendee(person.email, person.name))
        return invitation_ics(
            invitation,
            organizer=self.settings.smtp_from,
            attendees=attendees,
            stamp=activity.info().current_attempt_scheduled_time,
            url=self.settings.web_url.rstrip("/"),
        )


# How long a sent e-mail's record is retried while identity is away (a restart takes seconds).
MARK_EMAILED_PATIENCE_SECONDS = 60.0


async def _mark_emailed(inbox: Any, item_id: str, md: Any, done: int) -> None:
    """Record that the e-mail of inbox item ``item_id`` went out, retrying while identity is
    unavailable (up to :data:`MARK_EMAILED_PATIENCE_SECONDS`, heartbeating): giving up here
    would let the activity's retry send the mail a second time."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + MARK_EMAILED_PATIENCE_SECONDS
    delay = 0.2
    while True:
        try:
            await inbox.MarkEmailed(
                inbox_pb2.MarkEmailedRequest(id=item_id), timeout=CALL_TIMEOUT_SECONDS, metadata=md
            )
            return
        except grpc.aio.AioRpcError as err:
            retryable = err.code() in (
                grpc.StatusCode.UNAVAILABLE,
                grpc.StatusCode.DEADLINE_EXCEEDED,
            )
            if not retryable or loop.time() + delay > deadline:
                raise to_application_error("identity", err, ERROR_REFUSED) from err
            log.warning("recording a sent e-mail failed, retrying", error=repr(err))
        _heartbeat(done)
        await asyncio.sleep(delay)
        delay = min(delay * 2, 5.0)


def _heartbeat(done: int) -> None:
    try:
        activity.heartbeat(done)
    except RuntimeError:  # called outside an activity (tests)
        pass
