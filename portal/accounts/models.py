"""The staff tables: ``users`` (one row per person who signs in to /support) and
``staff_sessions`` (one row per signed-in browser; the id is the hash of the cookie's token)."""

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
