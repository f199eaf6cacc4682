"""The catalogues are complete: every text a shopper can read is extracted from the code and
templates babel.cfg names, and translated (not fuzzy, same placeholders) in every language.

When a test here fails after you added or changed copy: run `make messages`, translate the new
or fuzzy entries in portal/locale/<lang>/LC_MESSAGES/messages.po, and run `make compile`."""

from __future__ import annotations

import re
from pathlib import Path

import jinja2
import pytest
from babel.messages.catalog import Catalog, Message
from babel.messages.extract import extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.pofile import read_po

from portal import i18n
from portal.paths import TEMPLATES_DIR

ROOT = Path(__file__).resolve().parents[2]
KEYWORDS = {
    "_": None,
    "gettext": None,
    "ngettext": (1, 2),
    "N_": None,
    "_l": None,
    "lazy_gettext": None,
}
TRANSLATED = [code for code in i18n.SUPPORTED_LOCALES if code != i18n.DEFAULT_LOCALE]
PLACEHOLDER = re.compile(r"%\((\w+)\)[sd]")
FIX = "run `make messages`, translate the entries, then `make compile`"


def _mapping() -> tuple[list[tuple[str, str]], dict[str, dict[str, str]]]:
    with (ROOT / "babel.cfg").open() as config:
        return parse_mapping_cfg(config)  # type: ignore[no-any-return]


def extracted() -> dict[str, list[str]]:
    """What `make messages` would extract now: message id -> where it is used."""
    method_map, options_map = _mapping()
    found: dict[str, list[str]] = {}
    for filename, line, message, _comments, _context in extract_from_dir(
        str(ROOT), method_map, options_map, keywords=KEYWORDS
    ):
        key = message if isinstance(message, str) else message[0]
        if key:
            found.setdefault(key, []).append(f"{filename}:{line}")
    return found


def catalogue(locale: str) -> Catalog:
    with (i18n.LOCALE_DIR / locale / "LC_MESSAGES" / "messages.po").open("rb") as po:
        return read_po(po, locale=locale)


def _msgid(message: Message) -> str:
    return message.id if isinstance(message.id, str) else message.id[0]


def _strings(value: str | tuple[str, ...] | list[str]) -> list[str]:
    return [value] if isinstance(value, str) else list(value)


@pytest.fixture(scope="module")
def in_code() -> dict[str, list[str]]:
    return extracted()


@pytest.mark.parametrize("locale", TRANSLATED)
def test_every_text_in_the_code_and_templates_is_in_the_catalogue(
    locale: str, in_code: dict[str, list[str]]
) -> None:
    known = {_msgid(m) for m in catalogue(locale) if m.id}
    missing = {text: where for text, where in in_code.items() if text not in known}
    listed = "\n".join(f"  {text!r} ({', '.join(where[:2])})" for text, where in missing.items())
    assert not missing, f"not in the {locale} catalogue ({FIX}):\n{listed}"


@pytest.mark.parametrize("locale", TRANSLATED)
def test_every_entry_is_translated_and_none_is_fuzzy(locale: str) -> None:
    problems = []
    for message in catalogue(locale):
        if not message.id:
            continue
        if message.fuzzy:
            problems.append(f"fuzzy: {_msgid(message)!r}")
        elif not all(_strings(message.string)):
            problems.append(f"untranslated: {_msgid(message)!r}")
    listed = "\n  ".join(problems)
    assert not problems, f"{locale} catalogue ({FIX}):\n  {listed}"


@pytest.mark.parametrize("locale", TRANSLATED)
def test_translations_keep_every_placeholder(locale: str) -> None:
    wrong = []
    for message in catalogue(locale):
        if not message.id or not message.string:
            continue
        wanted = set(PLACEHOLDER.findall(_strings(message.id)[-1]))
        for text in _strings(message.string):
            if set(PLACEHOLDER.findall(text)) - (wanted | {"num"}) or (
                wanted - {"num"} - set(PLACEHOLDER.findall(text))
            ):
                wrong.append(f"{_msgid(message)!r} -> {text!r}")
    assert not wrong, f"{locale}: placeholders differ:\n  " + "\n  ".join(wrong)


@pytest.mark.parametrize("locale", TRANSLATED)
def test_the_compiled_catalogue_is_there_and_up_to_date(locale: str) -> None:
    folder = i18n.LOCALE_DIR / locale / "LC_MESSAGES"
    compiled = folder / "messages.mo"
    assert compiled.is_file(), f"{compiled} is missing: run `make compile`"
    assert compiled.stat().st_mtime >= (folder / "messages.po").stat().st_mtime, (
        f"{compiled} is older than its .po: run `make compile`"
    )


# --- templates: no visible text outside _() ---------------------------------------------------

TAG = re.compile(r"<[^>]*>")
COMMENT = re.compile(r"<!--.*?-->", re.DOTALL)
ENTITY = re.compile(r"&\w+;|&#\d+;")
WORD = re.compile(r"[^\W\d_]{2,}")
# Attributes people read or hear, written as literal text.
READ_ATTRIBUTE = re.compile(
    r'\b(?:alt|title|aria-label|placeholder)="([^"\x00]*[^\W\d_]{2,}[^"\x00]*)"'
)


def _ignored(path: str) -> bool:
    method_map, _options = _mapping()
    from babel.messages.extract import pathmatch

    for pattern, method in method_map:
        if pathmatch(pattern, path):
            return method == "ignore"
    return True


def shopper_templates() -> list[str]:
    names = []
    for path in sorted(TEMPLATES_DIR.rglob("*")):
        relative = path.relative_to(ROOT).as_posix()
        if path.is_file() and path.suffix in (".html", ".txt") and not _ignored(relative):
            names.append(path.relative_to(TEMPLATES_DIR).as_posix())
    return names


def untranslated_text(source: str) -> list[str]:
    """Words a template prints as they are written, not through _(): its literal text with
    every Jinja tag and expression blanked, then HTML tags taken out (their attributes people
    read or hear are kept)."""
    env = jinja2.Environment(extensions=["jinja2.ext.i18n"], autoescape=True)
    literal = "".join(
        value if kind == "data" else ("" if kind.endswith("_end") else "\x00")
        for _line, kind, value in env.lex(source)
        if kind == "data" or kind.endswith(("_begin", "_end"))
    )
    found = READ_ATTRIBUTE.findall(literal)
    text = ENTITY.sub(" ", TAG.sub(" ", COMMENT.sub(" ", literal)))
    return found + WORD.findall(text)


def test_shopper_templates_are_found() -> None:
    names = shopper_templates()
    assert "pages/shopper/lookup.html" in names and "emails/request_received.txt" in names
    assert "pages/support/queue.html" not in names


@pytest.mark.parametrize("name", shopper_templates())
def test_a_shopper_template_prints_no_text_outside_the_catalogue(name: str) -> None:
    source = (TEMPLATES_DIR / name).read_text(encoding="utf-8")
    words = untranslated_text(source)
    assert not words, (
        f"templates/{name} prints text that is not translated (wrap it in _()): {words}"
    )


def test_the_check_finds_text_outside_the_catalogue() -> None:
    assert untranslated_text('<p>Hello {{ name }}</p><img alt="A mug">') == ["A mug", "Hello"]
    assert untranslated_text('<a href="{{ x }}" class="b">{% if y %}Go{% endif %}</a>') == ["Go"]
    assert untranslated_text('<p class="x">{{ _("Hello") }} · {{ n }} \u00d7</p>') == []
