"""The staff tables: ``users`` (one row per person who signs in to /support),
``staff_sessions`` (one row per signed-in browser; the id is the hash of the cookie's token),
``staff_invitations`` (the emailed links that set a first password) and ``staff_audit_events``."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import Boolean, ForeignKey, Index, Integer, String, func
from sqlalchemy.orm import Mapped, mapped_column

from portal.db import Base


class Role(StrEnum):
    AGENT = "agent"
    ADMIN = "admin"
    MERCHANT = "merchant"


class User(Base):
    """A staff member. ``email`` is stored casefolded; a merchant user belongs to one store."""

    __tablename__ = "users"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    email: Mapped[str] = mapped_column(String(320), unique=True)
    password_hash: Mapped[str] = mapped_column(String(255))
    role: Mapped[str] = mapped_column(String(16))
    store_id: Mapped[int | None] = mapped_column(ForeignKey("stores.id"), nullable=True)
    created_at: Mapped[datetime] = mapped_column(server_default=func.now())
    password_changed_at: Mapped[datetime] = mapped_column()
    disabled: Mapped[bool] = mapped_column(Boolean, default=False)
    failed_logins: Mapped[int] = mapped_column(Integer, default=0)
    locked_until: Mapped[datetime | None] = mapped_column(nullable=True)


class StaffSession(Base):
    """A signed-in browser. The cookie holds a random token; ``id`` is its SHA-256 hex."""

    __tablename__ = "staff_sessions"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    created_at: Mapped[datetime] = mapped_column()
    last_seen_at: Mapped[datetime] = mapped_column()
    expires_at: Mapped[datetime] = mapped_column()
    revoked_at: Mapped[datetime | None] = mapped_column(nullable=True)


class SignInFailure(Base):
    """One failed (or not yet decided) sign-in, by a keyed hash of who it counts against: the
    client's address (``client:``) or an email no account has (``email:``). Kept in the
    database so every web process counts the same failures."""

    __tablename__ = "sign_in_failures"
    __table_args__ = (Index("ix_sign_in_failures_key_at", "key", "failed_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    key: Mapped[str] = mapped_column(String(72))
    failed_at: Mapped[datetime] = mapped_column()


class StaffInvitation(Base):
    """The one live invitation of a user who has not set a password yet. The emailed link holds
    a random token; ``token_hash`` is its SHA-256 hex. Used once; inviting again replaces it."""

    __tablename__ = "staff_invitations"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), unique=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column()
    expires_at: Mapped[datetime] = mapped_column()
    used_at: Mapped[datetime | None] = mapped_column(nullable=True)


class StaffAuditEvent(Base):
    """Who changed whose account, how and when: invitations, role and store changes, disabling
    and enabling. ``actor_id`` is empty for a change made outside the web pages."""

    __tablename__ = "staff_audit_events"
    __table_args__ = (Index("ix_staff_audit_events_at", "at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[datetime] = mapped_column()
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True)
    target_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    action: Mapped[str] = mapped_column(String(32))
    detail: Mapped[str] = mapped_column(String(500), default="")
