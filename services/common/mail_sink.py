"""A local SMTP server that accepts every mail and logs it (``stride mail-sink``).

``stride up`` runs it as a child process when no SMTP server is configured
(``STRIDE_SMTP_HOST`` unset), so notification e-mails can be read in
``.stride/logs/mail-sink.log``. Tests use :class:`MailSink` in-process to assert on the mail
a real SMTP exchange delivered. Built on aiosmtpd.
"""

from __future__ import annotations

import asyncio
import email
import email.policy
import threading
from collections.abc import Callable
from email.message import EmailMessage
from typing import Any

import structlog
from aiosmtpd.controller import Controller

from services.common.binaries import free_port

log = structlog.get_logger(__name__)


class _Handler:
    def __init__(self, on_message: Callable[[EmailMessage, list[str]], None]) -> None:
        self._on_message = on_message

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        content = envelope.content
        raw = content if isinstance(content, bytes) else str(content).encode()
        message = email.message_from_bytes(raw, policy=email.policy.default)
        assert isinstance(message, EmailMessage)
        self._on_message(message, list(envelope.rcpt_tos))
        return "250 Message accepted for delivery"


class MailSink:
    """An SMTP server on ``host:port`` (0: a free port) keeping what it receives."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0, *, log_mail: bool = False):
        self.host = host
        self.port = port or free_port(host)
        self.messages: list[EmailMessage] = []
        self._log_mail = log_mail
        self._lock = threading.Lock()
        self._controller = Controller(
            _Handler(self._received), hostname=host, port=self.port, ready_timeout=10
        )

    def _received(self, message: EmailMessage, recipients: list[str]) -> None:
        with self._lock:
            self.messages.append(message)
        if self._log_mail:
            body = message.get_body(preferencelist=("plain",))
            log.info(
                "mail received",
                to=", ".join(recipients),
                subject=str(message["Subject"]),
                message_id=str(message["Message-ID"]),
                body=body.get_content() if body is not None else "",
            )

    def received(self) -> list[EmailMessage]:
        with self._lock:
            return list(self.messages)

    def start(self) -> MailSink:
        self._controller.start()
        return self

    def stop(self) -> None:
        self._controller.stop()

    def __enter__(self) -> MailSink:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def serve(host: str, port: int) -> None:
    """Run a logging sink until interrupted (the ``stride mail-sink`` process)."""
    sink = MailSink(host, port, log_mail=True).start()
    log.info("mail sink listening", host=host, port=sink.port)
    try:
        asyncio.run(_forever())
    except KeyboardInterrupt:
        pass
    finally:
        sink.stop()


async def _forever() -> None:
    await asyncio.Event().wait()


def main(argv: list[str] | None = None) -> None:
    """``python -m services.common.mail_sink --host H --port P``: what ``stride up`` starts.

    The same sink as ``stride mail-sink`` without the CLI and the settings classes around it
    (typer, rich, pydantic-settings: 14 MB of an idle process that only logs mail). Logging
    follows ``STRIDE_LOG_LEVEL`` and ``STRIDE_LOG_FORMAT`` as everywhere else.
    """
    import argparse
    import os

    from services.common.logging import configure_logging

    parser = argparse.ArgumentParser(prog="mail-sink", description=main.__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=2525)
    args = parser.parse_args(argv)
    configure_logging(
        "mail-sink",
        os.environ.get("STRIDE_LOG_LEVEL", "INFO"),
        os.environ.get("STRIDE_LOG_FORMAT", "console"),
    )
    serve(args.host, args.port)


if __name__ == "__main__":
    main()
