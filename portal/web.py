"""Shared web plumbing: the Jinja2 environment and helpers every view uses."""

from __future__ import annotations

from typing import Any

import jinja2
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.requests import Request
from starlette.responses import Response
from starlette.templating import Jinja2Templates

from portal import i18n
from portal.csrf import csrf_token
from portal.paths import TEMPLATES_DIR
from portal.reorders.labels import status_label
from portal.settings import Settings

HTMX_SCRIPT = "vendor/htmx-2.0.11.min.js"


def _environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES_DIR),
        autoescape=jinja2.select_autoescape(("html", "xml"), default_for_string=True),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        extensions=["jinja2.ext.i18n"],
    )
    env.install_gettext_callables(  # type: ignore[attr-defined]
        i18n.gettext, i18n.ngettext, newstyle=True
    )
    env.globals["htmx_script"] = HTMX_SCRIPT
    env.globals["current_locale"] = i18n.current_locale
    env.globals["status_label"] = status_label
    env.globals["csrf_token"] = csrf_token
    env.globals["shopper_signed_in"] = shopper_signed_in
    return env


def shopper_signed_in(request: Request) -> bool:
    """Whether this page was served to a verified shopper (the session module reads it)."""
    return getattr(request.state, "shopper_session", None) is not None


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
