"""``/support/compliance/``: the compliance requests Shopify sent, for admins. A data request's
report is shown and downloaded as JSON, for the admin to send to the merchant; an erasure shows
only what was erased (counts)."""

from __future__ import annotations

import json

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response

from portal.accounts.guard import StaffUser, require_admin, require_staff
from portal.compliance import service as compliance
from portal.compliance.models import ComplianceRequest
from portal.support.views import staff_page
from portal.web import session


async def _admin(request: Request) -> StaffUser:
    staff = await require_staff(request)
    require_admin(staff)
    return staff


async def _compliance_request(request: Request) -> ComplianceRequest:
    async with session(request) as db:
        found = await compliance.get_request(db, int(request.path_params["compliance_id"]))
    if found is None:
        raise HTTPException(404)
    return found


def _report_text(found: ComplianceRequest) -> str:
    return json.dumps(found.report or {}, indent=2, ensure_ascii=False, sort_keys=True)


async def index(request: Request) -> Response:
    staff = await _admin(request)
    async with session(request) as db:
        requests = await compliance.recent_requests(db)
    return staff_page(request, staff, "pages/support/compliance/index.html", {"requests": requests})


async def request_page(request: Request) -> Response:
    staff = await _admin(request)
    found = await _compliance_request(request)
    context = {"r": found, "report_text": _report_text(found)}
    return staff_page(request, staff, "pages/support/compliance/request.html", context)


async def report_json(request: Request) -> Response:
    await _admin(request)
    found = await _compliance_request(request)
    body = _report_text(found)
    filename = f"compliance-request-{found.id}.json"
    return Response(
        body,
        media_type="application/json",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )
