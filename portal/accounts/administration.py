"""Staff administration, with no HTTP in sight: the staff list, invitations by email that set a
first password through a single-use link, role and store changes, disabling and enabling, and
the audit of every such change.

An invited user is a ``users`` row without a password (``password_hash`` is empty, which no
password matches) and one ``staff_invitations`` row holding the SHA-256 of the emailed token.
Admins act on every account; a merchant user may invite colleagues to its own store only.
Functions change rows in the given ``AsyncSession`` and leave the commit to the caller: a
refusal (``StaffRefused``, ``InvitationRefused``) is raised before anything is written.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from sqlalchemy import Select, delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from portal.accounts import service as accounts
from portal.accounts.models import Role, StaffAuditEvent, StaffInvitation, StaffSession, User
from portal.errors import AccountRefused, InvitationRefused, StaffRefused
from portal.jobs.email import queue_email
from portal.mail.messages import render_email
from portal.signing import digest
from portal.stores.models import Store

INVITATION_LIFETIME = timedelta(hours=72)
NO_PASSWORD = ""
"""The ``password_hash`` of an invited user: no password verifies against it."""
INVITATION_PATH = "/support/invitations/"
AUDIT_PAGE = 200


class Status(StrEnum):
    ACTIVE = "active"
    DISABLED = "disabled"
    INVITED = "invited"


class Action(StrEnum):
    INVITED = "invited"
    JOINED = "joined"
    ROLE_CHANGED = "role changed"
    DISABLED = "disabled"
    ENABLED = "enabled"


def status_of(user: User) -> Status:
    if user.disabled:
        return Status.DISABLED
    return Status.INVITED if user.password_hash == NO_PASSWORD else Status.ACTIVE


@dataclass(frozen=True)
class StaffMember:
    """One row of the staff list."""

    id: int
    email: str
    role: Role
    store_id: int | None
    store_name: str | None
    status: Status
    last_sign_in: datetime | None


@dataclass(frozen=True)
class AuditEntry:
    at: datetime
    actor_email: str | None
    target_email: str
    action: str
    detail: str


# --- reading -----------------------------------------------------------------------------------


async def list_staff(db: AsyncSession, *, store_id: int | None) -> list[StaffMember]:
    """Every staff account, or only the accounts of ``store_id``; by email."""
    query = _members()
    if store_id is not None:
        query = query.where(User.store_id == store_id)
    rows = (await db.execute(query.order_by(User.email))).all()
    return [_member(user, store_name, at) for user, store_name, at in rows]


async def get_member(db: AsyncSession, user_id: int) -> StaffMember | None:
    row = (await db.execute(_members().where(User.id == user_id))).one_or_none()
    if row is None:
        return None
    user, store_name, at = row
    return _member(user, store_name, at)


def _members() -> Select[User, str | None, datetime | None]:
    """Each account, its store's name and when it last signed in (its newest session)."""
    last = (
        select(StaffSession.user_id, func.max(StaffSession.created_at).label("at"))
        .group_by(StaffSession.user_id)
        .subquery()
    )
    return (
        select(User, Store.name, last.c.at)
        .outerjoin(Store, Store.id == User.store_id)
        .outerjoin(last, last.c.user_id == User.id)
    )


def _member(user: User, store_name: str | None, last_sign_in: datetime | None) -> StaffMember:
    return StaffMember(
        id=user.id,
        email=user.email,
        role=Role(user.role),
        store_id=user.store_id,
        store_name=store_name,
        status=status_of(user),
        last_sign_in=last_sign_in,
    )


async def audit_entries(db: AsyncSession, *, limit: int = AUDIT_PAGE) -> list[AuditEntry]:
    """The latest changes first."""
    actor, target = aliased(User), aliased(User)
    query = (
        select(StaffAuditEvent, actor.email, target.email)
        .outerjoin(actor, actor.id == StaffAuditEvent.actor_id)
        .join(target, target.id == StaffAuditEvent.target_id)
        .order_by(StaffAuditEvent.at.desc(), StaffAuditEvent.id.desc())
        .limit(limit)
    )
    rows = (await db.execute(query)).all()
    return [AuditEntry(e.at, a, t, e.action, e.detail) for e, a, t in rows]


# --- inviting ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Invitation:
    """What ``invite`` asks for: the invitee's email, role and store (merchants only)."""

    email: str
    role: str
    store_id: int | None


async def invite(
    db: AsyncSession, *, actor_id: int, invitation: Invitation, base_url: str, now: datetime
) -> User:
    """Create the invited account (or refresh one that is still only invited) and queue the
    email with its single-use link; any earlier link of that account stops working."""
    actor = await _actor(db, actor_id)
    role = _checked_role(invitation.role, invitation.store_id)
    _may_invite(actor, role, invitation.store_id)
    await _existing_store(db, invitation.store_id)
    user = await _invitee(db, actor, invitation, role, now)
    token = await _new_invitation(db, user, now)
    store_name = await _store_name(db, user.store_id)
    link = base_url.rstrip("/") + INVITATION_PATH + token
    context = {"link": link, "role": role.value, "store_name": store_name, "inviter": actor.email}
    email = render_email("staff_invitation", context, to=user.email)
    await queue_email(db, email, store_id=user.store_id)
    where = f" of {store_name}" if store_name else ""
    _record(db, actor.id, user.id, Action.INVITED, f"as {role.value}{where}", now)
    return user


async def _actor(db: AsyncSession, actor_id: int) -> User:
    actor = await db.get(User, actor_id)
    if actor is None or status_of(actor) is not Status.ACTIVE:
        raise StaffRefused("Your account may not change staff accounts.")
    return actor


def _checked_role(role: str, store_id: int | None) -> Role:
    try:
        checked = Role(role)
    except ValueError:
        raise StaffRefused("Choose a role.", field="role") from None
    if checked is Role.MERCHANT and store_id is None:
        raise StaffRefused("A merchant user belongs to a store: choose one.", field="store")
    if checked is not Role.MERCHANT and store_id is not None:
        raise StaffRefused(
            "Agents and admins work on every store: leave the store empty.", field="store"
        )
    return checked


def _may_invite(actor: User, role: Role, store_id: int | None) -> None:
    if actor.role == Role.ADMIN:
        return
    if actor.role != Role.MERCHANT:
        raise StaffRefused("Only admins and merchant users invite staff.")
    if role is not Role.MERCHANT:
        raise StaffRefused("You may invite merchant users only.", field="role")
    if store_id != actor.store_id:
        raise StaffRefused("You may invite colleagues to your own store only.", field="store")


async def _existing_store(db: AsyncSession, store_id: int | None) -> None:
    if store_id is not None and await db.get(Store, store_id) is None:
        raise StaffRefused("That store does not exist.", field="store")


async def _store_name(db: AsyncSession, store_id: int | None) -> str | None:
    store = None if store_id is None else await db.get(Store, store_id)
    return None if store is None else store.name


async def _invitee(
    db: AsyncSession, actor: User, invitation: Invitation, role: Role, now: datetime
) -> User:
    email = accounts.normalise_email(invitation.email)
    user = await accounts.find_user(db, email)
    if user is None:
        user = User(
            email=email,
            password_hash=NO_PASSWORD,
            role=role.value,
            store_id=invitation.store_id,
            password_changed_at=now,
            disabled=False,
            failed_logins=0,
        )
        db.add(user)
        await db.flush()
        return user
    if status_of(user) is not Status.INVITED or not _may_reinvite(actor, user):
        raise StaffRefused("That email already has an account.", field="email")
    user.role, user.store_id = role.value, invitation.store_id
    return user


def _may_reinvite(actor: User, user: User) -> bool:
    return actor.role == Role.ADMIN or user.store_id == actor.store_id


async def _new_invitation(db: AsyncSession, user: User, now: datetime) -> str:
    await db.execute(delete(StaffInvitation).where(StaffInvitation.user_id == user.id))
    token = secrets.token_urlsafe(32)
    db.add(
        StaffInvitation(
            user_id=user.id,
            token_hash=digest(token),
            created_at=now,
            expires_at=now + INVITATION_LIFETIME,
        )
    )
    await db.flush()
    return token


# --- accepting an invitation -------------------------------------------------------------------


async def open_invitation(db: AsyncSession, token: str, *, now: datetime) -> User:
    """The invited user this link is for, or ``InvitationRefused``."""
    if not token or len(token) > accounts.MAX_TOKEN_LENGTH:
        raise InvitationRefused()
    found = await db.scalar(
        select(StaffInvitation).where(StaffInvitation.token_hash == digest(token))
    )
    if found is None or found.used_at is not None or found.expires_at <= now:
        raise InvitationRefused()
    user = await db.get(User, found.user_id)
    if user is None or status_of(user) is not Status.INVITED:
        raise InvitationRefused()
    return user


async def accept_invitation(db: AsyncSession, token: str, *, password: str, now: datetime) -> str:
    """Set the invited user's first password, use the link up, and start their session; returns
    the session token for the cookie."""
    user = await open_invitation(db, token, now=now)
    try:
        await accounts.set_password(db, user, password, now=now)
    except AccountRefused as exc:
        raise StaffRefused(exc.message, field="new_password") from None
    used = await db.execute(
        update(StaffInvitation)
        .where(StaffInvitation.user_id == user.id, StaffInvitation.used_at.is_(None))
        .values(used_at=now)
        .execution_options(synchronize_session=False)
    )
    if used.rowcount != 1:  # type: ignore[attr-defined]
        raise InvitationRefused()  # the same link, used a moment ago by another request
    _record(db, None, user.id, Action.JOINED, "set a password from the invitation", now)
    return await accounts.start_session(db, user, now=now)


# --- role, store and status --------------------------------------------------------------------


async def change_role(
    db: AsyncSession, *, actor_id: int, user_id: int, role: str, store_id: int | None, now: datetime
) -> User:
    """Give the account another role (and store, for a merchant user). The last active admin
    stays an admin."""
    actor = await _admin(db, actor_id)
    user = await _target(db, user_id)
    checked = _checked_role(role, store_id)
    await _existing_store(db, store_id)
    if checked is not Role.ADMIN:
        await _keep_an_admin(db, user, "role")
    before = await _describe(db, user.role, user.store_id)
    user.role, user.store_id = checked.value, store_id
    after = await _describe(db, user.role, user.store_id)
    if before != after:
        _record(db, actor.id, user.id, Action.ROLE_CHANGED, f"{before} → {after}", now)
    return user


async def set_disabled(
    db: AsyncSession, *, actor_id: int, user_id: int, disabled: bool, now: datetime
) -> User:
    """Disable the account (every session ends at once, its invitation link stops working) or
    enable it again."""
    actor = await _admin(db, actor_id)
    user = await _target(db, user_id)
    if user.disabled == disabled:
        return user
    if disabled:
        await _keep_an_admin(db, user, "")
        await accounts.revoke_all_sessions(db, user.id, now=now)
        await db.execute(delete(StaffInvitation).where(StaffInvitation.user_id == user.id))
    user.disabled = disabled
    action = Action.DISABLED if disabled else Action.ENABLED
    _record(db, actor.id, user.id, action, "", now)
    return user


async def _admin(db: AsyncSession, actor_id: int) -> User:
    actor = await _actor(db, actor_id)
    if actor.role != Role.ADMIN:
        raise StaffRefused("Only admins change roles and disable accounts.")
    return actor


async def _target(db: AsyncSession, user_id: int) -> User:
    user = await db.get(User, user_id, with_for_update=True)
    if user is None:
        raise StaffRefused("There is no such account.")
    return user


async def _keep_an_admin(db: AsyncSession, user: User, field: str) -> None:
    """Refuse to take away the last active admin (the admins' rows are locked while it is
    decided, so two admins cannot demote each other at the same moment)."""
    if user.role != Role.ADMIN or status_of(user) is not Status.ACTIVE:
        return
    admins = (
        await db.scalars(
            select(User.id)
            .where(
                User.role == Role.ADMIN.value,
                User.disabled.is_(False),
                User.password_hash != NO_PASSWORD,
            )
            .with_for_update()
        )
    ).all()
    if set(admins) <= {user.id}:
        raise StaffRefused("This is the last active admin: make another admin first.", field=field)


async def _describe(db: AsyncSession, role: str, store_id: int | None) -> str:
    store_name = await _store_name(db, store_id)
    return f"{role} of {store_name}" if store_name else role


def _record(
    db: AsyncSession,
    actor_id: int | None,
    target_id: int,
    action: Action,
    detail: str,
    now: datetime,
) -> None:
    db.add(
        StaffAuditEvent(
            at=now, actor_id=actor_id, target_id=target_id, action=action.value, detail=detail[:500]
        )
    )
