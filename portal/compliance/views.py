"""``/support/compliance/``: the compliance requests Shopify sent, for admins. A data request's
report is shown and downloaded as JSON, for the admin to send to the merchant; an erasure shows
only what was erased (counts)."""

from __future__ import annotations

import json

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response

from portal.accounts.forms import SignOutForm
from portal.accounts.guard import StaffUser, require_staff
from portal.compliance import service as compliance
from portal.compliance.models import ComplianceRequest
from portal.web import render, session


async def _admin(request: Request) -> StaffUser:
    staff = await require_staff(request)
    if not staff.is_admin:
        raise HTTPException(403)
    return staff


async def _compliance_request(request: Request) -> ComplianceRequest:
    async with session(request) as db:
        found = await compliance.get_request(db, int(request.path_params["compliance_id"]))
    if found is None:
        raise HTTPException(404)
    return found


def _page(request: Request, staff: StaffUser, template: str, **context: object) -> Response:
    sign_out = SignOutForm(meta={"csrf_context": request})
    return render(request, template, {"staff": staff, "sign_out": sign_out, **context})


async def index(request: Request) -> Response:
    staff = await _admin(request)
    async with session(request) as db:
        requests = await compliance.recent_requests(db)
    return _page(request, staff, "pages/support/compliance/index.html", requests=requests)


async def request_page(request: Request) -> Response:
    staff = await _admin(request)
    found = await _compliance_request(request)
    report = json.dumps(found.report or {}, indent=2, ensure_ascii=False, sort_keys=True)
    return _page(
        request, staff, "pages/support/compliance/request.html", r=found, report_text=report
    )


async def report_json(request: Request) -> Response:
    await _admin(request)
    found = await _compliance_request(request)
    body = json.dumps(found.report or {}, indent=2, ensure_ascii=False, sort_keys=True)
    filename = f"compliance-request-{found.id}.json"
    return Response(
        body,
        media_type="application/json",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )
