"""Shared web plumbing: the Jinja2 environment and helpers every view uses."""

from __future__ import annotations

from typing import Any

import jinja2
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.requests import Request
from starlette.responses import Response
from starlette.templating import Jinja2Templates

from portal import i18n, templating
from portal.csrf import csrf_token
from portal.paths import TEMPLATES_DIR
from portal.settings import Settings

HTMX_SCRIPT = "vendor/htmx-2.0.11.min.js"


def _environment() -> jinja2.Environment:
    env = templating.environment(TEMPLATES_DIR, escaped=("html", "xml"), escape_strings=True)
    env.globals["htmx_script"] = HTMX_SCRIPT
    env.globals["current_locale"] = i18n.current_locale
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
