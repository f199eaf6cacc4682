"""Who is signed in to /support: the session cookie, ``require_staff`` (every support view calls
it first), the ``StaffUser`` it returns, and the store-scope checks that follow from a role."""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlencode, urlsplit

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response

from portal.accounts import service as accounts
from portal.accounts.models import Role, User
from portal.clock import utcnow
from portal.security import is_https
from portal.web import session

COOKIE = "portal_staff"
SUPPORT_PATH = "/support"
HOME_PATH = "/support/"
LOGIN_PATH = "/support/login"
EVERY_STORE = (Role.AGENT, Role.ADMIN)


@dataclass(frozen=True)
class StaffUser:
    """The signed-in staff member as views see them (no password hash, no ORM row)."""

    id: int
    email: str
    role: Role
    store_id: int | None

    @property
    def sees_every_store(self) -> bool:
        return self.role in EVERY_STORE

    @property
    def can_act(self) -> bool:
        """Merchant users read; only agents and admins change anything."""
        return self.role is not Role.MERCHANT

    @property
    def is_admin(self) -> bool:
        return self.role is Role.ADMIN

    def can_see_store(self, store_id: int) -> bool:
        return self.sees_every_store or store_id == self.store_id

    @classmethod
    def of(cls, user: User) -> StaffUser:
        return cls(id=user.id, email=user.email, role=Role(user.role), store_id=user.store_id)


def store_scope(user: StaffUser) -> int | None:
    """The store a query must be limited to, or None for every store."""
    return None if user.sees_every_store else user.store_id


def require_can_act(user: StaffUser) -> None:
    if not user.can_act:
        raise HTTPException(403, "Merchant users can look but not change anything.")


def require_admin(user: StaffUser) -> None:
    if not user.is_admin:
        raise HTTPException(403, "Only admins change this.")


def require_store_visible(user: StaffUser, store_id: int) -> None:
    """Another store's request answers 404, as if it did not exist."""
    if not user.can_see_store(store_id):
        raise HTTPException(404)


async def require_staff(request: Request) -> StaffUser:
    """The signed-in staff member, or a 303 to the login page that comes back here after."""
    user = await signed_in_staff(request)
    if user is None:
        raise HTTPException(303, headers={"Location": login_url(request)})
    return user


async def signed_in_staff(request: Request) -> StaffUser | None:
    token = request.cookies.get(COOKIE)
    if not token:
        return None
    async with session(request) as db:
        found = await accounts.current_session(db, token, now=utcnow())
        if db.dirty:  # last seen moved on (once a minute at most): no COMMIT on other pages
            await db.commit()
    return None if found is None else StaffUser.of(found[1])


def login_url(request: Request) -> str:
    target = request.url.path
    if request.url.query:
        target += "?" + request.url.query
    return f"{LOGIN_PATH}?{urlencode({'next': safe_next(target)})}"


def safe_next(target: str | None) -> str:
    """``target`` when it is a support page on this site; the support home otherwise."""
    if not target or "\\" in target or any(ord(c) < 32 for c in target):
        return HOME_PATH
    parts = urlsplit(target)
    local = not parts.scheme and not parts.netloc and not target.startswith("//")
    in_support = parts.path == SUPPORT_PATH or parts.path.startswith(SUPPORT_PATH + "/")
    if not (local and in_support) or parts.path.startswith(LOGIN_PATH):
        return HOME_PATH
    return target


def set_session_cookie(request: Request, response: Response, token: str) -> None:
    response.set_cookie(
        COOKIE,
        token,
        httponly=True,
        samesite="lax",
        secure=is_https(request.scope),
        path=SUPPORT_PATH,
    )


def clear_session_cookie(response: Response) -> None:
    response.delete_cookie(COOKIE, path=SUPPORT_PATH, httponly=True, samesite="lax")
