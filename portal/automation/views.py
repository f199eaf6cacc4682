"""A store's automation pages under /support/stores/{store}/automation/, for admins only (403
for other staff; a store that does not exist answers 404): the ordered rules with the store's
limits and pause switch, a rule's form with its versions, and its dry run (a GET form: with
JavaScript, htmx swaps in only the results)."""

from __future__ import annotations

from typing import Any

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from portal.accounts.guard import StaffUser, require_admin, require_staff
from portal.automation import dry_run as dry_runs
from portal.automation import rules as service
from portal.automation.conditions import checked, summary
from portal.automation.forms import (
    ACTION_LABELS,
    LimitsForm,
    MoveForm,
    RuleForm,
    SwitchForm,
    data_from_rule,
)
from portal.automation.models import AutomationRule
from portal.clock import utcnow
from portal.errors import RuleRefused
from portal.i18n import gettext as _
from portal.runtime import Runtime
from portal.stores import service as stores
from portal.stores.models import Store
from portal.support.assignment import assignable_staff
from portal.support.views import staff_page
from portal.web import is_htmx, render, session

MAX_FORM_FIELDS = 80


def _runtime(request: Request) -> Runtime:
    runtime: Runtime = request.state.runtime
    return runtime


async def _admin_and_store(request: Request) -> tuple[StaffUser, Store]:
    staff = await require_staff(request)
    require_admin(staff)
    async with session(request) as db:
        store = await stores.get_by_slug(db, str(request.path_params["store"])[:64])
    if store is None:
        raise HTTPException(404)
    return staff, store


async def _rule(request: Request, store: Store) -> AutomationRule:
    async with session(request) as db:
        try:
            return await service.store_rule(db, store.id, int(request.path_params["rule_id"]))
        except LookupError as exc:
            raise HTTPException(404) from exc


def _to(request: Request, name: str, store: Store, **params: Any) -> str:
    return str(request.url_for(name, store=store.slug, **params))


# --- the list and the limits -------------------------------------------------------------------


async def rules_page(request: Request) -> Response:
    staff, store = await _admin_and_store(request)
    if request.method == "POST":
        return await _save_limits(request, staff, store)
    async with session(request) as db:
        limits = await service.limits_of(db, store.id)
    data = {
        "max_per_resolution": limits.max_per_resolution,
        "max_per_day": limits.max_per_day,
        "paused": limits.paused,
    }
    form = LimitsForm(data=data, meta={"csrf_context": request})
    return await _list_page(request, staff, store, form)


async def _save_limits(request: Request, staff: StaffUser, store: Store) -> Response:
    form = await LimitsForm.from_request(request)
    if not form.validate():
        return await _list_page(request, staff, store, form, status=400)
    try:
        async with session(request) as db, db.begin():
            await service.set_limits(
                db,
                store.id,
                max_per_resolution=form.max_per_resolution.data,
                max_per_day=form.max_per_day.data,
                paused=bool(form.paused.data),
                by=staff.email,
                now=utcnow(),
            )
    except RuleRefused as exc:
        form[exc.field].errors = [exc.message]
        return await _list_page(request, staff, store, form, status=400)
    return RedirectResponse(_to(request, "support:automation", store) + "?done=limits", 303)


async def _list_page(
    request: Request, staff: StaffUser, store: Store, form: LimitsForm, status: int = 200
) -> Response:
    async with session(request) as db:
        rows = await service.store_rules(db, store.id)
        limits = await service.limits_of(db, store.id)
    meta = {"csrf_context": request}
    notices = {
        "limits": _("The limits are saved."),
        "switched": _("The rule is switched."),
        "moved": _("The rule is moved."),
    }
    context = {
        "store": store,
        "rules": [(row, summary(service.as_rule(row).conditions)) for row in rows],
        "limits": limits,
        "limits_form": form,
        "switch_form": SwitchForm(meta=meta),
        "move_form": MoveForm(meta=meta),
        "action_labels": ACTION_LABELS,
        "notice": notices.get(request.query_params.get("done", "")),
    }
    return staff_page(request, staff, "pages/support/automation/rules.html", context, status)


# --- one rule ----------------------------------------------------------------------------------


async def _assignees(request: Request, store: Store) -> list[tuple[int, str]]:
    async with session(request) as db:
        return [(a.id, a.email) for a in await assignable_staff(db, store.id)]


async def new_rule(request: Request) -> Response:
    staff, store = await _admin_and_store(request)
    if request.method == "POST":
        return await _save_rule(request, staff, store, None)
    form = RuleForm(meta={"csrf_context": request})
    form.offer(await _assignees(request, store))
    return await _rule_page(request, staff, store, form, None)


async def rule_page(request: Request) -> Response:
    staff, store = await _admin_and_store(request)
    rule = await _rule(request, store)
    if request.method == "POST":
        return await _save_rule(request, staff, store, rule)
    form = RuleForm(data=data_from_rule(rule), meta={"csrf_context": request})
    form.offer(await _assignees(request, store))
    if "last" in request.query_params:
        return await _with_dry_run(request, staff, store, form, rule)
    return await _rule_page(request, staff, store, form, rule)


async def _save_rule(
    request: Request, staff: StaffUser, store: Store, rule: AutomationRule | None
) -> Response:
    async with request.form(max_files=0, max_fields=MAX_FORM_FIELDS) as data:
        form = RuleForm(formdata=data, meta={"csrf_context": request})
    form.offer(await _assignees(request, store))
    if not form.validate():
        return await _rule_page(request, staff, store, form, rule, status=400)
    now = utcnow()
    try:
        async with session(request) as db, db.begin():
            given = await service.checked_input(
                db,
                store.id,
                name=form.name.data or "",
                conditions=checked(form.condition_values()),
                action=form.action.data or "",
                action_text=form.action_text.data or "",
                assignee_id=form.chosen_assignee,
            )
            if rule is None:
                rule = await service.create_rule(db, store.id, given, by=staff.email, now=now)
            else:
                current = await service.store_rule(db, store.id, rule.id)
                service.update_rule(db, current, given, by=staff.email, now=now)
    except RuleRefused as exc:
        form.show_refusal(exc)
        return await _rule_page(request, staff, store, form, rule, status=400)
    url = _to(request, "support:automation_rule", store, rule_id=rule.id) + "?done=saved"
    return RedirectResponse(url, status_code=303)


def _last_of(request: Request) -> tuple[int, str | None]:
    """How many of the last requests the dry run judges, from the query string."""
    text = request.query_params.get("last", "")[:6].strip()
    if text.isdigit() and 1 <= int(text) <= dry_runs.MAX_LAST:
        return int(text), None
    message = _("Give a number of requests from 1 to %(max)s.", max=dry_runs.MAX_LAST)
    return dry_runs.DEFAULT_LAST, message


async def _with_dry_run(
    request: Request, staff: StaffUser, store: Store, form: RuleForm, rule: AutomationRule
) -> Response:
    last, problem = _last_of(request)
    result = None
    if problem is None:
        result = await dry_runs.dry_run(_runtime(request), store, service.as_rule(rule), last=last)
    context = {"store": store, "rule": rule, "dry": result, "last": last, "last_problem": problem}
    status = 400 if problem else 200
    if is_htmx(request):
        return render(request, "partials/support/dry_run.html", context, status_code=status)
    return await _rule_page(request, staff, store, form, rule, status=status, dry=context)


async def _rule_page(
    request: Request,
    staff: StaffUser,
    store: Store,
    form: RuleForm,
    rule: AutomationRule | None,
    *,
    status: int = 200,
    dry: dict[str, Any] | None = None,
) -> Response:
    versions = []
    if rule is not None:
        async with session(request) as db:
            versions = await service.history(db, rule.id)
    saved = request.query_params.get("done") == "saved"
    context = {
        "store": store,
        "rule": rule,
        "form": form,
        "versions": versions,
        "switch_form": SwitchForm(meta={"csrf_context": request}),
        "notice": _("The rule is saved, switched off: dry-run it, then switch it on.")
        if saved
        else None,
        "dry": None,
        "last": dry_runs.DEFAULT_LAST,
        "last_problem": None,
        **(dry or {}),
    }
    return staff_page(request, staff, "pages/support/automation/rule.html", context, status)


# --- switching and ordering --------------------------------------------------------------------


async def switch_rule(request: Request) -> Response:
    staff, store = await _admin_and_store(request)
    rule = await _rule(request, store)
    form = await SwitchForm.from_request(request)
    if not form.validate():
        raise HTTPException(400, " ".join(e for errors in form.errors.values() for e in errors))
    async with session(request) as db, db.begin():
        current = await service.store_rule(db, store.id, rule.id)
        service.switch(db, current, form.on.data == "on", by=staff.email, now=utcnow())
    return RedirectResponse(_to(request, "support:automation", store) + "?done=switched", 303)


async def move_rule(request: Request) -> Response:
    staff, store = await _admin_and_store(request)
    rule = await _rule(request, store)
    form = await MoveForm.from_request(request)
    if not form.validate():
        raise HTTPException(400, " ".join(e for errors in form.errors.values() for e in errors))
    async with session(request) as db, db.begin():
        current = await service.store_rule(db, store.id, rule.id)
        await service.move(db, current, form.direction.data == "up", by=staff.email, now=utcnow())
    return RedirectResponse(_to(request, "support:automation", store) + "?done=moved", 303)
