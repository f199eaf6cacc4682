"""The base of every form: WTForms with the portal's CSRF token and translated messages.

Build forms with ``await PortalForm.from_request(request, **services)``; services a form needs
for its ``validate_<field>`` checks arrive as keyword arguments.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any, Self

from starlette.requests import Request
from wtforms import DecimalField, Form
from wtforms.csrf.core import CSRF
from wtforms.fields import Field
from wtforms.validators import ValidationError

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
        return i18n.translations(i18n.current_locale()).ungettext(singular, plural, n)


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
