"""Generated hostile values posted to every form field, query parameter and path parameter of
every route, as each kind of visitor: an anonymous shopper, a verified shopper, an agent, an
admin and a merchant user.

Whatever arrives, the portal answers 2xx, 3xx or 4xx, never 5xx; and an answer that refuses
(4xx) leaves the main tables exactly as they were, so nothing is ever half-written.

One portal runs per module and database; each example asserts only on what its own request
changed, so examples share the portal without depending on one another.
"""

from __future__ import annotations

import asyncio
import base64
import html
import io
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image
from sqlalchemy import Engine, create_engine, func, select, table, update
from sqlalchemy.orm import Session
from starlette.datastructures import Secret

from portal import links
from portal.accounts.models import User
from portal.billing.months import month_of
from portal.clock import utcnow
from portal.db import sync_url
from portal.jobs.email import SEND_EMAIL
from portal.jobs.models import Job
from portal.jobs.worker import Worker
from portal.reorders.models import ReorderRequest, RequestPhoto
from portal.runtime import open_runtime
from portal.signing import Signer
from portal.stores.models import Store
from portal.support.models import Resolution
from portal.support.views import ACTIONS
from portal.workers import job_handlers
from tests.helpers import databases
from tests.helpers.environment import PortalEnvironment, portal_environment
from tests.helpers.shopper_flow import ShopperFlow, csrf_of
from tests.helpers.staff import StaffBrowser, create_user, invitation_path

MAIN_TABLES = (
    "reorder_requests",
    "resolutions",
    "jobs",
    "request_events",
    "compliance_requests",
    "staff_invitations",
    "staff_audit_events",
)
ROLES = ("anonymous", "shopper", "agent", "admin", "merchant")
STAFF = {
    "agent": ("fuzz-agent@example.com", "agent", None),
    "admin": ("fuzz-admin@example.com", "admin", None),
    "merchant": ("fuzz-owner@test-goods.example", "merchant", "test-goods"),
}
STAFF_TARGET = "fuzz-target@example.com"
"""The account the staff administration routes aim at, so no example changes a visitor's own."""
STAFF_INVITEE = "fuzz-invitee@example.com"
SHOPPER_EMAIL = "jane@example.com"
REFERENCE = re.compile(r"RR-[2-9A-HJ-NP-Z]{6}")
REVIEW_ACTION = re.compile(r'action="[^"]*/review/([^"/?]+)"')

# Sized so the whole module runs in well under a minute per database on two cores.
EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "5"))
FUZZ = settings(
    max_examples=EXAMPLES,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


# --- hostile values -----------------------------------------------------------------------------

HUGE = ["x" * 200_000, "\u00e9" * 30_000, "9" * 5_000, "<" * 50_000]
NUMBERS = [
    "0",
    "-0",
    "-1",
    "+1",
    " 1 ",
    "1.5",
    "1,5",
    "1e3",
    "1_000",
    "0x10",
    "00000000000000000000001",
    str(2**31),
    str(2**63 - 1),
    str(2**63),
    str(-(2**63) - 1),
    str(2**64),
    "9" * 40,
    "-" + "9" * 40,
    "1e309",
    "-1e309",
    "1e-400",
    "1e999999",
    "NaN",
    "nan",
    "-NaN",
    "sNaN",
    "-sNaN",
    "Infinity",
    "-Infinity",
    "inf",
    "0.001",
    "99999.999",
    "100000.01",
    "\u0661\u0662\u0663",  # Arabic-Indic digits
    "\uff11\uff12\uff13",  # fullwidth digits
    "\u00b2",  # superscript two: isdigit() but not a decimal
]
DATES = [
    "0001-01",
    "0000-01",
    "9999-12",
    "10000-01",
    "2024-00",
    "2024-13",
    "2024-1",
    "2024-02-30",
    "-0001-01",
    "1970-01-01",
    "0001-01-01T00:00:00+00:00",
    "9999-12-31T23:59:59.999999+00:00",
    "0001-01-01T00:00:00+14:00",
    "9999-12-31T23:59:59-14:00",
    "2038-01-19T03:14:08Z",
]
CONTROL = ["", " ", "\x00", "a\x00b", "\r\n", "\n\n\n", "\t", "\x1b[31m", "\x7f", "\x08" * 10]
UNICODE = [
    "\u202etxt.exe",  # right-to-left override
    "\ufeff",
    "\u0130",  # dotted capital I: changes length when case-folded
    "\u00df",
    "e\u0301" * 50,  # combining marks
    "\U0001f642" * 100,
    "\U0001d518\U0001d52b\U0001d526",
    "\uffff",
    "\u2028",
]
INJECTION = [
    "' OR 1=1 --",
    '"; DROP TABLE reorder_requests; --',
    "<script>alert(1)</script>",
    "{{ 7*7 }}",
    "%s%n%x",
    "../../../etc/passwd",
    '=HYPERLINK("http://x")',
    "#1001",
    "RR-AAAAAA",
    "a@b",
    "@",
    "jane@example.com",
    "\u00e9@\u00e9.\u00e9",
]
HOSTILE = HUGE + NUMBERS + DATES + CONTROL + UNICODE + INJECTION


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


CURSOR_PAYLOADS = [
    b"",
    b"|",
    b"x|y",
    b"2024-01-01T00:00:00|1",  # no time zone
    b"2024-01-01T00:00:00+00:00|0",
    b"2024-01-01T00:00:00+00:00|-1",
    b"2024-01-01T00:00:00+00:00|" + str(2**63).encode(),
    b"2024-01-01T00:00:00+00:00|999999999999999999",
    b"0001-01-01T00:00:00+00:00|1",
    b"0001-01-01T00:00:00+14:00|1",
    b"9999-12-31T23:59:59-14:00|1",
    b"9999-12-31T23:59:59.999999+00:00|1",
    b"\xff\xfe\x00|1",
]
CURSORS = [_b64(p) for p in CURSOR_PAYLOADS] + ["=", "a", "!!!!", "A" * 5000, "%00", "a b"]

# NUL gets its own branch: PostgreSQL refuses it in text, so it must never reach a query.
NULS = ["\x00", "a\x00b", "a\x00@example.com", "RR-\x00", "#1001\x00", "\x00" * 100]
hostile_text = st.one_of(
    st.sampled_from(HOSTILE),
    st.sampled_from(NULS),
    st.text(max_size=40),
    st.integers(min_value=-(2**80), max_value=2**80).map(str),
    st.floats(allow_nan=True, allow_infinity=True).map(repr),
    st.dates().map(lambda d: d.isoformat()),
    st.binary(max_size=60).map(_b64),
)
# A URL carries a few kilobytes at most: query values and path segments are cut to fit.
query_text = hostile_text.map(lambda s: s[:1000])
cursor_text = st.one_of(
    st.sampled_from(CURSORS),
    st.binary(max_size=80).map(_b64),
    st.builds(
        lambda when, ident: _b64(f"{when.isoformat()}|{ident}".encode()),
        st.datetimes(timezones=st.timezones()),
        st.integers(min_value=-(2**70), max_value=2**70),
    ),
)

# Path segments arrive percent-encoded; these are sent as they stand.
ODD_SEGMENTS = [
    "%00",
    "%ff",
    "%c0%ae",
    "%2e%2e",
    "%2F",
    "a%2Fb",
    "%0a",
    "%20",
    "%25",
    ";",
    "~",
    "*",
    "CON",
    "-1",
    "0",
    "9" * 18,
    "9" * 19,
    str(2**63),
    "RR-000000",
    "rr-abcdef",
    "RR-" + "A" * 100,
    "x" * 3000,
    quote("\U0001f642", safe=""),
]


def segment(*real: str) -> st.SearchStrategy[str]:
    """A path segment: a real value, an odd one, or generated text percent-encoded."""
    return st.one_of(
        st.sampled_from(real) if real else st.nothing(),
        st.sampled_from(ODD_SEGMENTS),
        st.sampled_from(["%00", "RR-%00", "a%00b", "%00" * 20]),
        hostile_text.filter(bool).map(lambda s: quote(s[:1000], safe="")),
    )


# --- the portal, once per module and database ---------------------------------------------------


@dataclass
class Visitor:
    client: httpx.Client
    csrf: str


@dataclass
class World:
    env: PortalEnvironment
    counts: Engine
    visitors: dict[str, Visitor]
    real: dict[str, list[str]] = field(default_factory=dict)

    def restore_staff(self) -> None:
        """Put the visitors' own accounts back as they were (an example may have given one a
        new role or disabled it: a real id can be drawn by chance), then sign them back in."""
        with Session(self.counts) as db:
            for email, role, slug in STAFF.values():
                store_id = db.scalar(select(Store.id).where(Store.slug == slug)) if slug else None
                db.execute(
                    update(User)
                    .where(User.email == email)
                    .values(role=role, store_id=store_id, disabled=False)
                )
            db.commit()
        for role in STAFF:
            _still_signed_in(self, role)

    def row_counts(self) -> tuple[int, ...]:
        query = select(
            *(select(func.count()).select_from(table(t)).scalar_subquery() for t in MAIN_TABLES)
        )
        with self.counts.connect() as connection:
            return tuple(connection.execute(query).one())


def _database_params() -> list[Any]:
    params: list[Any] = [pytest.param("sqlite", id="sqlite")]
    if databases.postgres_admin_url():
        params.append(pytest.param("postgresql", id="postgresql"))
    return params


@pytest.fixture(scope="module", params=_database_params())
def fuzz_database(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    """A migrated database of this module's own: a SQLite file, or a scratch PostgreSQL one."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path_factory.mktemp('fuzz-db') / 'portal.db'}"
        databases.migrate(url)
        yield url
        return
    admin_url = databases.postgres_admin_url()
    assert admin_url is not None
    with databases.scratch_postgres_database(admin_url) as url:
        databases.migrate(url)
        yield url


def _run_jobs(env: PortalEnvironment) -> None:
    """The worker is off so that nothing writes between an example's two counts; the few jobs
    the setup needs (the emailed code) run here."""

    async def run() -> None:
        async with open_runtime(env.settings) as runtime:
            worker = Worker(runtime.sessions, job_handlers(), services=runtime)
            await worker.run_until_idle(max_jobs=20)

    asyncio.run(run())


def _jpeg() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (32, 24), (200, 30, 30)).save(buffer, "JPEG")
    return buffer.getvalue()


def _verified_shopper(env: PortalEnvironment) -> tuple[ShopperFlow, dict[str, list[str]]]:
    """A shopper who verified an order, filed one request with a photo and left a second one
    as a draft on the Review page."""
    order = env.shop.order(lines=[(env.shop.mug, 2), (env.shop.shirt, 1)])
    flow = ShopperFlow(env)
    code_page = flow.look_up(order.name, SHOPPER_EMAIL)
    assert code_page.status_code == 200, code_page.text
    _run_jobs(env)
    form = flow.enter_code(code_page, env.code_for(SHOPPER_EMAIL))
    assert form.status_code == 200, form.text
    mug, shirt = (f"qty_{line.id}" for line in order.line_items[:2])
    review = flow.file(
        form,
        issue="Damaged",
        quantities={mug: 1},
        photos=[("damage.jpg", _jpeg(), "image/jpeg")],
    )
    assert review.status_code == 200, review.text
    filed = flow.submit(review)
    found = REFERENCE.search(filed.text)
    assert filed.status_code == 200 and found, filed.text
    form = flow.get("/request")
    review = flow.file(form, issue="Lost", quantities={shirt: 1})
    draft = REVIEW_ACTION.search(review.text)
    assert review.status_code == 200 and draft, review.text
    real = {
        "reference": [found.group(0)],
        "draft": [html.unescape(draft.group(1))],
        "qty": [mug, shirt],
        "order_id": [str(order.id)],
    }
    return flow, real


def _signed_in(env: PortalEnvironment, email: str) -> StaffBrowser:
    browser = StaffBrowser(env.base_url)
    answer = browser.sign_in(email=email)
    assert answer.status_code == 303, answer.text
    return browser


def _staff_targets(
    env: PortalEnvironment, database_url: str, admin: StaffBrowser
) -> dict[str, list[str]]:
    """An account for the staff administration routes to change, and a live invitation link."""
    create_user(database_url, STAFF_TARGET, "agent")
    invited = admin.invite(STAFF_INVITEE, role="agent")
    assert invited.status_code == 303, invited.text
    engine = create_engine(sync_url(env.settings.database_url))
    try:
        with Session(engine) as db:
            target = db.scalars(select(User.id).where(User.email == STAFF_TARGET)).one()
            payloads = db.scalars(select(Job.payload).where(Job.kind == SEND_EMAIL)).all()
    finally:
        engine.dispose()
    text = next(p["text"] for p in payloads if p["to"] == STAFF_INVITEE)
    return {
        "user_id": [str(target)],
        "invitation_token": [invitation_path(text).rsplit("/", 1)[1]],
    }


def _real_ids(env: PortalEnvironment, reference: str) -> dict[str, list[str]]:
    engine = create_engine(sync_url(env.settings.database_url))
    try:
        with Session(engine) as db:
            request = db.scalars(
                select(ReorderRequest).where(ReorderRequest.reference == reference)
            ).one()
            store = db.scalars(select(Store).where(Store.slug == env.slug)).one()
            photos = list(
                db.scalars(
                    select(RequestPhoto.photo_id).where(RequestPhoto.request_id == request.id)
                )
            )
            jobs = [
                str(j)
                for j in db.scalars(
                    select(Resolution.job_id).where(Resolution.request_id == request.id)
                )
                if j is not None
            ]
            request_id, store_id, time_zone = request.id, store.id, store.time_zone
    finally:
        engine.dispose()
    signer = Signer(str(env.settings.secret_key))
    return {
        "photo_id": photos,
        "job_id": jobs,
        "status_token": [links.status_token(signer, request_id=request_id)],
        "store_id": [str(store_id)],
        "month": [month_of(utcnow(), time_zone)],
    }


@pytest.fixture(scope="module")
def world(fuzz_database: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    tmp_path = tmp_path_factory.mktemp("fuzz")
    with portal_environment(
        fuzz_database,
        tmp_path,
        lookup_min_seconds=0.0,
        run_worker=False,
        shopify_client_id="fuzz-app",
        shopify_client_secret=Secret("fuzz-app-secret"),
    ) as env:
        for email, role, store in STAFF.values():
            create_user(fuzz_database, email, role, store=store)
        shopper, real = _verified_shopper(env)
        staff = {name: _signed_in(env, email) for name, (email, _, _) in STAFF.items()}
        # One resolution with its job, so the retry route has a real job id to aim at.
        ordered = staff["agent"].confirm(real["reference"][0], "refund")
        assert ordered.status_code == 303, ordered.text
        real.update(_real_ids(env, real["reference"][0]))
        real.update(_staff_targets(env, fuzz_database, staff["admin"]))
        signer = Signer(str(env.settings.secret_key))
        real["order_token"] = [
            links.order_link_token(
                signer, store_id=int(real["store_id"][0]), order_id=real["order_id"][0]
            )
        ]
        anonymous = httpx.Client(base_url=env.base_url, follow_redirects=False, timeout=30)
        shopper.client.follow_redirects = False
        visitors = {
            "anonymous": Visitor(anonymous, csrf_of(anonymous.get(f"/{env.slug}/"))),
            "shopper": Visitor(shopper.client, csrf_of(shopper.get("/"))),
            **{name: Visitor(b.client, b.csrf()) for name, b in staff.items()},
        }
        counts = create_engine(sync_url(fuzz_database))
        try:
            yield World(env, counts, visitors, real)
        finally:
            counts.dispose()
            anonymous.close()
            shopper.close()
            for browser in staff.values():
                browser.close()


# --- the routes ---------------------------------------------------------------------------------

QUEUE_QUERY = (
    "status",
    "store",
    "issue",
    "resolution",
    "older_than",
    "assigned",
    "q",
    "after",
    "risk",
)
ADDRESS_FORM = (
    "first_name",
    "last_name",
    "company",
    "address1",
    "address2",
    "city",
    "province_code",
    "province_for",
    "zip",
    "country_code",
    "phone",
)
REQUEST_FORM = (
    "issue_type",
    "description",
    "resolution",
    "alternative_wish",
    "add_to",
    "from_draft",
    "keep_photo",
    *ADDRESS_FORM,
)
# The status page's two forms: the answer to a question, and a new delivery address.
STATUS_FORM = ("answer", "form", *ADDRESS_FORM)
STATUS_QUERY = ("submitted", "added", "address", "country_code")
STORE_SETTINGS_FIELDS = (
    "brand_color",
    "remove_logo",
    "support_email",
    "support_phone",
    "claim_window_days",
    "window_lost",
    "window_stolen",
    "window_damaged",
    "window_wrong_item",
    "window_missing_item",
    "corso_client_id",
    "corso_client_secret",
    "protected_order_email",
)
ACTION_FIELDS = {
    "note": ("text",),
    "ask": ("question",),
    "deny": ("reason",),
    "alternative": ("order_name", "description", "amount"),
    "reorder": ("seen",),
    "refund": ("seen",),
    "address": ADDRESS_FORM,
    "review_signal": ("signal",),
    "assign": ("assignee",),
}


@dataclass(frozen=True)
class RouteSpec:
    name: str
    path: str  # with {param} placeholders
    methods: tuple[str, ...]
    fields: tuple[str, ...] = ()
    query: tuple[str, ...] = ()
    signs_out: bool = False  # a valid CSRF token would end the visitor's session
    uploads: bool = False
    file_field: str = "photos"  # the form's file input, when it ``uploads``
    webhook: bool = False


RULE = (  # an automation rule's form (portal/automation/forms.py)
    "name",
    "issue_types",
    "resolutions",
    "value_below",
    "value_at_least",
    "max_items",
    "products",
    "order_tag",
    "in_stock",
    "tracking_states",
    "max_days_since_delivery",
    "max_earlier_claims",
    "max_risk_signals",
    "action",
    "action_text",
    "assignee_id",
)

ROUTES = [
    RouteSpec("landing", "/", ("GET",), query=("q",)),
    RouteSpec("health", "/healthz", ("GET",)),
    RouteSpec("ready", "/readyz", ("GET",)),
    RouteSpec("metrics", "/metrics", ("GET",)),
    RouteSpec("static", "/static/{static}", ("GET",)),
    RouteSpec("webhook", "/webhooks/shopify", ("POST",), webhook=True),
    RouteSpec("shopify_install", "/shopify/install", ("GET",), query=("shop", "hmac", "timestamp")),
    RouteSpec(
        "shopify_callback",
        "/shopify/callback",
        ("GET",),
        query=("code", "hmac", "host", "shop", "state", "timestamp", "error"),
    ),
    RouteSpec("lookup", "/{store}/", ("GET", "POST"), ("order_number", "email")),
    RouteSpec("theme", "/{store}/theme.css", ("GET",)),
    RouteSpec("logo", "/{store}/logo", ("GET",)),
    RouteSpec("verify", "/{store}/verify", ("GET", "POST"), ("verification", "code"), ("v",)),
    RouteSpec("order_link", "/{store}/r/{order_token}", ("GET", "POST")),
    RouteSpec("sign_out", "/{store}/sign-out", ("POST",), signs_out=True),
    RouteSpec(
        "request",
        "/{store}/request",
        ("GET", "POST"),
        REQUEST_FORM,
        ("draft", "country_code"),
        uploads=True,
    ),
    RouteSpec("review", "/{store}/review/{draft}", ("GET", "POST")),
    RouteSpec(
        "request_status",
        "/{store}/requests/{reference}",
        ("GET", "POST"),
        STATUS_FORM,
        STATUS_QUERY,
        uploads=True,
    ),
    RouteSpec(
        "status_link",
        "/{store}/s/{status_token}",
        ("GET", "POST"),
        STATUS_FORM,
        STATUS_QUERY,
        uploads=True,
    ),
    RouteSpec("support_home", "/support/", ("GET",), query=QUEUE_QUERY),
    RouteSpec("queue", "/support/queue", ("GET",), query=QUEUE_QUERY),
    RouteSpec("queue_csv", "/support/queue.csv", ("GET",), query=QUEUE_QUERY),
    RouteSpec("account", "/support/account", ("GET",)),
    RouteSpec("login", "/support/login", ("GET", "POST"), ("email", "password", "next"), ("next",)),
    RouteSpec("logout", "/support/logout", ("POST",), signs_out=True),
    RouteSpec(
        "password",
        "/support/password",
        ("GET", "POST"),
        ("current_password", "new_password", "confirm_password"),
    ),
    RouteSpec("support_request", "/support/requests/{reference}", ("GET",)),
    RouteSpec("support_confirm", "/support/requests/{reference}/confirm/{path}", ("GET",)),
    *(
        RouteSpec(
            f"action_{a.name}",
            f"/support/requests/{{reference}}/{a.path}",
            ("POST",),
            ACTION_FIELDS.get(a.name, ()),
        )
        for a in ACTIONS
    ),
    RouteSpec("retry_job", "/support/requests/{reference}/jobs/{job_id}/retry", ("POST",)),
    RouteSpec("photo", "/support/photos/{photo_id}", ("GET",)),
    RouteSpec("connect_store", "/support/stores/connect", ("GET", "POST"), ("shop",), ("shop",)),
    RouteSpec("compliance", "/support/compliance/", ("GET",)),
    RouteSpec("compliance_request", "/support/compliance/{compliance_id}", ("GET",)),
    RouteSpec("compliance_report", "/support/compliance/{compliance_id}/report.json", ("GET",)),
    RouteSpec("stores", "/support/stores/", ("GET",)),
    RouteSpec(
        "store_settings",
        "/support/stores/{store}/settings",
        ("GET", "POST"),
        STORE_SETTINGS_FIELDS,
        ("q", "done"),
        uploads=True,
        file_field="logo",
    ),
    RouteSpec(
        "protection_product",
        "/support/stores/{store}/protection-product",
        ("POST",),
        ("product_id",),
    ),
    RouteSpec("staff", "/support/staff/", ("GET",), query=("done",)),
    RouteSpec("staff_invite", "/support/staff/invite", ("GET", "POST"), ("email", "role", "store")),
    RouteSpec("staff_audit", "/support/staff/audit", ("GET",)),
    RouteSpec(
        "staff_member", "/support/staff/{user_id}", ("GET", "POST"), ("role", "store"), ("done",)
    ),
    RouteSpec("staff_disable", "/support/staff/{user_id}/disable", ("POST",)),
    RouteSpec("staff_enable", "/support/staff/{user_id}/enable", ("POST",)),
    RouteSpec(
        "invitation",
        "/support/invitations/{invitation_token}",
        ("GET", "POST"),
        ("new_password", "confirm_password"),
    ),
    RouteSpec("invoices", "/support/invoices/", ("GET",)),
    RouteSpec("invoice_months", "/support/invoices/{store}/", ("GET",)),
    RouteSpec("invoice", "/support/invoices/{store}/{month}", ("GET",)),
    RouteSpec("invoice_csv", "/support/invoices/{store}/{month}/invoice.csv", ("GET",)),
    RouteSpec("invoice_close", "/support/invoices/{store}/{month}/close", ("POST",)),
    RouteSpec(
        "automation",
        "/support/stores/{store}/automation/",
        ("GET", "POST"),
        ("max_per_resolution", "max_per_day", "paused"),
        ("done",),
    ),
    RouteSpec("automation_new", "/support/stores/{store}/automation/new", ("GET", "POST"), RULE),
    RouteSpec(
        "automation_rule",
        "/support/stores/{store}/automation/{rule_id}",
        ("GET", "POST"),
        RULE,
        ("last", "done"),
    ),
    RouteSpec(
        "automation_switch",
        "/support/stores/{store}/automation/{rule_id}/switch",
        ("POST",),
        ("on",),
    ),
    RouteSpec(
        "automation_move",
        "/support/stores/{store}/automation/{rule_id}/move",
        ("POST",),
        ("direction",),
    ),
    RouteSpec("overviews", "/support/overview/", ("GET",)),
    RouteSpec("overview", "/support/overview/{store}/", ("GET",), query=("months",)),
    RouteSpec("overview_csv", "/support/overview/{store}/{table}.csv", ("GET",), query=("months",)),
]
PLACEHOLDER = re.compile(r"\{(\w+)\}")
CONVERTED = re.compile(r"\{\w+:\w+\}")  # a path parameter with a convertor: {job_id:row_id}


def test_every_route_is_fuzzed() -> None:
    """A route added to portal/routes.py without a line here fails this test."""
    from starlette.routing import Route

    from portal.routes import (
        billing_routes,
        build_routes,
        overview_routes,
        shopper_routes,
        support_routes,
    )

    covered = {PLACEHOLDER.sub("*", r.path) for r in ROUTES}
    top = {r.path for r in build_routes() if isinstance(r, Route)}
    names = {"/support/invoices" + PLACEHOLDER.sub("*", r.path) for r in billing_routes()}
    names |= {"/support/overview" + PLACEHOLDER.sub("*", r.path) for r in overview_routes()}
    names |= {CONVERTED.sub("*", "/support" + r.path) for r in support_routes()}
    names |= {"/*" + r.path for r in shopper_routes()}
    names |= top
    names = {PLACEHOLDER.sub("*", n) for n in names}
    assert names <= covered, sorted(names - covered)


def _real(world: World, name: str) -> tuple[str, ...]:
    values = {
        "store": [world.env.slug, "elsewhere"],
        "static": ["app.css", "htmx.min.js"],
        "path": ["reorder", "refund"],
        "table": ["months", "products"],
    }.get(name) or world.real.get(name, [])
    return tuple(values)


def _short(value: object) -> str:
    shown = repr(value)
    return shown if len(shown) <= 200 else f"{shown[:120]}...({len(shown)} chars)"


@dataclass(frozen=True)
class Attempt:
    method: str
    url: str
    query: dict[str, str]
    data: dict[str, str | list[str]]
    files: list[tuple[str, tuple[str, bytes, str]]] | None
    headers: dict[str, str]
    content: bytes | None = None

    def __repr__(self) -> str:
        parts = ", ".join(f"{k}={_short(v)}" for k, v in vars(self).items())
        return f"Attempt({parts})"


ascii_header = st.one_of(
    st.sampled_from(["", "orders/create", "x" * 4000, "test-goods.myshopify.com", "=", "%00"]),
    st.text(st.characters(min_codepoint=0x20, max_codepoint=0x7E), max_size=60),
)
junk_files = st.lists(
    st.tuples(
        st.sampled_from(["photo.jpg", "", "a\u202egpj.exe", "../x.png", "x" * 300]),
        st.one_of(
            st.sampled_from([b"", b"\xff\xd8\xff", b"GIF89a", b"\x00" * 100, _jpeg()]),
            st.binary(max_size=200),
        ),
        st.sampled_from(["image/jpeg", "image/heic", "text/plain", "application/octet-stream"]),
    ),
    max_size=3,
)


@st.composite
def attempts(draw: st.DrawFn, spec: RouteSpec, world: World, role: str) -> Attempt:
    path = spec.path
    for name in PLACEHOLDER.findall(spec.path):
        path = path.replace("{" + name + "}", draw(segment(*_real(world, name))), 1)
    method = draw(st.sampled_from(spec.methods))
    query: dict[str, str] = {}
    for name in spec.query:
        if draw(st.booleans()):
            query[name] = draw(cursor_text if name == "after" else query_text)
    if draw(st.integers(0, 4)) == 0:
        query[draw(query_text.filter(bool))] = draw(query_text)
    headers = {"HX-Request": "true"} if draw(st.integers(0, 3)) == 0 else {}
    if method == "GET":
        return Attempt(method, path, query, {}, None, headers)
    if spec.webhook:
        for name in ("X-Shopify-Topic", "X-Shopify-Shop-Domain", "X-Shopify-Webhook-Id"):
            headers[name] = draw(ascii_header)
        headers["X-Shopify-Hmac-Sha256"] = draw(st.one_of(ascii_header, cursor_text))
        body = draw(
            st.one_of(
                st.binary(max_size=200),
                hostile_text.map(lambda s: s.encode("utf-8", "surrogatepass")),
                st.sampled_from([b"{}", b"[" * 10_000, b'{"id": 1e999}', b"null"]),
            )
        )
        return Attempt(method, path, query, {}, None, headers, content=body)
    visitor = world.visitors[role]
    csrf = st.sampled_from(["", "x", "a.b.c", visitor.csrf + "x"]) | hostile_text
    if not spec.signs_out:
        csrf = st.just(visitor.csrf) | csrf
    data: dict[str, str | list[str]] = {"csrf_token": draw(csrf)}
    for name in spec.fields:
        choice = draw(st.integers(0, 5))
        if choice == 0:
            continue  # left out
        if choice == 1:
            data[name] = [draw(hostile_text), draw(hostile_text)]  # sent twice
        else:
            data[name] = draw(hostile_text)
    if spec.uploads and spec.file_field == "photos":
        quantities = [*world.real["qty"], "qty_" + "9" * 30, "qty_-1", "qty_", "qty_1e3"]
        for name in draw(st.lists(st.sampled_from(quantities), max_size=4, unique=True)):
            data[name] = draw(hostile_text)
    files = None
    if spec.uploads and draw(st.booleans()):
        files = [(spec.file_field, f) for f in draw(junk_files)] or None
    return Attempt(method, path, query, data, files, headers)


def _send(client: httpx.Client, attempt: Attempt) -> httpx.Response:
    if attempt.method == "GET":
        return client.get(attempt.url, params=attempt.query, headers=attempt.headers)
    if attempt.content is not None:
        return client.post(
            attempt.url, params=attempt.query, headers=attempt.headers, content=attempt.content
        )
    return client.post(
        attempt.url,
        params=attempt.query,
        headers=attempt.headers,
        data=attempt.data,
        files=attempt.files,
    )


def _still_signed_in(world: World, role: str) -> None:
    """An example that signed a staff member out signs them back in (a shopper is never
    signed out: sign-out is only ever sent with a bad CSRF token)."""
    if role not in STAFF:
        return
    visitor = world.visitors[role]
    if visitor.client.get("/support/account").status_code == 200:
        return
    browser = StaffBrowser(world.env.base_url)
    browser.client = visitor.client
    answer = browser.sign_in(email=STAFF[role][0])
    assert answer.status_code == 303, answer.text
    visitor.csrf = browser.csrf()


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("spec", ROUTES, ids=[r.name for r in ROUTES])
def test_hostile_input_never_fails_the_server_nor_half_writes(
    world: World, spec: RouteSpec, role: str
) -> None:
    visitor = world.visitors[role]

    @FUZZ
    @given(data=st.data())
    def fuzz(data: st.DataObject) -> None:
        attempt = data.draw(attempts(spec, world, role), label="attempt")
        before = world.row_counts()
        answer = _send(visitor.client, attempt)
        after = world.row_counts()
        assert answer.status_code < 500, answer.text[:2000]
        assert 200 <= answer.status_code < 500
        if answer.status_code >= 400:
            assert after == before, dict(
                zip(MAIN_TABLES, zip(before, after, strict=True), strict=True)
            )
        if spec.signs_out or spec.name == "login":
            _still_signed_in(world, role)
        if spec.name.startswith("staff_") or spec.name == "invitation":
            world.restore_staff()

    fuzz()


NUL_PATHS = [
    "/%00/",
    "/{store}/requests/RR-%00",
    "/{store}/verify?v=%00",
    "/support/requests/RR-%00",
    "/support/photos/%00",
    "/support/invoices/%00/",
    "/support/invoices/{store}/%00",
    "/support/queue?q=a%00@b",
    "/support/login?next=%00",
]


@pytest.mark.parametrize("path", NUL_PATHS)
def test_a_nul_in_the_url_is_refused_with_400(world: World, path: str) -> None:
    """PostgreSQL text cannot hold NUL: such a URL once reached a query and answered 500."""
    answer = world.visitors["admin"].client.get(path.replace("{store}", world.env.slug))
    assert answer.status_code == 400


@pytest.mark.parametrize(
    ("role", "path", "data"),
    [
        ("anonymous", "/support/login", {"email": "a\x00@example.com", "password": "x"}),
        ("agent", "/support/requests/{reference}/note", {"text": "a\x00b"}),
        ("anonymous", "/{store}/", {"order_number": "#1001\x00", "email": "jane@example.com"}),
    ],
)
def test_a_nul_in_a_form_is_refused_without_writing(
    world: World, role: str, path: str, data: dict[str, str]
) -> None:
    visitor = world.visitors[role]
    url = path.replace("{store}", world.env.slug).replace("{reference}", world.real["reference"][0])
    before = world.row_counts()
    answer = visitor.client.post(url, data={"csrf_token": visitor.csrf, **data})
    assert answer.status_code == 400
    assert "Remove the NUL character." in answer.text
    assert world.row_counts() == before
