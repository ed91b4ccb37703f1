"""Check-character validation for the identifiers the index holds.

The arithmetic comes from python-stdnum (maintained, with published test vectors) rather than
being re-derived here; these wrappers only turn its exceptions into messages a data manager
can act on.
"""

import functools
import operator
import re

from django.core.exceptions import ValidationError
from stdnum import exceptions as stdnum_errors
from stdnum.gb import nhs, upn

POSTCODE_RE = re.compile(r"^(GIR 0AA|[A-PR-UWYZ][A-HK-Y]?[0-9][0-9A-HJKMNPR-Y]? [0-9][ABD-HJLNP-UW-Z]{2})$")


def normalise_nhs_number(value: str) -> str:
    if len(value) == 10 and value.isdigit() and value.isascii() and _nhs_weighted_sum(value) % 11 == 0:
        return value  # the common case, without stdnum's general-purpose cleaning
    try:
        return nhs.validate(value)
    except stdnum_errors.InvalidChecksum as exc:
        raise ValidationError(
            f"NHS number {value!r} fails its modulus 11 check digit.", code="nhs_check_digit"
        ) from exc
    except stdnum_errors.ValidationError as exc:
        raise ValidationError(f"NHS number {value!r} must be exactly 10 digits.", code="nhs_format") from exc


def normalise_upn(value: str) -> str:
    if (
        len(value) == 13
        and value.isascii()
        and value[1:12].isdigit()
        and upn.calc_check_digit(value[1:]) == value[0]
        and _upn_la_known(value[1:4])
    ):
        return value
    try:
        return upn.validate(value)
    except stdnum_errors.InvalidChecksum as exc:
        raise ValidationError(f"UPN {value!r} has the wrong check letter.", code="upn_check_letter") from exc
    except stdnum_errors.InvalidComponent as exc:
        raise ValidationError(
            f"UPN {value!r} does not carry a known local authority number.", code="upn_la"
        ) from exc
    except stdnum_errors.ValidationError as exc:
        raise ValidationError(
            f"UPN {value!r} must be 13 characters: a check letter, 11 digits and a digit or letter.",
            code="upn_format",
        ) from exc


_NHS_WEIGHTS = (10, 9, 8, 7, 6, 5, 4, 3, 2, 1)
_DIGIT_ZERO_TOTAL = ord("0") * sum(_NHS_WEIGHTS)


def _nhs_weighted_sum(digits: str) -> int:
    """Weights 10..1 over the ASCII codes, less the codes' offset: a national load runs this per row."""
    return sum(map(operator.mul, digits.encode(), _NHS_WEIGHTS)) - _DIGIT_ZERO_TOTAL


@functools.lru_cache(maxsize=256)
def _upn_la_known(la_number: str) -> bool:
    """Whether stdnum knows the LA number, asked once per LA through its public API."""
    body = f"{la_number}000000000"
    return upn.is_valid(upn.calc_check_digit(body) + body)


def normalise_postcode(value: str) -> str:
    """UK postcodes in their display form (outward code, one space, inward code)."""
    compact = re.sub(r"\s+", "", value).upper()
    candidate = f"{compact[:-3]} {compact[-3:]}" if len(compact) > 3 else compact
    if not POSTCODE_RE.match(candidate):
        raise ValidationError(f"{value!r} is not a UK postcode.", code="postcode_format")
    return candidate


def nhs_check_digit(first_nine: str) -> int | None:
    """The tenth digit that makes a valid NHS number, or None when no digit can (remainder 10)."""
    total = sum(int(d) * w for d, w in zip(first_nine, range(10, 1, -1), strict=True))
    check = 11 - total % 11
    if check == 11:
        return 0
    return None if check == 10 else check


def upn_check_letter(last_twelve: str) -> str:
    return upn.calc_check_digit(last_twelve)
