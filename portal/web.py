"""Shared web plumbing: the Jinja2 environment and helpers every view uses."""

from __future__ import annotations

from collections import OrderedDict
from typing import Any

import jinja2
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.requests import Request
from starlette.responses import Response
from starlette.templating import Jinja2Templates

from portal import i18n, templating
from portal.csrf import csrf_token
from portal.forms import field_html
from portal.paths import TEMPLATES_DIR
from portal.settings import Settings

HTMX_SCRIPT = "vendor/htmx-2.0.11.min.js"


def _environment() -> jinja2.Environment:
    env = templating.environment(TEMPLATES_DIR, escaped=("html", "xml"), escape_strings=True)
    env.globals["htmx_script"] = HTMX_SCRIPT
    env.globals["language_switcher"] = i18n.language_switcher
    env.globals["csrf_token"] = csrf_token
    env.globals["field_html"] = field_html
    env.globals["url_for"] = url_for
    env.auto_reload = False  # templates change with a deploy, never under a running process
    env.globals["shopper_signed_in"] = shopper_signed_in
    return env


def shopper_signed_in(request: Request) -> bool:
    """Whether this page was served to a verified shopper (the session module reads it)."""
    return getattr(request.state, "shopper_session", None) is not None


@jinja2.pass_context
def url_for(context: dict[str, Any], name: str, /, **path_params: Any) -> str:
    """Starlette's ``url_for`` for templates (the same absolute URL), with each route's path
    worked out once: a page asks for the same few URLs on every render."""
    request: Request = context["request"]
    router = request.scope.get("router") or request.app.router
    base = request.base_url
    path = route_path(router, name, path_params)
    return f"{base.scheme}://{base.netloc}{base.path.rstrip('/')}{path}"


MAX_PATHS = 4096
_PATHS = "portal_route_paths"  # where a router keeps the paths it worked out


def route_path(router: Any, name: str, path_params: dict[str, Any]) -> str:
    """``router.url_path_for(name, **path_params)``, remembered by the router (the most recent
    ``MAX_PATHS``; routers compare equal by their routes, so they key no dictionary)."""
    known: OrderedDict[tuple[Any, ...], str] | None = getattr(router, _PATHS, None)
    if known is None:
        known = OrderedDict()
        setattr(router, _PATHS, known)
    key = (name, *sorted(path_params.items()))
    path = known.get(key)
    if path is None:
        path = known[key] = str(router.url_path_for(name, **path_params))
        if len(known) > MAX_PATHS:
            known.popitem(last=False)
    return path


templates = Jinja2Templates(env=_environment())


def render(
    request: Request, name: str, context: dict[str, Any], status_code: int = 200
) -> Response:
    return templates.TemplateResponse(request, name, context, status_code=status_code)


def settings_of(request: Request) -> Settings:
    settings: Settings = request.state.settings
    return settings


def session(request: Request) -> AsyncSession:
    """A new database session for this request; use it as an async context manager."""
    return request.state.sessions()  # type: ignore[no-any-return]


def is_htmx(request: Request) -> bool:
    return request.headers.get("HX-Request") == "true"


WAIT_SECONDS = 5
"""How long a waiting page waits before it goes on by itself."""
MAX_FIELDS = 200


async def sent_fields(request: Request) -> tuple[list[tuple[str, str]], bool]:
    """The fields of the form ``request`` sent (as its view read them, or read now), to send
    again from a waiting page, and whether it carried files, which are not carried over."""
    async with request.form(max_files=MAX_FIELDS, max_fields=MAX_FIELDS) as form:
        fields = [(name, value) for name, value in form.multi_items() if isinstance(value, str)]
        dropped_files = any(
            not isinstance(value, str) and value.filename for _, value in form.multi_items()
        )
    return fields, dropped_files


def waiting_page(
    request: Request,
    template: str,
    context: dict[str, Any],
    *,
    url: str | None = None,
    fields: list[tuple[str, str]] | None = None,
    dropped_files: bool = False,
    status_code: int = 200,
) -> Response:
    """A page that goes on by itself after ``WAIT_SECONDS`` to ``url`` (this page, by
    default): asked for again (a refresh), or with ``fields`` sent again as a form (pressed for
    them when JavaScript runs; a Continue button when it does not). ``template`` draws it with
    ``components/waiting.html``."""
    url = url or str(request.url)
    context = {
        **context,
        "seconds": WAIT_SECONDS,
        "url": url,
        "fields": fields or [],
        "dropped_files": dropped_files,
    }
    if is_htmx(request) and not fields:  # a part of a page: the browser asks for all of it
        response = Response(status_code=status_code, headers={"HX-Redirect": url})
    else:
        response = render(request, template, context, status_code=status_code)
    if is_htmx(request) and fields:  # a form sent by htmx: the page's main part says so
        response.headers.update(
            {"HX-Retarget": "#main", "HX-Reswap": "outerHTML", "HX-Reselect": "#main"}
        )
    response.headers["Retry-After"] = str(WAIT_SECONDS)
    response.headers["Cache-Control"] = "no-store"
    return response
