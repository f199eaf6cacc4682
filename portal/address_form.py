"""The delivery address as a form: the fields and their checks, for every page that takes an
address (the shopper's request, the shopper's correction, an agent's). The rules themselves
live in ``portal.reorders.addresses``; this only puts them beside the fields."""

from __future__ import annotations

from functools import cache
from typing import Any

from wtforms import HiddenField, SelectField, StringField
from wtforms.validators import Optional

from portal.forms import ListedSelect, PortalForm
from portal.i18n import current_locale
from portal.i18n import lazy_gettext as _l
from portal.reorders import addresses


class AddressForm(PortalForm):
    """The address fields; ``address_problems`` checks them all, ``address`` reads them."""

    first_name = StringField(_l("First name"), validators=[Optional()])
    last_name = StringField(_l("Last name"), validators=[Optional()])
    company = StringField(_l("Company (optional)"), validators=[Optional()])
    address1 = StringField(_l("Street address"), validators=[Optional()])
    address2 = StringField(_l("Apartment, suite, etc. (optional)"), validators=[Optional()])
    city = StringField(_l("City"), validators=[Optional()])
    country_code = SelectField(
        _l("Country"), choices=[], validate_choice=False, widget=ListedSelect()
    )
    province_code = SelectField(
        _l("State or province"), choices=[], validate_choice=False, widget=ListedSelect()
    )
    # The country the province field was shown for: a province picked or typed for one country
    # is not taken for another chosen afterwards (without JavaScript the list does not follow).
    province_for = HiddenField(validators=[Optional()])
    zip = StringField(_l("Postal code"), validators=[Optional()])
    phone = StringField(_l("Phone (optional)"), validators=[Optional()])

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.country_code.choices = [
            ("", str(_l("Choose a country"))),
            *_country_choices(current_locale()),
        ]
        self.offer_provinces(self.chosen_country)

    @property
    def chosen_country(self) -> str:
        return str(self.country_code.data or "").strip().upper()[:2]

    def offer_provinces(self, country_code: str) -> None:
        """The province field lists ``country_code``'s zones (none where none is asked)."""
        zones = addresses.provinces(country_code)
        self.province_code.choices = (
            [("", str(_l("Choose…"))), *((p.code, p.name) for p in zones)] if zones else []
        )

    @property
    def asks_province(self) -> bool:
        return bool(self.province_code.choices)

    @property
    def asks_province_code(self) -> bool:
        """A typed code where the country has provinces but no list of Shopify's codes."""
        return addresses.province_as_code(self.chosen_country)

    @property
    def asks_postal_code(self) -> bool:
        return addresses.postal_code_rule(self.chosen_country).used

    def address(self) -> dict[str, str]:
        return addresses.normalise({name: self[name].data for name in addresses.FIELDS})

    def check_address(self) -> bool:
        """Put each problem of the address beside its field; True when there were none."""
        address = self.address()
        found = addresses.problems(address)
        shown_for = str(self.province_for.data or "").strip().upper()[:2]
        if shown_for and shown_for != address["country_code"] and address["province_code"]:
            found.setdefault(
                "province_code",
                str(
                    _l(
                        "Choose the state or province again for %(country)s.",
                        country=addresses.country_name(address["country_code"]),
                    )
                ),
            )
        for name, message in found.items():
            self[name].errors = [*self[name].errors, message]
        return not found


@cache
def _country_choices(locale: str) -> tuple[tuple[str, str], ...]:
    return tuple(addresses.country_choices(locale))
