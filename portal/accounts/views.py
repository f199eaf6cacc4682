"""Support sign-in pages: login, logout, change password, and the signed-in landing page."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from portal.accounts import service as accounts
from portal.accounts.forms import ChangePasswordForm, LoginForm, SignOutForm
from portal.accounts.guard import (
    COOKIE,
    HOME_PATH,
    LOGIN_PATH,
    StaffUser,
    clear_session_cookie,
    require_staff,
    safe_next,
    set_session_cookie,
    signed_in_staff,
)
from portal.clock import utcnow
from portal.csrf import rotate_browser_id
from portal.errors import AccountLocked, AccountRefused, LoginRefused, WrongCurrentPassword
from portal.i18n import gettext as _
from portal.stores.models import Store
from portal.web import render, session, settings_of

TOO_MANY_FROM_CLIENT = "Too many failed sign-ins from this network. Please wait and try again."


def _brake(request: Request) -> accounts.SignInBrake:
    return accounts.SignInBrake(secret=str(settings_of(request).secret_key))


def _client(request: Request) -> str:
    return request.client.host if request.client else ""


async def login(request: Request) -> Response:
    form = await LoginForm.from_request(request)
    if request.method == "GET":
        form.next.data = safe_next(request.query_params.get("next"))
        if await signed_in_staff(request) is not None:
            return RedirectResponse(form.next.data, status_code=303)
        return _login_page(request, form, 200)
    if not form.validate():
        return _login_page(request, form, 400)
    return await _sign_in(request, form)


async def _sign_in(request: Request, form: LoginForm) -> Response:
    brake, at = _brake(request), utcnow()
    reservation = await accounts.reserve_client_attempt(
        request.state.sessions, brake, _client(request), at
    )
    if reservation is None:
        return _login_page(request, form, 429, _(TOO_MANY_FROM_CLIENT))
    async with session(request) as db:
        try:
            user = await accounts.authenticate(
                db, email=form.email.data, password=form.password.data, now=at, brake=brake
            )
            token = await accounts.start_session(db, user, now=at)
        except LoginRefused as refused:
            await db.commit()  # the failure counts: the reservation stays
            status = 429 if isinstance(refused, AccountLocked) else 400
            return _login_page(request, form, status, _(refused.message))
        await accounts.release_client_attempt(db, reservation)
        await db.commit()
    response = RedirectResponse(safe_next(form.next.data), status_code=303)
    set_session_cookie(request, response, token)
    rotate_browser_id(request, response)
    return response


def _login_page(
    request: Request, form: LoginForm, status: int, message: str | None = None
) -> Response:
    form.password.data = ""
    context = {"form": form, "message": message, "staff": None}
    return render(request, "pages/support/login.html", context, status_code=status)


async def logout(request: Request) -> Response:
    form = await SignOutForm.from_request(request)
    if not form.validate():
        return RedirectResponse(HOME_PATH, status_code=303)
    async with session(request) as db:
        await accounts.end_session(db, request.cookies.get(COOKIE, ""), now=utcnow())
        await db.commit()
    response = RedirectResponse(LOGIN_PATH, status_code=303)
    clear_session_cookie(response)
    return response


async def change_password(request: Request) -> Response:
    staff = await require_staff(request)
    form = await ChangePasswordForm.from_request(request)
    if request.method == "GET":
        return _password_page(request, staff, form, 200)
    if not form.validate():
        return _password_page(request, staff, form, 400)
    try:
        token = await _change(staff, request, form)
    except WrongCurrentPassword as exc:
        form.current_password.errors = [_(exc.message)]
        return _password_page(request, staff, form, 400)
    except AccountRefused as exc:
        form.new_password.errors = [_(exc.message)]
        return _password_page(request, staff, form, 400)
    response = _password_page(
        request,
        staff,
        ChangePasswordForm(meta={"csrf_context": request}),
        200,
        _("Your password is changed. Every other session has ended."),
    )
    set_session_cookie(request, response, token)
    return response


async def _change(staff: StaffUser, request: Request, form: ChangePasswordForm) -> str:
    async with session(request) as db:
        try:
            token = await accounts.change_password(
                db,
                user_id=staff.id,
                current=form.current_password.data,
                new=form.new_password.data,
                now=utcnow(),
            )
        except WrongCurrentPassword:
            await db.commit()  # the failure counts towards the lock
            raise
        await db.commit()
    return token


def _password_page(
    request: Request,
    staff: StaffUser,
    form: ChangePasswordForm,
    status: int,
    done: str | None = None,
) -> Response:
    context = {
        "form": form,
        "staff": staff,
        "done": done,
        "sign_out": SignOutForm(meta={"csrf_context": request}),
    }
    return render(request, "pages/support/password.html", context, status_code=status)


async def home(request: Request) -> Response:
    staff = await require_staff(request)
    store = None
    if staff.store_id is not None:
        async with session(request) as db:
            store = await db.get(Store, staff.store_id)
    context = {
        "staff": staff,
        "store": store,
        "sign_out": SignOutForm(meta={"csrf_context": request}),
    }
    return render(request, "pages/support/home.html", context)
