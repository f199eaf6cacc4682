"""Staff administration under /support/staff/: the list (admins: everyone; merchant users: their
own store's accounts; agents: 403), invitations, an account's role, store and status (admins
only), the audit of those changes (admins only), and the invitation link's page that sets a
first password."""

from __future__ import annotations

from typing import Any

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from portal.accounts import administration as staff_admin
from portal.accounts.forms import (
    InviteForm,
    RoleForm,
    SetPasswordForm,
    SignOutForm,
    StaffActionForm,
)
from portal.accounts.guard import (
    StaffUser,
    require_admin,
    require_staff,
    set_session_cookie,
    store_scope,
)
from portal.accounts.models import Role
from portal.clock import utcnow
from portal.csrf import rotate_browser_id
from portal.errors import InvitationRefused, StaffRefused
from portal.i18n import gettext as _
from portal.stores import service as stores
from portal.web import render, session, settings_of

NOTICES = {
    "invited": "The invitation is on its way.",
    "saved": "The role is saved.",
    "disabled": "The account is disabled: its sessions have ended.",
    "enabled": "The account is enabled again.",
}


def _page(
    request: Request, staff: StaffUser, template: str, context: dict[str, Any], status: int = 200
) -> Response:
    context = {"staff": staff, "sign_out": SignOutForm(meta={"csrf_context": request}), **context}
    return render(request, template, context, status_code=status)


async def _manager(request: Request) -> StaffUser:
    """An admin, or a merchant user (for its own store); agents are refused."""
    staff = await require_staff(request)
    if staff.role is Role.AGENT:
        raise HTTPException(403, "Only admins and merchant users manage staff.")
    return staff


def _notice(request: Request) -> str | None:
    done = NOTICES.get(request.query_params.get("done", ""))
    return None if done is None else _(done)


# --- the list and the audit --------------------------------------------------------------------


async def staff_list(request: Request) -> Response:
    staff = await _manager(request)
    async with session(request) as db:
        members = await staff_admin.list_staff(db, store_id=store_scope(staff))
    context = {"members": members, "notice": _notice(request)}
    return _page(request, staff, "pages/support/staff.html", context)


async def audit(request: Request) -> Response:
    staff = await require_staff(request)
    require_admin(staff)
    async with session(request) as db:
        entries = await staff_admin.audit_entries(db)
    return _page(request, staff, "pages/support/staff_audit.html", {"entries": entries})


# --- inviting ----------------------------------------------------------------------------------


async def _store_choices(request: Request, staff: StaffUser) -> list[tuple[int, str]]:
    async with session(request) as db:
        every = await stores.list_stores(db)
    return [(s.id, s.name) for s in every if staff.can_see_store(s.id)]


async def invite(request: Request) -> Response:
    staff = await _manager(request)
    form = await InviteForm.from_request(request)
    form.offer_stores(await _store_choices(request, staff), for_merchant=not staff.is_admin)
    if request.method == "GET":
        return _invite_page(request, staff, form)
    if not form.validate():
        return _invite_page(request, staff, form, 400)
    invitation = staff_admin.Invitation(
        email=form.email.data, role=form.role.data, store_id=form.store_id
    )
    try:
        async with session(request) as db:
            await staff_admin.invite(
                db,
                actor_id=staff.id,
                invitation=invitation,
                base_url=settings_of(request).base_url,
                now=utcnow(),
            )
            await db.commit()
    except StaffRefused as exc:
        _show_refusal(form, exc)
        return _invite_page(request, staff, form, 400)
    return _back(request, "support:staff", "invited")


def _invite_page(
    request: Request, staff: StaffUser, form: InviteForm, status: int = 200
) -> Response:
    return _page(request, staff, "pages/support/staff_invite.html", {"form": form}, status)


def _show_refusal(form: InviteForm | RoleForm | SetPasswordForm, exc: StaffRefused) -> list[str]:
    """The refusal beside its field, or above the form; returns the form-wide problems."""
    field = form._fields.get(exc.field) if exc.field else None
    if field is None:
        return [_(exc.message)]
    field.errors = [*field.errors, _(exc.message)]
    return []


def _back(request: Request, route: str, done: str, **params: Any) -> Response:
    url = request.url_for(route, **params).include_query_params(done=done)
    return RedirectResponse(str(url), status_code=303)


# --- one account: role, store, status ----------------------------------------------------------


async def member(request: Request) -> Response:
    staff = await require_staff(request)
    require_admin(staff)
    found = await _member(request)
    form = await RoleForm.from_request(request)
    form.offer_stores(await _store_choices(request, staff))
    if request.method == "GET":
        form.role.data = found.role.value
        form.store.data = "" if found.store_id is None else str(found.store_id)
        return _member_page(request, staff, found, form, notice=_notice(request))
    if not form.validate():
        return _member_page(request, staff, found, form, status=400)
    try:
        async with session(request) as db:
            await staff_admin.change_role(
                db,
                actor_id=staff.id,
                user_id=found.id,
                role=form.role.data,
                store_id=form.store_id,
                now=utcnow(),
            )
            await db.commit()
    except StaffRefused as exc:
        problems = _show_refusal(form, exc)
        return _member_page(request, staff, found, form, status=400, problems=problems)
    return _back(request, "support:staff_member", "saved", user_id=found.id)


async def _member(request: Request) -> staff_admin.StaffMember:
    async with session(request) as db:
        found = await staff_admin.get_member(db, int(request.path_params["user_id"]))
    if found is None:
        raise HTTPException(404)
    return found


def _member_page(
    request: Request,
    staff: StaffUser,
    found: staff_admin.StaffMember,
    form: RoleForm,
    *,
    status: int = 200,
    notice: str | None = None,
    problems: list[str] | None = None,
) -> Response:
    context = {
        "member": found,
        "form": form,
        "action_form": StaffActionForm(meta={"csrf_context": request}),
        "notice": notice,
        "problems": problems or [],
    }
    return _page(request, staff, "pages/support/staff_member.html", context, status)


async def disable(request: Request) -> Response:
    return await _set_disabled(request, disabled=True)


async def enable(request: Request) -> Response:
    return await _set_disabled(request, disabled=False)


async def _set_disabled(request: Request, *, disabled: bool) -> Response:
    staff = await require_staff(request)
    require_admin(staff)
    found = await _member(request)
    form = await StaffActionForm.from_request(request)
    role_form = RoleForm(data={"role": found.role.value}, meta={"csrf_context": request})
    role_form.offer_stores(await _store_choices(request, staff))
    role_form.store.data = "" if found.store_id is None else str(found.store_id)
    if not form.validate():
        problems = [str(e) for errors in form.errors.values() for e in errors]
        return _member_page(request, staff, found, role_form, status=400, problems=problems)
    try:
        async with session(request) as db:
            await staff_admin.set_disabled(
                db, actor_id=staff.id, user_id=found.id, disabled=disabled, now=utcnow()
            )
            await db.commit()
    except StaffRefused as exc:
        problems = [_(exc.message)]
        return _member_page(request, staff, found, role_form, status=400, problems=problems)
    done = "disabled" if disabled else "enabled"
    return _back(request, "support:staff_member", done, user_id=found.id)


# --- the invitation link -----------------------------------------------------------------------


async def invitation(request: Request) -> Response:
    token = str(request.path_params["token"])
    form = await SetPasswordForm.from_request(request)
    try:
        async with session(request) as db:
            invited = await staff_admin.open_invitation(db, token, now=utcnow())
    except InvitationRefused as exc:
        return _invitation_refused(request, exc)
    if request.method == "GET":
        return _invitation_page(request, form, invited.email)
    if not form.validate():
        return _invitation_page(request, form, invited.email, 400)
    return await _accept(request, token, form, invited.email)


async def _accept(request: Request, token: str, form: SetPasswordForm, email: str) -> Response:
    try:
        async with session(request) as db:
            session_token = await staff_admin.accept_invitation(
                db, token, password=form.new_password.data, now=utcnow()
            )
            await db.commit()
    except InvitationRefused as exc:
        return _invitation_refused(request, exc)
    except StaffRefused as exc:
        _show_refusal(form, exc)
        return _invitation_page(request, form, email, 400)
    response = RedirectResponse(str(request.url_for("support:home")), status_code=303)
    set_session_cookie(request, response, session_token)
    rotate_browser_id(request, response)
    return response


def _invitation_page(
    request: Request, form: SetPasswordForm, email: str, status: int = 200
) -> Response:
    context = {"form": form, "email": email, "refused": None, "staff": None}
    return render(request, "pages/support/invitation.html", context, status_code=status)


def _invitation_refused(request: Request, exc: InvitationRefused) -> Response:
    context = {"form": None, "email": None, "refused": _(exc.message), "staff": None}
    return render(request, "pages/support/invitation.html", context, status_code=410)
