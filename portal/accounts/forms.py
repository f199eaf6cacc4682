"""The staff forms: sign in, sign out (a CSRF token and nothing else) and change password."""

from __future__ import annotations

from wtforms import EmailField, HiddenField, PasswordField
from wtforms.validators import DataRequired, EqualTo, Length

from portal.accounts.passwords import MAX_LENGTH, MIN_LENGTH
from portal.forms import PortalForm
from portal.i18n import lazy_gettext as _l


class LoginForm(PortalForm):
    email = EmailField(
        _l("Email"), validators=[DataRequired(_l("Enter your email")), Length(max=320)]
    )
    password = PasswordField(
        _l("Password"),
        validators=[DataRequired(_l("Enter your password")), Length(max=MAX_LENGTH)],
    )
    next = HiddenField()


class SignOutForm(PortalForm):
    pass


class ChangePasswordForm(PortalForm):
    current_password = PasswordField(
        _l("Current password"),
        validators=[DataRequired(_l("Enter your current password")), Length(max=MAX_LENGTH)],
    )
    new_password = PasswordField(
        _l("New password"),
        description=_l("At least %(count)s characters.", count=MIN_LENGTH),
        validators=[
            DataRequired(_l("Enter a new password")),
            Length(
                min=MIN_LENGTH,
                max=MAX_LENGTH,
                message=_l(
                    "The new password must be at least %(count)s characters.", count=MIN_LENGTH
                ),
            ),
        ],
    )
    confirm_password = PasswordField(
        _l("New password again"),
        validators=[
            DataRequired(_l("Enter the new password again")),
            EqualTo("new_password", _l("The two new passwords are not the same")),
        ],
    )
