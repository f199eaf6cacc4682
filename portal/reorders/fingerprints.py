"""What ties one reorder request to others beyond its reference: keys kept with the request when
it is written, so that finding "the same photo", "the same address" or "the same device" is an
index look-up and never a scan at page time.

- A photo's perceptual hash (``imagehash.phash``: 64 bits from the low frequencies of its DCT)
  changes by a few bits at most when the picture is re-encoded, resized or recompressed, and by
  about half its bits for another picture. Two photos match within ``PHOTO_MATCH_BITS`` bits.
  To find candidates by index, the hash is cut into ``PHOTO_BANDS`` bands: two hashes that
  differ in at most ``PHOTO_MATCH_BITS`` bits agree exactly on at least one band (pigeonhole),
  so the bands are looked up exactly and the distance is checked on the few rows they return.
- An address key is a SHA-256 of the address reduced to what a carrier reads: lower case,
  punctuation and repeated spaces dropped, street words abbreviated one way.
- A device key is a SHA-256 of the shopper's long-lived device cookie (the raw value is never
  stored).
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from collections.abc import Iterable, Mapping
from typing import Any

PHOTO_HASH_BITS = 64
PHOTO_MATCH_BITS = 4
PHOTO_BANDS = PHOTO_MATCH_BITS + 1
_BAND_WIDTHS = (13, 13, 13, 13, 12)
_BAND_SHIFT = 13  # a band key is (band number << 13) | the band's bits: one indexed column

_ADDRESS_FIELDS = ("address1", "address2", "city", "province_code", "zip", "country_code")
_STREET_WORDS = {
    "street": "st",
    "avenue": "ave",
    "road": "rd",
    "boulevard": "blvd",
    "drive": "dr",
    "lane": "ln",
    "court": "ct",
    "place": "pl",
    "apartment": "apt",
    "suite": "ste",
    "north": "n",
    "south": "s",
    "east": "e",
    "west": "w",
}
_NOT_WORD = re.compile(r"[^0-9a-z]+")


def photo_distance(first: str, second: str) -> int:
    """How many of the 64 bits differ between two photo hashes."""
    return (int(first, 16) ^ int(second, 16)).bit_count()


def photos_match(first: str, second: str) -> bool:
    return photo_distance(first, second) <= PHOTO_MATCH_BITS


def photo_band_keys(hex_hash: str) -> list[int]:
    """The hash's bands, each tagged with its number so all fit one indexed integer column."""
    value = int(hex_hash, 16)
    keys: list[int] = []
    offset = 0
    for band, width in enumerate(_BAND_WIDTHS):
        bits = (value >> offset) & ((1 << width) - 1)
        keys.append((band << _BAND_SHIFT) | bits)
        offset += width
    return keys


def normalised_address(address: Mapping[str, Any] | None) -> str | None:
    """The address as a carrier reads it (no name, no company); None without a street."""
    if not address or not str(address.get("address1") or "").strip():
        return None
    words: list[str] = []
    for name in _ADDRESS_FIELDS:
        folded = unicodedata.normalize("NFKD", str(address.get(name) or "")).casefold()
        ascii_only = folded.encode("ascii", "ignore").decode()
        words.extend(_STREET_WORDS.get(w, w) for w in _NOT_WORD.split(ascii_only) if w)
    return " ".join(words)


def address_key(address: Mapping[str, Any] | None) -> str | None:
    normalised = normalised_address(address)
    return _digest(normalised) if normalised else None


def same_address(first: Mapping[str, Any] | None, second: Mapping[str, Any] | None) -> bool:
    return normalised_address(first) == normalised_address(second)


def device_key(cookie_value: str | None) -> str | None:
    return _digest("device:" + cookie_value) if cookie_value else None


def search_text(*parts: str | None) -> str:
    """What the queue's search looks in, lower case: reference, order, email, name, tracking."""
    return " ".join(p.casefold() for p in parts if p)[:2000]


def tracking_numbers(numbers: Iterable[str | None]) -> str:
    unique = dict.fromkeys(n.strip() for n in numbers if n and n.strip())
    return " ".join(unique)[:500]


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()
