"""The staff forms: sign in, sign out (a CSRF token and nothing else), change password, and the
staff administration: invite, role and store, disable or enable, an invitation's first password."""

from __future__ import annotations

from wtforms import EmailField, HiddenField, PasswordField, SelectField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Email, EqualTo, Length

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


ROLE_LABELS = {"agent": _l("Agent"), "admin": _l("Admin"), "merchant": _l("Merchant user")}
ROLES = [SelectChoice(role, label) for role, label in ROLE_LABELS.items()]
NO_STORE = ""


def store_choices(stores: list[tuple[int, str]], *, with_none: bool) -> list[SelectChoice]:
    choices = [SelectChoice(str(store_id), name) for store_id, name in stores]
    if with_none:
        choices.insert(0, SelectChoice(NO_STORE, _l("None (agents and admins)")))
    return choices


class InviteForm(PortalForm):
    """An admin chooses any role and store; a merchant user's form offers only its own store
    (``for_merchant``), so another store sent by hand is refused beside the field."""

    email = EmailField(
        _l("Email"),
        validators=[
            DataRequired(_l("Enter the email of the person to invite")),
            Length(max=320, message=_l("An email is at most 320 characters")),
            Email(_l("Enter an email address like name@example.com")),
        ],
    )
    role = SelectField(_l("Role"), choices=ROLES)
    store = SelectField(
        _l("Store"),
        description=_l("Merchant users only: agents and admins work on every store."),
        choices=[],
    )

    def offer_stores(self, stores: list[tuple[int, str]], *, for_merchant: bool) -> None:
        if for_merchant:
            self.role.choices = [SelectChoice("merchant", ROLE_LABELS["merchant"])]
        self.store.choices = store_choices(stores, with_none=not for_merchant)

    @property
    def store_id(self) -> int | None:
        return int(self.store.data) if self.store.data else None


class RoleForm(PortalForm):
    role = SelectField(_l("Role"), choices=ROLES)
    store = SelectField(
        _l("Store"),
        description=_l("Merchant users only: agents and admins work on every store."),
        choices=[],
    )

    def offer_stores(self, stores: list[tuple[int, str]]) -> None:
        self.store.choices = store_choices(stores, with_none=True)

    @property
    def store_id(self) -> int | None:
        return int(self.store.data) if self.store.data else None


class StaffActionForm(PortalForm):
    """Disable or enable: a CSRF token and nothing else."""


class SetPasswordForm(PortalForm):
    """The invited user's first password, with the rules of a changed one."""

    new_password = ChangePasswordForm.new_password
    confirm_password = ChangePasswordForm.confirm_password
