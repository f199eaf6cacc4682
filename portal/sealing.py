"""Secrets kept in the database (Shopify access and refresh tokens, a store's Corso client secret,
a custom app's webhook secret) are sealed with Fernet (AES-128-CBC + HMAC-SHA256, from
``cryptography``) under the keys in ``PORTAL_ENCRYPTION_KEYS``.

Keys rotate without a rewrite: the first key seals, every key opens (``MultiFernet``). To rotate,
put a new key first, restart, run ``portal stores reseal`` (seals every value under the new key),
then drop the old key. A value that no key opens raises ``SealBroken``; nothing is ever logged.
"""

from __future__ import annotations

from collections.abc import Sequence

from cryptography.fernet import Fernet, InvalidToken, MultiFernet

from portal.errors import SealBroken, SettingsError


def new_key() -> str:
    """A fresh key, as ``PORTAL_ENCRYPTION_KEYS`` wants it."""
    return Fernet.generate_key().decode()


class Sealer:
    def __init__(self, keys: Sequence[str]) -> None:
        cleaned = [k.strip() for k in keys if k.strip()]
        if not cleaned:
            raise SettingsError(
                "PORTAL_ENCRYPTION_KEYS must name at least one key "
                "(python -c 'from cryptography.fernet import Fernet; "
                "print(Fernet.generate_key().decode())')"
            )
        try:
            self._fernet = MultiFernet([Fernet(k.encode()) for k in cleaned])
        except (ValueError, TypeError) as exc:
            raise SettingsError(
                "PORTAL_ENCRYPTION_KEYS holds a value that is not a Fernet key "
                "(32 url-safe base64-encoded bytes)"
            ) from exc

    @classmethod
    def from_text(cls, keys: str) -> Sealer:
        """Keys as the setting holds them: comma-separated, the sealing key first."""
        return cls(keys.split(","))

    def seal(self, value: str) -> str:
        return self._fernet.encrypt(value.encode()).decode()

    def open(self, sealed: str) -> str:
        try:
            return self._fernet.decrypt(sealed.encode()).decode()
        except (InvalidToken, ValueError) as exc:
            raise SealBroken("a sealed value opens under none of the encryption keys") from exc

    def reseal(self, sealed: str) -> str:
        """The same value sealed under the first key."""
        try:
            return self._fernet.rotate(sealed.encode()).decode()
        except (InvalidToken, ValueError) as exc:
            raise SealBroken("a sealed value opens under none of the encryption keys") from exc

    def seal_optional(self, value: str | None) -> str | None:
        return None if value is None else self.seal(value)

    def open_optional(self, sealed: str | None) -> str | None:
        return None if sealed is None else self.open(sealed)
