"""One table of named routes."""

from __future__ import annotations

from collections.abc import Sequence

from starlette.convertors import Convertor, register_url_convertor
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles

from portal.accounts import staff_views
from portal.accounts import views as accounts
from portal.automation import views as automation
from portal.billing import overview_views
from portal.billing import views as billing
from portal.checks import readiness
from portal.compliance import views as compliance
from portal.integrations.shopify.app_config import CALLBACK_PATH, INSTALL_PATH
from portal.paths import STATIC_DIR
from portal.shopify_app import views as shopify_app
from portal.shopper import filing, status
from portal.shopper import views as shopper
from portal.support import queue_views, store_views
from portal.support import views as support
from portal.telemetry import metrics_endpoint
from portal.webhooks.views import shopify_webhook

GET_POST = ["GET", "POST"]


class RowIdConvertor(Convertor[int]):
    """A row id in a path: at most 18 digits, so it always fits the database's integer."""

    regex = "[0-9]{1,18}"

    def convert(self, value: str) -> int:
        return int(value)

    def to_string(self, value: int) -> str:
        return str(value)


register_url_convertor("row_id", RowIdConvertor())


async def health(request: Request) -> Response:
    """Liveness: the process answers."""
    return JSONResponse({"status": "ok"})


async def ready(request: Request) -> Response:
    """Readiness: 503 until the database answers and its migrations are at head."""
    runtime = request.state.runtime
    found = await readiness(runtime.engine, runtime.settings.database_url)
    status = "ready" if found.ready else "not ready"
    body = {"status": status, "reasons": found.reasons}
    return JSONResponse(body, status_code=200 if found.ready else 503)


def shopper_routes() -> list[BaseRoute]:
    """Everything under /{store}/: the shopper's flow for one store."""
    return [
        Route("/", shopper.lookup, methods=GET_POST, name="lookup"),
        Route("/theme.css", shopper.theme, name="theme"),
        Route("/logo", shopper.logo, name="logo"),
        Route("/verify", shopper.verify, methods=GET_POST, name="verify"),
        Route("/r/{token}", shopper.order_link, methods=GET_POST, name="order_link"),
        Route("/sign-out", shopper.sign_out, methods=["POST"], name="sign_out"),
        Route("/request", filing.request_page, methods=GET_POST, name="request"),
        Route("/review/{draft}", filing.review, methods=GET_POST, name="review"),
        Route(
            "/requests/{reference}", status.by_reference, methods=GET_POST, name="request_status"
        ),
        Route("/s/{token}", status.by_link, methods=GET_POST, name="status_link"),
    ]


def support_routes() -> list[BaseRoute]:
    """Everything under /support/: staff pages, each behind a sign-in but the invitation link."""
    return [
        Route("/", queue_views.queue, name="home"),
        Route("/account", accounts.home, name="account"),
        Route("/login", accounts.login, methods=GET_POST, name="login"),
        Route("/logout", accounts.logout, methods=["POST"], name="logout"),
        Route("/password", accounts.change_password, methods=GET_POST, name="password"),
        Route("/queue", queue_views.queue, name="queue"),
        Route("/queue.csv", queue_views.queue_csv, name="queue_csv"),
        Route("/staff/", staff_views.staff_list, name="staff"),
        Route("/staff/invite", staff_views.invite, methods=GET_POST, name="staff_invite"),
        Route("/staff/audit", staff_views.audit, name="staff_audit"),
        Route("/staff/{user_id:row_id}", staff_views.member, methods=GET_POST, name="staff_member"),
        Route(
            "/staff/{user_id:row_id}/disable",
            staff_views.disable,
            methods=["POST"],
            name="staff_disable",
        ),
        Route(
            "/staff/{user_id:row_id}/enable",
            staff_views.enable,
            methods=["POST"],
            name="staff_enable",
        ),
        Route(
            "/invitations/{token}",
            staff_views.invitation,
            methods=GET_POST,
            name="invitation",
        ),
        Route("/requests/{reference}", support.request_page, name="request"),
        Route("/requests/{reference}/confirm/{path}", support.confirm_page, name="confirm"),
        *(
            Route(f"/requests/{{reference}}/{a.path}", a.view, methods=["POST"], name=a.name)
            for a in support.ACTIONS
        ),
        Route(
            "/requests/{reference}/jobs/{job_id:row_id}/retry",
            support.retry_job,
            methods=["POST"],
            name="retry_job",
        ),
        Route("/photos/{photo_id}", support.photo, name="photo"),
        Route("/stores/connect", shopify_app.connect, methods=GET_POST, name="connect_store"),
        Route("/compliance/", compliance.index, name="compliance"),
        Route(
            "/compliance/{compliance_id:row_id}",
            compliance.request_page,
            name="compliance_request",
        ),
        Route(
            "/compliance/{compliance_id:row_id}/report.json",
            compliance.report_json,
            name="compliance_report",
        ),
        Route("/stores/", store_views.store_list, name="stores"),
        Route(
            "/stores/{store}/settings",
            store_views.settings_page,
            methods=GET_POST,
            name="store_settings",
        ),
        Route(
            "/stores/{store}/protection-product",
            store_views.protection_product,
            methods=["POST"],
            name="protection_product",
        ),
        Route(
            "/stores/{store}/automation/",
            automation.rules_page,
            methods=GET_POST,
            name="automation",
        ),
        Route(
            "/stores/{store}/automation/new",
            automation.new_rule,
            methods=GET_POST,
            name="automation_new",
        ),
        Route(
            "/stores/{store}/automation/{rule_id:row_id}",
            automation.rule_page,
            methods=GET_POST,
            name="automation_rule",
        ),
        Route(
            "/stores/{store}/automation/{rule_id:row_id}/switch",
            automation.switch_rule,
            methods=["POST"],
            name="automation_switch",
        ),
        Route(
            "/stores/{store}/automation/{rule_id:row_id}/move",
            automation.move_rule,
            methods=["POST"],
            name="automation_move",
        ),
    ]


def billing_routes() -> list[BaseRoute]:
    """Everything under /support/invoices/: monthly invoices, behind the staff sign-in."""
    return [
        Route("/", billing.index, name="index"),
        Route("/{store}/", billing.months, name="months"),
        Route("/{store}/{month}", billing.invoice_page, name="invoice"),
        Route("/{store}/{month}/invoice.csv", billing.invoice_export, name="invoice_csv"),
        Route("/{store}/{month}/close", billing.close, methods=["POST"], name="close"),
    ]


def overview_routes() -> list[BaseRoute]:
    """Everything under /support/overview/: each store's figures, behind the staff sign-in."""
    return [
        Route("/", overview_views.index, name="index"),
        Route("/{store}/", overview_views.store_page, name="store"),
        Route("/{store}/{table}.csv", overview_views.table_csv, name="table_csv"),
    ]


def build_routes(extra_routes: Sequence[BaseRoute] = ()) -> list[BaseRoute]:
    routes: list[BaseRoute] = [
        Route("/", shopper.landing, name="landing"),
        Route("/healthz", health, name="health"),
        Route("/readyz", ready, name="ready"),
        Route("/metrics", metrics_endpoint, name="metrics"),
        Route("/webhooks/shopify", shopify_webhook, methods=["POST"], name="shopify_webhook"),
        Route(INSTALL_PATH, shopify_app.install, name="shopify_install"),
        Route(CALLBACK_PATH, shopify_app.callback, name="shopify_callback"),
        Mount("/static", StaticFiles(directory=STATIC_DIR), name="static"),
    ]
    routes.extend(extra_routes)
    routes.append(Mount("/support/invoices", routes=billing_routes(), name="billing"))
    routes.append(Mount("/support/overview", routes=overview_routes(), name="overview"))
    routes.append(Mount("/support", routes=support_routes(), name="support"))
    routes.append(Mount("/{store}", routes=shopper_routes(), name="shopper"))
    return routes
