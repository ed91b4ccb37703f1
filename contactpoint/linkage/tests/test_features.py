"""Feature keys that must not change when their code is made faster: candidate keys and stored
link decisions were computed with them."""

import unicodedata

from hypothesis import given
from hypothesis import strategies as st

from contactpoint.linkage.features import address_key


def _character_by_character(line: str) -> str | None:
    """The address key as first written: every letter or digit of the decomposed, upper-cased line."""
    key = "".join(c for c in unicodedata.normalize("NFKD", line).upper() if c.isalnum())
    return key or None


def test_the_address_key_keeps_letters_and_digits_only():
    assert address_key("12 High St.") == address_key("12 HIGH ST") == "12HIGHST"
    assert address_key("Flat 3_a, Rue Émile-Zola") == "FLAT3ARUEEMILEZOLA"  # accents decomposed away
    assert address_key(" ,. ") is None


@given(st.text())
def test_the_address_key_is_what_it_was_for_any_text(line):
    assert address_key(line) == _character_by_character(line)
