"""Tables of automation: a store's ordered rules, every version of each rule (who changed what,
when), the store's limits that no rule can pass, and what automation decided for each request."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, Boolean, ForeignKey, Index, Integer, Numeric, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from portal.db import Base

MONEY = Numeric(12, 2)


class RuleAction(StrEnum):
    """What a rule does to a request that meets all its conditions. Tag and assign let the
    next rules look at the request too; the others decide it and stop."""

    RESOLVE = "resolve"  # primary reorder or refund, as the shopper preferred
    DENY = "deny"
    ASK = "ask"
    TAG = "tag"
    ASSIGN = "assign"
    HOLD = "hold"

    @property
    def decides(self) -> bool:
        return self not in (RuleAction.TAG, RuleAction.ASSIGN)


class Outcome(StrEnum):
    """What automation did with one request."""

    REORDERED = "reordered"  # a primary reorder was started
    REFUNDED = "refunded"  # a refund was started
    DENIED = "denied"
    ASKED = "asked"
    HELD = "held"  # a rule, or a limit, kept it for an agent
    WAITING = "waiting"  # no rule decided: it waits for an agent (``reason`` says why)
    PAUSED = "paused"  # the store's automation is paused

    @property
    def resolved(self) -> bool:
        return self in (Outcome.REORDERED, Outcome.REFUNDED)


class AutomationRule(Base):
    """One rule of a store, as it stands now (``version`` counts its changes)."""

    __tablename__ = "automation_rules"
    __table_args__ = (Index("ix_automation_rules_store_position", "store_id", "position"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    store_id: Mapped[int] = mapped_column(ForeignKey("stores.id"))
    position: Mapped[int] = mapped_column(Integer)
    name: Mapped[str] = mapped_column(String(120))
    enabled: Mapped[bool] = mapped_column(Boolean, default=False)
    version: Mapped[int] = mapped_column(Integer, default=1)
    conditions: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    action: Mapped[str] = mapped_column(String(16))
    action_text: Mapped[str] = mapped_column(Text, default="")  # deny/ask template, or the tag
    assignee_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True)
    updated_at: Mapped[datetime] = mapped_column()
    updated_by: Mapped[str] = mapped_column(String(320))


class RuleVersion(Base):
    """A rule as it was after one change, and who made the change."""

    __tablename__ = "automation_rule_versions"
    __table_args__ = (Index("uq_automation_rule_versions", "rule_id", "version", unique=True),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    rule_id: Mapped[int] = mapped_column(ForeignKey("automation_rules.id", ondelete="CASCADE"))
    version: Mapped[int] = mapped_column(Integer)
    change: Mapped[str] = mapped_column(String(32))  # created, edited, switched on, ...
    snapshot: Mapped[dict[str, Any]] = mapped_column(JSON)
    changed_by: Mapped[str] = mapped_column(String(320))
    changed_at: Mapped[datetime] = mapped_column()


class AutomationLimits(Base):
    """A store's limits, above every rule: the most one automatic resolution may be worth, the
    most all of them may add up to in a day (the store's day), and the pause switch."""

    __tablename__ = "automation_limits"

    store_id: Mapped[int] = mapped_column(ForeignKey("stores.id"), primary_key=True)
    paused: Mapped[bool] = mapped_column(Boolean, default=False)
    max_per_resolution: Mapped[Decimal] = mapped_column(MONEY)
    max_per_day: Mapped[Decimal] = mapped_column(MONEY)
    updated_at: Mapped[datetime] = mapped_column()
    updated_by: Mapped[str] = mapped_column(String(320))


class AutomationDecision(Base):
    """What automation did with one request: the rule (and version) that decided, or why none
    did. ``amount`` is what an automatic resolution is worth, counted against the daily cap.
    ``facts`` is what the rules were judged on, kept so a dry run can judge them again."""

    __tablename__ = "automation_decisions"
    __table_args__ = (
        Index("ix_automation_decisions_store_day", "store_id", "outcome", "created_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    request_id: Mapped[int] = mapped_column(
        ForeignKey("reorder_requests.id", ondelete="CASCADE"), unique=True
    )
    store_id: Mapped[int] = mapped_column(ForeignKey("stores.id"))
    outcome: Mapped[str] = mapped_column(String(16))
    rule_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    rule_version: Mapped[int | None] = mapped_column(Integer, nullable=True)
    rule_name: Mapped[str] = mapped_column(String(120), default="")
    reason: Mapped[str] = mapped_column(Text, default="")
    tags: Mapped[list[str]] = mapped_column(JSON, default=list)
    amount: Mapped[Decimal] = mapped_column(MONEY, default=Decimal("0.00"))
    facts: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column()
