"""The keys kept with each request: photo hash bands that find every hash within the match
distance, and addresses reduced to what a carrier reads."""

from __future__ import annotations

import random

import pytest

from portal.reorders import fingerprints
from tests.helpers.factories import address_form


def _flip(hex_hash: str, bits: list[int]) -> str:
    value = int(hex_hash, 16)
    for bit in bits:
        value ^= 1 << bit
    return f"{value:016x}"


@pytest.mark.parametrize("seed", range(20))
def test_hashes_within_the_match_distance_always_share_a_band(seed: int) -> None:
    chance = random.Random(seed)
    original = f"{chance.getrandbits(64):016x}"
    for flipped in range(fingerprints.PHOTO_MATCH_BITS + 1):
        near = _flip(original, chance.sample(range(64), flipped))
        assert fingerprints.photos_match(original, near)
        shared = set(fingerprints.photo_band_keys(original)) & set(
            fingerprints.photo_band_keys(near)
        )
        assert shared, (original, near)


def test_hashes_beyond_the_match_distance_do_not_match() -> None:
    original = "d7f017a8d08ff109"
    far = _flip(original, list(range(0, 64, 12)))  # 6 bits
    assert not fingerprints.photos_match(original, far)


def test_addresses_match_as_a_carrier_reads_them() -> None:
    plain = address_form()
    shouted = address_form(address1="1 MAIN STREET.", city="  Springfield ")
    elsewhere = address_form(address1="2 Main St")
    assert fingerprints.address_key(plain) == fingerprints.address_key(shouted)
    assert fingerprints.address_key(plain) != fingerprints.address_key(elsewhere)
    assert fingerprints.address_key({"address1": "  "}) is None
