"""Credential tables: passwords, PINs, sign-in failures, refresh tokens, API keys, invitation
jobs."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, DateTime, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from services.common.models import created_at_column, id_column
from services.identity.models import Base


class Credential(Base):
    __tablename__ = "credentials"

    employee_id: Mapped[str] = mapped_column(
        String(36), ForeignKey("employees.id"), primary_key=True
    )
    password_hash: Mapped[str] = mapped_column(Text, nullable=False)
    must_change_password: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    updated_at: Mapped[datetime] = created_at_column()


class PinCredential(Base):
    """A person's PIN for signing in on a shared device (argon2, like passwords). Failed PIN
    sign-ins are counted in ``sign_in_failures`` under the key of ``"pin:"`` + the employee
    number (see services/identity/handlers/pins.py)."""

    __tablename__ = "pin_credentials"

    employee_id: Mapped[str] = mapped_column(
        String(36), ForeignKey("employees.id"), primary_key=True
    )
    pin_hash: Mapped[str] = mapped_column(Text, nullable=False)
    updated_at: Mapped[datetime] = created_at_column()


class SignInFailure(Base):
    """Failed sign-ins with one login (as typed, compared as ``domain.login_key``), whether or
    not it belongs to anyone: the lockout (credentials.LockoutPolicy) counts these, so a
    login that exists and one that does not are answered alike."""

    __tablename__ = "sign_in_failures"
    __table_args__ = (Index("ix_sign_in_failures_expires", "expires_at"),)

    # SHA-256 of the login key: logins that belong to nobody are not kept in the clear.
    login_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    failures: Mapped[int] = mapped_column(Integer, nullable=False)
    # Failures are counted until then (the window starts at the first one).
    window_ends: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    locked_until: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    # After this the row means nothing any more (deleted by the next failure's clean-up).
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)


class RefreshTokenRow(Base):
    __tablename__ = "refresh_tokens"
    __table_args__ = (Index("ix_refresh_tokens_family", "family_id"),)

    id: Mapped[str] = id_column()
    employee_id: Mapped[str] = mapped_column(String(36), ForeignKey("employees.id"), nullable=False)
    token_hash: Mapped[str] = mapped_column(String(64), nullable=False, unique=True)
    family_id: Mapped[str] = mapped_column(String(36), nullable=False)
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    used_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    created_at: Mapped[datetime] = created_at_column()


class ApiKeyRow(Base):
    __tablename__ = "api_keys"

    id: Mapped[str] = id_column()
    name: Mapped[str] = mapped_column(String(200), nullable=False)
    prefix: Mapped[str] = mapped_column(String(16), nullable=False)
    key_hash: Mapped[str] = mapped_column(String(64), nullable=False, unique=True)
    scopes: Mapped[str] = mapped_column(Text, nullable=False)
    created_by: Mapped[str] = mapped_column(String(200), nullable=False)
    created_at: Mapped[datetime] = created_at_column()
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    last_used_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)


class InvitationJob(Base):
    """A batch of one-time initial passwords issued in the background (``org-invitations/<id>``
    workflow), chunk by chunk; its slips wait here until the requester downloads them."""

    __tablename__ = "invitation_jobs"

    id: Mapped[str] = id_column()
    # Employee id of who asked; only they read the job and take its slips.
    requested_by: Mapped[str] = mapped_column(String(64), nullable=False)
    include_privileged: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    # queued, running, done, failed
    status: Mapped[str] = mapped_column(String(16), nullable=False)
    # People chosen to get a password when the job was made, and how it went for them.
    total: Mapped[int] = mapped_column(Integer, nullable=False)
    issued: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    skipped: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    # People without a password beyond this job's limit (for the next job).
    remaining: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    chunk_count: Mapped[int] = mapped_column(Integer, nullable=False)
    chunks_done: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    error: Mapped[str] = mapped_column(Text, nullable=False, default="")
    created_at: Mapped[datetime] = created_at_column()
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    # When the slips were downloaded: the passwords were wiped then.
    slips_taken_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)


class InvitationJobItem(Base):
    """One person of a job: chosen (chunk >= 0) or skipped when the job was made (chunk -1)."""

    __tablename__ = "invitation_job_items"
    __table_args__ = (Index("ix_invitation_job_items_chunk", "job_id", "chunk_no"),)

    job_id: Mapped[str] = mapped_column(
        String(36), ForeignKey("invitation_jobs.id"), primary_key=True
    )
    position: Mapped[int] = mapped_column(Integer, primary_key=True)
    employee_id: Mapped[str] = mapped_column(String(128), nullable=False)
    chunk_no: Mapped[int] = mapped_column(Integer, nullable=False)
    # "" (not yet), "issued", or why not (has_password, inactive, not_found, admin_required).
    outcome: Mapped[str] = mapped_column(String(32), nullable=False, default="")
    # The slip, filled when issued; the password is wiped when the slips are taken.
    employee_number: Mapped[str] = mapped_column(String(64), nullable=False, default="")
    name: Mapped[str] = mapped_column(String(200), nullable=False, default="")
    department_id: Mapped[str] = mapped_column(String(36), nullable=False, default="")
    department_name: Mapped[str] = mapped_column(String(200), nullable=False, default="")
    password: Mapped[str | None] = mapped_column(Text, nullable=True)


class InvitationJobChunk(Base):
    """A chunk is issued once: the transaction that issues it sets ``done_at``; a retried
    activity finds it set and issues nothing."""

    __tablename__ = "invitation_job_chunks"

    job_id: Mapped[str] = mapped_column(
        String(36), ForeignKey("invitation_jobs.id"), primary_key=True
    )
    chunk_no: Mapped[int] = mapped_column(Integer, primary_key=True)
    done_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
