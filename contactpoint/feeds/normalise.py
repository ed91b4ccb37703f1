"""Turning what a source typed into clean values, and saying what was wrong when it cannot.

Each function returns the cleaned value, or raises `Invalid` with a warning kind and message.
The fast paths matter: a national load runs these tens of millions of times.
"""

import datetime
import re
import unicodedata
from typing import Any

from django.core.exceptions import ValidationError

from contactpoint.records import validators


class Invalid(Exception):
    def __init__(self, kind: str, message: str):
        super().__init__(message)
        self.kind = kind
        self.message = message


ASCII_NAME = re.compile(r"^[A-Za-z][A-Za-z .'\-]*$")
_NAME_PUNCTUATION = frozenset(" .'-\u2019")
_GENDERS = {
    "male": "male",
    "m": "male",
    "1": "male",
    "female": "female",
    "f": "female",
    "2": "female",
    "not_specified": "not_specified",
    "not specified": "not_specified",
    "9": "not_specified",
}
_TRUE = frozenset({"true", "yes", "y", "1"})
_FALSE = frozenset({"false", "no", "n", "0", ""})


NO_REPAIRS: tuple[Invalid, ...] = ()

# Every parser returns (value, repairs): repairs are warnings that did not lose the value.
Parsed = tuple[Any, tuple[Invalid, ...]]


def text(value: str, *, max_length: int) -> Parsed:
    """Unicode NFC, control characters removed, runs of whitespace collapsed; the original case kept."""
    if value.isascii() and value.isprintable():
        cleaned, repairs = " ".join(value.split()), NO_REPAIRS
    else:
        cleaned, repairs = repair(value)
    if len(cleaned) > max_length:
        raise Invalid("too_long", f"{len(cleaned)} characters is longer than the {max_length} allowed")
    return cleaned, repairs


def repair(value: str) -> tuple[str, tuple[Invalid, ...]]:
    repairs = []
    if any("\udc80" <= ch <= "\udcff" for ch in value):
        # Bytes that were not UTF-8: legacy systems mostly send Windows-1252.
        value = value.encode("utf-8", "surrogateescape").decode("cp1252", "replace")
        repairs.append(Invalid("encoding_repaired", "text was not UTF-8; read as Windows-1252"))
    value = unicodedata.normalize("NFC", value)
    # Tabs and line breaks become spaces; other control and invisible format characters go.
    kept = "".join(
        " " if ch.isspace() else ch for ch in value if ch.isspace() or unicodedata.category(ch)[0] != "C"
    )
    if kept != value:
        repairs.append(Invalid("control_characters", "control characters removed"))
    return " ".join(kept.split()), tuple(repairs)


def texts(max_length: int):
    """A free-text parser; it carries its limit so the validator's ASCII fast path can use it."""

    def parse(value: str) -> Parsed:
        return text(value, max_length=max_length)

    parse.plain_limit = max_length  # type: ignore[attr-defined]
    return parse


def name(value: str, *, max_length: int = 100) -> Parsed:
    """A person's name: letters (any script), spaces, hyphens, apostrophes and full stops only."""
    cleaned, repairs = text(value, max_length=max_length)
    if cleaned and not ASCII_NAME.match(cleaned) and not _is_unicode_name(cleaned):
        raise Invalid("invalid_characters", "a name may hold only letters, spaces, hyphens and apostrophes")
    return cleaned, repairs


def names(max_length: int):
    """A name parser; it carries its limit so the validator's ASCII fast path can use it."""

    def parse(value: str) -> Parsed:
        return name(value, max_length=max_length)

    parse.name_limit = max_length  # type: ignore[attr-defined]
    return parse


def _is_unicode_name(value: str) -> bool:
    return unicodedata.category(value[0])[0] == "L" and all(
        unicodedata.category(ch)[0] in "LM" or ch in _NAME_PUNCTUATION for ch in value
    )


def date(value: str) -> Parsed:
    """ISO dates (YYYY-MM-DD or YYYYMMDD) and UK dates (DD/MM/YYYY)."""
    value = value.strip()
    try:
        if "/" in value:
            day, month, year = value.split("/")
            return datetime.date(int(year), int(month), int(day)), NO_REPAIRS
        return datetime.date.fromisoformat(value), NO_REPAIRS
    except ValueError as exc:
        raise Invalid("invalid_date", f"{value[:40]!r} is not a real date") from exc


def gender(value: str) -> Parsed:
    found = _GENDERS.get(value.strip().lower())
    if found is None:
        raise Invalid("invalid_gender", f"{value[:40]!r} is not male, female or not_specified")
    return found, NO_REPAIRS


def boolean(value: str) -> Parsed:
    lowered = value.strip().lower()
    if lowered in _TRUE:
        return True, NO_REPAIRS
    if lowered in _FALSE:
        return False, NO_REPAIRS
    raise Invalid("invalid_boolean", f"{value[:40]!r} is not true or false")


def choice(allowed):
    allowed = frozenset(allowed)

    def parse(value: str) -> Parsed:
        value = value.strip().lower()
        if value and value not in allowed:
            raise Invalid("invalid_value", f"{value[:40]!r} is not one of the allowed values")
        return value, NO_REPAIRS

    return parse


def checked(normaliser, kind: str):
    """A records.validators normaliser (postcode, NHS number, UPN) as a feed parser."""

    def parse(value: str) -> Parsed:
        if not value.strip():
            return "", NO_REPAIRS
        try:
            return normaliser(value), NO_REPAIRS
        except ValidationError as exc:
            code = exc.error_list[0].code or kind
            raise Invalid(code, exc.messages[0][:300]) from exc

    return parse


postcode = checked(validators.normalise_postcode, "invalid_postcode")
nhs_number = checked(validators.normalise_nhs_number, "invalid_nhs_number")
upn = checked(validators.normalise_upn, "invalid_upn")
