"""The base of every form: WTForms with the portal's CSRF token and translated messages.

Build forms with ``await PortalForm.from_request(request, **services)``; services a form needs
for its ``validate_<field>`` checks arrive as keyword arguments.
"""

from __future__ import annotations

from decimal import Decimal
from functools import lru_cache
from typing import Any, Self

from markupsafe import Markup, escape
from starlette.requests import Request
from wtforms import DecimalField, Form, SelectField
from wtforms.csrf.core import CSRF
from wtforms.fields import Field
from wtforms.validators import ValidationError
from wtforms.widgets import Select, html_params

from portal import i18n
from portal.csrf import HEADER, csrf_token, token_is_valid


class PortalCSRF(CSRF):
    def setup_form(self, form: Form) -> Any:
        self.request: Request = form.meta.csrf_context
        return super().setup_form(form)

    def generate_csrf_token(self, csrf_token_field: Field) -> str:
        return csrf_token(self.request)

    def validate_csrf_token(self, form: Form, field: Field) -> None:
        supplied = field.data or self.request.headers.get(HEADER)
        if not token_is_valid(self.request, supplied):
            raise ValidationError(
                i18n.gettext("This form has expired. Please reload the page and try again.")
            )


class MoneyField(DecimalField):
    """A decimal amount that is a number: NaN, sNaN and infinities are refused as not one (they
    would otherwise reach the range check, which cannot compare them)."""

    def process_formdata(self, valuelist: list[Any]) -> None:
        super().process_formdata(valuelist)
        value: object = getattr(self, "data", None)  # WTForms is untyped
        if isinstance(value, Decimal) and not value.is_finite():
            self.data = None
            raise ValueError(self.gettext("Not a valid decimal value."))


class _Translations:
    def gettext(self, string: str) -> str:
        return i18n.gettext(string)

    def ngettext(self, singular: str, plural: str, n: int) -> str:
        return i18n.translations(i18n.current_locale()).ngettext(singular, plural, n)


class PortalForm(Form):
    class Meta:
        csrf = True
        csrf_class = PortalCSRF
        csrf_field_name = "csrf_token"

        def get_translations(self, form: Form) -> _Translations:
            return _Translations()

    @classmethod
    async def from_request(cls, request: Request, **services: Any) -> Self:
        data = await request.form() if request.method in ("POST", "PUT", "PATCH") else None
        return cls(formdata=data, meta={"csrf_context": request}, **services)

    def validate(self, extra_validators: Any = None) -> bool:
        """Every field's own checks, and none may carry a NUL character (PostgreSQL text cannot
        store one; nobody types one)."""
        valid: bool = super().validate(extra_validators)
        for field in self:
            if any(isinstance(v, str) and "\x00" in v for v in field.raw_data or ()):
                field.errors = [*field.errors, i18n.gettext("Remove the NUL character.")]
                valid = False
        return valid

    @property
    def error_summary(self) -> list[tuple[str, str, str]]:
        """(field id, label, message) for each error, for the summary at the top of a form."""
        summary: list[tuple[str, str, str]] = []
        for name, messages in self.errors.items():
            field = self._fields.get(name)
            label = field.label.text if field is not None else ""
            field_id = field.id if field is not None else name
            summary.extend((field_id, label, str(message)) for message in messages)
        return summary


class ListedSelect(Select):
    """WTForms' ``<select>``, with the options of a list of choices rendered once: a country
    list is 250 options, and rendering them one by one was a third of a page with an address.
    Plain choices only, ``(value, label)`` pairs of strings with the field's data a string;
    anything else is drawn by WTForms itself."""

    def __call__(self, field: Field, **kwargs: Any) -> Markup:
        choices = getattr(field, "choices", None)
        plain = isinstance(choices, list) and _plain(field, self.multiple)
        rendered = _options(tuple(choices)) if plain and choices is not None else None
        if rendered is None:
            return super().__call__(field, **kwargs)  # type: ignore[no-any-return]
        options, selected_html, position = rendered
        kwargs.setdefault("id", field.id)
        for name in self.validation_attrs:
            if name not in kwargs and getattr(field.flags, name, False):
                kwargs[name] = getattr(field.flags, name)
        chosen = position.get(field.data) if isinstance(field.data, str) else None
        parts = list(options)
        if chosen is not None:
            parts[chosen] = selected_html[chosen]
        # html_params escapes each value; the options were escaped by _options
        html = f"<select {html_params(name=field.name, **kwargs)}>{''.join(parts)}</select>"
        return Markup(html)  # noqa: S704


def _plain(field: Field, multiple: bool) -> bool:
    return not multiple and isinstance(field, SelectField) and field.coerce is str


@lru_cache(maxsize=64)
def _options(
    choices: tuple[object, ...],
) -> tuple[tuple[str, ...], tuple[str, ...], dict[str, int]] | None:
    """Each option unselected and selected, and where each value is; None unless plain."""
    if not all(
        isinstance(c, tuple) and len(c) == 2 and all(isinstance(p, str) for p in c) for c in choices
    ):
        return None
    pairs: list[tuple[str, str]] = list(choices)  # type: ignore[arg-type]
    plain = tuple(
        f'<option value="{escape(v)}">{escape(label or v)}</option>' for v, label in pairs
    )
    chosen = tuple(
        f'<option selected value="{escape(v)}">{escape(label or v)}</option>' for v, label in pairs
    )
    position: dict[str, int] = {}
    for index, (value, _label) in enumerate(pairs):
        position.setdefault(value, index)
    return plain, chosen, position


def field_html(
    field: Field,
    input_class: str = "",
    autocomplete: str | None = None,
    inputmode: str | None = None,
    required: bool = False,
) -> Markup:
    """A labelled control with its hint and errors tied to it (``aria-describedby``), as
    ``components/forms.html`` draws every field."""
    hint_id, error_id = f"{field.id}-hint", f"{field.id}-error"
    attrs: dict[str, object] = {"class": input_class}
    if autocomplete:
        attrs["autocomplete"] = autocomplete
    if inputmode:
        attrs["inputmode"] = inputmode
    if required:
        attrs.update({"required": True, "aria-required": "true"})
    described = []
    opening = (
        Markup('<div class="field has-error">') if field.errors else Markup('<div class="field">')
    )
    parts = [opening]
    parts.append(field.label())
    if field.description:
        described.append(hint_id)
        parts.append(Markup('<p class="hint" id="{}">{}</p>').format(hint_id, field.description))
    if field.errors:
        described.append(error_id)
        attrs["aria-invalid"] = "true"
        errors = Markup("").join(Markup("{} ").format(e) for e in field.errors)
        parts.append(Markup('<p class="field-error" id="{}">{}</p>').format(error_id, errors))
    if described:
        attrs["aria-describedby"] = " ".join(described)
    parts.append(field(**attrs))
    parts.append(Markup("</div>"))
    return Markup("\n").join(parts)
