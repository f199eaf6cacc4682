"""Messages made in code reach the shopper in their language: the photo checker's, the code
check's, WTForms' own, and the form classes' labels."""

from __future__ import annotations

import pytest
from wtforms import StringField
from wtforms.validators import Length

from portal import i18n
from portal.errors import PhotoRejected, TooManyLookups, WrongCode
from portal.forms import PortalForm
from portal.shopper.forms import LookupForm
from portal.shopper.photos import PhotoRules, process_photo, process_photos

pytestmark = pytest.mark.anyio


def test_the_photo_checker_speaks_the_shoppers_language() -> None:
    with i18n.using("fr"), pytest.raises(PhotoRejected) as empty:
        process_photo(b"", filename="IMG_1.jpg", rules=PhotoRules())
    assert empty.value.message == "“IMG_1.jpg” est vide."
    with i18n.using("de"), pytest.raises(PhotoRejected) as text:
        process_photo(b"not a photo", filename="notes.txt", rules=PhotoRules())
    assert text.value.message == "“notes.txt” ist kein JPEG-, PNG-, WebP- oder HEIC-Foto."
    with i18n.using("es"), pytest.raises(PhotoRejected) as large:
        process_photo(b"x" * 2048, filename="big.jpg", rules=PhotoRules(max_bytes=1024))
    assert large.value.message == "“big.jpg” pesa más de 1 KB."


async def test_the_photo_count_is_refused_in_the_shoppers_language() -> None:
    files = [(f"{n}.jpg", b"x") for n in range(3)]
    with i18n.using("de"), pytest.raises(PhotoRejected) as many:
        await process_photos(files, rules=PhotoRules(max_count=2))
    assert many.value.message == "Hängen Sie höchstens 2 Fotos an."
    with i18n.using("fr"), pytest.raises(PhotoRejected) as one:
        await process_photos(files, rules=PhotoRules(max_count=1))
    assert one.value.message == "Joignez au maximum 1 photo."


def test_code_errors_are_told_in_the_shoppers_language() -> None:
    with i18n.using("de"):
        assert WrongCode(1).text() == "Dieser Code ist nicht richtig. Sie haben noch 1 Versuch."
        assert WrongCode(3).text() == "Dieser Code ist nicht richtig. Sie haben noch 3 Versuche."
    with i18n.using("es"):
        assert TooManyLookups("limit").text().startswith("Demasiados intentos.")
    assert WrongCode(2).text() == "That code is not right. 2 tries left."


class _Short(PortalForm):
    class Meta:
        csrf = False

    name = StringField("Name", validators=[Length(max=3)])


@pytest.mark.parametrize(
    ("locale", "message"),
    [
        ("en", "Field cannot be longer than 3 characters."),
        ("fr", "Le champ ne peut pas contenir plus de 3 caractères."),
        ("de", "Feld kann nicht länger als 3 Zeichen sein."),
        ("es", "El campo no puede tener más de 3 caracteres."),
    ],
)
def test_a_wtforms_message_in_each_language(locale: str, message: str) -> None:
    class Data(dict[str, list[str]]):
        def getlist(self, key: str) -> list[str]:
            return self.get(key, [])

    with i18n.using(locale):
        form = _Short(formdata=Data(name=["abcdef"]))
        assert not form.validate()
        assert form.name.errors == [message]


def test_form_labels_are_read_in_the_current_language() -> None:
    with i18n.using("fr"):
        assert str(LookupForm.order_number.args[0]) == "Numéro de commande"
    with i18n.using("es"):
        assert str(LookupForm.order_number.args[0]) == "Número de pedido"
