"""Matching features: the one place a person's details become comparable values.

Linkage (Splink, in SQL), incremental linkage and search (both in-process) compare the same
features, so a record scores the same whichever path compares it. Everything here is a pure
function of the values a source gave; display values are never changed by it.
"""

import datetime
import re
import unicodedata
from collections.abc import Iterable
from functools import lru_cache
from typing import Any, TypedDict

import jellyfish
from nicknames import NickNamer

_NICKNAMER = NickNamer()
_KEEP = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZ")


class Features(TypedDict):
    given: str | None
    given_aliases: list[str] | None
    given_sound: str | None
    family: str | None
    family_sound: str | None
    families: list[str] | None
    carer_families: list[str] | None
    dob: str | None
    dob_swapped: str | None
    gender: str | None
    postcode: str | None
    district: str | None
    address: str | None
    nhs: str | None
    upn: str | None


@lru_cache(maxsize=200_000)
def name_key(value: str) -> str:
    """Upper-case ASCII letters only: accents, apostrophes, hyphens and spaces do not count."""
    decomposed = unicodedata.normalize("NFKD", value).upper()
    return "".join(c for c in decomposed if c in _KEEP)


@lru_cache(maxsize=200_000)
def aliases(key: str) -> tuple[str, ...]:
    """The name and the formal names it is a nickname of, from the maintained `nicknames` data.

    Two given names are nickname-equivalent when their aliases overlap (Bill and William share
    WILLIAM; Bill and Will share WILLIAM too).
    """
    if not key:
        return ()
    formal = {n.upper() for n in _NICKNAMER.canonicals_of(key.lower())}
    return tuple(sorted({key, *(name_key(n) for n in formal)}))


@lru_cache(maxsize=200_000)
def sound(key: str) -> str | None:
    return jellyfish.metaphone(key) or None if key else None


def district(postcode: str) -> str | None:
    """The outward code (``LS6`` of ``LS6 2AB``); a bare outward code is its own district."""
    text = postcode.strip().upper()
    if not text:
        return None
    return text.split()[0] if " " in text else (text[:-3] if len(text) > 4 else text)


def postcode_key(postcode: str) -> str | None:
    text = "".join(postcode.split()).upper()
    return text or None


_NOT_ALPHANUMERIC = re.compile(r"[\W_]+")  # \w is str.isalnum() and "_"; one pass in C


def address_key(line: str) -> str | None:
    """House number and street, letters and digits only, so '12 High St.' == '12 HIGH ST'.

    A search turns every candidate record into features, a hundred or more at a million children:
    filtering the characters one by one in Python was a tenth of a search's CPU."""
    return _NOT_ALPHANUMERIC.sub("", unicodedata.normalize("NFKD", line).upper()) or None


def _iso(value: Any) -> str | None:
    if value in (None, ""):
        return None
    return value.isoformat() if isinstance(value, datetime.date) else str(value)


def swapped(dob: str | None) -> str | None:
    """The date with day and month exchanged, when that is a different valid date."""
    if not dob:
        return None
    year, month, day = dob.split("-")
    if month == day:
        return None
    try:
        return datetime.date(int(year), int(day), int(month)).isoformat()
    except ValueError:
        return None


def features(
    *,
    given_name: str = "",
    family_name: str = "",
    former_family_name: str = "",
    date_of_birth: Any = None,
    gender: str = "",
    postcode: str = "",
    address_line_1: str = "",
    nhs_number: str = "",
    upn: str = "",
    carer_family_names: Iterable[str | None] = (),
    **_: Any,
) -> Features:
    """Features of one person's details; empty values become None (unknown, not a mismatch)."""
    given = name_key(given_name) or None
    family = name_key(family_name) or None
    families = sorted({k for k in (family, name_key(former_family_name)) if k})
    carer_families = sorted({k for k in map(name_key, filter(None, carer_family_names)) if k})
    dob = _iso(date_of_birth)
    return Features(
        given=given,
        given_aliases=list(aliases(given)) if given else None,
        given_sound=sound(given) if given else None,
        family=family,
        family_sound=sound(family) if family else None,
        families=families or None,
        carer_families=carer_families or None,
        dob=dob,
        dob_swapped=swapped(dob),
        gender=gender or None,
        postcode=postcode_key(postcode),
        district=district(postcode),
        address=address_key(address_line_1),
        nhs=nhs_number or None,
        upn=upn or None,
    )


FEATURE_COLUMNS = tuple(Features.__annotations__)
