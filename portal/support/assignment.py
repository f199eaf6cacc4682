"""Who a request may be assigned to: active staff who may act and may see the request's store
(agents and admins see every store; merchant users may not act)."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import ColumnElement, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from portal.accounts.models import Role, User
from portal.errors import ActionRefused
from portal.i18n import gettext as _

ACTING_ROLES = (Role.AGENT.value, Role.ADMIN.value)


@dataclass(frozen=True)
class Assignee:
    id: int
    email: str


def _assignable(store_id: int) -> list[ColumnElement[bool]]:
    return [
        User.role.in_(ACTING_ROLES),
        User.disabled.is_(False),
        or_(User.store_id.is_(None), User.store_id == store_id),
    ]


async def assignable_staff(session: AsyncSession, store_id: int) -> list[Assignee]:
    """Everyone a request of ``store_id`` may be assigned to, by email."""
    rows = await session.execute(
        select(User.id, User.email).where(*_assignable(store_id)).order_by(User.email)
    )
    return [Assignee(user_id, email) for user_id, email in rows]


async def assignee(session: AsyncSession, store_id: int, user_id: int) -> Assignee:
    """The staff member ``user_id`` if a request of ``store_id`` may be assigned to them."""
    found = (
        await session.execute(
            select(User.id, User.email).where(User.id == user_id, *_assignable(store_id))
        )
    ).first()
    if found is None:
        raise ActionRefused(
            _("That staff member cannot work this store's requests: choose someone else.")
        )
    return Assignee(found.id, found.email)
