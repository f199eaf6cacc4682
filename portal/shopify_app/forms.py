"""The admin's form naming the Shopify store to connect."""

from __future__ import annotations

from wtforms import StringField
from wtforms.validators import DataRequired, Length

from portal.forms import PortalForm
from portal.i18n import lazy_gettext as _l


class ConnectStoreForm(PortalForm):
    shop = StringField(
        _l("The store's Shopify address"),
        validators=[DataRequired(_l("Enter the store's myshopify.com address.")), Length(max=255)],
        description=_l("For example maple-and-moss.myshopify.com"),
    )
