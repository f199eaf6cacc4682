"""What automation decided for requests, as the queue and a request's page show it."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from portal.automation.models import AutomationDecision, Outcome
from portal.reorders.models import ReorderRequest

# Outcomes that leave the request to an agent: their reason is shown where agents look.
LEFT_TO_AGENTS = (Outcome.WAITING.value, Outcome.HELD.value, Outcome.PAUSED.value)


async def decision_for(session: AsyncSession, request_id: int) -> AutomationDecision | None:
    return await session.scalar(
        select(AutomationDecision).where(AutomationDecision.request_id == request_id)
    )


async def waiting_reasons(session: AsyncSession, references: Sequence[str]) -> dict[str, str]:
    """For each of these requests that automation left to an agent, why (by reference)."""
    if not references:
        return {}
    rows = await session.execute(
        select(ReorderRequest.reference, AutomationDecision.reason)
        .join(AutomationDecision, AutomationDecision.request_id == ReorderRequest.id)
        .where(
            ReorderRequest.reference.in_(list(references)),
            AutomationDecision.outcome.in_(LEFT_TO_AGENTS),
        )
    )
    return {reference: reason for reference, reason in rows}
